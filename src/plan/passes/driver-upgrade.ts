/**
 * Replacing the installed NVIDIA vGPU host driver by the one vgpu.yaml names (an upgrade in place, or a
 * downgrade): what refuses it before anything changes, and the steps that come before the new driver's
 * own (passes/driver.ts): stop the VMs that use vGPUs (only when told to), keep the previous installer
 * for a rollback, remove the old driver with its own uninstaller.
 *
 * Refusals: the new branch no longer supports a GPU (`driver-branch-drops-gpu`: Pascal and Maxwell 2.0
 * end with vGPU 16.x, knowledge/drivers.ts releaseDropsGeneration), VMs with vGPUs running
 * (`driver-vms-running`: the old driver cannot be unloaded under them). The kernel range of the new
 * branch is checked for the running and the next boot's kernel by passes/kernel.ts like any install.
 *
 * Rollback: the previous driver's installer (the patched `-custom.run` for consumer cards, made again
 * from the original .run and its patch) is kept in /var/lib/vgpuctl/previous-driver/. Undoing
 * `driver-remove` re-installs it — apply does that when the new driver fails to install or does not come
 * up after the reboot (apply/rollback.ts), and `vgpuctl uninstall` does it when it replays the journal.
 */
import type { DriverState } from "../../facts/derive.ts";
import type { Facts } from "../../facts/types.ts";
import { type DriverRelease, releaseDropsGeneration } from "../../knowledge/drivers.ts";
import { basename, dirname } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import { STATE_DIR, VGPU_SERVICES } from "../paths.ts";
import type { Step } from "../types.ts";
import type { GpuSelection } from "./gpus.ts";
import type { PassOutput } from "./output.ts";

export const PREVIOUS_DRIVER_DIR = `${STATE_DIR}/previous-driver`;

/** The installer argv vgpuctl uses (passes/driver.ts): DKMS, nouveau left alone, proprietary modules. */
export function installerArgv(runfile: string, version: string, loadNow: boolean): string[] {
  const argv = ["sh", runfile, "--silent", "--dkms", "--no-nouveau-check"];
  if (!loadNow) argv.push("--skip-module-load");
  if (Number.parseInt(version, 10) >= 515) argv.push("-m=kernel");
  return argv;
}

/** `driver-branch-drops-gpu`: the release vgpu.yaml names no longer supports a GPU being set up. */
export function checkBranchKeepsGpus(
  rel: DriverRelease,
  version: string,
  gpus: GpuSelection,
  out: PassOutput,
): boolean {
  const dropped = gpus.gpus.filter(
    (g) =>
      g.cls.generation !== null &&
      releaseDropsGeneration(rel, g.cls.generation, g.cls.spoofAs?.deviceId ?? g.cls.deviceId),
  );
  if (dropped.length === 0) return true;
  const gen = dropped[0]!.cls.generation ?? "";
  out.block(
    "driver-branch-drops-gpu",
    `vGPU ${rel.vgpuRelease} (driver ${version}) no longer supports ${gen} GPUs`,
    dropped.map((g) => `${g.pci.address} ${g.cls.name ?? g.pci.description} (${g.cls.generation})`),
    [
      `name a driver of the last branch that supports ${gen} in vgpu.yaml (16.x for Maxwell 2.0 and Pascal, e.g. 16.8 = 535.216.01)`,
    ],
  );
  return false;
}

/** VMs whose config uses an NVIDIA vGPU (hostpciN …,mdev=nvidia-N) and that `qm list` shows running. */
export function runningVgpuVms(f: Facts): number[] {
  const running = new Set((f.qmList ?? []).filter((v) => v.status === "running").map((v) => v.vmid));
  return (f.vms ?? [])
    .filter((vm) => running.has(vm.vmid) && vm.hostpci.some((h) => h.mdev !== null))
    .map((vm) => vm.vmid);
}

