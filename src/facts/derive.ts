/**
 * Conclusions drawn from several facts at once (bootloader, IOMMU state, driver, unlock).
 * Pure; each returns null when the evidence does not settle the question — never a guess.
 */
import { type DriverKind, dmesgDriver, driverSummary } from "./driver-evidence.ts";
import { sameBus } from "./pci.ts";

export { dmesgDriver } from "./driver-evidence.ts";

import type { Facts, PciFunction, SystemdDropin } from "./types.ts";

export type Bootloader = "grub" | "systemd-boot";

export function deriveBootloader(f: Facts): Bootloader | null {
  const bt = f.bootTool;
  if (bt?.configured) {
    if (bt.esps.some((e) => e.bootloader === "systemd-boot")) return "systemd-boot";
    if (bt.esps.some((e) => e.bootloader === "grub")) return "grub";
  }
  // Without proxmox-boot-tool managing ESPs, Proxmox VE boots through GRUB.
  if (bt && !bt.configured) return "grub";
  if (f.efi === false) return "grub";
  // GRUB passes BOOT_IMAGE= to the kernel; systemd-boot (from /etc/kernel/cmdline) does not.
  if (f.cmdline) return f.cmdline.some((t) => t.startsWith("BOOT_IMAGE=")) ? "grub" : "systemd-boot";
  return null;
}

export const IOMMU_PARAM = /^(intel_iommu|amd_iommu|iommu)=/;

export interface IommuState {
  enabled: boolean | null;
  /** IOMMU parameters on the running kernel's command line */
  cmdline: string[];
  /** Lines proving the state */
  evidence: string[];
}

export function deriveIommu(f: Facts): IommuState {
  const cmdline = (f.cmdline ?? []).filter((t) => IOMMU_PARAM.test(t));
  const d = f.dmesg;
  if (!d) return { enabled: null, cmdline, evidence: [] };
  if (d.dmarEnabled || d.amdViEnabled || d.iommuEnabledLines.length > 0)
    return { enabled: true, cmdline, evidence: d.iommuEnabledLines.slice(0, 3) };
  if (d.iommuDisabledLines.length > 0)
    return { enabled: false, cmdline, evidence: d.iommuDisabledLines.slice(0, 3) };
  // Only conclude "off" when the ring buffer still holds the boot messages (long uptimes rotate them away).
  const hasBoot =
    !d.filtered && d.lines.some((l) => /^(Linux version|Command line:|Kernel command line:)/.test(l));
  return hasBoot
    ? { enabled: false, cmdline, evidence: ["dmesg from boot shows no DMAR/AMD-Vi enablement"] }
    : { enabled: null, cmdline, evidence: [] };
}

export interface DriverState {
  version: string;
  flavour: "proprietary" | "open" | null;
  loaded: boolean | null;
  /** where the version came from */
  source: "proc" | "nvidia-smi" | "dkms" | "package" | "dmesg" | "modinfo" | "installer-log";
  /** the vGPU host driver, the regular driver or the GRID guest driver, when an output says (driver-evidence.ts) */
  kind?: DriverKind | null;
}

/**
 * Whether the captured lspci shows kernel drivers (`-k`): a paste of `lspci -nn` or `lspci -nn | grep …`
 * has no "Kernel driver in use" / "Kernel modules" lines, so a null driverInUse means unknown, not none.
 */
export function pciDriversKnown(f: Facts): boolean {
  return (f.pci ?? []).some((p) => p.driverInUse !== null || p.kernelModules.length > 0);
}

/** One "GPU not supported by vGPU at PCI Id: 0:1:0:0 DevID: 0x10de / 0x1e89 / 0x10de / 0x12ae" line of nvidia-vgpud. */
export interface VgpudRejection {
  /** "0000:01:00.0", or the id as printed when it is not a PCI address */
  address: string;
  /** "1e89", when the line names it */
  deviceId: string | null;
  /** subsystem vendor and device ids, when printed (the journal may cut the line short: "/ >") */
  subsystemVendorId: string | null;
  subsystemDeviceId: string | null;
  line: string;
}

