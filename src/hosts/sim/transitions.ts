/**
 * State transitions of the simulated host: things that change it beyond plain file writes.
 * Each takes the state and mutates it in place (the caller persists).
 */
import { mdevUuidFor } from "../../facts/derive.ts";
import { normalisePciAddress } from "../../facts/pci.ts";
import {
  bootModules,
  configuredCmdline,
  isBlacklisted,
  kernelAtLeast,
  offeredTypes,
  secureBootActive,
  unlockActiveIn,
  vfioIds,
  vgpuVerdict,
} from "./logic.ts";
import { dkmsAutoinstall } from "./nvidia.ts";
import type { SimState, SimVm } from "./state.ts";

/** Modules that no longer exist on newer kernels (vfio_virqfd was merged into vfio in 6.2). */
function moduleExists(s: SimState, m: string): boolean {
  if (m === "vfio_virqfd") return !kernelAtLeast(s.kernel.running, 6, 2);
  return true;
}

/** Whether the nvidia module can load on the running kernel. */
export function nvidiaLoadable(s: SimState): boolean {
  const d = s.driver;
  if (!d) return false;
  if (!d.dkmsKernels.includes(s.kernel.running)) return false;
  if (secureBootActive(s) && !d.signed) return false;
  return true;
}

/** Which driver binds each GPU after a boot, which modules load. */
export function settleDrivers(s: SimState): void {
  const ids = vfioIds(s);
  const loadable = nvidiaLoadable(s);
  const nouveauAllowed = !isBlacklisted(s, "nouveau");
  for (const g of s.gpus) {
    if (ids.includes(`10de:${g.deviceId}`)) g.driver = "vfio-pci";
    // nouveau (not blacklisted) claims the GPU first; nvidia then finds it taken ("already bound to nouveau")
    else if (nouveauAllowed) g.driver = "nouveau";
    else if (loadable) g.driver = "nvidia";
    else g.driver = null;
  }
  s.driverLoaded = loadable;
  const mods = [...s.baseModules];
  for (const m of bootModules(s)) if (moduleExists(s, m) && !mods.includes(m)) mods.push(m);
  s.modules = mods;
}

export function reboot(s: SimState): void {
  s.bootCount += 1;
  s.clock = new Date(Date.parse(s.clock) + 15 * 60 * 1000).toISOString();
  s.cmdline = s.boot.nextCmdline;
  s.mdevs = [];
  delete s.failedVgpuStarts;
  for (const vm of s.vms) {
    vm.running = false;
    applyPending(vm);
  }
  // dkms.service: build registered DKMS modules for the booted kernel when its headers are there
  dkmsAutoinstall(s, s.kernel.running);
  settleDrivers(s);
}

export function applyPending(vm: SimVm): void {
  Object.assign(vm.config, vm.pending);
  for (const k of vm.pendingDelete) delete vm.config[k];
  vm.pending = {};
  vm.pendingDelete = [];
}

/** update-grub: regenerate grub.cfg from /etc/default/grub (only meaningful on GRUB hosts). */
export function updateGrub(s: SimState): void {
  if (s.boot.bootloader === "grub") s.boot.nextCmdline = configuredCmdline(s);
}

/** proxmox-boot-tool refresh (also run by the initramfs/kernel hooks). */
export function bootToolRefresh(s: SimState): boolean {
  if (s.boot.espUuids.length === 0) return false;
  // systemd-boot: copies /etc/kernel/cmdline to the ESP; GRUB-on-ESP: runs update-grub.
  s.boot.nextCmdline = configuredCmdline(s);
  return true;
}

/** Normalise a hostpci host= value to a full function address, "01:00.0" → "0000:01:00.0". */
export function hostpciAddress(value: string): string | null {
  const first = value.split(",")[0]!;
  const host = first.startsWith("host=") ? first.slice(5) : first.includes("=") ? null : first;
  if (!host) return null;
  const a = host.split(";")[0]!;
  return normalisePciAddress(a, "zero") ?? a.toLowerCase();
}

export function hostpciMdev(value: string): string | null {
  const m = /(?:^|,)mdev=([^,]+)/.exec(value);
  return m ? m[1]! : null;
}

/** qm start: create the mdevs named in hostpciN (qemu-server's deterministic UUIDs). Returns an error text or null. */
export function startVm(s: SimState, vm: SimVm): string | null {
  if (vm.running) return `VM ${vm.vmid} already running`;
  applyPending(vm);
  const created: SimState["mdevs"] = [];
  for (const [k, v] of Object.entries(vm.config)) {
    const idx = /^hostpci(\d+)$/.exec(k);
    if (!idx) continue;
    const mdev = hostpciMdev(v);
    const addr = hostpciAddress(v);
    if (!addr) return `hostpci${idx[1]}: mapping= is not supported by the simulator`;
    const gpu = s.gpus.find((g) => g.address === addr);
    if (!gpu) return `no PCI device found for '${addr}'`;
    if (!mdev) continue;
    const offered = offeredTypes(s, gpu).find((t) => t.mdevType === mdev);
    const taken = created.filter((c) => c.parent === addr && c.type === mdev).length;
    if (!offered || offered.available - taken <= 0)
      return `no available mediated device of type '${mdev}' on '${addr}'`;
    const uuid = mdevUuidFor(vm.vmid, Number(idx[1]));
    const verdict = vgpuVerdict(s, gpu);
    if (verdict.ok && verdict.via === "unlock" && !unlockActiveIn(s, "nvidia-vgpu-mgr")) {
      // vgpud registered the spoofed types, but the manager sees the real consumer board.
      s.failedVgpuStarts = [
        ...(s.failedVgpuStarts ?? []),
        { uuid, parent: addr, type: mdev, vmid: vm.vmid, reason: "not-vgx" },
      ];
      const group = s.pci.length + s.gpus.indexOf(gpu);
      return `kvm: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/${uuid},id=hostpci${idx[1]},bus=ich9-pcie-port-${Number(idx[1]) + 1},addr=0x0: vfio ${uuid}: error getting device from group ${group}: Input/output error
Verify all devices in group ${group} are bound to vfio-<bus> or pci-stub and not already in use
start failed: QEMU exited with code 1`;
    }
    created.push({ uuid, parent: addr, type: mdev, vmid: vm.vmid });
  }
  s.mdevs.push(...created);
  vm.running = true;
  return null;
}

export function stopVm(s: SimState, vm: SimVm): void {
  vm.running = false;
  s.mdevs = s.mdevs.filter((m) => m.vmid !== vm.vmid);
  applyPending(vm);
}
