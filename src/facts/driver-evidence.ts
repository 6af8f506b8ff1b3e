/**
 * The NVIDIA driver as every output shows it: version, kind (the vGPU host driver `-vgpu-kvm`, the
 * regular driver, the GRID guest driver) and flavour (proprietary / open kernel modules), each claim
 * with its source, merged with the believed source and the contradictions. Pure; never a guess.
 */
import type { Facts } from "./types.ts";

export type DriverKind = "vgpu-host" | "regular" | "grid-guest";
export type DriverFlavour = "proprietary" | "open";

export type DriverSource =
  | "/proc/driver/nvidia/version"
  | "nvidia-smi -q"
  | "nvidia-smi"
  | "nvidia-smi vgpu -q"
  | "kernel log"
  | "modinfo"
  | "dkms"
  | "installer log"
  | "lsmod"
  | "vGPU services"
  | "packages";

export interface DriverClaim {
  source: DriverSource;
  version: string | null;
  kind: DriverKind | null;
  flavour: DriverFlavour | null;
  /** true: the claim is about the module running now; false: about what is installed */
  running: boolean;
}

export interface DriverConflict {
  field: "version" | "kind" | "flavour";
  values: Array<{ source: DriverSource; value: string }>;
  believed: DriverSource;
  why: string;
}

const WHY: Partial<Record<DriverSource, string>> = {
  "/proc/driver/nvidia/version": "the loaded kernel module reports itself there",
  "nvidia-smi -q": "nvidia-smi talks to the loaded driver",
  "nvidia-smi": "nvidia-smi talks to the loaded driver",
  "nvidia-smi vgpu -q": "nvidia-smi talks to the loaded driver",
  "kernel log": "the kernel logs the module it loaded",
  "installer log": "the installer names the package it installed",
  lsmod: "lsmod lists the modules loaded now",
  modinfo: "modinfo reads the module file itself",
};

/**
 * The version the kernel log names: "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.230.02 …",
 * "NVRM:  The 595.71.03 NVIDIA driver will ignore" (legacy GPU), "NVRM: NVIDIA 465.31 driver release."
 * `ignoring`: the module refused every GPU ("No NVIDIA GPU found", "will ignore this GPU").
 */
export function dmesgDriver(f: Facts): { version: string; ignoring: boolean } | null {
  const nvrm = f.dmesg?.nvrm ?? [];
  let version: string | null = null;
  for (const l of nvrm) {
    const m =
      /Kernel Module(?: for \S+)?\s+(\d+\.\d+(?:\.\d+)?)\b/.exec(l) ??
      /\bThe (\d+\.\d+(?:\.\d+)?) NVIDIA driver\b/.exec(l) ??
      /\bNVIDIA (\d+\.\d+(?:\.\d+)?) driver release\b/.exec(l);
    if (m) version = m[1]!;
  }
  if (!version) return null;
  // "NVRM: installed in this system is not supported by the / NVRM: NVIDIA 465.31 driver release." (DualCoder/vgpu_unlock#62)
  const ignoring = nvrm.some((l) =>
    /No NVIDIA GPU found|will ignore\b|installed in this system is not supported by the\b/i.test(l),
  );
  return { version, ignoring };
}

const c = (source: DriverSource, running: boolean, x: Partial<DriverClaim>): DriverClaim => ({
  source,
  running,
  version: x.version ?? null,
  kind: x.kind ?? null,
  flavour: x.flavour ?? null,
});

/** Claims of the running driver: /proc, nvidia-smi, the kernel log, lsmod, the vGPU services. */
function runningClaims(f: Facts): DriverClaim[] {
  const out: DriverClaim[] = [];
  if (f.loadedDriverVersion) {
    const flavour = f.driverModuleOpen === null ? null : f.driverModuleOpen ? "open" : "proprietary";
    out.push(c("/proc/driver/nvidia/version", true, { version: f.loadedDriverVersion, flavour }));
  }
  const q = f.nvidiaSmiQuery;
  if (q && !q.error) {
    const modes = q.gpus.map((g) => g.virtualizationMode ?? "");
    const host =
      modes.includes("Host VGPU") || q.gpus.some((g) => g.hostVgpuMode && g.hostVgpuMode !== "N/A");
    const kind = host ? "vgpu-host" : modes.includes("VGPU") ? "grid-guest" : null;
    out.push(c("nvidia-smi -q", true, { version: q.driverVersion, kind }));
  }
  if (f.nvidiaSmi?.driverVersion) out.push(c("nvidia-smi", true, { version: f.nvidiaSmi.driverVersion }));
  if (f.vgpuQuery?.driverVersion && !f.vgpuQuery.error)
    out.push(c("nvidia-smi vgpu -q", true, { version: f.vgpuQuery.driverVersion, kind: "vgpu-host" }));
  const dm = dmesgDriver(f);
  const nvrm = f.dmesg?.nvrm ?? [];
  // "NVRM: … not supported by open / NVRM: nvidia.ko because …" (a message wrapped over NVRM lines)
  const joined = nvrm.map((l) => l.replace(/^\s*NVRM:\s*/, "")).join(" ");
  const flavour = /Open Kernel Module|\bopen nvidia\.ko\b/i.test(joined)
    ? "open"
    : nvrm.some((l) => /NVIDIA UNIX \S+ Kernel Module\s/.test(l)) ||
        (f.dmesg?.lines ?? []).some((l) => /module license 'NVIDIA' taints kernel/.test(l))
      ? "proprietary"
      : null;
  if (dm || flavour) out.push(c("kernel log", true, { version: dm?.version ?? null, flavour }));
  if (f.lsmod?.some((m) => m.name === "nvidia_vgpu_vfio")) out.push(c("lsmod", true, { kind: "vgpu-host" }));
  if (f.services && Object.values(f.services).includes("active"))
    out.push(c("vGPU services", true, { kind: "vgpu-host" }));
  return out;
}

