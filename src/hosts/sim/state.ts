/**
 * The simulated Proxmox VE host's whole state: plain JSON (persisted between CLI runs under
 * $VGPUCTL_SIM_DIR/<scenario>.json). Renderers turn it into the real text of commands and files;
 * command handlers (qm set, update-grub, …) and Host writes change it.
 *
 * Model in short:
 * - Hardware: `pci` (other functions), `gpus` (NVIDIA boards; `sriov` = SR-IOV PF with totalVfs /
 *   numVfs — enabled VFs are derived: functions 4, 5, … of the PF's slot, logic.ts virtualFunctions).
 * - Boot: `cmdline` is this boot's, `boot.nextCmdline` the next one; `reboot()` (transitions.ts) swaps
 *   them, resets VFs (numVfs 0, re-enabled only by an enabled `pve-nvidia-sriov@…` unit), mixed-size mode,
 *   mdevs and VF vGPU types, and re-binds drivers from modprobe.d / vfio ids (`settleDrivers`).
 * - Driver: `driver` (what is installed, DKMS kernels), `driverLoaded` (nvidia module in now); which
 *   boards get which vGPU types is decided by the simulator's own data (nvidia-data.ts), never src/knowledge.
 * - vGPUs: `mdevs` (legacy mdev on non-SR-IOV GPUs), `vfVgpus` (a VF's nvidia/current_vgpu_type, set by
 *   `qm start` of a VM with hostpciN: <VF>,mdev=nvidia-N and reset to 0 by `qm stop`), `mixedSizeGpus`
 *   (PFs switched to mixed-size mode with `nvidia-smi vgpu -i N -shm 1` this boot).
 * - Console: `consoleFb` names the framebuffer the console runs on (/proc/fb): "astdrmfb" (the board's
 *   BMC graphics) lets nouveau be unloaded live; "nouveaudrmfb" keeps nouveau in use until a reboot.
 * - Files and packages: `files`/`dirs` (the filesystem outside /proc and /sys), `packages`, `apt`.
 */

export const SIM_STATE_VERSION = 1;

export type GpuDriverBinding = "nvidia" | "nouveau" | "vfio-pci" | null;

/** A PCI function that is not an NVIDIA GPU function (host bridge, iGPU, NIC…), rendered as-is. */
export interface SimPciFunction {
  address: string;
  /** "Host bridge" */
  className: string;
  /** "0600" */
  classCode: string;
  /** sysfs class, e.g. "0x060000" */
  sysfsClass: string;
  /** "Intel Corporation 8th Gen Core Processor Host Bridge/DRAM Registers" */
  name: string;
  vendorId: string;
  deviceId: string;
  revision: string | null;
  subsystem: { vendorId: string; deviceId: string; name: string } | null;
  driver: string | null;
  modules: string[];
}

/** One extra function of a GPU board (HD audio, USB, UCSI), bus/slot taken from the GPU. */
export interface SimGpuFunction {
  /** function number, "1" */
  fn: string;
  className: string;
  classCode: string;
  sysfsClass: string;
  name: string;
  deviceId: string;
  driver: string | null;
  modules: string[];
}

export interface SimGpu {
  /** "0000:01:00.0" */
  address: string;
  /** lowercase hex without 0x, "1e07" */
  deviceId: string;
  subsystemVendorId: string;
  subsystemDeviceId: string;
  /** lspci device text, "TU102 [GeForce RTX 2080 Ti Rev. A]" */
  lspciName: string;
  /** lspci subsystem vendor text, "NVIDIA Corporation" */
  subsystemVendorName: string;
  /** nvidia-smi product name, "NVIDIA GeForce RTX 2080 Ti" */
  productName: string;
  /** "GeForce" | "Tesla" | "Quadro" | "NVIDIA RTX" */
  productBrand: string;
  /** "Pascal" | "Turing" | "Ampere" … */
  architecture: string;
  /** nouveau chipset, "TU102 (162000a1)" */
  chipset: string;
  vramMiB: number;
  vbios: string;
  /** max power in W for nvidia-smi, e.g. 260 */
  powerCapW: number;
  /** "0x030000" (VGA) or "0x030200" (3D controller, Tesla) */
  sysfsClass: string;
  /** "8.0 GT/s PCIe" */
  linkSpeed: string;
  revision: string;
  /** Driver bound right now. */
  driver: GpuDriverBinding;
  functions: SimGpuFunction[];
  /**
   * SR-IOV capable board (Ampere and newer data-center cards): sysfs sriov_totalvfs/sriov_numvfs.
   * vGPUs live on the virtual functions (rendered after the PF when numVfs > 0), never on the PF.
   */
  sriov?: { totalVfs: number; numVfs: number };
}

