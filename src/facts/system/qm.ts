import type { QmListEntry } from "../types.ts";
import { lines } from "./text.ts";

/**
 * `qm list`:
 *       VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID
 *        100 win11                running    8192              64.00 12345
 */
export function parseQmList(text: string): QmListEntry[] {
  const out: QmListEntry[] = [];
  for (const raw of lines(text)) {
    // Both patterns need a digit first (after blanks): the header line runs neither (start-up cost, issue 16).
    const first = raw.trimStart()[0];
    if (first === undefined || first < "0" || first > "9") continue;
    // Full row: the name may contain spaces ("VM 104" for unnamed VMs); the numeric tail anchors it.
    const full = /^\s*(\d+)\s+(.*?)\s+(\S+)\s+\d+\s+[\d.]+\s+\d+\s*$/.exec(raw);
    const m = full ?? /^\s*(\d+)\s+(\S+)\s+(\S+)(?:\s|$)/.exec(raw);
    if (m) out.push({ vmid: Number(m[1]), name: m[2]!, status: m[3]! });
  }
  return out;
}
