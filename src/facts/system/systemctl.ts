import { lines } from "./text.ts";

/**
 * `systemctl is-active A B …` prints one state per unit, in order ("active", "inactive",
 * "failed", "activating"…). Units without a line are left out. The exit status is non-zero
 * whenever one unit is not active — the output is still valid.
 */
export function parseSystemctlIsActive(units: readonly string[], text: string): Record<string, string> {
  const states = lines(text)
    .map((l) => l.trim())
    .filter((l) => /^[a-z-]+$/.test(l));
  const out: Record<string, string> = {};
  units.forEach((u, i) => {
    const s = states[i];
    if (s !== undefined) out[u] = s;
  });
  return out;
}
