/**
 * The VMs of vgpu.yaml (attach / override / detach, planned by ../vms.ts): after the setup's reboot
 * when the plan still needs one. First the cluster PCI resource mapping that top-level vms: attached
 * through a mapping need (../cluster-mapping.ts), on the one node the placement gave it to.
 */
import type { SplitGpu } from "../../place/split.ts";
import { clusterMappingStep } from "../cluster-mapping.ts";
import type { PlanContext } from "../context.ts";
import type { Step } from "../types.ts";
import { type PlannedEntry, planVms } from "../vms.ts";
import { PassOutput } from "./output.ts";

export function vmsPass(ctx: PlanContext, prior: Step[]): { out: PassOutput; split: SplitGpu[] | null } {
  const out = new PassOutput();
  const afterReboot = prior.some((s) => s.reboot);
  const wants = (ctx.entry as PlannedEntry).clusterMappings ?? [];
  const mapping = wants.length > 0 ? clusterMappingStep(wants, ctx.facts.pciMappings, afterReboot) : null;
  if (mapping) out.steps.push(mapping);
  if (!ctx.entry.vms || ctx.entry.vms.length === 0) return { out, split: null };
  const vms = planVms(ctx.entry, {
    facts: ctx.facts,
    file: ctx.input.file,
    priorSteps: prior,
    afterReboot,
    unlock: ctx.unlock.preload || ctx.unlock.state.preloadedIn.length > 0,
  });
  out.steps.push(...vms.steps);
  out.blockers.push(...vms.blockers);
  out.notes.push(...vms.notes);
  return { out, split: vms.split ? vms.split.gpus : null };
}
