/**
 * The NVIDIA vGPU driver matrix: vGPU release ↔ host driver ↔ kernels ↔ Proxmox VE ↔ unlock patch,
 * caveats and generations each branch dropped. Pure data + functions.
 *
 * Sources (cited per row in `sources`):
 * - seed: seed guide (polloloco's guide, fire1ce mirror, 2023-01): patches for 14.2–15.1, "5.14 up to 6.0
 *   should work. Newer kernels like 6.1 or 6.2 do NOT work", the 15.0 VM-restart problem, PVE 7.4.
 * - inst§2.1: research/installers.md §2.1, anomixer/proxmox-vgpu-installer v1.84 driver registry
 *   (host/guest versions, driver_patches.json) and compatibility matrix.
 * - inst§3.1 / inst§3.2: polloloco/vgpu-proxmox patch inventory and README history (kernel notes per patch).
 * - inst§4: consolidated branch/kernel/PVE matrix (kars85 catalog kernel limits, anomixer kernel claims).
 * - unlock§4 / unlock§7: research/unlock.md — vgpu_unlock-rs struct sizes per branch, PR #50 message
 *   ("Maxwell 2.0 and Pascal supports end in vGPU 16.x; Maxwell and Volta supports end in vGPU 19.x;
 *   RTX 6000, 8000 supports end in vGPU 19.x").
 *
 * Kernel ranges are major.minor series, inclusive, of kernels the driver (and its unlock patch, where one
 * exists) is reported to build and run on. `max: null` = no upper limit is established by our sources:
 * kernelInRange() then answers null (unknown), never a guess.
 */
import type { Facts } from "../facts/types.ts";
import type { Generation } from "./gpus.ts";

export interface UnlockPatch {
  /** polloloco-style file name, e.g. "525.85.07.patch" */
  file: string;
  /** "polloloco": in polloloco/vgpu-proxmox (README or master); "community-mirror": only seen in the
   * GreenDamTan mirror branches/index, upstream status unknown */
  availability: "polloloco" | "community-mirror";
}

export interface DriverRelease {
  /** "15.1" */
  vgpuRelease: string;
  /** "R525" */
  branch: string;
  /** host (vgpu-kvm) driver version, "525.85.07" */
  driverVersion: string;
  guestLinux: string | null;
  guestWindows: string | null;
  kernel: { min: string; max: string | null };
  /** Human text of `kernel`, e.g. "5.14 – 6.0" */
  kernelRange: string | null;
  /** Proxmox VE major versions it is used on */
  pve: string[];
  /** The binary patch that makes it work with vgpu_unlock (consumer cards); null = native boards only */
  patch: UnlockPatch | null;
  caveats: string[];
  sources: string[];
}

type Row = Omit<DriverRelease, "kernelRange">;

const C = {
  pascalGone:
    "NVIDIA dropped Pascal and Maxwell 2.0 profiles from 17.0: Tesla P4/P40/P100 and M60 need 16.x; a patched 17.x only works on Pascal with the 16.x vgpuConfig.xml copied to /usr/share/nvidia/vgpu/vgpuConfig.xml",
  openModules:
    "550+ installers may build the open kernel modules, which cannot do vGPU (HOST_VGPU_DEVICE construct failure): install with -m=kernel",
  noPatch16: "no unlock patch exists for 16.10 and later: native vGPU boards only",
  lts16: "16.x is the long-term branch (support until July 2026) and the last one for Maxwell 2.0 and Pascal",
  overrides18:
    "vgpu_unlock-rs profile overrides were ignored on 18.0 (mbilker/vgpu_unlock-rs#42) until the 18.x struct size (5232) was added (PR #43): update vgpu_unlock-rs",
  overrides19plus:
    "vgpu_unlock-rs does not understand the 19.1+ struct size (5432 bytes, mbilker/vgpu_unlock-rs#53): profile_override.toml is silently not applied",
  official18:
    "Proxmox VE supports NVIDIA vGPU officially from 18.x on PVE 8.4.1+ / 9 (pve-nvidia-vgpu-helper)",
  voltaTuring19:
    "last branch for Volta (V100) and Quadro RTX 6000/8000 boards (and so for Turing cards unlocked as RTX 6000)",
  kernel7:
    'needed for kernel 7.x (Proxmox VE 9.2+); refuses Pascal boards ("supported through the NVIDIA 580.xx Legacy drivers")',
};