const REGULAR_PACKAGE = /^nvidia-(?:kernel-dkms|driver(?:-\d+)?|dkms-\d+(?:-open)?|open-kernel-dkms)$/;

/** Claims of the installed driver: modinfo, dkms (for the running kernel when it says), installer log, packages. */
function installedClaims(f: Facts): DriverClaim[] {
  const out: DriverClaim[] = [];
  if (f.modinfo) out.push(c("modinfo", false, { version: f.modinfo.version, flavour: f.modinfo.flavour }));
  const nv = (f.dkms ?? []).filter((e) => e.module === "nvidia" || e.module === "nvidia-open");
  const kernel = f.uname?.release ?? null;
  const forKernel = nv.filter((e) => e.kernel === kernel);
  for (const e of forKernel.length > 0 ? forKernel : nv)
    out.push(c("dkms", false, { version: e.version, flavour: e.module === "nvidia-open" ? "open" : null }));
  const log = f.installerLog;
  if (log)
    out.push(c("installer log", false, { version: log.version, kind: log.kind, flavour: log.flavour }));
  for (const [name, version] of Object.entries(f.packages ?? {})) {
    if (!name.startsWith("nvidia-") || !REGULAR_PACKAGE.test(name)) continue; // most packages are not nvidia-*
    const v = /^(\d+\.\d+(?:\.\d+)?)/.exec(version)?.[1] ?? null;
    out.push(
      c("packages", false, { version: v, kind: "regular", flavour: /open/.test(name) ? "open" : null }),
    );
  }
  return out;
}

export function driverClaims(f: Facts): DriverClaim[] {
  return [...runningClaims(f), ...installedClaims(f)];
}

/** Merge one field: the first claim that has it is believed; different values are a conflict. */
function mergeField(
  field: DriverConflict["field"],
  claims: DriverClaim[],
  why: (believed: DriverSource) => string,
): { value: string | null; from: DriverSource | null; conflict: DriverConflict | null } {
  const values = claims
    .filter((x) => x[field] !== null)
    .map((x) => ({ source: x.source, value: x[field] as string }));
  const first = values[0];
  if (!first) return { value: null, from: null, conflict: null };
  const distinct = new Set(values.map((v) => v.value));
  const conflict =
    distinct.size > 1 ? { field, values, believed: first.source, why: why(first.source) } : null;
  return { value: first.value, from: first.source, conflict };
}

export interface DriverSummary {
  kind: DriverKind | null;
  kindFrom: DriverSource | null;
  flavour: DriverFlavour | null;
  flavourFrom: DriverSource | null;
  conflicts: DriverConflict[];
}

/**
 * Kind and flavour from every claim; conflicts: the running sources disagree on the version, the
 * installed version is not the running one (a newer driver waits for a reboot), kinds or flavours differ.
 */
export function driverSummary(f: Facts): DriverSummary {
  const claims = driverClaims(f);
  const running = claims.filter((x) => x.running);
  const installed = claims.filter((x) => !x.running);
  const whyOf = (s: DriverSource) => WHY[s] ?? `${s} is the most direct of the outputs that say it`;
  const conflicts: DriverConflict[] = [];
  const runVersion = mergeField("version", running, whyOf);
  if (runVersion.conflict) conflicts.push(runVersion.conflict);
  const instVersions = installed.map((x) => x.version).filter((v): v is string => v !== null);
  if (
    runVersion.value &&
    runVersion.from &&
    instVersions.length > 0 &&
    !instVersions.includes(runVersion.value)
  )
    conflicts.push({
      field: "version",
      values: [
        { source: runVersion.from, value: runVersion.value },
        ...installed.filter((x) => x.version).map((x) => ({ source: x.source, value: x.version! })),
      ],
      believed: runVersion.from,
      why: `${whyOf(runVersion.from)}; the installed driver takes over only after a reboot (or a module reload)`,
    });
  const kind = mergeField("kind", claims, whyOf);
  const flavour = mergeField("flavour", claims, whyOf);
  for (const m of [kind, flavour]) if (m.conflict) conflicts.push(m.conflict);
  return {
    kind: kind.value as DriverKind | null,
    kindFrom: kind.from,
    flavour: flavour.value as DriverFlavour | null,
    flavourFrom: flavour.from,
    conflicts,
  };
}
