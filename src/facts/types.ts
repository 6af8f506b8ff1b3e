import type { InstallerLog } from "./nvidia/installer-log.ts";
import type { ModinfoNvidia } from "./nvidia/modinfo.ts";
import type { SysfsFunction } from "./nvidia/sysfs.ts";

export type { InstallerLog, ModinfoNvidia, SysfsFunction };

/**
 * Typed facts about one host, parsed from a Capture by pure functions.
 * Convention everywhere: `null` = unknown (not captured, or output we could not read — a note says which).
 * Absence that we *know* is expressed in the value itself (empty arrays, `present: false`).
 */
import type { FailureLog } from "./system/failure-log.ts";

export interface Uname {
  /** e.g. "5.15.108-1-pve" */
  release: string;
  nodename: string | null;
  /** Full `uname -v` style version text, when known. */
  version: string | null;
  machine: string | null;
}

/** `pveversion -v` */
export interface PveVersions {
  /** pve-manager version, e.g. "7.4-3" or "8.2.4" */
  manager: string;
  /** Kernel the output says is running, e.g. "5.15.102-1-pve" */
  runningKernel: string | null;
  /** package name → version, for every "name: version" line (not-installed ones omitted) */
  packages: Record<string, string>;
}

/** A kernel command line split into tokens (quotes respected), e.g. ["BOOT_IMAGE=…", "intel_iommu=on"]. */
export type CmdlineTokens = string[];

/** /etc/default/grub (+ /etc/default/grub.d/*.cfg applied in order) */
export interface GrubDefaults {
  /** Every VAR=value assignment, unquoted, last one wins. */
  vars: Record<string, string>;
  /** Tokens of GRUB_CMDLINE_LINUX_DEFAULT, [] when unset. */
  cmdlineLinuxDefault: CmdlineTokens;
  /** Tokens of GRUB_CMDLINE_LINUX, [] when unset. */
  cmdlineLinux: CmdlineTokens;
  /** 1-based line number of the GRUB_CMDLINE_LINUX_DEFAULT assignment in /etc/default/grub, when present. */
  cmdlineLinuxDefaultLine: number | null;
}

/** `proxmox-boot-tool status` */
export interface BootToolStatus {
  /** "E: /etc/kernel/proxmox-boot-uuids does not exist." style output → false */
  configured: boolean;
  mode: "uefi" | "legacy" | null;
  /** One per ESP, e.g. { uuid: "A1B2-C3D4", bootloader: "systemd-boot", kernels: ["6.8.12-4-pve"] } */
  esps: Array<{ uuid: string; bootloader: "grub" | "systemd-boot" | null; kernels: string[] }>;
}

/** Facts read from `dmesg` (kernel ring buffer). */
export interface DmesgFacts {
  /** Intel VT-d: "DMAR: IOMMU enabled" / "DMAR: Intel(R) Virtualization Technology for Directed I/O" */
  dmarEnabled: boolean;
  /** "AMD-Vi: AMD IOMMUv2 loaded and initialized" / "AMD-Vi: Interrupt remapping enabled" / "pci 0000:00:00.2: AMD-Vi: Found IOMMU" */
  amdViEnabled: boolean;
  /** Lines saying the IOMMU is present but disabled or absent ("DMAR: IOMMU disabled", "AMD-Vi: ... disabled"…) */
  iommuDisabledLines: string[];
  /** Lines proving the IOMMU is enabled (for evidence). */
  iommuEnabledLines: string[];
  /** "NVRM: …" lines, verbatim (without the timestamp). */
  nvrm: string[];
  /** nouveau lines ("nouveau 0000:01:00.0: …"). */
  nouveau: string[];
  /** vfio lines ("vfio-pci 0000:01:00.0: …", "VFIO - User Level meta-driver…"). */
  vfio: string[];
  /** Secure Boot / module signature lines ("Lockdown:", "module verification failed", "Loading of unsigned module is rejected"). */
  moduleSignature: string[];
  /** Every line without its "[ 1.234567] " timestamp prefix, for evidence searches. */
  lines: string[];
  /** From a filtered paste (`dmesg | grep …`): a missing line proves nothing. */
  filtered?: boolean;
}

/** One function from `lspci -Dnnk` */
export interface PciFunction {
  /** "0000:01:00.0" */
  address: string;
  /** "VGA compatible controller" */
  className: string;
  /** "0300" */
  classCode: string;
  /** "NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A]" — vendor + device text as printed */
  description: string;
  vendorId: string;
  deviceId: string;
  revision: string | null;
  /** From the "Subsystem:" line, when present */
  subsystemVendorId: string | null;
  subsystemDeviceId: string | null;
  subsystemName: string | null;
  /** "Kernel driver in use:" or null */
  driverInUse: string | null;
  /** "Kernel modules:" list */
  kernelModules: string[];
}

