import { lines } from "./text.ts";

/** Month names may be localised ("sie 25 …" on a Polish host). */
const SYSLOG_PREFIX = /^\p{L}{2,5}\.? {1,2}\d{1,2} \d{2}:\d{2}:\d{2} \S+ [^\s:[\]]+(?:\[\d+\])?: ?/u;
/**
 * SYSLOG_PREFIX for a line whose first six characters are ASCII: its month is ASCII letters then, and
 * the rest of the pattern reads the same without the `u` flag. The Unicode pattern costs ~1.9 M
 * instructions to compile (bytecode, then machine code at its second use), this one ~0.8 M
 * (callgrind, issue 16); localised months still go to SYSLOG_PREFIX.
 */
const ASCII_SYSLOG_PREFIX = /^[A-Za-z]{2,5}\.? {1,2}\d{1,2} \d{2}:\d{2}:\d{2} \S+ [^\s:[\]]+(?:\[\d+\])?: ?/;

/** The first six characters are ASCII (or the line is shorter). */
function asciiStart(line: string): boolean {
  for (let i = 0; i < 6 && i < line.length; i++) if (line.charCodeAt(i) > 127) return false;
  return true;
}

const ISO_PREFIX =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)? \S+ [^\s:[\]]+(?:\[\d+\])?: ?/;

/** "-- No entries --", "-- Boot 1a2b… --" (the regexes run only on lines starting "--"). */
function isMarker(t: string): boolean {
  if (!t.startsWith("--")) return false;
  // /^-- .* --$/ by string: "." stops at no character a trimmed line holds but U+2028/U+2029
  if (
    t.length >= 6 &&
    t.startsWith("-- ") &&
    t.endsWith(" --") &&
    !t.includes("\u2028") &&
    !t.includes("\u2029")
  )
    return true;
  return t.startsWith("-- No entries --");
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
    const message = line.replace(asciiStart(line) ? ASCII_SYSLOG_PREFIX : SYSLOG_PREFIX, "");
    out.push(looksIso(message) ? message.replace(ISO_PREFIX, "") : message);
  }
  return out;
}
