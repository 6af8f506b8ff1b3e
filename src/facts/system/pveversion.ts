import type { PveVersions } from "../types.ts";
import { lines } from "./text.ts";

/** Values pveversion prints for packages that are not (or no longer) installed. */
const NOT_INSTALLED = /^(not correctly installed|residual config|not installed)$/i;

/**
 * `pveversion -v` (one "name: version" line per package) — also the short `pveversion` form
 * "pve-manager/7.4-3/9002ab8a (running kernel: 5.15.102-1-pve)".
 */
export function parsePveversion(text: string): PveVersions | null {
  let manager: string | null = null;
  let runningKernel: string | null = null;
  const packages: Record<string, string> = {};
  for (const raw of lines(text)) {
    const line = raw.trim();
    const short =
      line.startsWith("pve-manager/") &&
      /^pve-manager\/([^/\s]+)\/\S+\s+\(running kernel:\s*([^)\s]+)\)/.exec(line);
    if (short) {
      manager ??= short[1]!;
      runningKernel ??= short[2]!;
      continue;
    }
    const m = /^([A-Za-z0-9][A-Za-z0-9.+_-]*(?::[a-z0-9]+)?):\s+(.+)$/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    let rest = m[2]!.trim();
    const first = rest[0]?.toLowerCase();
    if ((first === "n" || first === "r") && NOT_INSTALLED.test(rest)) continue; // starts like "not …"/"residual …"
    const paren = /^(\S+)\s+\((.*)\)\s*$/.exec(rest);
    let note: string | null = null;
    if (paren) {
      rest = paren[1]!;
      note = paren[2]!;
    }
    if (/\s/.test(rest)) continue;
    packages[name] = rest;
    if (name === "pve-manager") manager = rest;
    const rk = note ? /running kernel:\s*(\S+)/.exec(note) : null;
    if (rk) runningKernel = rk[1]!;
  }
  if (!manager) return null;
  return { manager, runningKernel, packages };
}
