/**
 * systemd drop-ins (`/etc/systemd/system/UNIT.d/NAME.conf`): set or remove one
 * `Environment=KEY=VALUE` assignment in `[Service]`, minimal edits, idempotent.
 *
 * Quoting (issue 13 item 11): systemd splits `Environment=` into words with
 * extract_first_word(EXTRACT_CUNESCAPE|EXTRACT_UNQUOTE) and then expands `%` specifiers in each
 * (systemd src/core/load-fragment.c config_parse_environ; systemd.exec(5) "Environment=":
 * `Environment="VAR1=word1 word2"`; systemd.unit(5) "%%" = a single percent sign). So a value with a
 * blank, quote, backslash or `%` is written as `Environment="KEY=…"` with `\` `\"` and `%%`; a
 * value with a control character (a newline would end the line) is refused.
 */
import { UserError } from "../../util/errors.ts";

export const UNLOCK_DROPIN_NAME = "vgpu_unlock.conf";

export function dropinPath(unit: string, name = UNLOCK_DROPIN_NAME): string {
  return `/etc/systemd/system/${unit}.d/${name}`;
}

/** The whole drop-in the guide writes (seed guide "Create files for vGPU unlock"). */
export function renderPreloadDropin(library: string): string {
  return `[Service]\n${environmentLine("LD_PRELOAD", library)}\n`;
}

/** `Environment=KEY=VALUE`, quoted and escaped so systemd reads back exactly KEY=VALUE. */
export function environmentLine(key: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
    throw new UserError(`invalid environment variable name ${JSON.stringify(key)}`);
  if (/[\x00-\x1f\x7f]/.test(value))
    throw new UserError(
      `refusing to write ${key}=${JSON.stringify(value)} into a systemd drop-in: it contains a control character`,
      "use a path without newlines or other control characters",
    );
  if (!/[\s"'\\%$;]/.test(value)) return `Environment=${key}=${value}`;
  const escaped = value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%");
  return `Environment="${key}=${escaped}"`;
}

/**
 * The words of an `Environment=` value as systemd reads them: split at blanks outside quotes,
 * C escapes undone, `%%` → `%` (other specifiers are left as written).
 */
export function environmentWords(value: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === "\\" && i + 1 < value.length) {
      const next = value[++i]!;
      cur += next === "n" ? "\n" : next === "t" ? "\t" : next;
      inWord = true;
    } else if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur.replace(/%%/g, "%"));
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur.replace(/%%/g, "%"));
  return words;
}

const SECTION = /^\s*\[([^\]]+)\]\s*$/;

function sectionRange(lines: string[], name: string): { start: number; end: number } | null {
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const m = SECTION.exec(lines[i]!);
    if (!m) continue;
    if (start >= 0) return { start, end: i };
    if (m[1] === name) start = i;
  }
  return start >= 0 ? { start, end: lines.length } : null;
}

function envLine(line: string, key: string): boolean {
  const m = /^\s*Environment\s*=\s*"?([A-Za-z_][A-Za-z0-9_]*)=/.exec(line);
  return m?.[1] === key;
}

/** Ensure `[Service] Environment=KEY=VALUE` (replacing an existing single assignment of KEY). */
export function setServiceEnvironment(text: string, key: string, value: string): string {
  const want = environmentLine(key, value);
  const lines = text.split("\n");
  const r = sectionRange(lines, "Service");
  if (!r) {
    const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
    return `${base}${base.trim() ? "\n" : ""}[Service]\n${want}\n`;
  }
  let last = -1;
  for (let i = r.start + 1; i < r.end; i++) if (envLine(lines[i]!, key)) last = i;
  if (last >= 0) {
    if (lines[last]!.trim() === want) return text;
    lines[last] = want;
    return lines.join("\n");
  }
  lines.splice(r.start + 1, 0, want);
  return lines.join("\n");
}

/** Remove every `Environment=KEY=…` line from `[Service]`. */
export function removeServiceEnvironment(text: string, key: string): string {
  const lines = text.split("\n");
  const r = sectionRange(lines, "Service");
  if (!r) return text;
  const out = lines.filter((l, i) => !(i > r.start && i < r.end && envLine(l, key)));
  return out.length === lines.length ? text : out.join("\n");
}

/** Value of `Environment=KEY=…` in [Service], or null. */
export function serviceEnvironment(text: string, key: string): string | null {
  const lines = text.split("\n");
  const r = sectionRange(lines, "Service");
  if (!r) return null;
  let val: string | null = null;
  for (let i = r.start + 1; i < r.end; i++) {
    const m = /^\s*Environment\s*=(.*)$/.exec(lines[i]!);
    if (!m) continue;
    if (m[1]!.trim() === "") val = null; // an empty assignment resets the list
    for (const word of environmentWords(m[1]!))
      if (word.startsWith(`${key}=`)) val = word.slice(key.length + 1);
  }
  return val;
}
