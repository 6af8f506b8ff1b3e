/**
 * State transitions of the simulated host: things that change it beyond plain file writes.
 * Each takes the state and mutates it in place (the caller persists).
 */

import { normalisePciAddress } from "../../facts/pci.ts";
import { kernelOfCmdline } from "./kernel-pin.ts";
import {
  bootModules,
  configuredCmdline,
  isBlacklisted,
  kernelAtLeast,
  offeredTypes,
  physfnOf,
  secureBootActive,
  unlockActiveIn,
  vfCreatableTypes,
  vfioIds,
  vfVgpu,
  vgpuVerdict,
} from "./logic.ts";
import { mokManagerAtBoot } from "./mok.ts";
import { dkmsAutoinstall } from "./nvidia.ts";
import { renderVgpuStartFailure } from "./render/qm.ts";
import type { SimState, SimVm } from "./state.ts";

/** qemu-server PCI/Mdev.pm generate_mdev_uuid: sprintf("%08d-0000-0000-0000-%012d", $index, $vmid). */
function mdevUuidFor(vmid: number, index: number): string {
  return `${String(index).padStart(8, "0")}-0000-0000-0000-${String(vmid).padStart(12, "0")}`;
}

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
  // the bootloader boots the kernel its command line names (a pinned one: kernel-pin.ts)
  s.kernel.running = kernelOfCmdline(s, s.boot.nextCmdline);
  s.cmdline = s.boot.nextCmdline;
  s.mdevs = [];
  delete s.failedVgpuStarts;
  delete s.vfVgpus;
  delete s.mixedSizeGpus;
  for (const vm of s.vms) {
    vm.running = false;
    applyPending(vm);
  }
  // shim's MokManager: queued MOK enrolments are confirmed on the console (or not)
  mokManagerAtBoot(s);
  // dkms.service: build registered DKMS modules for the booted kernel when its headers are there
  dkmsAutoinstall(s, s.kernel.running);
  settleDrivers(s);
  bootSriov(s);
}

/** The SR-IOV unit (pve-nvidia-sriov@<instance>.service) enabled for this GPU, or null. */
export function sriovUnitFor(s: SimState, pf: string): string | null {
  for (const inst of ["ALL", pf]) {
    const unit = `pve-nvidia-sriov@${inst}.service`;
    if (s.files[`${WANTS}/${unit}`] !== undefined && s.files[SRIOV_TEMPLATE] !== undefined) return unit;
  }
  return null;
}

export const WANTS = "/etc/systemd/system/multi-user.target.wants";
export const SRIOV_TEMPLATE = "/lib/systemd/system/pve-nvidia-sriov@.service";
export const SRIOV_MANAGE = "/usr/lib/nvidia/sriov-manage";

/**
 * `/usr/lib/nvidia/sriov-manage -e <pf|ALL>`: enable every VF of the SR-IOV GPUs the nvidia driver owns.
 * Returns the PFs enabled (empty when none could be).
 */
export function enableVfs(s: SimState, target: string): string[] {
  const done: string[] = [];
  for (const g of s.gpus) {
    if (!g.sriov || (target !== "ALL" && target !== g.address)) continue;
    if (!s.driverLoaded || g.driver !== "nvidia") continue;
    g.sriov.numVfs = g.sriov.totalVfs;
    done.push(g.address);
  }
  return done;
}

/**
 * At boot VFs start disabled (sriov_numvfs 0); an enabled pve-nvidia-sriov@ALL (or @<PF>) unit enables
 * them once the driver is loaded — nothing else does (research/proxmox.md §2, §3: VFs vanish on reboot).
 */
