/**
 * Derived facts of the simulated host: what the kernel, driver and services would make of the
 * state. Pure functions; renderers and state transitions share them so outputs stay consistent.
 */
import { parse, TomlError } from "smol-toml";
import { type SimBoard, type SimVgpuType, simBoardFor, simKernelAtLeast } from "./nvidia-data.ts";
import { view } from "./read-scope.ts";
import type { SimGpu, SimState, SimVfVgpu } from "./state.ts";

export const UNLOCK_LIB = "target/release/libvgpu_unlock_rs.so";

/** The running kernel is at least major.minor (an unreadable release is not). */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  return simKernelAtLeast(release, major, minor);
}

export function pveMajor(s: SimState): number {
  return Number.parseInt(s.pve.manager, 10) || 0;
}

export function driverMajor(s: SimState): number {
  return s.driver ? Number.parseInt(s.driver.version, 10) || 0 : 0;
}

export function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}

/**
 * Files directly inside `dir` (one level), sorted by name. A plain loop: one inspection asks ~170 times
 * over every stored file, and a filter callback called that often was the one function V8 optimised
 * (Turbofan, ~7 M instructions of an `inspect --host demo` start; callgrind, issue 16).
 */
export function filesIn(s: SimState, dir: string): Array<{ path: string; content: string }> {
  return pathsIn(s, dir).map((path) => ({ path, content: s.files[path]! }));
}

/** The sorted paths of filesIn, once per read scope (read-scope.ts). */
function pathsIn(s: SimState, dir: string): readonly string[] {
  return view(s, `files in ${dir}`, () => {
    const prefix = `${dir}/`;
    const paths: string[] = [];
    for (const p of Object.keys(s.files))
      if (p.startsWith(prefix) && p.indexOf("/", prefix.length) === -1) paths.push(p);
    return paths.sort();
  });
}

function confLines(content: string): string[] {
  return content
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
}

/** modprobe.d configuration lines (comments stripped), in load order. */
export function modprobeLines(s: SimState): string[] {
  return filesIn(s, "/etc/modprobe.d")
    .filter((f) => f.path.endsWith(".conf"))
    .flatMap((f) => confLines(f.content));
}

export function isBlacklisted(s: SimState, module: string): boolean {
  return modprobeLines(s).some((l) => {
    const w = l.split(/\s+/);
    return w[0] === "blacklist" && w[1] === module;
  });
}

/** vendor:device ids claimed by vfio-pci (modprobe.d `options vfio-pci ids=` or `vfio-pci.ids=` on the cmdline). */
export function vfioIds(s: SimState): string[] {
  const ids: string[] = [];
  for (const l of modprobeLines(s)) {
    const m = /^options\s+vfio[-_]pci\s+.*\bids=([0-9a-fA-F:,]+)/.exec(l);
    if (m) ids.push(...m[1]!.toLowerCase().split(","));
  }
  for (const t of s.cmdline.split(/\s+/))
    if (/^vfio[-_]pci\.ids=/.test(t)) ids.push(...t.split("=")[1]!.toLowerCase().split(","));
  return ids.filter(Boolean);
}

/** Modules listed in /etc/modules and /etc/modules-load.d/*.conf. */
export function bootModules(s: SimState): string[] {
  const out: string[] = [];
  const etc = s.files["/etc/modules"];
  if (etc !== undefined) out.push(...confLines(etc));
  for (const f of filesIn(s, "/etc/modules-load.d"))
    if (f.path.endsWith(".conf")) out.push(...confLines(f.content));
  return out.map((m) => m.split(/\s+/)[0]!.replaceAll("-", "_"));
}

export function cmdlineHas(s: SimState, token: string): boolean {
  return s.cmdline.split(/\s+/).includes(token);
}

export interface IommuState {
  /** The kernel turned the IOMMU on (needs firmware support + kernel default or cmdline). */
  active: boolean;
  /** iommu=pt on the command line */
  passthrough: boolean;
  /** intel_iommu=on / amd_iommu=on given */
  cmdlineOn: boolean;
}

