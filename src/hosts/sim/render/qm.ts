/** `qm list`, `qm config`, and the /etc/pve/qemu-server/<vmid>.conf text. */
import { compareText } from "../../../util/compare.ts";
import { nodeCrypto } from "../../../util/node-crypto.ts";
import type { SimState, SimVm } from "../state.ts";

export function renderVmConf(vm: SimVm): string {
  // qemu-server writes the keys sorted.
  let out = Object.entries(vm.config)
    .sort(([a], [b]) => compareText(a, b))
    .map(([k, v]) => `${k}: ${v}\n`)
    .join("");
  const pend = Object.entries(vm.pending);
  if (pend.length || vm.pendingDelete.length) {
    out += "\n[PENDING]\n";
    if (vm.pendingDelete.length) out += `delete: ${vm.pendingDelete.join(",")}\n`;
    out += pend.map(([k, v]) => `${k}: ${v}\n`).join("");
  }
  return out;
}

/** Parse a conf written by someone else back into config/pending (snapshots are ignored). */
export function parseVmConf(vm: SimVm, text: string): SimVm {
  const config: Record<string, string> = {};
  const pending: Record<string, string> = {};
  let pendingDelete: string[] = [];
  let section: "main" | "pending" | "other" = "main";
  for (const line of text.split("\n")) {
    const h = /^\[(.+)\]\s*$/.exec(line);
    if (h) {
      section = h[1] === "PENDING" ? "pending" : "other";
      continue;
    }
    const m = /^([a-z][a-z0-9_-]*):\s*(.*)$/.exec(line);
    if (!m || section === "other") continue;
    if (section === "pending" && m[1] === "delete") pendingDelete = m[2]!.split(",").filter(Boolean);
    else if (section === "pending") pending[m[1]!] = m[2]!;
    else config[m[1]!] = m[2]!;
  }
  return { ...vm, config, pending, pendingDelete };
}

function bootDiskGb(vm: SimVm): number {
  for (const k of ["scsi0", "virtio0", "sata0", "ide0"]) {
    const m = /size=(\d+)([GMT])/.exec(vm.config[k] ?? "");
    if (m) return m[2] === "T" ? Number(m[1]) * 1024 : m[2] === "M" ? Number(m[1]) / 1024 : Number(m[1]);
  }
  return 0;
}

export function renderQmList(s: SimState): string {
  const row = (a: string, b: string, c: string, d: string, e: string, f: string) =>
    `${a.padStart(10)} ${b.padEnd(20)} ${c.padEnd(10)} ${d.padEnd(10)} ${e.padStart(12)} ${f.padEnd(10)}\n`;
  let out = row("VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID");
  for (const vm of [...s.vms].sort((a, b) => a.vmid - b.vmid)) {
    out += row(
      String(vm.vmid),
      vm.config.name ?? `VM ${vm.vmid}`,
      vm.running ? "running" : "stopped",
      vm.config.memory ?? "512",
      bootDiskGb(vm).toFixed(2),
      vm.running ? String(2000 + vm.vmid) : "0",
    );
  }
  return out;
}

/** `qm config VMID`: keys sorted, plus the digest of the stored file. */
export function renderQmConfig(vm: SimVm, current = false): string {
  const cfg = { ...vm.config };
  if (current) {
    Object.assign(cfg, vm.pending);
    for (const k of vm.pendingDelete) delete cfg[k];
  }
  const digest = nodeCrypto().createHash("sha1").update(renderVmConf(vm)).digest("hex");
  const entries = Object.entries({ ...cfg, digest }).sort(([a], [b]) => compareText(a, b));
  return entries.map(([k, v]) => `${k}: ${v}\n`).join("");
}

/**
 * What `qm start` prints when QEMU cannot open a vGPU qemu-server created for it: QEMU's vfio error, then
 * qemu-server's cleanup of the mdev (cleanup_pci_devices: for an NVIDIA mdev it waits up to 10 seconds for
 * the driver to remove it, then removes it itself), then the error. Real output, Proxmox VE 8 with a
 * consumer card (anomixer/proxmox-vgpu-installer#17):
 *   kvm: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/00000000-0000-0000-0000-000000000100,id=hostpci0,bus=pci.0,addr=0x10: vfio 00000000-…: error getting device from group 48: Input/output error
 *   Verify all devices in group 48 are bound to vfio-<bus> or pci-stub and not already in use
 *   waited 10 seconds for mediated device driver finishing clean up
 *   actively clean up mediated device with UUID 00000000-0000-0000-0000-000000000100
 *   TASK ERROR: start failed: QEMU exited with code 1        (the task log's form; `qm start` omits "TASK ERROR: ")
 */
export function renderVgpuStartFailure(uuid: string, index: number, pciAddr: string, group: number): string {
  return [
    `kvm: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/${uuid},id=hostpci${index},${pciAddr}: vfio ${uuid}: error getting device from group ${group}: Input/output error`,
    `Verify all devices in group ${group} are bound to vfio-<bus> or pci-stub and not already in use`,
    "waited 10 seconds for mediated device driver finishing clean up",
    `actively clean up mediated device with UUID ${uuid}`,
    "start failed: QEMU exited with code 1",
  ].join("\n");
}