const polloloco = (file: string): UnlockPatch => ({ file, availability: "polloloco" });
const mirror = (file: string): UnlockPatch => ({ file, availability: "community-mirror" });

/** Newest first. */
const ROWS: Row[] = [
  {
    vgpuRelease: "20.1",
    branch: "R595",
    driverVersion: "595.71.03",
    guestLinux: "595.71.05",
    guestWindows: "596.36",
    kernel: { min: "6.8", max: "7.0" },
    pve: ["9"],
    patch: null,
    caveats: [C.kernel7, "no unlock patch: native vGPU boards only"],
    sources: ["inst§2.1", "inst§4"],
  },
  {
    vgpuRelease: "20.0",
    branch: "R595",
    driverVersion: "595.58.02",
    guestLinux: "595.58.03",
    guestWindows: "595.97",
    kernel: { min: "6.8", max: "7.0" },
    pve: ["9"],
    patch: mirror("595.58.02.patch"),
    caveats: [C.kernel7, C.overrides19plus],
    sources: ["inst§2.1", "inst§3.1", "inst§4"],
  },
  ...(
    [
      ["19.5", "580.159.01", "580.159.03", "582.53", null],
      ["19.4", "580.126.08", "580.126.09", "582.16", "580.126.08.patch"],
      ["19.3", "580.105.06", "580.105.08", "581.80", "580.105.06.patch"],
      ["19.2", "580.95.02", "580.95.05", "581.42", null],
      ["19.1", "580.82.02", "580.82.07", "581.15", "580.82.02.patch"],
    ] as const
  ).map(
    ([vgpuRelease, driverVersion, guestLinux, guestWindows, patch]): Row => ({
      vgpuRelease,
      branch: "R580",
      driverVersion,
      guestLinux,
      guestWindows,
      kernel: { min: "6.8", max: "6.16" },
      pve: ["8", "9"],
      patch: patch ? mirror(patch) : null,
      caveats: [C.voltaTuring19, C.overrides19plus],
      sources: ["inst§2.1", "inst§3.1", "inst§4", "unlock§4"],
    }),
  ),
  {
    vgpuRelease: "19.0",
    branch: "R580",
    driverVersion: "580.65.05",
    guestLinux: "580.65.06",
    guestWindows: "580.88",
    kernel: { min: "6.8", max: "6.16" },
    pve: ["8", "9"],
    patch: mirror("580.65.05.patch"),
    caveats: [
      C.voltaTuring19,
      "vgpu_unlock-rs understands 19.0's struct size (5424) only from its 2025-11 R580 update: older builds ignore overrides",
    ],
    sources: ["inst§2.1", "inst§3.1", "inst§4", "unlock§4"],
  },
  ...(
    [
      ["18.4", "570.172.07", "570.172.08", "573.48", mirror("570.172.07.patch")],
      ["18.3", "570.158.02", "570.158.01", "573.39", mirror("570.158.02.patch")],
      ["18.2", "570.148.06", "570.148.08", "573.07", polloloco("570.148.06.patch")],
      ["18.1", "570.133.10", "570.133.20", "572.83", polloloco("570.133.10.patch")],
      ["18.0", "570.124.03", "570.124.06", "572.60", mirror("570.124.03.patch")],
    ] as const
  ).map(
    ([vgpuRelease, driverVersion, guestLinux, guestWindows, patch]): Row => ({
      vgpuRelease,
      branch: "R570",
      driverVersion,
      guestLinux,
      guestWindows,
      kernel: { min: "6.1", max: "6.14" },
      pve: ["8", "9"],
      patch,
      caveats: [C.official18, ...(vgpuRelease === "18.0" ? [C.overrides18] : []), C.openModules],
      sources: ["inst§2.1", "inst§3.1", "inst§4", "unlock§4"],
    }),
  ),
  ...(
    [
      ["17.6", "550.163.02", "550.163.01", "553.74", "6.14", ["8", "9"]],
      ["17.5", "550.144.02", "550.144.03", "553.62", "6.14", ["8", "9"]],
      ["17.4", "550.127.06", "550.127.05", "553.24", "6.11", ["8"]],
      ["17.3", "550.90.05", "550.90.07", "552.74", "6.8", ["8"]],
      ["17.1", "550.54.16", "550.54.15", "551.78", "6.8", ["8"]],
      ["17.0", "550.54.10", "550.54.14", "551.61", "6.5", ["8"]],
    ] as const
  ).map(
    ([vgpuRelease, driverVersion, guestLinux, guestWindows, max, pve]): Row => ({
      vgpuRelease,
      branch: "R550",
      driverVersion,
      guestLinux,
      guestWindows,
      kernel: { min: "6.2", max },
      pve: [...pve],
      patch: polloloco(`${driverVersion}.patch`),
      caveats: [C.pascalGone, C.openModules],
      sources: ["inst§2.1", "inst§3.1", "inst§4"],
    }),
  ),
  ...(
    [
      ["16.14", "535.309.01", "535.309.01", "539.72"],
      ["16.13", "535.288.01", "535.288.01", "539.64"],
      ["16.12", "535.274.03", "535.274.03", "539.56"],
      ["16.11", "535.261.03", "535.261.03", "539.41"],
      ["16.10", "535.247.01", "535.247.01", "539.28"],
    ] as const
  ).map(
    ([vgpuRelease, driverVersion, guestLinux, guestWindows]): Row => ({
      vgpuRelease,
      branch: "R535",
      driverVersion,
      guestLinux,
      guestWindows,
      kernel: { min: "5.15", max: null },
      pve: ["7", "8", "9"],
      patch: null,
      caveats: [C.noPatch16, C.lts16],
      sources: ["inst§2.1", "inst§4"],
    }),
  ),
  ...(
    [
      ["16.9", "535.230.02", "535.230.02", "539.19", "6.14", true],
      ["16.8", "535.216.01", "535.216.01", "538.95", "6.8", true],
      ["16.7", "535.183.04", "535.183.06", "538.78", "6.8", true],
      ["16.5", "535.161.05", "535.161.08", "538.46", "6.8", true],
      ["16.4", "535.161.05", null, null, "6.8", true],
      ["16.3", "535.154.02", null, null, "6.5", false],
      ["16.2", "535.129.03", "535.129.03", "537.70", "6.5", true],
      ["16.1", "535.104.06", null, null, "6.5", true],
      ["16.0", "535.54.06", null, null, "6.5", true],
    ] as const
  ).map(
    ([vgpuRelease, driverVersion, guestLinux, guestWindows, max, hasPatch]): Row => ({
      vgpuRelease,
      branch: "R535",
      driverVersion,
      guestLinux,
      guestWindows,
      kernel: { min: "5.15", max },
      pve: ["7", "8"],
      patch: hasPatch ? polloloco(`${driverVersion}.patch`) : null,
      caveats: [
        C.lts16,
        ...(vgpuRelease === "16.3"
          ? ["no unlock patch for 16.3 (535.154.02) exists in the polloloco repository"]
          : []),
        ...(vgpuRelease === "16.4" || vgpuRelease === "16.5"
          ? [
              "16.4 and 16.5 share host driver 535.161.05; its patch was revised for kernel 6.8 (2024-05/06): use the latest revision",
            ]
          : []),
        ...(max === "6.5"
          ? ["the Proxmox 6.8 kernel (PVE 8.2+) breaks the build: pin kernel 6.5 or use 16.5+"]
          : []),
      ],
      sources: ["inst§2.1", "inst§3.1", "inst§3.2", "inst§4"],
    }),
  ),
  ...(
    [
      ["15.1", "525.85.07"],
      ["15.0", "525.60.12"],
      ["14.4", "510.108.03"],
      ["14.3", "510.108.03"],
      ["14.2", "510.85.03"],
    ] as const
  ).map(
    ([vgpuRelease, driverVersion]): Row => ({
      vgpuRelease,
      branch: driverVersion.startsWith("525") ? "R525" : "R510",
      driverVersion,
      guestLinux: null,
      guestWindows: null,
      kernel: { min: "5.14", max: "6.0" },
      pve: ["7"],
      patch: polloloco(`${driverVersion}.patch`),
      caveats: [
        "end of life; only works on Proxmox VE 7 with its 5.15 kernel (kernels 6.1 and 6.2 do not work)",
        ...(vgpuRelease === "15.0"
          ? [
              "some Proxmox users hit problems after restarting VMs several times that only a host reboot cleared; the guide recommends 14.4 if affected",
            ]
          : []),
        ...(vgpuRelease === "14.3" || vgpuRelease === "14.4"
          ? ["14.3 and 14.4 share host driver 510.108.03"]
          : []),
      ],
      sources: ["seed", "inst§3.1"],
    }),
  ),
];

