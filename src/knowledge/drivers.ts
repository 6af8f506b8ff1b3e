/**
 * The NVIDIA vGPU driver matrix: vGPU release ↔ host driver ↔ guest drivers ↔ kernels ↔ Proxmox VE ↔ unlock
 * patch, caveats and the generations each branch dropped. Pure data + functions.
 *
 * Every row cites URLs (driver-sources.ts): NVIDIA's release table and product-security bulletins for versions
 * and dates (driver-releases.ts NVIDIA_ROWS), the patch repository's commits / merge requests for patches and the
 * kernels a patch was made for, Proxmox's wiki / release notes and — marked "user report" — community installers
 * and issues where nothing primary exists.
 *
 * Kernel support is a range (major.minor series, inclusive) with a confidence, plus reports for kernels beyond it
 * (kernelVerdict). `kernelInRange` answers the range question alone: null when no upper limit is known — never a
 * guess.
 */
import type { Facts } from "../facts/types.ts";
import {
  type KernelConfidence,
  type KernelRangeFact,
  type KernelReport,
  type KernelSetup,
  kernelFacts,
  NVIDIA_DISCREPANCIES,
  NVIDIA_ROWS,
  type NvidiaRow,
  PATCHES,
  type PatchAvailability,
  UNLOCK_RS,
} from "./driver-releases.ts";
import { bulletin, inNvidiaIndex, NVIDIA_INDEX, README, UNLOCK_PR_50 } from "./driver-sources.ts";
import type { Generation } from "./gpus.ts";

export type { KernelConfidence, KernelReport, KernelSetup };

export interface UnlockPatch {
  /** polloloco-style file name, e.g. "525.85.07.patch" */
  file: string;
  /** "polloloco": merged in polloloco/vgpu-proxmox; "community-mirror": only on GreenDam's branches / open MRs */
  availability: PatchAvailability;
}

export interface DriverRelease {
  /** "15.1" */
  vgpuRelease: string;
  /** "R525" */
  branch: string;
  /** host (vGPU Manager, vgpu-kvm) driver version, "525.85.07" */
  driverVersion: string;
  guestLinux: string | null;
  guestWindows: string | null;
  /** release month "2023-01" (NVIDIA's table, or the bulletin that first names it); null when unknown */
  released: string | null;
  /** other releases shipping this very host driver (16.6/16.7, 17.2/17.3, …) */
  sharesHostDriverWith: string[];
  kernel: {
    min: string | null;
    max: string | null;
    confidence: Exclude<KernelConfidence, "reported failing">;
    /** the source says kernels above `max` do not work */
    failsAbove: boolean;
    evidence: string[];
  };
  /** Human text of `kernel`, e.g. "5.14 – 6.0" */
  kernelRange: string | null;
  /** claims about kernels outside (or narrower than) the range: failures for unlock setups, native reports … */
  kernelReports: KernelReport[];
  /** Proxmox VE major versions it is used on */
  pve: string[];
  /** The binary patch that makes it work with vgpu_unlock (consumer cards); null = native boards only */
  patch: UnlockPatch | null;
  /** generations / boards this release no longer supports while the previous branch did */
  drops: string[];
  caveats: string[];
  /** http(s) URLs: NVIDIA first, then patch and kernel evidence */
  sources: string[];
}

const BRANCH: Record<number, string> = {
  13: "R470",
  14: "R510",
  15: "R525",
  16: "R535",
  17: "R550",
  18: "R570",
  19: "R580",
  20: "R595",
};

const PVE_BY_MAJOR: Record<number, string[]> = {
  13: [],
  14: ["7"],
  15: ["7"],
  16: ["7", "8"],
  17: ["8"],
  18: ["8", "9"],
  19: ["8", "9"],
  20: ["9"],
};

function pveFor(release: string): string[] {
  const [major, minor] = release.split(".").map(Number) as [number, number];
  if (major === 14 && minor < 2) return [];
  if (major === 15 && minor > 1) return [];
  if (major === 16 && minor >= 10) return ["8", "9"];
  if (major === 17 && minor >= 5) return ["8", "9"];
  return PVE_BY_MAJOR[major] ?? [];
}