export function iommuState(s: SimState): IommuState {
  const passthrough = cmdlineHas(s, "iommu=pt");
  if (s.cpu.vendor === "intel") {
    const on = cmdlineHas(s, "intel_iommu=on");
    const off = cmdlineHas(s, "intel_iommu=off");
    // "With AMD CPUs IOMMU is enabled by default. With recent kernels (6.8 or newer), this is also true for
    // Intel CPUs" (pve-docs qm-pci-passthrough.adoc @ 9.1.3).
    const wanted = on || (!off && kernelAtLeast(s.kernel.running, 6, 8));
    return { active: s.firmwareIommu && wanted, passthrough, cmdlineOn: on };
  }
  const off = cmdlineHas(s, "amd_iommu=off");
  return { active: s.firmwareIommu && !off, passthrough, cmdlineOn: cmdlineHas(s, "amd_iommu=on") };
}

/**
 * The framebuffer the console runs on this boot, as /proc/fb names it: the scenario's `consoleFb`
 * ("astdrmfb" = ASPEED BMC graphics) — "nouveaudrmfb" only while nouveau is bound. Without a stated one:
 * the Intel iGPU's ("i915drmfb") when i915 is loaded, else nouveau's on a VGA-class GPU, else the
 * firmware framebuffer ("EFI VGA", efifb).
 */
export function consoleFramebuffer(s: SimState): string {
  const nouveauBound = s.gpus.some((g) => g.driver === "nouveau");
  if (s.consoleFb !== undefined && (s.consoleFb !== "nouveaudrmfb" || nouveauBound)) return s.consoleFb;
  if (s.consoleFb === undefined) {
    if (s.modules.includes("i915") || s.baseModules.includes("i915")) return "i915drmfb";
    if (s.gpus.some((g) => g.driver === "nouveau" && g.sysfsClass === "0x030000")) return "nouveaudrmfb";
  }
  return "EFI VGA";
}

/** nouveau is loaded and fbcon runs on its framebuffer: `modprobe -r nouveau` fails ("in use"). */
export function nouveauHoldsConsole(s: SimState): boolean {
  return consoleFramebuffer(s) === "nouveaudrmfb";
}

export function secureBootActive(s: SimState): boolean {
  return s.boot.efi && s.boot.secureBoot;
}

/** LD_PRELOAD value of a systemd drop-in folder of a service, or null. */
export function preloadOf(s: SimState, service: "nvidia-vgpud" | "nvidia-vgpu-mgr"): string | null {
  for (const f of filesIn(s, `/etc/systemd/system/${service}.service.d`)) {
    if (!f.path.endsWith(".conf")) continue;
    const m = /^\s*Environment="?LD_PRELOAD=([^"\s]+)"?/m.exec(f.content);
    if (m) return m[1]!;
  }
  return null;
}

/** vgpu_unlock-rs is preloaded into both services, the library exists and `unlock` is not false. */
export function unlockActive(s: SimState): boolean {
  return unlockActiveIn(s, "nvidia-vgpud") && unlockActiveIn(s, "nvidia-vgpu-mgr");
}

/** vgpu_unlock-rs is preloaded into one service (the library exists, `unlock` is not false). */
export function unlockActiveIn(s: SimState, service: "nvidia-vgpud" | "nvidia-vgpu-mgr"): boolean {
  const lib = preloadOf(s, service);
  if (!lib || s.files[lib] === undefined) return false;
  return unlockConfigEnabled(s);
}

/** RM control struct sizes per driver branch (mbilker/vgpu_unlock-rs #43 R570, #51 R580). */
const TYPE_INFO_SIZE: Array<[branch: number, bytes: number]> = [
  [550, 4960],
  [570, 5232],
  [580, 5424],
];

function typeInfoSize(branch: number): number {
  let size = TYPE_INFO_SIZE[0]![1];
  for (const [b, n] of TYPE_INFO_SIZE) if (branch >= b) size = n;
  return size;
}

/**
 * The struct-size complaint vgpu_unlock-rs logs in nvidia-vgpu-mgr when it is older than the driver
 * (it then leaves the call unpatched), or null when it knows the driver's structures.
 */
export function unlockSizeMismatch(s: SimState): { param: string; was: number; expected: number } | null {
  const known = s.unlock?.knownDriverBranch;
  if (known === undefined || !s.driver || !preloadOf(s, "nvidia-vgpu-mgr")) return null;
  const major = driverMajor(s);
  if (major <= known) return null;
  const was = typeInfoSize(major);
  const expected = typeInfoSize(known);
  if (was === expected) return null;
  return { param: "NVA081_CTRL_CMD_VGPU_CONFIG_GET_VGPU_TYPE_INFO", was, expected };
}