function rangeText(k: { min: string; max: string | null }): string {
  return k.max ? `${k.min} – ${k.max}` : `${k.min} and newer (upper limit unknown)`;
}

export const DRIVER_RELEASES: readonly DriverRelease[] = ROWS.map((r) => ({
  ...r,
  kernelRange: rangeText(r.kernel),
}));

/** "15.1" → 15 */
export function releaseMajor(release: { vgpuRelease: string } | string): number {
  const v = typeof release === "string" ? release : release.vgpuRelease;
  return Number.parseInt(v, 10);
}

export function findRelease(vgpuRelease: string): DriverRelease | null {
  const v = typeof vgpuRelease === "string" ? vgpuRelease.trim().replace(/^v/i, "") : "";
  return DRIVER_RELEASES.find((r) => r.vgpuRelease === v) ?? null;
}

function versionIn(text: string): string | null {
  if (typeof text !== "string") return null;
  return /(\d{3}\.\d{1,3}(?:\.\d{1,3})?)/.exec(text)?.[1] ?? null;
}

/** Every release shipping this host driver (14.3/14.4 and 16.4/16.5 share one), newest first. */
export function releasesForDriverVersion(version: string): DriverRelease[] {
  const v = versionIn(version);
  return v ? DRIVER_RELEASES.filter((r) => r.driverVersion === v) : [];
}

