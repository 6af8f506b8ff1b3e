import { lines } from "./text.ts";

/** Month names may be localised ("sie 25 …" on a Polish host). */
const SYSLOG_PREFIX = /^\p{L}{2,5}\.? {1,2}\d{1,2} \d{2}:\d{2}:\d{2} \S+ [^\s:[\]]+(?:\[\d+\])?: ?/u;
const ISO_PREFIX =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)? \S+ [^\s:[\]]+(?:\[\d+\])?: ?/;

/**
 * `journalctl --no-pager -u …` → messages without the "Jan 31 12:00:00 pve1 nvidia-vgpud[1234]: "
 * prefix. "-- No entries --", "-- Logs begin at …", "-- Boot … --" markers are dropped.
 */
export function journalMessages(text: string): string[] {
  const out: string[] = [];
  for (const raw of lines(text)) {
    const line = raw.replace(/\s+$/, "");
    if (line === "" || /^-- .* --$/.test(line.trim()) || /^-- No entries --/.test(line.trim())) continue;
    out.push(line.replace(SYSLOG_PREFIX, "").replace(ISO_PREFIX, ""));
  }
  return out;
}