export interface SimDriver {
  /** "525.85.07" */
  version: string;
  /** "15.1" */
  vgpuRelease: string;
  flavour: "proprietary" | "open";
  /** vgpu_unlock patch applied to the .run before install */
  patched: boolean;
  /** Kernels the DKMS module was built and installed for. */
  dkmsKernels: string[];
  /** Build date string of the kernel module, as in /proc/driver/nvidia/version */
  buildDate: string;
  /** Modules are signed with an enrolled MOK (Secure Boot can load them). */
  signed: boolean;
  /** Fingerprint of the certificate DKMS signed the modules with (mok.ts), absent = unsigned. */
  signedWith?: string;
  /**
   * "plain": a regular (desktop/data-center) NVIDIA driver, not the vgpu-kvm host driver: no
   * nvidia_vgpu_vfio, no nvidia-vgpud/nvidia-vgpu-mgr, no vGPU types. Absent = "vgpu-kvm".
   */
  kind?: "vgpu-kvm" | "plain";
}

export interface SimUnlock {
  /** Cloned repo path, "/opt/vgpu_unlock-rs" */
  repo: string;
  /** Library built at <repo>/target/release/libvgpu_unlock_rs.so */
  built: boolean;
  /**
   * Newest driver branch (R number, e.g. 550) whose RM structure sizes this build of the library
   * knows; a newer driver makes it log "Parameters size for … was N bytes, expected M bytes" and skip
   * the patch (mbilker/vgpu_unlock-rs#47/#51/#53). Absent = up to date.
   */
  knownDriverBranch?: number;
}

/** A vGPU start nvidia-vgpu-mgr refused this boot (journal history; cleared by a reboot). */
export interface SimFailedStart {
  uuid: string;
  parent: string;
  type: string;
  vmid: number;
  /** "not-vgx": nvidia-vgpu-mgr runs without vgpu_unlock for a consumer card ("VGX capable boards"). */
  reason: "not-vgx";
}

export interface SimMdev {
  uuid: string;
  parent: string;
  /** "nvidia-259" */
  type: string;
  /** Owner VM when created by qemu-server at VM start. */
  vmid: number | null;
}

/** A VF with a vGPU type set (nvidia/current_vgpu_type ≠ 0). */
export interface SimVfVgpu {
  /** "0000:41:00.4" */
  vf: string;
  /** decimal vGPU type id, 1155 */
  typeId: number;
  /** VM that set it at start (qemu-server), null when written by hand. */
  vmid: number | null;
}

export interface SimVm {
  vmid: number;
  running: boolean;
  /** qemu-server config keys in file order ("name", "ostype", "machine", "memory", "hostpci0"…). */
  config: Record<string, string>;
  /** Changes waiting for the next start (hostpci is not hot-pluggable). */
  pending: Record<string, string>;
  /** Keys deleted while running, applied at the next start. */
  pendingDelete: string[];
}