export interface LoadedModule {
  name: string;
  size: number;
  usedBy: string[];
}

/** One line of `dkms status` (old "nvidia, 525.85.07, 5.15.0-1-pve, x86_64: installed" and new "nvidia/525.85.07, 5.15…, x86_64: installed" forms) */
export interface DkmsEntry {
  module: string;
  version: string;
  kernel: string | null;
  arch: string | null;
  /** "installed" | "built" | "added" | other text as printed */
  status: string;
  /** Any trailing warning, e.g. "(WARNING! Diff between built and installed module!)" */
  warning: string | null;
}

/** `nvidia-smi` default table */
export interface NvidiaSmiTable {
  driverVersion: string | null;
  cudaVersion: string | null;
  gpus: Array<{
    index: number;
    name: string;
    /** normalised to "0000:01:00.0" */
    busId: string;
    memoryUsedMiB: number | null;
    memoryTotalMiB: number | null;
  }>;
  /** The output is an error instead of a table, e.g. "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver…" */
  error: string | null;
}

/** `nvidia-smi -q` */
export interface NvidiaSmiQuery {
  driverVersion: string | null;
  cudaVersion: string | null;
  /** "vGPU Driver Capability" → "Heterogenous Multi-vGPU": "Supported" etc, when present */
  gpus: Array<{
    /** normalised to "0000:01:00.0" */
    busId: string;
    productName: string | null;
    productBrand: string | null;
    productArchitecture: string | null;
    /** "Host VGPU Mode": "Non SR-IOV" | "SR-IOV" */
    hostVgpuMode: string | null;
    /** "Virtualization Mode": "Host VGPU" | "None" | "Pass-Through" */
    virtualizationMode: string | null;
    fbTotalMiB: number | null;
    fbReservedMiB: number | null;
    vbiosVersion: string | null;
    /** Every "key : value" under the GPU, section path joined with " / ", for details not modelled. */
    fields: Record<string, string>;
  }>;
  error: string | null;
}

/** An active vGPU from `nvidia-smi vgpu -q` (old and new field names both understood). */
export interface ActiveVgpu {
  /** GPU bus id, normalised "0000:01:00.0" */
  gpuBusId: string;
  vgpuId: string | null;
  /** MDEV UUID, lowercase */
  uuid: string | null;
  vmId: string | null;
  vmName: string | null;
  /** "GRID RTX6000-4Q" */
  typeName: string | null;
  /** numeric type id, e.g. "259" */
  typeId: string | null;
  fbUsageMiB: number | null;
  licensed: string | null;
}

export interface NvidiaVgpuQuery {
  driverVersion: string | null;
  gpus: Array<{ busId: string; activeVgpus: number | null; vgpus: ActiveVgpu[] }>;
  error: string | null;
}

/** A vGPU type offered on a parent device (sysfs mdev_supported_types or `mdevctl types`). */
export interface MdevType {
  /** parent PCI address "0000:01:00.0" */
  parent: string;
  /** "nvidia-259" */
  type: string;
  /** "GRID RTX6000-4Q" */
  name: string | null;
  availableInstances: number | null;
  deviceApi: string | null;
  /** Parsed from the description ("num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=6") */
  framebufferMiB: number | null;
  maxInstances: number | null;
  numHeads: number | null;
  maxResolution: string | null;
  frlConfig: number | null;
  description: string | null;
}

/** A defined/active mdev from `mdevctl list` (text or --dumpjson) */
export interface MdevDevice {
  uuid: string;
  parent: string;
  type: string;
  start: "auto" | "manual" | null;
  /**
   * true = running. A plain `mdevctl list` lists running devices ("(defined)" = also persistently defined);
   * `mdevctl list -d` marks running ones "(active)", the rest are false; null when the listing cannot tell.
   */
  active: boolean | null;
}

/** SR-IOV state of a physical function (sysfs) */
export interface SriovState {
  address: string;
  totalVfs: number | null;
  numVfs: number | null;
}

/** One SR-IOV virtual function of an NVIDIA GPU (sysfs; facts/nvidia/sriov.ts). */
export interface VirtualFunction {
  /** "0000:41:00.4" */
  address: string;
  /** its physical function, "0000:41:00.0" */
  physfn: string;
  /**
   * `nvidia/current_vgpu_type`: 0 = free, else the decimal vGPU type id it carries (a running VM);
   * null = not captured or unreadable (older branches use mdevs instead).
   */
  currentType: number | null;
  /**
   * Types this VF can create now (`nvidia/creatable_vgpu_types`, or on older branches its
   * mdev_supported_types with an instance available): the list shrinks as the GPU fills up.
   * null = unknown.
   */
  creatable: Array<{ id: string; name: string }> | null;
  /** "vendor-vfio": the `nvidia/` sysfs folder (kernel ≥ 6.8); "mdev": mdev_supported_types on the VF */
  interface: "vendor-vfio" | "mdev" | null;
}