const C = {
  pascalGone:
    "NVIDIA dropped Pascal and Maxwell 2.0 profiles from 17.0: Tesla P4/P40/P100 and M60 need 16.x; a patched 17.x only works on Pascal with the 16.x vgpuConfig.xml copied to /usr/share/nvidia/vgpu/vgpuConfig.xml",
  openModules:
    "550+ installers may build the open kernel modules, which cannot do vGPU (HOST_VGPU_DEVICE construct failure): install with -m=kernel (--kernel-module-type=proprietary)",
  noPatch16: "no unlock patch exists for 16.10 and later: native vGPU boards only",
  lts16: "16.x is the long-term branch (support until July 2026) and the last one for Maxwell 2.0 and Pascal",
  official18: "Proxmox VE supports NVIDIA vGPU officially from 18.x (pve-nvidia-vgpu-helper)",
  voltaTuring19:
    "last branch for Volta (V100) and Quadro RTX 6000/8000 boards (and so for Turing cards unlocked as RTX 6000)",
  kernel7:
    'the community installer pairs kernel 7.x with 20.x; refuses Pascal boards ("supported through the NVIDIA 580.xx Legacy drivers")',
  eol: "end of life; the patch repository lists it as EOL and for Proxmox VE 7 only",
  noKernelData: "vgpuctl has no kernel evidence for this release: doctor cannot check the kernel",
};

function caveatsFor(release: string, hasPatch: boolean): string[] {
  const [major, minor] = release.split(".").map(Number) as [number, number];
  const out: string[] = [];
  if (major === 14 || major === 15) {
    if (hasPatch) out.push(C.eol);
    if (release === "15.0")
      out.push(
        "some Proxmox users hit problems after restarting VMs several times that only a host reboot cleared; the guide recommends 14.4 if affected",
      );
  }
  if (major === 16) {
    out.push(C.lts16);
    if (release === "16.3")
      out.push("no unlock patch for 16.3 (535.154.02) exists in the polloloco repository");
    if (minor <= 3)
      out.push("the Proxmox 6.8 kernel (PVE 8.2+) breaks the build: pin kernel 6.5 or use 16.5+");
    if (minor >= 10) out.push(C.noPatch16);
  }
  if (major === 17) out.push(C.pascalGone, C.openModules);
  if (major === 18) {
    out.push(C.official18);
    if (release === "18.0") out.push(UNLOCK_RS.overrides18.text);
    out.push(C.openModules);
  }
  if (major === 19) {
    out.push(C.voltaTuring19);
    if (minor === 0)
      out.push(
        "vgpu_unlock-rs understands 19.0's struct size (5424) only from its 2025-11 R580 update: older builds ignore overrides",
      );
    else out.push(UNLOCK_RS.overrides19plus.text);
  }
  if (major === 20) {
    out.push(C.kernel7);
    out.push(hasPatch ? UNLOCK_RS.overrides19plus.text : "no unlock patch: native vGPU boards only");
  }
  if (NVIDIA_DISCREPANCIES[release])
    out.push(`NVIDIA's documents disagree: ${NVIDIA_DISCREPANCIES[release]}`);
  return out;
}

/** Boards whose support outlived the rest of their generation (vgpu_unlock-rs PR #50 message, UNLOCK_PR_50). */
const LAST_MAJOR_BY_DEVICE: Record<string, number> = {
  "13bd": 19, // Tesla M10 (Maxwell 1.0)
  "1e30": 19, // Quadro RTX 6000/8000 — also the spoof target of unlocked Turing cards
  "1e78": 19,
};

