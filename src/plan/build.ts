/**
 * buildPlan: desired host entry + facts → ordered Steps. Pure.
 *
 * Planning is done in passes, one per concern (passes/*.ts), over a read-only context read once
 * from the host (context.ts: identity, GPUs, driver, bootloader and IOMMU, vgpu_unlock, packages —
 * which also finds the blockers no step can fix). Each pass is `(context, steps so far) → {steps,
 * blockers, notes}`; buildPlan runs them in the order below and concatenates what they return.
 *
 * The order is chosen so the whole setup needs ONE reboot (the guide needs two, research/installers.md
 * §1.5): packages → vgpu_unlock-rs → driver patched and installed with DKMS while nouveau is still
 * loaded (`--skip-module-load`, nothing is loaded until the reboot) → IOMMU parameters → vfio modules
 * → nouveau blacklist → one initramfs rebuild → reboot → verify. Steps already satisfied are omitted.
 */
import type { HostEntry } from "../desired/schema.ts";
import { type PlanContext, readContext } from "./context.ts";
import { driverPass } from "./passes/driver.ts";
import { initramfsPass } from "./passes/initramfs.ts";
import { kernelPinPass } from "./passes/kernel.ts";
import { kernelCmdlinePass } from "./passes/kernel-cmdline.ts";
import { liveOrReboot } from "./passes/live.ts";
import { mixedSizePass } from "./passes/mixed-size.ts";
import { nouveauBlacklistPass } from "./passes/nouveau.ts";
import type { PassResult } from "./passes/output.ts";
import { packagesPass } from "./passes/packages.ts";
import { rebootPass, withOwedFixes } from "./passes/reboot.ts";
import { repositoryPass } from "./passes/repository.ts";
import { secureBootPass } from "./passes/secure-boot.ts";
import { servicesPass } from "./passes/services.ts";
import { sriovPass } from "./passes/sriov.ts";
import { unlockBuildPass } from "./passes/unlock-build.ts";
import { unlockFilesPass } from "./passes/unlock-files.ts";
import { vfioLeftoverPass } from "./passes/vfio-leftover.ts";
import { vfioModulesPass } from "./passes/vfio-modules.ts";
import { vmsPass } from "./passes/vms.ts";
import type { Blocker, Plan, PlanInput, Step } from "./types.ts";

export { fileChange } from "./changes.ts";
export * from "./paths.ts";
export { probeRequests } from "./probes.ts";

type Pass = (ctx: PlanContext, prior: readonly Step[]) => PassResult;

/**
 * The host setup, in the order apply runs it. Then: the reboot those steps need, or loading the
 * setup now when the host shows that is safe (passes/live.ts); mixed-size mode; a reboot owed
 * without any step; the VMs.
 */
const SETUP_PASSES: Pass[] = [
  repositoryPass,
  packagesPass,
  unlockBuildPass,
  unlockFilesPass,
  kernelPinPass,
  secureBootPass,
  driverPass,
  sriovPass,
  servicesPass,
  kernelCmdlinePass,
  vfioModulesPass,
  nouveauBlacklistPass,
  vfioLeftoverPass,
  initramfsPass,
];

export function buildPlan(entry: HostEntry, input: PlanInput): Plan {
  const { ctx, found } = readContext(entry, input);
  const blockers = [...found.blockers];
  const notes = [...found.notes];
  if (!ctx) return finish(input.facts.host, [], blockers, notes);
  let steps: Step[] = [];
  const add = (r: PassResult) => {
    steps.push(...r.steps);
    blockers.push(...r.blockers);
    notes.push(...r.notes);
  };
  for (const pass of SETUP_PASSES) add(pass(ctx, steps));
  const live = liveOrReboot(ctx, steps);
  steps = live.steps;
  notes.push(...live.notes);
  for (const pass of [mixedSizePass, rebootPass]) add(pass(ctx, steps));
  steps = withOwedFixes(steps, input.pending);
  const vms = vmsPass(ctx, steps);
  add(vms.out);
  const plan = finish(input.facts.host, steps, blockers, notes);
  if (vms.split) plan.split = vms.split;
  return plan;
}

function finish(host: string, steps: Step[], blockers: Blocker[], notes: string[]): Plan {
  return {
    host,
    steps,
    reboots: steps.some((s) => s.reboot) ? 1 : 0,
    blockers: dedupeBlockers(blockers),
    notes,
  };
}

function dedupeBlockers(bs: Blocker[]): Blocker[] {
  const seen = new Set<string>();
  return bs.filter((b) => {
    const k = `${b.code}|${b.title}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
