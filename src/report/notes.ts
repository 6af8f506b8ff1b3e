/**
 * What could not be determined, each thing once (issue 13 #17): the capture's own note ("capture: not
 * installed on the host: mokutil --sb-state") and the facts' "not captured: mokutil --sb-state" name
 * the same command; the capture's note says more, so it stays.
 */
export function notesOnce(notes: readonly string[]): string[] {
  const captureNotes = notes.filter((n) => n.startsWith("capture: "));
  const out: string[] = [];
  for (const n of notes) {
    if (out.includes(n)) continue;
    const m = /^not captured: (.+)$/.exec(n);
    if (m && captureNotes.some((c) => c.endsWith(`: ${m[1]}`))) continue;
    out.push(n);
  }
  return out;
}