/** A modprobe.d file, parsed */
export interface ModprobeFile {
  path: string;
  blacklist: Array<{ module: string; line: number }>;
  options: Array<{ module: string; args: string; line: number }>;
  softdeps: Array<{ module: string; spec: string; line: number }>;
  installs: Array<{ module: string; command: string; line: number }>;
  aliases: Array<{ alias: string; module: string; line: number }>;
}

/** A module listed in /etc/modules or /etc/modules-load.d/*.conf */
export interface ModuleLoadEntry {
  module: string;
  path: string;
  line: number;
}

/** A systemd drop-in for nvidia-vgpud / nvidia-vgpu-mgr */
export interface SystemdDropin {
  /** "nvidia-vgpud.service" */
  unit: string;
  path: string;
  /** Environment= assignments in [Service], e.g. { LD_PRELOAD: "/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so" } */
  environment: Record<string, string>;
  /** section → key → values (repeated keys kept) */
  sections: Record<string, Record<string, string[]>>;
}

/** /etc/vgpu_unlock/config.toml */
export interface UnlockConfig {
  /** `unlock = false` disables spoofing (natively supported cards); absent key = true (the default) */
  unlock: boolean;
  /** Parse error, with 1-based line when known. */
  error: { message: string; line: number | null } | null;
}

/** One [section] table of /etc/vgpu_unlock/profile_override.toml */
export interface OverrideSection {
  kind: "profile" | "vm" | "mdev";
  /** "nvidia-259", "100", or the mdev UUID */
  key: string;
  /** 1-based line of the [header] */
  line: number;
  values: Record<string, number | string | boolean>;
}

export interface ProfileOverrideFile {
  sections: OverrideSection[];
  /** TOML syntax error, if any (then `sections` is empty) */
  error: { message: string; line: number | null; column: number | null } | null;
}

/** A hostpciN entry of a VM config */
export interface HostpciEntry {
  index: number;
  /** raw value after "hostpciN: " */
  raw: string;
  /** "0000:01:00.0" (normalised; "01:00.0" → "0000:01:00.0"; "01:00" kept as "0000:01:00") */
  address: string | null;
  mapping: string | null;
  /** "nvidia-259" */
  mdev: string | null;
  pcie: boolean;
  xvga: boolean;
}

/** /etc/pve/qemu-server/<vmid>.conf (current config; [snapshot] sections ignored; pending changes separate) */
export interface VmConfig {
  vmid: number;
  name: string | null;
  ostype: string | null;
  /** "q35", "pc-q35-8.1", "pc-i440fx-…", or null (i440fx default) */
  machine: string | null;
  memoryMiB: number | null;
  /** `args:` line — where -uuid for mdev may be set */
  args: string | null;
  /** smbios1 uuid, lowercase */
  smbiosUuid: string | null;
  hostpci: HostpciEntry[];
  /** hostpci entries of the [PENDING] section, if any */
  pendingHostpci: HostpciEntry[];
}

/** One `map` property of a PCI mapping: node=…,path=…,id=…[,subsystem-id=…][,iommugroup=N] */
export interface PciMapEntry {
  node: string | null;
  path: string | null;
  id: string | null;
  subsystemId: string | null;
  iommugroup: number | null;
  /** the property string as the file holds it (keeps description= and keys not read here) */
  raw?: string;
}

/** A PCI function as Proxmox VE's API lists it (GET /nodes/{node}/hardware/pci; `pvesh get` the same). */
export interface PciDevice {
  id: string;
  class?: string;
  vendor?: string;
  device?: string;
  iommugroup?: number;
  mdev?: number | boolean;
  [key: string]: unknown;
}

/** A node of /etc/pve/mapping/pci.cfg */
export interface PciMapping {
  id: string;
  mdev: boolean;
  entries: PciMapEntry[];
}

export interface QmListEntry {
  vmid: number;
  name: string;
  status: string;
}

/** The Proxmox VE package repositories apt uses (enabled entries of the captured apt sources). */
export interface AptRepos {
  /** Files with an enabled enterprise.proxmox.com entry (401 without a subscription) */
  enterprise: string[];
  /** An enabled pve-no-subscription entry is configured */
  noSubscription: boolean;
}

