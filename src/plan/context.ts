/**
 * The read-only context every planning pass works from, computed once from the desired host entry
 * and the host's facts: who the host is, which GPUs are set up, which driver, bootloader and IOMMU
 * parameters, what vgpu_unlock needs, which packages are missing. Reading the host finds the
 * problems no step can fix (blockers) in a fixed order; when it cannot go on (not Proxmox, kernel
 * or PCI devices unknown) there is no context and the plan is only those blockers.
 */
import type { HostEntry } from "../desired/schema.ts";
import { type DriverDecision, decideDriver } from "./passes/driver.ts";
import { assessGpus, type GpuSelection } from "./passes/gpus.ts";
import { assessHost, type HostIdentity } from "./passes/host.ts";
import { type BootDecision, decideIommu } from "./passes/kernel-cmdline.ts";
import { PassOutput } from "./passes/output.ts";
import { missingPackages } from "./passes/packages.ts";
import { decideUnlock, type UnlockDecision } from "./passes/unlock-build.ts";
import { type Leftover, vfioLeftover } from "./passes/vfio-leftover.ts";
import type { PlanInput } from "./types.ts";

export interface PlanContext extends HostIdentity, GpuSelection {
  entry: HostEntry;
  input: PlanInput;
  facts: PlanInput["facts"];
  driver: DriverDecision;
  boot: BootDecision;
  leftover: Leftover;
  unlock: UnlockDecision;
  /** Packages to install (null: the installed packages are unknown). */
  packages: string[];
}

export function readContext(
  entry: HostEntry,
  input: PlanInput,
): { ctx: PlanContext | null; found: PassOutput } {
  const found = new PassOutput();
  const f = input.facts;
  const assessed = assessHost(f, found);
  if (!assessed) return { ctx: null, found };
  const gpus = assessGpus(entry, f, found);
  if (!gpus) return { ctx: null, found };
  const driver = decideDriver(entry, input, assessed, gpus, found);
  // a pinned kernel (passes/kernel.ts) is the next boot's kernel: headers, DKMS and modules are for it
  const host = driver.pin ? { ...assessed, bootKernel: driver.pin.kernel } : assessed;
  const boot = decideIommu(entry, f, found);
  const leftover = vfioLeftover(f, gpus.gpus, found.block);
  const unlock = decideUnlock(entry, input, gpus.useUnlock, found, gpus.native.length > 0);
  // the kernel left behind by a pin needs no headers
  const forPackages = driver.pin ? { ...host, running: driver.pin.kernel } : host;
  const packages = missingPackages({ entry, facts: f, ...forPackages, ...gpus, driver, unlock }, found);
  return {
    ctx: { entry, input, facts: f, ...host, ...gpus, driver, boot, leftover, unlock, packages },
    found,
  };
}