/** nvidia-vgpud's rejections in the captured journal (any boot the paste holds). */
export function vgpudRejections(f: Facts): VgpudRejection[] {
  const out: VgpudRejection[] = [];
  for (const raw of f.journals.vgpud ?? []) {
    const l = raw.trim();
    const m = /GPU not supported by vGPU at PCI Id: (\S+)(?:\s+DevID:\s*(.*))?/.exec(l);
    if (!m) continue;
    const ids = (m[2] ?? "").split("/").map((s) => s.trim().toLowerCase());
    const hex = (s: string | undefined) => {
      const h = /^0x([0-9a-f]{1,4})$/.exec(s ?? "");
      return h ? h[1]!.padStart(4, "0") : null;
    };
    out.push({
      address: pciFromVgpud(m[1]!) ?? m[1]!,
      deviceId: ids[0] === "0x10de" ? hex(ids[1]) : null,
      subsystemVendorId: ids[0] === "0x10de" ? hex(ids[2]) : null,
      subsystemDeviceId: ids[0] === "0x10de" ? hex(ids[3]) : null,
      line: l,
    });
  }
  return out;
}

/** "0:1:0:0" (domain:bus:device:function, hex without padding) → "0000:01:00.0" */
export function pciFromVgpud(id: string): string | null {
  const m = /^([0-9a-f]+):([0-9a-f]+):([0-9a-f]+):([0-7])$/i.exec(id);
  if (!m) return null;
  const h = (s: string, n: number) => s.toLowerCase().padStart(n, "0");
  return `${h(m[1]!, 4)}:${h(m[2]!, 2)}:${h(m[3]!, 2)}.${m[4]}`;
}

export function deriveDriver(f: Facts): DriverState | null {
  const d = versionedDriver(f);
  if (!d) return null;
  // kind and flavour from every output that shows them (modinfo, the kernel log, nvidia-smi -q, …)
  const all = driverSummary(f);
  return { ...d, flavour: d.flavour ?? all.flavour, kind: all.kind };
}

function versionedDriver(f: Facts): DriverState | null {
  const open = f.driverModuleOpen;
  const flavour = open === null ? null : open ? "open" : "proprietary";
  if (f.loadedDriverVersion) return { version: f.loadedDriverVersion, flavour, loaded: true, source: "proc" };
  const smiVersion = f.nvidiaSmi?.driverVersion ?? f.nvidiaSmiQuery?.driverVersion;
  if (smiVersion) return { version: smiVersion, flavour, loaded: true, source: "nvidia-smi" };
  const inLsmod = f.lsmod ? f.lsmod.some((m) => m.name === "nvidia") : null;
  const dk = f.dkms?.find((e) => e.module === "nvidia" || e.module === "nvidia-open");
  if (dk) {
    return {
      version: dk.version,
      flavour: dk.module === "nvidia-open" ? "open" : flavour,
      loaded: inLsmod,
      source: "dkms",
    };
  }
  // Only when the package side is unknown: a boot log outlives an uninstall (dkms status says it is gone).
  const dm = f.dkms === null ? dmesgDriver(f) : null;
  if (dm && (inLsmod !== false || dm.ignoring)) {
    return { version: dm.version, flavour, loaded: dm.ignoring ? false : inLsmod, source: "dmesg" };
  }
  // What is installed, when nothing shows what runs (a pasted modinfo or installer log)
  if (f.dkms === null && f.modinfo?.version)
    return { version: f.modinfo.version, flavour: f.modinfo.flavour, loaded: inLsmod, source: "modinfo" };
  if (f.dkms === null && f.installerLog?.version)
    return {
      version: f.installerLog.version,
      flavour: f.installerLog.flavour,
      loaded: inLsmod,
      source: "installer-log",
    };
  return null;
}

export const DEFAULT_UNLOCK_LIBRARY = "/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so";
export const UNLOCK_UNITS = ["nvidia-vgpud.service", "nvidia-vgpu-mgr.service"] as const;

export interface UnlockState {
  installed: boolean | null;
  enabled: boolean | null;
  library: string | null;
  /** units whose drop-in preloads the library */
  preloadedIn: string[];
  /** `unlock = false` in /etc/vgpu_unlock/config.toml */
  configDisabled: boolean | null;
}

export function preloadOf(d: SystemdDropin): string | null {
  const v = d.environment.LD_PRELOAD;
  return v && /vgpu_unlock/.test(v) ? v : null;
}

