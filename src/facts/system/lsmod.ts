import type { LoadedModule } from "../types.ts";
import { lines } from "./text.ts";

/** `lsmod` (or /proc/modules). The header line and unreadable lines are skipped. */
export function parseLsmod(text: string): LoadedModule[] {
  const out: LoadedModule[] = [];
  for (const raw of lines(text)) {
    const m = /^(\S+)\s+(\d+)\s+(-?\d+)(?:\s+(\S+))?/.exec(raw.trim());
    if (!m) continue;
    const usedBy = (m[4] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "" && s !== "-" && !s.startsWith("["));
    out.push({ name: m[1]!, size: Number(m[2]), usedBy });
  }
  return out;
}