export function unlockConfigEnabled(s: SimState): boolean {
  const cfg = s.files["/etc/vgpu_unlock/config.toml"];
  if (unlockConfigError(s)) return false;
  return !(cfg && /^\s*unlock\s*=\s*false\b/m.test(cfg));
}

/**
 * The decode error of /etc/vgpu_unlock/config.toml, or null when it is absent or parses. vgpu_unlock-rs
 * reads it when the library loads and abort()s the daemon on a decode error (research/unlock.md §1.2).
 */
export function unlockConfigError(s: SimState): string | null {
  const cfg = s.files["/etc/vgpu_unlock/config.toml"];
  if (cfg === undefined) return null;
  if (lastConfig?.text !== cfg) lastConfig = { text: cfg, error: tomlDecodeError(cfg) };
  return lastConfig.error;
}

/**
 * The answer for the config text last asked about: rendering one inspection's sysfs files asks ~170
 * times (every vGPU verdict), and the answer depends on the text alone.
 */
let lastConfig: { text: string; error: string | null } | undefined;

function tomlDecodeError(cfg: string): string | null {
  try {
    parse(cfg);
    return null;
  } catch (e) {
    if (e instanceof TomlError) return `TOML parse error at line ${e.line}, column ${e.column}`;
    throw e; // not a decode error: a bug in the simulator, not the simulated daemon's answer
  }
}

/** The service preloads vgpu_unlock-rs and its config does not decode: the process aborts at start. */
export function abortedByUnlockConfig(s: SimState, service: "nvidia-vgpud" | "nvidia-vgpu-mgr"): boolean {
  return preloadOf(s, service) !== null && unlockConfigError(s) !== null;
}

export type VgpuVerdict =
  | { ok: true; pgpu: SimBoard; via: "native" | "unlock" }
  | {
      ok: false;
      reason:
        | "no-driver"
        | "not-bound"
        | "open-driver"
        | "not-vgpu-driver"
        | "vgpud-aborted"
        | "unsupported"
        | "branch-dropped"
        | "not-unlocked";
    };

/**
 * Whether nvidia-vgpud registers vGPU types for this GPU, and which board's table it uses: the
 * simulator's own driver data decides (nvidia-data.ts: a native board's own types, an unlock card's
 * spoof target's).
 */
export function vgpuVerdict(s: SimState, gpu: SimGpu): VgpuVerdict {
  return view(s, `verdict ${gpu.address}`, () => computeVerdict(s, gpu));
}

function computeVerdict(s: SimState, gpu: SimGpu): VgpuVerdict {
  if (!s.driver || !s.driverLoaded) return { ok: false, reason: "no-driver" };
  if (abortedByUnlockConfig(s, "nvidia-vgpud")) return { ok: false, reason: "vgpud-aborted" };
  if (gpu.driver !== "nvidia") return { ok: false, reason: "not-bound" };
  if (s.driver.kind === "plain") return { ok: false, reason: "not-vgpu-driver" };
  if (s.driver.flavour === "open") return { ok: false, reason: "open-driver" };
  const board = simBoardFor(gpu.deviceId, gpu.subsystemDeviceId);
  if (!board || board.types.length === 0) return { ok: false, reason: "unsupported" };
  // Pascal was dropped in vGPU 17 (R550): neither its boards nor unlocked Pascal cards get types.
  if (board.lastBranch !== null && driverMajor(s) > board.lastBranch)
    return { ok: false, reason: "branch-dropped" };
  if (board.via === "native") return { ok: true, pgpu: board, via: "native" };
  // nvidia-vgpud registers the types: its preload decides (nvidia-vgpu-mgr's matters at VM start).
  if (!unlockActiveIn(s, "nvidia-vgpud") || !s.driver.patched) return { ok: false, reason: "not-unlocked" };
  return { ok: true, pgpu: board, via: "unlock" };
}

export interface OfferedType {
  type: SimVgpuType;
  /** "nvidia-259" */
  mdevType: string;
  available: number;
}