/**
 * "525.85.07" (or text containing it, e.g. "NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run") → its vGPU release.
 * Where two releases share a host driver the newer is returned. null when unknown.
 */
export function releaseForDriverVersion(version: string): DriverRelease | null {
  return releasesForDriverVersion(version)[0] ?? null;
}

/** Numeric parts of a kernel release: "6.8.12-4-pve" → [6, 8, 12, 4]; null when it does not start with a number. */
export function kernelParts(kernel: string): number[] | null {
  if (typeof kernel !== "string") return null;
  const m = /^\s*(\d+(?:[.-]\d+)*)/.exec(kernel);
  if (!m) return null;
  return m[1]!.split(/[.-]/).map(Number);
}

/** Compare kernel releases numerically ("6.8.12-4-pve" < "6.8.12-10-pve" < "6.11.0-1-pve"): -1, 0, 1. Unparsable sorts first. */
export function compareKernel(a: string, b: string): -1 | 0 | 1 {
  const pa = kernelParts(a);
  const pb = kernelParts(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : 0;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Is the kernel release ("6.8.12-4-pve") at least major.minor? null when it does not start with a version. */
export function kernelAtLeast(kernel: string | null, major: number, minor = 0): boolean | null {
  const p = kernel === null ? null : kernelParts(kernel);
  if (!p) return null;
  const [a = 0, b = 0] = p;
  return a > major || (a === major && b >= minor);
}

const PVE_KERNEL = /^\d+\.\d+\.\d+-\d+-pve$/;

/**
 * Kernel releases installed on a Proxmox VE host ("6.5.13-5-pve"), oldest first: the
 * pve-kernel-X / proxmox-kernel-X[-signed] packages (pveversion -v, dpkg-query) and the kernels
 * proxmox-boot-tool keeps on the ESPs. [] when none of that was captured.
 */
export function installedKernels(f: Pick<Facts, "pve" | "packages" | "bootTool">): string[] {
  const out = new Set<string>();
  for (const n of [...Object.keys(f.pve?.packages ?? {}), ...Object.keys(f.packages ?? {})]) {
    const m = /^(?:pve|proxmox)-kernel-(\d+\.\d+\.\d+-\d+-pve)(?:-signed)?$/.exec(n);
    if (m) out.add(m[1]!);
  }
  for (const e of f.bootTool?.esps ?? []) for (const k of e.kernels) if (PVE_KERNEL.test(k)) out.add(k);
  return [...out].sort(compareKernel);
}

function seriesCompare(kernel: number[], series: string): number {
  const s = series.split(".").map(Number);
  for (let i = 0; i < 2; i++) {
    const x = kernel[i] ?? 0;
    const y = s[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function resolve(release: { vgpuRelease: string } | string): DriverRelease | null {
  return findRelease(typeof release === "string" ? release : release?.vgpuRelease);
}

/**
 * Is `kernel` ("6.8.12-4-pve") within the release's known kernel range (major.minor, inclusive)?
 * true / false when known; null when the release is unknown, the kernel unparsable, or the kernel is above
 * the minimum and the release has no known upper limit.
 */
export function kernelInRange(release: { vgpuRelease: string } | string, kernel: string): boolean | null {
  const r = resolve(release);
  const k = kernelParts(kernel);
  if (!r || !k || k.length < 2) return null;
  if (seriesCompare(k, r.kernel.min) < 0) return false;
  if (r.kernel.max === null) return null;
  return seriesCompare(k, r.kernel.max) <= 0;
}

/**
 * Releases known to work on this kernel, newest first. `unlock: true` keeps only releases with an unlock patch;
 * `generation` (+ `deviceId` of the board whose profiles are used) drops releases that no longer support it.
 */
export function compatibleReleases(
  kernelRelease: string,
  opts: { unlock?: boolean; generation?: Generation | string; deviceId?: string } = {},
): DriverRelease[] {
  return DRIVER_RELEASES.filter(
    (r) =>
      kernelInRange(r, kernelRelease) === true &&
      (!opts.unlock || r.patch !== null) &&
      (!opts.generation || !releaseDropsGeneration(r, opts.generation, opts.deviceId)),
  );
}

/** Boards whose support outlived the rest of their generation (unlock§7, PR #50 message). */
const LAST_MAJOR_BY_DEVICE: Record<string, number> = {
  "13bd": 19, // Tesla M10 (Maxwell 1.0)
  "1e30": 19, // Quadro RTX 6000/8000 — also the spoof target of unlocked Turing cards
  "1e78": 19,
};

/** Last vGPU major that still supports a generation; null = still supported by the newest release we know. */
const LAST_MAJOR_BY_GENERATION: Record<string, number | null> = {
  kepler: 13, // long gone: no release in this table supports Kepler
  maxwell: 16, // Maxwell 2.0 (M60/M6); unlock.md §7 / PR #50
  pascal: 16, // installers.md §5 #11: "NVIDIA removed Pascal in 17.0"
  volta: 19, // PR #50; anomixer #29 "V100 … last branch = 19"
  turing: null, // T4 continues (20.x "Turing → Blackwell"); RTX 6000/8000 end at 19 (see by-device)
  ampere: null,
  ada: null,
  hopper: null,
  blackwell: null,
};

/**
 * Does this release no longer support the generation (it did in an earlier release)? Pass `deviceId` — for an
 * unlocked card its spoof target — to apply board exceptions (Tesla M10 and Quadro RTX 6000/8000 end at 19.x).
 * Unknown release or generation → false.
 */
export function releaseDropsGeneration(
  release: { vgpuRelease: string } | string,
  generation: Generation | string,
  deviceId?: string | null,
): boolean {
  const r = resolve(release);
  if (!r) return false;
  const major = releaseMajor(r);
  const byDevice = deviceId ? LAST_MAJOR_BY_DEVICE[deviceId.toLowerCase()] : undefined;
  const last = byDevice ?? LAST_MAJOR_BY_GENERATION[generation];
  return last !== undefined && last !== null && major > last;
}

/**
 * First vGPU major known to support a generation (research/installers.md §4: 16.x "Maxwell → Ada",
 * 18.x "Turing → Blackwell"). Generations not listed were supported before the oldest release in this table.
 */
const FIRST_MAJOR_BY_GENERATION: Record<string, number> = {
  ada: 16,
  blackwell: 18,
};

/** Does this release support the generation (not dropped, not too early)? Unknown release → false. */
export function releaseSupportsGeneration(
  release: { vgpuRelease: string } | string,
  generation: Generation | string,
  deviceId?: string | null,
): boolean {
  const r = resolve(release);
  if (!r) return false;
  if (generation === "kepler") return false;
  const first = FIRST_MAJOR_BY_GENERATION[generation];
  if (first !== undefined && releaseMajor(r) < first) return false;
  return !releaseDropsGeneration(r, generation, deviceId);
}