/** Last vGPU major that still supports a generation; null = still supported by the newest release we know. */
const LAST_MAJOR_BY_GENERATION: Record<string, number | null> = {
  kepler: 12, // long gone: no release in this table (13.x+) supports Kepler
  maxwell: 16, // Maxwell 2.0 (M60/M6); PR #50; polloloco README (17.0): "Pascal (and older) … not officially supported"
  pascal: 16, // same sources
  volta: 19, // PR #50
  turing: null, // T4 continues (20.x "Turing → Blackwell"); RTX 6000/8000 end at 19 (see by-device)
  ampere: null,
  ada: null,
  hopper: null,
  blackwell: null,
};

const DROP_LABEL: Record<string, string> = {
  maxwell: "Maxwell 2.0 boards (Tesla M60/M6)",
  pascal: "Pascal boards (Tesla P4/P6/P40/P100)",
  volta: "Volta boards (V100)",
  "13bd": "Tesla M10",
  "1e30": "Quadro RTX 6000/8000 (and Turing cards unlocked as RTX 6000)",
};

/** What the first release of a branch stopped supporting (the previous branch's last-supported entries). */
function dropsOf(release: string): string[] {
  const [major, minor] = release.split(".").map(Number) as [number, number];
  if (minor !== 0) return [];
  const ended = [
    ...Object.entries(LAST_MAJOR_BY_GENERATION).filter(([g, last]) => last === major - 1 && g !== "kepler"),
    ...Object.entries(LAST_MAJOR_BY_DEVICE).filter(([d, last]) => last === major - 1 && d !== "1e78"),
  ].map(([k]) => DROP_LABEL[k] ?? k);
  return ended;
}

function nvidiaSources(row: NvidiaRow): string[] {
  const [release, , , , , bulletins] = row;
  return [...(inNvidiaIndex(release) ? [NVIDIA_INDEX] : []), ...bulletins.map(bulletin)];
}

function rangeText(k: KernelRangeFact): string | null {
  if (k.min === null && k.max === null) return null;
  if (k.max === null) return `${k.min} and newer (upper limit unknown)`;
  return `${k.min ?? "?"} – ${k.max}`;
}

const unique = (xs: string[]) => [...new Set(xs)];

function buildRelease(row: NvidiaRow, all: readonly NvidiaRow[]): DriverRelease {
  const [release, host, guestLinux, guestWindows, released] = row;
  const major = Number.parseInt(release, 10);
  const patchFact = PATCHES[release] ?? null;
  const { range, reports } = kernelFacts(release);
  const shares = all.filter((o) => o[0] !== release && o[1] === host).map((o) => o[0]);
  const caveats = caveatsFor(release, patchFact !== null);
  if (range.min === null && range.max === null && reports.length === 0) caveats.push(C.noKernelData);
  for (const s of shares)
    caveats.push(
      `${release} and ${s} share host driver ${host} (NVIDIA's table): the same .run and patch serve both`,
    );
  const unlockSources =
    major === 18 && release === "18.0"
      ? UNLOCK_RS.overrides18.sources
      : major >= 19 && release !== "19.0"
        ? UNLOCK_RS.overrides19plus.sources
        : [];
  return {
    vgpuRelease: release,
    branch: BRANCH[major] ?? `R${host.split(".")[0]}`,
    driverVersion: host,
    guestLinux,
    guestWindows,
    released,
    sharesHostDriverWith: shares,
    kernel: {
      min: range.min,
      max: range.max,
      confidence: range.confidence,
      failsAbove: range.failsAbove,
      evidence: range.evidence,
    },
    kernelRange: rangeText(range),
    kernelReports: reports,
    pve: pveFor(release),
    patch: patchFact ? { file: patchFact.file, availability: patchFact.availability } : null,
    drops: dropsOf(release),
    caveats,
    sources: unique([
      ...nvidiaSources(row),
      ...(patchFact?.sources ?? []),
      ...range.sources,
      ...reports.map((r) => r.source),
      ...(dropsOf(release).length > 0 ? [UNLOCK_PR_50, ...(major === 17 ? [README.v170] : [])] : []),
      ...unlockSources,
    ]),
  };
}