/** `driver-vms-running`, unless apply was told to stop them (`--stop-vms`). */
export function checkVmsStopped(installed: DriverState, f: Facts, stopVms: boolean, out: PassOutput): void {
  const vms = runningVgpuVms(f);
  if (vms.length === 0 || stopVms) return;
  out.block(
    "driver-vms-running",
    `VM(s) ${vms.join(", ")} run on vGPUs of driver ${installed.version}: it cannot be replaced under them`,
    vms.map((id) => `qm list: VM ${id} running, its config has a hostpci …,mdev=nvidia-N`),
    [
      `shut them down (qm shutdown ${vms.join("; qm shutdown ")}) and re-run, or re-run apply with --stop-vms`,
    ],
  );
}

/** Where the previous driver's files are expected: next to the new ones, under their version's names. */
export function previousFiles(ctx: PlanContext): { installer: string; patch: string | null } | null {
  const d = ctx.entry.driver;
  const old = ctx.driver.replace;
  if (!d || !old) return null;
  const installer = `${dirname(d.installer)}/NVIDIA-Linux-x86_64-${old.version}-vgpu-kvm.run`;
  const patchDir = d.patch ? dirname(d.patch.path) : `${dirname(d.installer)}/vgpu-proxmox`;
  return { installer, patch: ctx.consumer.length > 0 ? `${patchDir}/${old.version}.patch` : null };
}

/** The steps before the new driver's: stop vGPU VMs (when told to), keep the previous installer, remove the old driver. */
export function driverReplaceSteps(ctx: PlanContext): Step[] {
  const old = ctx.driver.replace;
  const prev = previousFiles(ctx);
  if (!old || !prev) return [];
  const steps: Step[] = [];
  const vms = runningVgpuVms(ctx.facts);
  if (vms.length > 0 && ctx.input.stopVms)
    steps.push({
      id: "driver-stop-vms",
      title: `Shut down VM(s) ${vms.join(", ")} (they use vGPUs of driver ${old.version})`,
      why: "the old driver cannot be removed while VMs run on its vGPUs (apply --stop-vms)",
      changes: vms.map((id) => ({ kind: "command" as const, argv: ["qm", "shutdown", String(id)] })),
      reboot: false,
      undo: { description: "nothing: start them again by hand", commands: [], regenerate: [] },
    });
  const kept = keptInstaller(prev);
  steps.push(keepStep(prev, old.version, kept));
  steps.push({
    id: "driver-remove",
    title: `Remove NVIDIA driver ${old.version} with its own uninstaller`,
    why: `vgpu.yaml names driver ${ctx.driver.version}; the old one is removed first (nvidia-uninstall), its installer is kept for a rollback`,
    changes: [{ kind: "command", argv: ["nvidia-uninstall", "--silent"] }],
    reboot: true,
    undo: {
      description: `re-install the previous driver ${old.version} from ${kept}`,
      commands: [installerArgv(kept, old.version, true), ["systemctl", "enable", ...VGPU_SERVICES]],
      regenerate: [],
    },
  });
  return steps;
}

function keptInstaller(prev: { installer: string; patch: string | null }): string {
  const name = basename(prev.installer).replace(/\.run$/, prev.patch ? "-custom.run" : ".run");
  return `${PREVIOUS_DRIVER_DIR}/${name}`;
}

function keepStep(prev: { installer: string; patch: string | null }, version: string, kept: string): Step {
  const make = prev.patch
    ? [["env", "-C", PREVIOUS_DRIVER_DIR, "sh", prev.installer, "--apply-patch", prev.patch]]
    : [["cp", prev.installer, kept]];
  return {
    id: "driver-keep-previous",
    title: `Keep the installer of driver ${version} for a rollback`,
    why: `if the new driver does not come up, apply re-installs ${version} from ${kept} (so does uninstall)`,
    changes: [
      { kind: "command", argv: ["mkdir", "-p", PREVIOUS_DRIVER_DIR] },
      ...make.map((argv) => ({ kind: "command" as const, argv })),
      // the makeself stub exits 0 even when the patch does not apply: prove the kept installer exists
      { kind: "command", argv: ["sha256sum", kept] },
    ],
    reboot: false,
    undo: {
      description: `remove ${PREVIOUS_DRIVER_DIR}`,
      commands: [["rm", "-rf", PREVIOUS_DRIVER_DIR]],
      regenerate: [],
    },
  };
}