export interface SimState {
  version: typeof SIM_STATE_VERSION;
  scenario: string;
  /** Fixed simulated wall clock (ISO), advanced by reboots so outputs stay deterministic. */
  clock: string;
  bootCount: number;
  hostname: string;
  pve: {
    /** proxmox-ve meta package version, "7.4-1" | "8.2.0" */
    proxmoxVe: string;
    /** pve-manager version, "7.4-3" | "8.2.7" */
    manager: string;
    /** pve-manager build hash shown in "running version" */
    managerHash: string;
    /** Debian release, "bullseye" | "bookworm" */
    debian: string;
    debianVersion: string;
  };
  kernel: {
    installed: string[];
    running: string;
    /** `uname -v`, "#1 SMP PVE 5.15.102-1 (2023-03-14T13:48Z)" */
    buildInfo: Record<string, string>;
  };
  boot: {
    bootloader: "grub" | "systemd-boot";
    efi: boolean;
    secureBoot: boolean;
    /** ESP UUIDs managed by proxmox-boot-tool (systemd-boot hosts), [] when none. */
    espUuids: string[];
    /** Root spec used in generated command lines, "root=/dev/mapper/pve-root ro" */
    rootArgs: string;
    /** The command line the bootloader will use at next boot (set by update-grub / proxmox-boot-tool refresh). */
    nextCmdline: string;
    /** Modules lists baked into the initramfs (update-initramfs): modprobe.d blacklists apply at boot regardless. */
    initramfsUpdated: boolean;
    /** Machine Owner Keys (certificate fingerprints, mok.ts): enrolled in shim, queued by `mokutil --import`. */
    mok?: { enrolled: string[]; pending: string[] };
    /** What the operator does at shim's MokManager screen during a boot (absent = confirms, as told). */
    mokConsole?: "confirm" | "ignore";
  };
  cmdline: string;
  cpu: {
    vendor: "intel" | "amd";
    modelName: string;
    family: number;
    model: number;
    stepping: number;
    cores: number;
    threadsPerCore: number;
    addressSizes: string;
    flags: string;
  };
  /** VT-d / AMD-Vi enabled in the firmware setup. */
  firmwareIommu: boolean;
  /** Debian package name → version. */
  packages: Record<string, string>;
  /** Regular files: absolute path → content. */
  files: Record<string, string>;
  /** Directories that exist even when empty. */
  dirs: string[];
  /** Names of loaded kernel modules other than the GPU ones (which are derived). */
  modules: string[];
  /** Modules the platform always loads at boot (kvm, NIC, storage…); reboot starts from these. */
  baseModules: string[];
  pci: SimPciFunction[];
  gpus: SimGpu[];
  driver: SimDriver | null;
  /** nvidia kernel module loaded right now. */
  driverLoaded: boolean;
  unlock: SimUnlock | null;
  mdevs: SimMdev[];
  vms: SimVm[];
  /** Extra dmesg lines the scenario wants (verbatim, without timestamp). */
  extraDmesg: string[];
  /** vGPU starts refused by nvidia-vgpu-mgr since boot (absent = none). */
  failedVgpuStarts?: SimFailedStart[];
  /**
   * apt (absent = as installed: Debian lists fetched, Proxmox lists only from a no-subscription
   * repository): origins whose package lists `apt-get update` fetched, packages installed only as
   * dependencies (apt's "auto" mark).
   */
  apt?: { lists: string[]; auto: string[] };
  /** SR-IOV VFs whose nvidia/current_vgpu_type is set (absent = none). */
  vfVgpus?: SimVfVgpu[];
  /** PF addresses in vGPU mixed-size (heterogeneous) mode this boot (absent = none). */
  mixedSizeGpus?: string[];
  /**
   * Framebuffer the console runs on (/proc/fb): "astdrmfb" = the board's BMC graphics (ASPEED), "nouveaudrmfb"
   * = nouveau on an NVIDIA GPU. Absent = derived: nouveau on a VGA-class GPU drives it, else "EFI VGA".
   */
  consoleFb?: string;
  /**
   * Render outputs the way real systems and users produce them (noise.ts: dmesg -T, journal variants,
   * commented GRUB lines, VM snapshots, pasted prompts, CRLF). Absent = clean; VGPUCTL_SIM_NOISE=1 also turns it on.
   */
  noise?: boolean;
  /** ZFS pools (zfs.ts): name, size, feature@ states (disabled | enabled | active). Absent = none. */
  zpools?: Array<{ name: string; size: string; features: Record<string, string> }>;
  /** Injected faults in VGPUCTL_SIM_FAULT syntax (src/hosts/sim/inject.ts), kept across runs. */
  faults?: string[];
}