function bootSriov(s: SimState): void {
  for (const g of s.gpus) {
    if (!g.sriov) continue;
    g.sriov.numVfs = 0;
    if (s.files[SRIOV_MANAGE] !== undefined && sriovUnitFor(s, g.address)) enableVfs(s, g.address);
  }
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

/** The `mapping=NAME` of a hostpci value (Proxmox VE 8+ cluster-wide PCI resource mapping), else null. */
export function hostpciMapping(value: string): string | null {
  const m = /(?:^|,)mapping=([^,]+)/.exec(value);
  return m ? m[1]! : null;
}

/**
 * The device paths a PCI resource mapping names on this node. /etc/pve/mapping/pci.cfg is a
 * PVE::SectionConfig (pve-guest-common PVE::Mapping::PCI): a section header is the mapping id alone,
 * its properties follow indented, `map node=pve,path=0000:01:00.0[;…],id=10de:1e30,…` once per node/device
 * and `mdev 1` for mediated devices. null = no such mapping on this node.
 */
export function mappingPaths(s: SimState, name: string): string[] | null {
  const text = s.files["/etc/pve/mapping/pci.cfg"] ?? "";
  let section: string | null = null;
  const paths: string[] = [];
  for (const line of text.split("\n")) {
    if (/^\S/.test(line)) {
      section = line.trim();
      continue;
    }
    const m = /^\s+map\s+(\S+)/.exec(line);
    if (section !== name || !m) continue;
    const props = Object.fromEntries(m[1]!.split(",").map((kv) => kv.split("=") as [string, string]));
    if (props.node === s.hostname && props.path) paths.push(...props.path.split(";"));
  }
  return paths.length ? paths.map((p) => normalisePciAddress(p, "zero") ?? p.toLowerCase()) : null;
}

/**
 * qemu-server PCI.pm parse_hostpci / choose_hostpci_devices for `mapping=`: "PCI device mapping not found
 * for 'NAME'" without an entry for this node; else the first alternative still free (a VF without a vGPU,
 * or a GPU offering the type), the first one when none is (its own error follows).
 */
function pickMapped(
  s: SimState,
  name: string,
  mdev: string | null,
  vm: SimVm,
  created: SimState["mdevs"],
  vfTypes: Array<{ vf: string; typeId: number }>,
): { addr: string } | { error: string } {
  const paths = mappingPaths(s, name);
  if (!paths) return { error: `PCI device mapping not found for '${name}'` };
  const free = paths.find((p) => {
    if (physfnOf(s, p)) {
      const held = vfVgpu(s, p);
      return !vfTypes.some((t) => t.vf === p) && (!held || held.vmid === vm.vmid);
    }
    const gpu = s.gpus.find((g) => g.address === p);
    if (!gpu || !mdev) return true;
    const offer = offeredTypes({ ...s, mdevs: [...s.mdevs, ...created] }, gpu).find(
      (t) => t.mdevType === mdev,
    );
    return (offer?.available ?? 0) > 0;
  });
  return { addr: free ?? paths[0]! };
}

/**
 * The `bus=…,addr=…` qemu-server gives hostpciN (src/PVE/QemuServer/PCI.pm @ e6352be6): with `pcie=1` on a
 * q35 machine print_pcie_addr's root ports "ich9-pcie-port-<N+1>",addr=0x0; otherwise print_pci_addr's
 * legacy slots — hostpci0/1 at pci.0 0x10/0x11, hostpci2/3 at pci.0 0x1b/0x1c, hostpci4… at pci.2 from 0xd.
 */
export function qemuPciAddr(vm: SimVm, index: number, value: string): string {
  const q35 = /q35/.test(vm.config.machine ?? "");
  if (q35 && /(?:^|,)pcie=(?:1|on|yes|true)\b/.test(value)) return `bus=ich9-pcie-port-${index + 1},addr=0x0`;
  const legacy: Array<[number, number]> = [
    [0, 16],
    [0, 17],
    [0, 27],
    [0, 28],
  ];
  const [bus, addr] = legacy[index] ?? [2, 13 + index - 4];
  return `bus=pci.${bus},addr=0x${addr.toString(16)}`;
}

/** qm start: create the mdevs / set the VF vGPU types named in hostpciN (qemu-server). Returns an error text or null. */
export function startVm(s: SimState, vm: SimVm): string | null {
  if (vm.running) return `VM ${vm.vmid} already running`;
  applyPending(vm);
  const created: SimState["mdevs"] = [];
  const vfTypes: Array<{ vf: string; typeId: number }> = [];
  for (const [k, v] of Object.entries(vm.config)) {
    const idx = /^hostpci(\d+)$/.exec(k);
    if (!idx) continue;
    const mdev = hostpciMdev(v);
    const mapped = hostpciMapping(v);
    const pick = mapped === null ? null : pickMapped(s, mapped, mdev, vm, created, vfTypes);
    if (pick && "error" in pick) return pick.error;
    const addr = pick ? pick.addr : hostpciAddress(v);
    if (addr === null) return `hostpci${idx[1]}: Either 'host' or 'mapping' must be set.`;
    const pf = physfnOf(s, addr);
    if (pf) {
      const err = mdev ? setVfType(s, vm, addr, mdev, vfTypes) : null;
      if (err) return err;
      continue;
    }
    const gpu = s.gpus.find((g) => g.address === addr);
    if (!gpu) return `no PCI device found for '${addr}'`;
    if (!mdev) continue;
    // What the GPU offers with the mdevs this start already created (same-size / same-type rule).
    const offered = offeredTypes({ ...s, mdevs: [...s.mdevs, ...created] }, gpu);
    const offer = offered.find((t) => t.mdevType === mdev);
    // qemu-server PCI/Mdev.pm pci_create_mdev_device: the error is warned, then the start dies.
    if (offered.length === 0)
      return `pci device '${addr}' does not support mediated devices \ncould not create mediated device`;
    if (!offer) return `pci device '${addr}' has no type '${mdev}'\ncould not create mediated device`;
    if (offer.available <= 0)
      return `pci device '${addr}' has no available instances of '${mdev}'\ncould not create mediated device`;
    const uuid = mdevUuidFor(vm.vmid, Number(idx[1]));
    const verdict = vgpuVerdict(s, gpu);
    if (verdict.ok && verdict.via === "unlock" && !unlockActiveIn(s, "nvidia-vgpu-mgr")) {
      // vgpud registered the spoofed types, but the manager sees the real consumer board.
      s.failedVgpuStarts = [
        ...(s.failedVgpuStarts ?? []),
        { uuid, parent: addr, type: mdev, vmid: vm.vmid, reason: "not-vgx" },
      ];
      const group = s.pci.length + s.gpus.indexOf(gpu);
      return renderVgpuStartFailure(uuid, Number(idx[1]), qemuPciAddr(vm, Number(idx[1]), v), group);
    }
    created.push({ uuid, parent: addr, type: mdev, vmid: vm.vmid });
  }
  s.mdevs.push(...created);
  s.vfVgpus = [
    ...(s.vfVgpus ?? []).filter((x) => !vfTypes.some((t) => t.vf === x.vf)),
    ...vfTypes.map((t) => ({ ...t, vmid: vm.vmid })),
  ];
  vm.running = true;
  return null;
}

/** The installed qemu-server is at least `min` ("8.2.4" < "8.2.5" < "9.1.0"). */
function qemuServerAtLeast(s: SimState, min: number[]): boolean {
  const v = (s.packages["qemu-server"] ?? "0").split(/[.-]/).map(Number);
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i]!;
  return true;
}

