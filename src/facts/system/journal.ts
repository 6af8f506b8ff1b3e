import { lines } from "./text.ts";

/** Month names may be localised ("sie 25 …" on a Polish host). */
const SYSLOG_PREFIX = /^\p{L}{2,5}\.? {1,2}\d{1,2} \d{2}:\d{2}:\d{2} \S+ [^\s:[\]]+(?:\[\d+\])?: ?/u;
const ISO_PREFIX =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)? \S+ [^\s:[\]]+(?:\[\d+\])?: ?/;

/** "-- No entries --", "-- Boot 1a2b… --" (the regexes run only on lines starting "--"). */
function isMarker(t: string): boolean {
  return t.startsWith("--") && (/^-- .* --$/.test(t) || /^-- No entries --/.test(t));
}

/** Starts like "2023-01-31T" (what ISO_PREFIX needs), so the regex runs only then. */
function looksIso(s: string): boolean {
  return s[4] === "-" && s[7] === "-" && s[10] === "T";
}

/**
 * `journalctl --no-pager -u …` → messages without the "Jan 31 12:00:00 pve1 nvidia-vgpud[1234]: "
 * prefix. "-- No entries --", "-- Logs begin at …", "-- Boot … --" markers are dropped.
 */
export function journalMessages(text: string): string[] {
  const out: string[] = [];
  for (const raw of lines(text)) {
    const line = raw.trimEnd();
    if (line === "" || isMarker(line.trim())) continue;
    const message = line.replace(SYSLOG_PREFIX, "");
    out.push(looksIso(message) ? message.replace(ISO_PREFIX, "") : message);
  }
  return out;
}
