import { lines } from "./text.ts";

/**
 * `dpkg-query -W`: "name\tversion" per line. An architecture qualifier ("libc6:amd64") is dropped;
 * packages listed without a version (config-files only / not installed) are omitted.
 */
export function parseDpkgQueryW(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of lines(text)) {
    const tab = raw.indexOf("\t");
    const name = (tab >= 0 ? raw.slice(0, tab) : (raw.split(/\s+/)[0] ?? "")).trim();
    const version = (tab >= 0 ? raw.slice(tab + 1) : (raw.trim().split(/\s+/)[1] ?? "")).trim();
    if (!name || !version || !/^[a-z0-9][a-z0-9.+-]*(?::[a-z0-9_-]+)?$/i.test(name)) continue;
    out[name.includes(":") ? name.replace(/:[a-z0-9_-]+$/i, "") : name] = version; // "libc6:amd64" → "libc6"
  }
  return out;
}
