/**
 * A reboot that is due although no step needs one (IOMMU parameters configured but not active,
 * nouveau blacklisted but loaded, the driver installed but not loaded, changes applied earlier),
 * and the doctor codes fixed earlier that the owed reboot puts into effect.
 */
import { noUndo } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import type { JournalPending, Step } from "../types.ts";
import { iommuConfiguredButNotLive } from "./kernel-cmdline.ts";
import { nouveauStillLoaded } from "./nouveau.ts";
import { PassOutput } from "./output.ts";

export function rebootPass(ctx: PlanContext, prior: readonly Step[]): PassOutput {
  const out = new PassOutput();
  if (prior.some((s) => s.reboot)) return out;
  const { installed, needed } = ctx.driver;
  const reasons = [
    iommuConfiguredButNotLive(ctx) ? "the IOMMU parameters are configured but not active" : null,
    nouveauStillLoaded(ctx) ? "nouveau is blacklisted but still loaded" : null,
    installed !== null && installed.loaded === false && !needed
      ? "the NVIDIA driver is installed but not loaded"
      : null,
    ctx.input.pending?.reboot ? "changes applied earlier take effect at the next boot" : null,
  ].filter(Boolean);
  if (reasons.length > 0)
    out.step({
      id: "reboot",
      title: "Reboot",
      why: reasons.join("; "),
      changes: [],
      reboot: true,
      undo: noUndo("nothing to undo"),
    });
  return out;
}

/** A fix applied earlier (the journal knows) takes effect at the reboot still owed: the last reboot step. */
export function withOwedFixes(steps: Step[], pending: JournalPending | undefined): Step[] {
  const owed = (pending?.reboot ? (pending.fixes ?? []) : []).filter(
    (c) => !steps.some((s) => s.fixes?.includes(c)),
  );
  const last = steps.findLastIndex((s) => s.reboot);
  if (owed.length === 0 || last < 0) return steps;
  return steps.map((s, i) => (i === last ? { ...s, fixes: [...(s.fixes ?? []), ...owed] } : s));
}