/**
 * qemu-server ≥ 8.2.5 on a VF with the vendor-specific VFIO interface (PCI.pm reserve_pci_usage,
 * PCI/Mdev.pm create_nvidia_device): refuse a VF another running VM holds; keep a VF already set to the
 * type; else reset it to 0 and write the id to nvidia/current_vgpu_type if creatable_vgpu_types lists it.
 * Texts copied from qemu-server (proxmox/qemu-server @ e6352be6, "bump version to 9.2.6").
 */
function setVfType(
  s: SimState,
  vm: SimVm,
  vf: string,
  mdev: string,
  pending: Array<{ vf: string; typeId: number }>,
): string | null {
  const model = /^nvidia-(\d+)$/.exec(mdev)?.[1];
  // before qemu-server 8.2.5 (commit 48ada698 "adapt to NVIDIA's modern interface with kernel >= 6.8")
  // a VF without mdev_supported_types is not a mediated device parent
  if (!model || !qemuServerAtLeast(s, [8, 2, 5]))
    return `pci device '${vf}' does not support mediated devices \ncould not create mediated device`;
  const current = vfVgpu(s, vf);
  if (current && current.vmid !== null && current.vmid !== vm.vmid) {
    const holder = s.vms.find((x) => x.vmid === current.vmid);
    if (holder?.running) return `PCI device '${vf}' already in use by VMID '${current.vmid}'`;
  }
  if (pending.some((p) => p.vf === vf)) return `device '${vf}' assigned more than once`;
  if (current && current.typeId === Number(model)) {
    pending.push({ vf, typeId: current.typeId });
    return null;
  }
  // reset to 0 so the VF lists every type it could take, then pick the requested one
  const others = (s.vfVgpus ?? []).filter((x) => x.vf !== vf);
  const probe: SimState = { ...s, vfVgpus: [...others, ...pending.map((p) => ({ ...p, vmid: vm.vmid }))] };
  const pf = physfnOf(s, vf)!;
  if (!vfCreatableTypes(probe, pf, vf).some((t) => t.id === Number(model)))
    return `vgpu type '${model}' not available for '${vf}'`;
  s.vfVgpus = others;
  pending.push({ vf, typeId: Number(model) });
  return null;
}

export function stopVm(s: SimState, vm: SimVm): void {
  vm.running = false;
  s.mdevs = s.mdevs.filter((m) => m.vmid !== vm.vmid);
  // qemu-server cleanup_pci_devices: writes 0 to nvidia/current_vgpu_type of the VM's VFs
  if (s.vfVgpus) s.vfVgpus = s.vfVgpus.filter((v) => v.vmid !== vm.vmid);
  applyPending(vm);
}
