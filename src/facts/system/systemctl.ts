import { lines } from "./text.ts";

/** "active", "inactive", "failed": what /^[a-z-]+$/ matches, by string (start-up cost, issue 16). */
function isStateWord(l: string): boolean {
  if (l === "") return false;
  for (let i = 0; i < l.length; i++) {
    const c = l[i]!;
    if (!((c >= "a" && c <= "z") || c === "-")) return false;
  }
  return true;
}

/**
 * `systemctl is-active A B …` prints one state per unit, in order ("active", "inactive",
 * "failed", "activating"…). Units without a line are left out. The exit status is non-zero
 * whenever one unit is not active — the output is still valid.
 */
export function parseSystemctlIsActive(units: readonly string[], text: string): Record<string, string> {
  const states = lines(text)
    .map((l) => l.trim())
    .filter(isStateWord);
  const out: Record<string, string> = {};
  units.forEach((u, i) => {
    const s = states[i];
    if (s !== undefined) out[u] = s;
  });
  return out;
}

/**
 * The state of one unit from what people paste instead of `systemctl is-active`:
 * `systemctl status <unit>` ("Active: inactive (dead) since …", "Unit nvidia-vgpud.service could not be
 * found.") or a failed `systemctl enable/start <unit>` ("Failed to enable unit: Unit file … does not
 * exist."). "not-found" = the unit file is not installed. null when the text does not say.
 */
export function unitStateFromSystemctl(unit: string, text: string): string | null {
  const u = unit.replace(/\.service$/, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  /** the unit whose block we are in (`systemctl status A B` prints one block per unit) */
  let current: string | null = null;
  for (const raw of lines(text)) {
    const l = raw.trim();
    if (
      new RegExp(`Unit (?:file )?${u}(?:\\.service)? (?:could not be found|does not exist|not found)`).test(l)
    )
      return "not-found";
    const h = /^(?:[●○×*↻]\s+)?(\S+\.service)\s+-\s/.exec(l);
    if (h) current = h[1]!;
    const a = /^Active:\s+([a-z-]+)/.exec(l);
    if (a && (current === null || current.replace(/\.service$/, "") === unit.replace(/\.service$/, "")))
      return a[1]!;
  }
  return null;
}

/** Lines of `systemctl status` output that are journal entries (its tail), without the header. */
export function statusJournalLines(text: string): string {
  // only the tail was pasted (no "● unit - …" / "Loaded:" / "Active:" header): all of it is journal
  if (!lines(text).some((l) => /^\s*(?:[●○×*↻]\s+\S+\.service\b|Loaded:|Active:)/.test(l))) return text;
  const out: string[] = [];
  let inTail = false;
  for (const l of lines(text)) {
    if (!inTail) {
      if (l.trim() === "") inTail = true;
      continue;
    }
    out.push(l);
  }
  return out.join("\n");
}
