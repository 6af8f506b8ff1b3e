/**
 * VMs whose vGPUs an uninstall takes away (issue 13 #9). Removing the NVIDIA vGPU host driver (or the
 * vgpu_unlock that lets a consumer card offer vGPU types) leaves no `nvidia-N` type to create, so a
 * VM's `hostpciN: …,mdev=nvidia-N` line (qemu-server: at start PVE writes the type id to the VF /
 * creates the mdev, research/proxmox.md §3) names a vGPU that no longer exists and the VM fails to
 * start. vgpuctl's own VM steps are undone from the journal; lines added otherwise (`vgpuctl vm
 * attach`, the web UI, by hand) are named here, backed up, and removed with `qm set N --delete`
 * (the documented way to drop a VM option) when the user confirms the uninstall.
 */
import { parseVmConfig } from "../facts/system/qemu-server.ts";
import type { HostpciEntry } from "../facts/types.ts";
import type { Host } from "../hosts/host.ts";
import { fileChange } from "../plan/build.ts";
import type { Step } from "../plan/types.ts";
import { readFiles } from "./executor.ts";
import type { Journal } from "./journal.ts";

const QEMU_SERVER = "/etc/pve/qemu-server";
/** Where the VM configs are copied before their vGPU lines go (Debian keeps backups in /var/backups). */
export const VM_BACKUP_DIR = "/var/backups/vgpuctl";

export interface VmVgpuLeftover {
  vmid: number;
  path: string;
  /** the config as it is now */
  text: string;
  lines: HostpciEntry[];
}

/** The uninstall takes the vGPU types away: it removes the driver or vgpu_unlock that vgpuctl installed. */
export function uninstallRemovesVgpus(j: Journal): boolean {
  return j.entries.some((e) => e.id === "driver-install" || e.id === "unlock-files");
}

/** hostpci indexes a journal entry's undo sets or deletes for a VM (vgpuctl's own VM steps). */
function undoneByJournal(j: Journal, vmid: number): Set<number> {
  const out = new Set<number>();
  for (const e of j.entries)
    for (const argv of e.undo.commands) {
      if (argv[0] !== "qm" || argv[1] !== "set" || argv[2] !== String(vmid)) continue;
      for (const a of argv.slice(3)) for (const m of a.matchAll(/hostpci(\d+)/g)) out.add(Number(m[1]));
    }
  return out;
}

/** VMs that will keep `mdev=nvidia-…` lines for vGPUs the uninstall takes away. */
export async function vmVgpuLeftovers(host: Host, j: Journal): Promise<VmVgpuLeftover[]> {
  if (!uninstallRemovesVgpus(j)) return [];
  const names = (await host.list(QEMU_SERVER)) ?? [];
  const paths = names.filter((n) => /^\d+\.conf$/.test(n)).map((n) => `${QEMU_SERVER}/${n}`);
  const texts = await readFiles(host, paths);
  const out: VmVgpuLeftover[] = [];
  for (const path of paths) {
    const text = texts.get(path) ?? null;
    if (text === null) continue;
    const vmid = Number(/(\d+)\.conf$/.exec(path)![1]);
    const vm = parseVmConfig(vmid, text);
    const mine = undoneByJournal(j, vmid);
    const lines = vm.hostpci.filter(
      (h) => h.mdev !== null && /^nvidia-\d+$/.test(h.mdev) && !mine.has(h.index),
    );
    if (lines.length > 0) out.push({ vmid, path, text, lines });
  }
  return out.sort((a, b) => a.vmid - b.vmid);
}

/** One step: each config copied to VM_BACKUP_DIR, then its vGPU lines deleted with `qm set`. */
export function removeVmVgpusStep(leftovers: VmVgpuLeftover[], backups: Map<string, string | null>): Step {
  return {
    id: "vm-vgpu-lines",
    title: `Remove the vGPU lines of VM ${leftovers.map((l) => l.vmid).join(", ")} (their vGPUs go with the driver)`,
    why: `${leftovers
      .map((l) => `VM ${l.vmid}: ${l.lines.map((h) => `hostpci${h.index}: ${h.raw}`).join("; ")}`)
      .join(" · ")} — not added by vgpuctl's journal; each config is copied to ${VM_BACKUP_DIR}/ first`,
    changes: leftovers.flatMap((l) => [
      fileChange(vmBackupPath(l.vmid), backups.get(vmBackupPath(l.vmid)) ?? null, l.text, 0o600),
      {
        kind: "command" as const,
        argv: ["qm", "set", String(l.vmid), "--delete", l.lines.map((h) => `hostpci${h.index}`).join(",")],
      },
    ]),
    reboot: false,
    undo: { description: "", commands: [], regenerate: [] },
  };
}

export function vmBackupPath(vmid: number): string {
  return `${VM_BACKUP_DIR}/qemu-server/${vmid}.conf`;
}