/**
 * Each release is built when first asked for, then kept (the same object every time): building all of
 * them costs ~5 % of an `inspect --host demo` start (issue 16), which asks for the one release of the
 * host's driver. driverReleases() builds the rest for the callers that go through every release.
 */
const BUILT = new Map<string, DriverRelease>();

function releaseOfRow(row: NvidiaRow): DriverRelease {
  let r = BUILT.get(row[0]);
  if (!r) {
    r = buildRelease(row, NVIDIA_ROWS);
    BUILT.set(row[0], r);
  }
  return r;
}

let allReleases: readonly DriverRelease[] | undefined;

/** The releases with an unlock patch, newest first, each built when a loop over them reaches it. */
export function* patchedReleases(): Generator<DriverRelease> {
  for (const row of NVIDIA_ROWS) if (PATCHES[row[0]]) yield releaseOfRow(row);
}

/** Every release NVIDIA's table lists, newest first. */
export function driverReleases(): readonly DriverRelease[] {
  allReleases ??= NVIDIA_ROWS.map(releaseOfRow);
  return allReleases;
}

/** "15.1" → 15 */
export function releaseMajor(release: { vgpuRelease: string } | string): number {
  const v = typeof release === "string" ? release : release.vgpuRelease;
  return Number.parseInt(v, 10);
}

export function findRelease(vgpuRelease: string): DriverRelease | null {
  const v = typeof vgpuRelease === "string" ? vgpuRelease.trim().replace(/^v/i, "") : "";
  const row = NVIDIA_ROWS.find((r) => r[0] === v);
  return row ? releaseOfRow(row) : null;
}

function versionIn(text: string): string | null {
  if (typeof text !== "string") return null;
  return /(\d{3}\.\d{1,3}(?:\.\d{1,3})?)/.exec(text)?.[1] ?? null;
}