/** mdev types under /sys/bus/pci/devices/<gpu>/mdev_supported_types, with available_instances. */
export function offeredTypes(s: SimState, gpu: SimGpu): OfferedType[] {
  const v = vgpuVerdict(s, gpu);
  if (!v.ok || gpu.sriov) return []; // SR-IOV boards offer their types on the virtual functions
  const active = s.mdevs.filter((m) => m.parent === gpu.address);
  const sameSize = sameSizeTypesCoexist(s);
  const activeMiB = new Set(active.map((m) => v.pgpu.types.find((t) => t.type === m.type)?.profileMiB));
  return v.pgpu.types.map((t) => {
    const mdevType = t.type;
    const sameType = active.filter((m) => m.type === mdevType).length;
    let available: number;
    if (active.length === 0) available = t.maxInstances;
    else if (sameSize)
      available =
        activeMiB.size === 1 && activeMiB.has(t.profileMiB) ? Math.max(0, t.maxInstances - active.length) : 0;
    else available = active.length > sameType ? 0 : Math.max(0, t.maxInstances - sameType);
    return { type: t, mdevType, available };
  });
}

/**
 * Which vGPUs may share a (non-SR-IOV, equal-size mode) GPU. From vGPU 15 (R525) the driver runs vGPUs of
 * different types but the same framebuffer size side by side ("Heterogeneous Time-Slice Profiles :
 * Supported" in real `nvidia-smi -q` of 525.147.01 and 535.129.03; NVML
 * NVML_DEVICE_VGPU_CAP_HETEROGENEOUS_TIMESLICE_PROFILES "concurrent execution of timesliced vGPU profiles of
 * differing types"): after one 2 GiB vGPU, every 2 GiB type keeps `maxInstances - 1` (research/proxmox.md §3;
 * issue 18: "2B and 2Q both 23"). Older branches: one type per GPU ("all vGPUs on a physical GPU must be of the
 * same type", NVIDIA vGPU user guide ≤ 14).
 */
export function sameSizeTypesCoexist(s: SimState): boolean {
  return driverMajor(s) >= 525;
}

/** Addresses of the enabled SR-IOV virtual functions of a GPU (first VF offset 4, stride 1). */
export function virtualFunctions(gpu: SimGpu): string[] {
  const n = gpu.sriov?.numVfs ?? 0;
  const base = gpu.address.slice(0, 8); // "0000:01:"
  const pfDev = Number.parseInt(gpu.address.slice(8, 10), 16);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const devfn = pfDev * 8 + 4 + i;
    out.push(`${base}${(devfn >> 3).toString(16).padStart(2, "0")}.${devfn & 7}`);
  }
  return out;
}

/** The SR-IOV GPU whose enabled virtual function `vf` is. */
export function physfnOf(s: SimState, vf: string): SimGpu | undefined {
  return s.gpus.find((g) => virtualFunctions(g).includes(vf));
}

/** The vGPU type set on a VF (nvidia/current_vgpu_type), or undefined when it is 0. */
export function vfVgpu(s: SimState, vf: string): SimVfVgpu | undefined {
  return (s.vfVgpus ?? []).find((v) => v.vf === vf);
}

/** vGPUs on the virtual functions of one SR-IOV GPU (VFs whose current_vgpu_type is not 0). */
export function gpuVfVgpus(s: SimState, gpu: SimGpu): SimVfVgpu[] {
  const vfs = virtualFunctions(gpu);
  return (s.vfVgpus ?? []).filter((v) => vfs.includes(v.vf));
}

/** The driver supports mixed-size mode on this GPU (vGPU 17+, a board NVIDIA lists; nvidia-data.ts [mixed]). */
export function mixedSizeCapable(s: SimState, gpu: SimGpu): boolean {
  const v = vgpuVerdict(s, gpu);
  return v.ok && v.pgpu.mixedSize && driverMajor(s) >= 550;
}

/** The GPU runs in mixed-size (heterogeneous) mode right now (`nvidia-smi vgpu -shm 1` this boot). */
export function mixedSizeOn(s: SimState, gpu: SimGpu): boolean {
  return mixedSizeCapable(s, gpu) && (s.mixedSizeGpus ?? []).includes(gpu.address);
}

/** Nominal framebuffer of a board: the largest profile × its instances (48Q × 1 on an L40S). */
function boardFramebufferMiB(types: SimVgpuType[]): number {
  return Math.max(0, ...types.map((t) => t.profileMiB * t.maxInstances));
}