export function deriveUnlock(f: Facts): UnlockState {
  const preloads = (f.dropins ?? []).map((d) => ({ unit: d.unit, lib: preloadOf(d) })).filter((p) => p.lib);
  const library =
    preloads[0]?.lib ??
    (f.unlockLibraryFiles?.includes("libvgpu_unlock_rs.so") ? DEFAULT_UNLOCK_LIBRARY : null);
  let installed: boolean | null = null;
  if (library === DEFAULT_UNLOCK_LIBRARY && f.unlockLibraryFiles)
    installed = f.unlockLibraryFiles.includes("libvgpu_unlock_rs.so");
  else if (f.unlockLibraryFiles)
    installed = f.unlockLibraryFiles.includes("libvgpu_unlock_rs.so") || (library !== null ? null : false);
  else if (f.dropins) installed = preloads.length > 0 ? null : false;
  if (installed === null && f.unlockLibraryFiles === null && f.dropins !== null && preloads.length === 0)
    installed = false;
  const preloadedIn = [...new Set(preloads.map((p) => p.unit))];
  const configDisabled =
    f.unlockConfig === null ? null : f.unlockConfig.present ? !f.unlockConfig.unlock : false;
  let enabled: boolean | null = null;
  if (f.dropins !== null) {
    enabled =
      UNLOCK_UNITS.every((u) => preloadedIn.includes(u)) && installed !== false && configDisabled !== true;
    if (enabled && configDisabled === null) enabled = null;
  }
  return { installed, enabled, library, preloadedIn, configDisabled };
}

/** NVIDIA display/3D controllers (class 03xx) — the GPUs, without their audio/USB/serial functions. */
export function nvidiaGpuFunctions(pci: PciFunction[]): PciFunction[] {
  return pci.filter((p) => p.vendorId === "10de" && p.classCode.startsWith("03"));
}

/**
 * The physical NVIDIA GPUs lspci shows, SR-IOV virtual functions folded into their physical function:
 * lspci lists every VF (0000:41:00.4 … 0000:41:01.3 for the PF 0000:41:00.0) as a 3D controller of
 * its own on the PF's bus. A function is a VF when a PF with VFs enabled sits on its bus and it is
 * not that PF. [] when lspci was not captured.
 */
export function physicalGpuFunctions(f: Facts): PciFunction[] {
  const pfs = (f.sriov ?? []).filter((s) => (s.numVfs ?? 0) > 0).map((s) => s.address);
  const isVf = (a: string) => !pfs.includes(a) && pfs.some((pf) => sameBus(pf, a));
  return nvidiaGpuFunctions(f.pci ?? []).filter((p) => !isVf(p.address));
}

/**
 * The product name lspci puts in the last brackets of a device description (the "[10de:1e07]" ids
 * and what follows them ignored): "NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A]" →
 * "GeForce RTX 2080 Ti Rev. A"; null when there is none.
 */
export function pciProductName(description: string): string | null {
  const m = /\[([^\]]+)\][^[]*$/.exec(description.replace(/\s*\[[0-9a-f]{4}:[0-9a-f]{4}\].*$/, ""));
  return m ? m[1]! : null;
}

/** PVE's deterministic mdev UUID: sprintf("%08d-0000-0000-0000-%012d", index, vmid) (qemu-server, research/proxmox.md). */
export function vmidFromMdevUuid(uuid: string): { vmid: number; index: number } | null {
  const m = /^(\d{8})-0000-0000-0000-(\d{12})$/.exec(uuid);
  return m ? { index: Number(m[1]), vmid: Number(m[2]) } : null;
}

/**
 * The mdev UUID Proxmox VE gives hostpci<index> of VM <vmid> (qemu-server generate_mdev_uuid,
 * research/unlock.md §1.6): "00000001-0000-0000-0000-000000000100" for hostpci1 of VM 100. The inverse
 * of vmidFromMdevUuid; vgpu_unlock-rs decodes the VMID of `[vm.N]` from it.
 */
export function mdevUuidFor(vmid: number, index: number): string {
  return `${String(index).padStart(8, "0")}-0000-0000-0000-${String(vmid).padStart(12, "0")}`;
}
