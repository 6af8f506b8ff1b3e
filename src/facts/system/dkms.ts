import type { DkmsEntry } from "../types.ts";
import { lines } from "./text.ts";

/**
 * `dkms status` lines, both forms:
 *   old  "nvidia, 525.85.07, 5.15.0-1-pve, x86_64: installed"
 *   new  "nvidia/525.85.07, 5.15.0-1-pve, x86_64: installed (WARNING! Diff between built and installed module!)"
 *   also "nvidia/525.85.07: added" (no kernel). Error and warning lines are skipped.
 */
const LINE = /^([^\s,/:]+)(?:\/|,\s*)([^\s,:]+)(?:,\s*([^\s,:]+))?(?:,\s*([^\s,:]+))?:\s*(\S+)\s*(.*)$/;

/**
 * Error and warning lines (lower case): /^(Error!|WARNING:|Warning:|Deprecated feature)/i by prefix,
 * without a regex compiled at every start (issue 16).
 */
const NOT_ENTRY = ["error!", "warning:", "deprecated feature"];

export function parseDkmsStatus(text: string): DkmsEntry[] {
  const out: DkmsEntry[] = [];
  for (const raw of lines(text)) {
    const line = raw.trim();
    if (line === "" || NOT_ENTRY.some((s) => line.slice(0, s.length).toLowerCase() === s)) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    out.push({
      module: m[1]!,
      version: m[2]!,
      kernel: m[3] ?? null,
      arch: m[4] ?? null,
      status: m[5]!.endsWith(",") || m[5]!.endsWith(";") ? m[5]!.slice(0, -1) : m[5]!,
      warning: m[6]!.trim() || null,
    });
  }
  return out;
}
