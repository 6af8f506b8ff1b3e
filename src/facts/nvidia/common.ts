/**
 * Small shared helpers for the NVIDIA parsers: line splitting, sizes, and the indentation-scoped
 * "key : value" reader used by `nvidia-smi -q` / `vgpu -q` (PCI addresses: ../pci.ts).
 * Everything here is pure and never throws on odd input.
 */

/** Split text into lines, dropping CR (CRLF captures) and trailing whitespace. */
export function splitLines(text: string): string[] {
  return (text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text).split("\n");
}

/** What naToNull reads as "no value", in lower case. */
const NO_VALUE: ReadonlySet<string> = new Set([
  "n/a",
  "not found",
  "not available",
  "not supported",
  "unknown error",
]);

/** "N/A", "", "Not Found", "Not Available" → null; otherwise the trimmed value. */
export function naToNull(value: string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  const v = value.trim();
  // a set lookup, not /^(n\/a|not found|…)$/i (start-up cost, issue 16). toLowerCase maps one other
  // character onto these letters: the Kelvin sign (to the "k" of "unknown error"), which the regex did not match
  if (v === "" || (NO_VALUE.has(v.toLowerCase()) && !v.includes("\u212a"))) return null;
  return v;
}

/** One or more ASCII digits (what /^\d+$/ matches). */
export function isDigits(s: string): boolean {
  if (s === "") return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** "0x1f", "0X1F": a hexadecimal number (/^0x[0-9a-f]+$/i, by string). */
function isHex(s: string): boolean {
  return (s.startsWith("0x") || s.startsWith("0X")) && isHexDigits(s.slice(2));
}

/** One or more hex digits, either case (what /^[0-9a-f]+$/i matches). */
export function isHexDigits(s: string): boolean {
  if (s === "") return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

/**
 * A size as MiB: "4096 MiB", "1024M", "2G", "2048MiB", "0x74000000" (bytes), "2147483648" (bytes,
 * when ≥ 1 MiB and unit-less) or a small unit-less number (taken as MiB). null when unreadable.
 */
export function parseSizeMiB(raw: string | undefined | null): number | null {
  if (raw === undefined || raw === null) return null;
  const s = raw.trim();
  if (isHex(s)) return Number.parseInt(s, 16) / 1048576;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b?|bytes?|b)?$/i.exec(s);
  if (!m) return null;
  const n = Number.parseFloat(m[1]!);
  if (!Number.isFinite(n)) return null;
  const unit = (m[2] ?? "").toLowerCase();
  if (unit === "") return n >= 1048576 ? n / 1048576 : n;
  if (unit.startsWith("b")) return n / 1048576;
  const c = unit[0];
  if (c === "k") return n / 1024;
  if (c === "m") return n;
  if (c === "g") return n * 1024;
  if (c === "t") return n * 1024 * 1024;
  return null;
}

/** Leading integer of a value such as "24", "3 %", "0x1f" (hex); null otherwise. */
export function parseIntLoose(raw: string | undefined | null): number | null {
  if (raw === undefined || raw === null) return null;
  const s = raw.trim();
  if (isHex(s)) return Number.parseInt(s, 16);
  // Number.parseInt reads the same leading /-?\d+/ (s is trimmed), except that it also takes a "+"
  if (s[0] === "+") return null;
  const n = Number.parseInt(s, 10);
  return Number.isNaN(n) ? null : n;
}

/** One meaningful line of an indentation-scoped report. `value` null = section header. */
export interface IndentedEntry {
  indent: number;
  key: string;
  value: string | null;
  /** 1-based line number */
  line: number;
}

// Key, then padding, then ":" followed by a space or the end. Split on the FIRST such colon
// (values may contain colons: "Bus Id : 00000000:01:00.0", "Timestamp : Thu Nov 2 21:43:18 2025").
const KEY_VALUE = /^(\S.*?)\s+:(?:\s(.*))?$/;

/**
 * Reads `nvidia-smi -q` style text: each non-empty line becomes an entry with its indentation
 * (tabs count as 4 spaces), key and value (null for headers such as "FB Memory Usage").
 */
export function readIndented(text: string): IndentedEntry[] {
  const out: IndentedEntry[] = [];
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replaceAll("\t", "    ").trimEnd();
    if (raw.trim() === "") continue;
    const body = raw.trimStart();
    const indent = raw.length - body.length;
    const m = KEY_VALUE.exec(body);
    if (m) out.push({ indent, key: m[1]!.trim(), value: (m[2] ?? "").trim(), line: i + 1 });
    else out.push({ indent, key: body, value: null, line: i + 1 });
  }
  return out;
}

/** Section stack helper: names of open headers, each with its indentation. */
export class SectionStack {
  private readonly stack: Array<{ indent: number; name: string }> = [];

  /** Close every section at or deeper than `indent`. */
  closeTo(indent: number): void {
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.indent >= indent) this.stack.pop();
  }

  push(indent: number, name: string): void {
    this.stack.push({ indent, name });
  }

  clear(): void {
    this.stack.length = 0;
  }

  /** "A / B / key": the open headers, then `key` (a loop: it runs for every field of nvidia-smi -q). */
  path(key: string): string {
    let p = "";
    for (let i = 0; i < this.stack.length; i++) p += `${this.stack[i]!.name} / `;
    return p + key;
  }

  get depth(): number {
    return this.stack.length;
  }
}

/** Lines that mean "nvidia-smi could not run", not a report. */
const NVIDIA_SMI_ERRORS = [
  /NVIDIA-SMI has failed/i,
  /couldn't communicate with the NVIDIA driver/i,
  /No devices were found/i,
  /No supported devices in vGPU mode/i,
  /Failed to initialize NVML/i,
  /Driver\/library version mismatch/i,
  /nvidia-smi: (command )?not found/i,
  /Unable to determine the device handle/i,
  /No such file or directory/i,
];

/** The first line of `text` that looks like an nvidia-smi error, else null. */
export function findNvidiaSmiError(text: string): string | null {
  for (const line of splitLines(text)) {
    const t = line.trim();
    if (t !== "" && NVIDIA_SMI_ERRORS.some((re) => re.test(t))) return t;
  }
  return null;
}

/** First non-empty line (trimmed, at most 200 characters), for "unreadable output" errors. */
export function firstLine(text: string): string | null {
  for (const line of splitLines(text)) {
    const t = line.trim();
    if (t !== "") return t.length > 200 ? `${t.slice(0, 200)}…` : t;
  }
  return null;
}