/** All facts about a host. Each field null = unknown (see `notes`). */
export interface Facts {
  host: string;
  capturedAt: string;
  /** Human-readable remarks: what was not captured, what could not be parsed. */
  notes: string[];
  uname: Uname | null;
  pve: PveVersions | null;
  /** "intel" | "amd" from lscpu ("Vendor ID: GenuineIntel / AuthenticAMD"), else null */
  cpuVendor: "intel" | "amd" | null;
  /** /proc/cmdline tokens */
  cmdline: CmdlineTokens | null;
  /** null = not captured; { present:false } = file absent */
  grub: ({ present: true } & GrubDefaults) | { present: false } | null;
  /** /etc/kernel/cmdline (systemd-boot / proxmox-boot-tool) */
  kernelCmdlineFile: { present: true; tokens: CmdlineTokens } | { present: false } | null;
  bootTool: BootToolStatus | null;
  /** /etc/kernel/proxmox-boot-pin (`proxmox-boot-tool kernel pin`): null = no pin; absent = not captured */
  kernelPin?: string | null;
  /** true when /sys/firmware/efi exists */
  efi: boolean | null;
  dmesg: DmesgFacts | null;
  pci: PciFunction[] | null;
  lsmod: LoadedModule[] | null;
  dkms: DkmsEntry[] | null;
  secureBoot: boolean | null;
  /** `mokutil --test-key /var/lib/dkms/mok.pub`: the DKMS signing certificate as a MOK; absent = not captured */
  mokKey?: import("./system/mokutil.ts").MokKeyState | null;
  /** `zpool get -H -o name,property,value all`: pool → feature → state; absent = not captured */
  zpoolFeatures?: import("./system/zpool.ts").ZpoolFeatures | null;
  /** `apt-cache pkgnames proxmox-kernel-|pve-kernel-`: kernel image packages the repositories offer; absent = not captured */
  repoKernels?: import("./system/kernel-packages.ts").RepoKernel[] | null;
  /** dpkg-query -W: package → version */
  packages: Record<string, string> | null;
  nvidiaSmi: NvidiaSmiTable | null;
  nvidiaSmiQuery: NvidiaSmiQuery | null;
  vgpuQuery: NvidiaVgpuQuery | null;
  /** /proc/driver/nvidia/version first line, e.g. "NVRM version: NVIDIA UNIX x86_64 Kernel Module  525.85.07 …" */
  loadedDriverVersion: string | null;
  /** true when /proc/driver/nvidia/version says "Open Kernel Module" (vGPU needs the proprietary flavour) */
  driverModuleOpen: boolean | null;
  /** From sysfs when captured, else `mdevctl types` */
  mdevTypes: MdevType[] | null;
  mdevs: MdevDevice[] | null;
  sriov: SriovState[] | null;
  /** sysfs nvidia/creatable_vgpu_types per VF/PF address → type ids list text */
  creatableVgpuTypes: Record<string, Array<{ id: string; name: string }>> | null;
  /** SR-IOV virtual functions with what they carry (absent in hand-built facts = unknown) */
  virtualFunctions?: VirtualFunction[] | null;
  /** apt's Proxmox VE repositories (absent in hand-built facts = unknown) */
  aptRepos?: AptRepos | null;
  /** PCI identity of every NVIDIA function from its sysfs files (absent/null = not captured) */
  sysfsFunctions?: SysfsFunction[] | null;
  /** `modinfo nvidia` (absent/null = not captured) */
  modinfo?: ModinfoNvidia | null;
  /** /var/log/nvidia-installer.log (absent/null = not captured) */
  installerLog?: InstallerLog | null;
  modulesLoad: ModuleLoadEntry[] | null;
  modprobe: ModprobeFile[] | null;
  dropins: SystemdDropin[] | null;
  unlockConfig: ({ present: true } & UnlockConfig) | { present: false } | null;
  profileOverride: ({ present: true; text: string } & ProfileOverrideFile) | { present: false } | null;
  /** Files listed in /opt/vgpu_unlock-rs/target/release (null = unknown) */
  unlockLibraryFiles: string[] | null;
  vms: VmConfig[] | null;
  pciMappings: PciMapping[] | null;
  qmList: QmListEntry[] | null;
  /** systemctl is-active for nvidia-vgpud / nvidia-vgpu-mgr */
  services: Record<string, string> | null;
  /** journal lines (without the syslog prefix) per unit */
  journals: { vgpud: string[] | null; vgpuMgr: string[] | null };
  /** Logs of failed steps: `qm start`/task logs, nvidia-installer.log, DKMS make.log (absent = none captured) */
  failureLogs?: FailureLog[];
}