/** Every release shipping this host driver (14.3/14.4 and 16.4/16.5 share one), newest first. */
export function releasesForDriverVersion(version: string): DriverRelease[] {
  const v = versionIn(version);
  return v ? NVIDIA_ROWS.filter((r) => r[1] === v).map(releaseOfRow) : [];
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

/**
 * The kernel the next boot uses: the pinned one (`proxmox-boot-tool kernel pin`, /etc/kernel/proxmox-boot-pin)
 * when it is installed, else the newest installed (as proxmox-boot-tool and update-grub order them); null when
 * no installed kernel is known.
 */
export function nextBootKernel(f: Pick<Facts, "pve" | "packages" | "bootTool" | "kernelPin">): string | null {
  const kernels = installedKernels(f);
  if (f.kernelPin && kernels.includes(f.kernelPin)) return f.kernelPin;
  return kernels.at(-1) ?? null;
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

/** What the knowledge base says about one kernel for one release. */
export interface KernelVerdict {
  /** true: known to work; false: outside what is known to work (see `status` for how sure); null: unknown */
  inRange: boolean | null;
  /** how the answer is known: `documented` (patch repository / vendor), `reported …` (user reports), `unknown` */
  status: KernelConfidence;
  evidence: string[];
  sources: string[];
}

export interface KernelContext {
  /** true: a patched (vgpu_unlock) install; false: a native board; undefined: either */
  unlock?: boolean;
  /** generation of the board whose driver runs (the real card for unlock setups), e.g. "pascal" */
  generation?: Generation | string | null;
}

function reportApplies(r: KernelReport, k: number[], ctx: KernelContext): boolean {
  if (seriesCompare(k, r.from) < 0 || (r.to !== null && seriesCompare(k, r.to) > 0)) return false;
  if (r.setup === "unlock" && ctx.unlock !== true) return false;
  if (r.setup === "native" && ctx.unlock !== false) return false;
  if (r.generations && !(ctx.generation && r.generations.includes(ctx.generation))) return false;
  return true;
}

function fromReport(r: KernelReport): KernelVerdict {
  const status: KernelConfidence =
    r.confidence === "documented" ? "documented" : r.works ? "reported working" : "reported failing";
  return { inRange: r.works, status, evidence: [r.evidence], sources: [r.source] };
}

/** The range's own answer (no reports): below min or above max is `false`, documented only when the source says so. */
function fromRange(r: DriverRelease, k: number[]): KernelVerdict {
  const { min, max, confidence, failsAbove, evidence } = r.kernel;
  const sources = r.sources;
  if (min === null && max === null) return { inRange: null, status: "unknown", evidence, sources: [] };
  if (min !== null && seriesCompare(k, min) < 0)
    return {
      inRange: false,
      status: "unknown",
      evidence: [`older than ${min}, the oldest kernel known to work`, ...evidence],
      sources,
    };
  if (max === null) return { inRange: null, status: "unknown", evidence, sources };
  if (seriesCompare(k, max) <= 0) return { inRange: true, status: confidence, evidence, sources };
  return {
    inRange: false,
    status: failsAbove ? confidence : "unknown",
    evidence: [
      failsAbove
        ? `newer than ${max}: the source says newer kernels do not work`
        : `newer than ${max}, the newest kernel known to work`,
      ...evidence,
    ],
    sources,
  };
}

/**
 * How `kernel` ("6.17.2-1-pve") fares with a release: failure reports that apply to this setup first, then the
 * release's range, then success reports. Unknown release or unparsable kernel → inRange null, status unknown.
 */
export function kernelVerdict(
  release: { vgpuRelease: string } | string,
  kernel: string,
  ctx: KernelContext = {},
): KernelVerdict {
  const r = resolve(release);
  const k = kernelParts(kernel);
  if (!r || !k || k.length < 2) return { inRange: null, status: "unknown", evidence: [], sources: [] };
  const applicable = r.kernelReports.filter((x) => reportApplies(x, k, ctx));
  const failing = applicable.filter((x) => !x.works);
  const documentedFailure = failing.find((x) => x.confidence === "documented");
  if (documentedFailure) return fromReport(documentedFailure);
  if (failing.length > 0) {
    const v = failing.map(fromReport);
    return {
      inRange: false,
      status: "reported failing",
      evidence: v.flatMap((x) => x.evidence),
      sources: unique(v.flatMap((x) => x.sources)),
    };
  }
  const byRange = fromRange(r, k);
  if (byRange.inRange === true) return byRange;
  const working = applicable.find((x) => x.works);
  return working ? fromReport(working) : byRange;
}

/**
 * Is `kernel` ("6.8.12-4-pve") within the release's known kernels (major.minor, inclusive), for any setup?
 * true / false when known; null when the release is unknown, the kernel unparsable, or nothing is known about
 * kernels this new.
 */
export function kernelInRange(release: { vgpuRelease: string } | string, kernel: string): boolean | null {
  return kernelVerdict(release, kernel).inRange;
}

/**
 * Releases known to work on this kernel, newest first. `unlock: true` keeps only releases with an unlock patch
 * (and applies reports about patched installs); `generation` (+ `deviceId` of the board whose profiles are used)
 * drops releases that no longer support it.
 */
export function compatibleReleases(
  kernelRelease: string,
  opts: { unlock?: boolean; generation?: Generation | string; deviceId?: string } = {},
): DriverRelease[] {
  const ctx: KernelContext = { unlock: opts.unlock ? true : undefined, generation: opts.generation };
  return driverReleases().filter(
    (r) =>
      kernelVerdict(r, kernelRelease, ctx).inRange === true &&
      (!opts.unlock || r.patch !== null) &&
      (!opts.generation || !releaseDropsGeneration(r, opts.generation, opts.deviceId)),
  );
}

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
 * First vGPU major known to support a generation: Ada boards are in the 16.x vgpuConfig.xml (data/vgpu-types.csv);
 * Blackwell boards first appear with 18.x host drivers (the RTX PRO 6000 types in data/vgpu-types-blackwell.csv
 * come from a 580.x = 19.x host). Earlier Ada support (15.x) is not claimed: not verified here. Generations not
 * listed were supported before the oldest release in this table.
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
