/**
 * The seed guide's host as the simulator has it (scenario seed-fresh: Proxmox VE 7.4, kernel 5.15, Intel,
 * GRUB, GeForce RTX 2080 Ti on nouveau, the 15.1 installer and polloloco's patch in /root), with
 * examples/seed-host.yaml's entry for it and the `gather` the CLI uses. For in-process tests of apply,
 * uninstall and the planner against the one simulated world.
 */
import { readFile } from "node:fs/promises";
import type { PlanDeps } from "../../src/apply/run.ts";
import { gatherForPlan, loadDesired, selectEntries } from "../../src/commands/plan.ts";
import type { HostEntry } from "../../src/desired/schema.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { REPO } from "./cli.ts";

/** The steps of examples/seed-host.yaml on seed-fresh, in the order apply runs them (one reboot at the end). */
export const SEED_FRESH_STEPS = [
  "repository",
  "packages",
  "rust-toolchain",
  "unlock-source",
  "unlock-build",
  "unlock-files",
  "driver-patch",
  "driver-install",
  "iommu-cmdline",
  "vfio-modules",
  "nouveau-blacklist",
  "initramfs",
];

/** The entry of an examples/*.yaml for a simulated host, retargeted at `spec`. */
export async function exampleEntry(
  file = "examples/seed-host.yaml",
  spec = "sim:seed-fresh",
): Promise<HostEntry> {
  const desired = await loadDesired(file, { cwd: REPO, readText: (p) => readFile(p, "utf8") });
  const [e] = selectEntries(desired, spec);
  return e!;
}

/** A fresh in-memory simulated host (never persisted) and the deps applyHost / planHost take for it. */
export function simWithDeps(scenario = "seed-fresh"): { host: SimHost; deps: PlanDeps } {
  const host = SimHost.fromState(buildScenarioState(scenario));
  return { host, deps: { host, gather: gatherForPlan } };
}

/** The simulated host's files, without logs and vgpuctl's own state (journal, backups, lock). */
export function simFiles(host: SimHost): Record<string, string> {
  return Object.fromEntries(
    Object.entries(host.snapshot().files).filter(
      ([p]) => !p.startsWith("/var/log/") && !p.startsWith("/var/lib/vgpuctl/"),
    ),
  );
}