/**
 * vGPU types a virtual function can create (nvidia/creatable_vgpu_types), as the host driver computes
 * them: none on a VF that already has a type; in equal-size mode, once a vGPU exists on the GPU only
 * types of its framebuffer size, and none once that many vGPUs reach the type's per-GPU maximum; in
 * mixed-size mode any type whose framebuffer still fits and whose mixed-size maximum is not reached.
 */
export function vfCreatableTypes(s: SimState, gpu: SimGpu, vf: string): SimVgpuType[] {
  const v = vgpuVerdict(s, gpu);
  if (!v.ok || !virtualFunctions(gpu).includes(vf) || vfVgpu(s, vf)) return [];
  const used = gpuVfVgpus(s, gpu)
    .map((x) => v.pgpu.types.find((t) => t.id === x.typeId))
    .filter((t): t is SimVgpuType => t !== undefined);
  if (mixedSizeOn(s, gpu)) {
    const free = boardFramebufferMiB(v.pgpu.types) - used.reduce((n, t) => n + t.profileMiB, 0);
    return v.pgpu.types.filter(
      (t) => t.profileMiB <= free && used.filter((u) => u.id === t.id).length < t.mixedMaxInstances,
    );
  }
  if (used.length === 0) return v.pgpu.types;
  const size = used[0]!.profileMiB;
  return v.pgpu.types.filter((t) => t.profileMiB === size && used.length < t.maxInstances);
}

/** True when a systemd unit of the NVIDIA vGPU services is installed. */
export function vgpuServicesInstalled(s: SimState): boolean {
  return s.driver !== null && s.driver.kind !== "plain";
}

/** The unit is enabled (its multi-user.target.wants link exists, as the installer creates it). */
export function unitEnabled(s: SimState, unit: "nvidia-vgpud" | "nvidia-vgpu-mgr"): boolean {
  return s.files[`/etc/systemd/system/multi-user.target.wants/${unit}.service`] !== undefined;
}

export type UnitState = "active" | "inactive" | "failed";

export function unitState(s: SimState, unit: "nvidia-vgpud" | "nvidia-vgpu-mgr"): UnitState {
  if (!vgpuServicesInstalled(s)) return "inactive";
  if (unit === "nvidia-vgpu-mgr" && !unitEnabled(s, unit)) return "inactive";
  if (!s.driverLoaded || abortedByUnlockConfig(s, unit)) return "failed";
  if (unit === "nvidia-vgpu-mgr") return "active";
  // vgpud registers the types and exits: inactive on success, failed when no GPU could be used.
  return s.gpus.some((g) => vgpuVerdict(s, g).ok) ? "inactive" : "failed";
}

export const KERNEL_MODULE_SIZES: Record<string, number> = {
  nvidia_vgpu_vfio: 57344,
  nvidia: 56700928,
  nvidia_drm: 77824,
  nvidia_modeset: 1314816,
  nouveau: 2461696,
  mxm_wmi: 16384,
  drm_ttm_helper: 16384,
  ttm: 86016,
  drm_display_helper: 184320,
  drm_kms_helper: 204800,
  drm: 643072,
  i2c_algo_bit: 16384,
  video: 65536,
  wmi: 36864,
  mdev: 28672,
  vfio_pci: 16384,
  vfio_pci_core: 94208,
  vfio_iommu_type1: 49152,
  vfio: 57344,
  vfio_virqfd: 16384,
  irqbypass: 16384,
  kvm_intel: 397312,
  kvm_amd: 196608,
  kvm: 1327104,
  i915: 3702784,
  snd_hda_intel: 57344,
  snd_hda_codec_hdmi: 94208,
  xhci_pci: 24576,
  i2c_nvidia_gpu: 16384,
  zfs: 4009984,
  e1000e: 344064,
  igb: 282624,
  ahci: 49152,
  vhost_net: 36864,
  tap: 28672,
  iommufd: 98304,
};

