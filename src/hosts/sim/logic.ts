/**
 * Derived facts of the simulated host: what the kernel, driver and services would make of the
 * state. Pure functions; renderers and state transitions share them so outputs stay consistent.
 */
import type { SimGpu, SimState } from "./state.ts";
import { findPgpu, type SimPgpu, type SimVgpuType } from "./vgpu-table.ts";

export const UNLOCK_LIB = "target/release/libvgpu_unlock_rs.so";

/** "5.15.102-1-pve" → [5, 15, 102] */
export function kernelTuple(release: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0];
}

export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const [a, b] = kernelTuple(release);
  return a > major || (a === major && b >= minor);
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

/** Files directly inside `dir` (one level), sorted by name. */
export function filesIn(s: SimState, dir: string): Array<{ path: string; content: string }> {
  const prefix = `${dir}/`;
  return Object.keys(s.files)
    .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/"))
    .sort()
    .map((path) => ({ path, content: s.files[path]! }));
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
    // Proxmox kernels ≥ 6.8 enable the Intel IOMMU by default.
    const wanted = on || (!off && kernelAtLeast(s.kernel.running, 6, 8));
    return { active: s.firmwareIommu && wanted, passthrough, cmdlineOn: on };
  }
  const off = cmdlineHas(s, "amd_iommu=off");
  return { active: s.firmwareIommu && !off, passthrough, cmdlineOn: cmdlineHas(s, "amd_iommu=on") };
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
  const a = preloadOf(s, "nvidia-vgpud");
  const b = preloadOf(s, "nvidia-vgpu-mgr");
  if (!a || !b || s.files[a] === undefined || s.files[b] === undefined) return false;
  return unlockConfigEnabled(s);
}

export function unlockConfigEnabled(s: SimState): boolean {
  const cfg = s.files["/etc/vgpu_unlock/config.toml"];
  return !(cfg && /^\s*unlock\s*=\s*false\b/m.test(cfg));
}

/** Device ids vgpu_unlock-rs spoofs to the Quadro RTX 6000 (Turing, research/unlock.md §1.8). */
export function isTuringConsumer(deviceId: string): boolean {
  const d = Number.parseInt(deviceId, 16);
  return (
    (d >= 0x1e02 && d <= 0x1ff9 && d !== 0x1e30 && d !== 0x1eb8 && d !== 0x1e78) ||
    (d >= 0x2182 && d <= 0x21d1)
  );
}

export type VgpuVerdict =
  | { ok: true; pgpu: SimPgpu; via: "native" | "unlock" }
  | {
      ok: false;
      reason: "no-driver" | "not-bound" | "open-driver" | "unsupported" | "branch-dropped" | "not-unlocked";
    };

/** Whether nvidia-vgpud registers vGPU types for this GPU, and which board's table it uses. */
export function vgpuVerdict(s: SimState, gpu: SimGpu): VgpuVerdict {
  if (!s.driver || !s.driverLoaded) return { ok: false, reason: "no-driver" };
  if (gpu.driver !== "nvidia") return { ok: false, reason: "not-bound" };
  if (s.driver.flavour === "open") return { ok: false, reason: "open-driver" };
  const dev = Number.parseInt(gpu.deviceId, 16);
  const native = findPgpu(dev, Number.parseInt(gpu.subsystemDeviceId, 16));
  if (native) {
    // Pascal boards were dropped in vGPU 17 (R550).
    if (gpu.architecture === "Pascal" && driverMajor(s) >= 550)
      return { ok: false, reason: "branch-dropped" };
    return { ok: true, pgpu: native, via: "native" };
  }
  if (isTuringConsumer(gpu.deviceId)) {
    if (!unlockActive(s) || !s.driver.patched) return { ok: false, reason: "not-unlocked" };
    const target = findPgpu(0x1e30, 0x12ba);
    return target ? { ok: true, pgpu: target, via: "unlock" } : { ok: false, reason: "unsupported" };
  }
  return { ok: false, reason: "unsupported" };
}

export interface OfferedType {
  type: SimVgpuType;
  mdevType: string;
  available: number;
}

/** mdev types under /sys/bus/pci/devices/<gpu>/mdev_supported_types, with available_instances. */
export function offeredTypes(s: SimState, gpu: SimGpu): OfferedType[] {
  const v = vgpuVerdict(s, gpu);
  if (!v.ok) return [];
  const active = s.mdevs.filter((m) => m.parent === gpu.address);
  return v.pgpu.types.map((t) => {
    const mdevType = `nvidia-${t.id}`;
    const sameType = active.filter((m) => m.type === mdevType).length;
    // Classic homogeneous rule: once a vGPU exists, other types offer 0 instances.
    const available = active.length > sameType ? 0 : Math.max(0, t.maxInstances - sameType);
    return { type: t, mdevType, available };
  });
}

/** True when a systemd unit of the NVIDIA vGPU services is installed. */
export function vgpuServicesInstalled(s: SimState): boolean {
  return s.driver !== null;
}

export type UnitState = "active" | "inactive" | "failed";

export function unitState(s: SimState, unit: "nvidia-vgpud" | "nvidia-vgpu-mgr"): UnitState {
  if (!vgpuServicesInstalled(s)) return "inactive";
  if (!s.driverLoaded) return "failed";
  if (unit === "nvidia-vgpu-mgr") return "active";
  // vgpud registers the types and exits: inactive on success, failed when no GPU could be used.
  return s.gpus.some((g) => vgpuVerdict(s, g).ok) ? "inactive" : "failed";
}

export const KERNEL_MODULE_SIZES: Record<string, number> = {
  nvidia_vgpu_vfio: 57344,
  nvidia: 56700928,
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
  if (s.driverLoaded) want.unshift("nvidia_vgpu_vfio", "nvidia");
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
};

export function programInstalled(s: SimState, prog: string): boolean {
  if (prog === "nvidia-smi") return s.driver !== null;
  if (prog === "cargo" && s.files["/root/.cargo/bin/cargo"] !== undefined) return true;
  const pkg = PROGRAM_PACKAGES[prog];
  return pkg ? pkg in s.packages : true;
}

/** The kernel command line the bootloader configuration would produce (GRUB or /etc/kernel/cmdline). */
export function configuredCmdline(s: SimState, kernel = s.kernel.running): string {
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