/** Modules that depend on others (lsmod "Used by" is derived from this). */
export const KERNEL_MODULE_DEPS: Record<string, string[]> = {
  nvidia_vgpu_vfio: ["nvidia", "mdev", "vfio", "kvm"],
  nvidia: [],
  nvidia_modeset: ["nvidia"],
  nvidia_drm: ["nvidia_modeset", "drm_kms_helper", "drm"],
  nouveau: [
    "mxm_wmi",
    "drm_ttm_helper",
    "ttm",
    "drm_display_helper",
    "drm_kms_helper",
    "drm",
    "i2c_algo_bit",
    "video",
    "wmi",
  ],
  vfio_pci: ["vfio_pci_core"],
  vfio_pci_core: ["vfio", "irqbypass"],
  vfio_iommu_type1: ["vfio"],
  vfio_virqfd: [],
  kvm_intel: ["kvm"],
  kvm_amd: ["kvm"],
  kvm: ["irqbypass"],
  i915: ["drm_display_helper", "drm_kms_helper", "drm", "i2c_algo_bit", "video", "ttm"],
  snd_hda_codec_hdmi: [],
  vhost_net: ["tap"],
};

/** Everything loaded right now (state.modules + GPU modules + dependencies), without duplicates. */
export function loadedModules(s: SimState): string[] {
  const want = [...s.modules];
  if (s.driverLoaded)
    want.unshift(
      ...(s.driver?.kind === "plain" ? ["nvidia_drm", "nvidia_modeset"] : ["nvidia_vgpu_vfio"]),
      "nvidia",
    );
  if (s.gpus.some((g) => g.driver === "nouveau")) want.unshift("nouveau");
  if (s.gpus.some((g) => g.driver === "vfio-pci")) want.unshift("vfio_pci");
  const seen = new Set<string>();
  const visit = (m: string) => {
    if (seen.has(m)) return;
    seen.add(m);
    for (const d of KERNEL_MODULE_DEPS[m] ?? []) visit(d);
  };
  for (const m of want) visit(m);
  return [...seen];
}

/** Programs on $PATH that depend on a package (everything else a PVE host always has). */
const PROGRAM_PACKAGES: Record<string, string> = {
  mdevctl: "mdevctl",
  dkms: "dkms",
  mokutil: "mokutil",
  git: "git",
  cargo: "cargo",
  gcc: "gcc",
  make: "make",
  curl: "curl",
  patch: "patch",
  "pve-nvidia-vgpu-helper": "pve-nvidia-vgpu-helper",
};

export function programInstalled(s: SimState, prog: string): boolean {
  if (prog === "nvidia-smi") return s.driver !== null;
  if (prog === "cargo" && s.files["/root/.cargo/bin/cargo"] !== undefined) return true;
  const pkg = PROGRAM_PACKAGES[prog];
  return pkg ? pkg in s.packages : true;
}

/** The kernel command line the bootloader configuration would produce (GRUB or /etc/kernel/cmdline). */
/** The next boot's command line as the bootloader tools write it: for the pinned kernel (kernel-pin.ts), else the running one. */
export function configuredCmdline(
  s: SimState,
  kernel = s.files["/etc/kernel/proxmox-boot-pin"]?.trim() || s.kernel.running,
): string {
  if (s.boot.bootloader === "systemd-boot") {
    const body = (s.files["/etc/kernel/cmdline"] ?? "").trim().replace(/\s+/g, " ");
    return `initrd=\\EFI\\proxmox\\${kernel}\\initrd.img-${kernel} ${body}`.trim();
  }
  const grub = grubVars(s);
  const parts = [
    `BOOT_IMAGE=/boot/vmlinuz-${kernel}`,
    s.boot.rootArgs,
    grub.GRUB_CMDLINE_LINUX ?? "",
    grub.GRUB_CMDLINE_LINUX_DEFAULT ?? "",
  ];
  return parts.join(" ").trim().replace(/\s+/g, " ");
}

/** Variables of /etc/default/grub then /etc/default/grub.d/*.cfg (shell-like, quotes removed, last wins). */
export function grubVars(s: SimState): Record<string, string> {
  const vars: Record<string, string> = {};
  const texts = [
    s.files["/etc/default/grub"] ?? "",
    ...filesIn(s, "/etc/default/grub.d")
      .filter((f) => f.path.endsWith(".cfg"))
      .map((f) => f.content),
  ];
  for (const text of texts) {
    for (const line of text.split("\n")) {
      const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
      if (!m) continue;
      let v = m[2]!.trim();
      if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))
        v = v.slice(1, -1);
      v = v.replace(/\$(\{)?([A-Z_][A-Z0-9_]*)\}?/g, (_, _b, name: string) => vars[name] ?? "");
      vars[m[1]!] = v;
    }
  }
  return vars;
}
