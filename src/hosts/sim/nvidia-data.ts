/**
 * The simulated NVIDIA driver's own data: which host driver releases it knows (version, kernels they
 * build on), which boards each registers vGPU types for (native or through the vgpu_unlock-rs spoof),
 * SR-IOV virtual function counts, and the vGPU types (rows copied from vgpuConfig.xml, data/vgpu-types-csv.ts).
 * Copied and cited here — never imported from src/knowledge — so a wrong knowledge row cannot make the
 * simulator agree with it.
 *
 * Sources:
 * - [seed] the seed guide (research/unlock.md §0): 15.1 (525.85.07) on Proxmox VE 7.4 / kernel 5.15; "Newer
 *   kernels like 6.1 or 6.2 do NOT work".
 * - [poll] polloloco/vgpu-proxmox patches and merge requests (research/installers.md §3.1): 16.5+/17.1+ patched
 *   for kernel 6.8 (MR !9 "add support for Proxmox 8.2.2 (Linux 6.8)"); 17.5 for 6.12/6.14; 18.4 "work in
 *   Proxmox8.4.1 (kernel 6.8.11-pve)" (MR !17).
 * - [kars85] kars85 fork catalog (research/installers.md §4): 17.4 max kernel 6.11, 18.x 6.1–6.14.
 * - [anomixer2] anomixer/proxmox-vgpu-installer#2: "driver version 18.3 (570.158.02)".
 * - [wiki] Proxmox wiki "NVIDIA vGPU on Proxmox VE", software versions (research/proxmox.md §2): vGPU 18.0 =
 *   570.124.03 first officially supported; PVE 9.1 / kernel 6.17 with vGPU 19.4; PVE 9.2.2 / kernel
 *   7.0.2-6-pve tested with vGPU 19.5 and 20.1.
 * - [geforce-sriov] noon-at-cgn/geforce-sriov 0.2.2 release notes: "NVIDIA vGPU software 19.5 … Host driver
 *   580.159.01".
 * - [unlock] research/unlock.md §1.8: vgpu_unlock-rs spoof ranges (Turing 0x1e02..=0x1ff9, 0x2182..=0x21d1 →
 *   0x1e30/0x12ba forced; Pascal 0x15f0, 0x15f1, 0x1b00..=0x1d56, 0x1725..=0x172f → 0x1b38, subsystem kept).
 * - [vgpu17] NVIDIA vGPU 17.0 release notes (research/proxmox.md §3): Pascal (P4/P40/P100) dropped in 17.0.
 * - [a40-vfs] real `lspci -vv` of an A40 ("Initial VFs: 32, Total VFs: 32, Number of VFs: 32") with 32 VFs
 *   0000:e8:00.4 … 0000:e8:04.3 listed under /sys/class/mdev_bus (public write-up found by search, id 46427504350).
 * - [mixed] NVIDIA vGPU 17+ user guide (research/proxmox.md §3): equal-size mode by default, mixed-size mode
 *   (`nvidia-smi vgpu -i <id> -shm 1`) on GPUs whose `nvidia-smi -q` shows "Heterogeneous Time-Slice Sizes :
 *   Supported"; NVAIE tables list lower mixed-size maxima only for C-series types of L40/L40S/A40/RTX A6000
 *   (not in vgpuConfig.xml's Q/B/A data), so Q/B/A types keep their equal-size maximum in mixed mode here.
 */
import { SIM_VGPU_TYPES_CSV } from "./data/vgpu-types-csv.ts";

// ── vGPU types ────────────────────────────────────────────────────────────────

export interface SimVgpuType {
  /** 1155 */
  id: number;
  /** "nvidia-1155" */
  type: string;
  /** "NVIDIA L40S-24Q" */
  name: string;
  /** "Quadro" | "NVS" */
  vgpuClass: string;
  /** virtual device the guest sees, 4 lowercase hex digits */
  vdevId: string;
  vdevSubsystemId: string;
  /** framebuffer + reservation (+ GSP heap): what the type takes from the GPU, in MiB */
  profileMiB: number;
  framebufferBytes: number;
  reservationBytes: number;
  numHeads: number;
  /** "7680x4320" */
  maxResolution: string;
  maxPixels: number;
  frlFps: number;
  licenses: string[];
  /** board offering the type; subsystem "0000" = any */
  pgpu: { deviceId: string; subsystemId: string };
  /** instances per physical GPU in equal-size mode (vgpuConfig.xml maxVgpus) */
  maxInstances: number;
  /** instances per physical GPU in mixed-size mode ([mixed]) */
  mixedMaxInstances: number;
}

const hex4 = (v: string) => Number.parseInt(v, 16).toString(16).padStart(4, "0");
// Number, not Number(BigInt(v)): the same value for the CSV's hex and decimal texts (all below 2^53)
const num = (v: string) => (v === "" ? 0 : Number(v));

function parseTypeRow(line: string): SimVgpuType {
  const c = line.split(",");
  const [pgpu, max] = c[23]!.split(":") as [string, string];
  const [dev, sub] = pgpu.split("/") as [string, string];
  const profileBytes = num(c[6]!);
  return {
    id: Number(c[0]),
    type: c[1]!,
    name: c[2]!,
    vgpuClass: c[3]!,
    vdevId: hex4(c[4]!),
    vdevSubsystemId: hex4(c[5]!),
    profileMiB: profileBytes / 1048576,
    framebufferBytes: num(c[7]!),
    reservationBytes: num(c[8]!),
    numHeads: Number(c[10]),
    maxResolution: `${c[11]}x${c[12]}`,
    maxPixels: Number(c[13]),
    frlFps: num(c[14]!),
    licenses: c[22]!.split(";"),
    pgpu: { deviceId: hex4(dev), subsystemId: hex4(sub) },
    maxInstances: Number(max),
    mixedMaxInstances: Number(max),
  };
}

/**
 * The CSV's rows, each parsed when first asked for: an inspection renders the types of one or two
 * boards, and parsing all 120 rows at every start (the module loads for any simulated host) cost more
 * than that (issue 16).
 */
let csvLines: readonly string[] | undefined;
const PARSED = new Map<string, SimVgpuType>();

function typeRows(): readonly string[] {
  csvLines ??= SIM_VGPU_TYPES_CSV.trim().split("\n").slice(1);
  return csvLines;
}

function parsedRow(line: string): SimVgpuType {
  let t = PARSED.get(line);
  if (!t) {
    t = parseTypeRow(line);
    PARSED.set(line, t);
  }
  return t;
}

const byId = (a: SimVgpuType, b: SimVgpuType) => a.id - b.id;

/** Every type the simulated driver knows, by id. */
export function simVgpuTypes(): readonly SimVgpuType[] {
  return typeRows().map(parsedRow).sort(byId);
}

/** A type by mdev name ("nvidia-259") or decimal id ("259"). */
export function simType(idOrType: string | number): SimVgpuType | undefined {
  const id = typeof idOrType === "number" ? idOrType : Number(String(idOrType).replace(/^nvidia-/, ""));
  const line = typeRows().find((l) => Number(l.slice(0, l.indexOf(","))) === id);
  return line === undefined ? undefined : parsedRow(line);
}

/** The rows of one board ("1eb8"): its device id is column 24's "0x1EB8/0x12A2:16" before the "/". */
function boardRows(deviceId: string): SimVgpuType[] {
  return typeRows()
    .filter((l) => hex4(l.slice(l.lastIndexOf(",") + 1).split("/")[0]!) === deviceId)
    .map(parsedRow)
    .sort(byId);
}

/**
 * What the host driver writes to sysfs `mdev_supported_types/nvidia-N/description` ("num_heads=4,
 * frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24"; seed guide lines 308–319,
 * openstack/charm-guide vgpu.rst V100 listing).
 */
export function simSysfsDescription(t: SimVgpuType): string {
  return `num_heads=${t.numHeads}, frl_config=${t.frlFps}, framebuffer=${t.profileMiB}M, max_resolution=${t.maxResolution}, max_instance=${t.maxInstances}`;
}

// ── boards ─────────────────────────────────────────────────────────────────────

interface NativeBoard {
  deviceId: string;
  /** null = any subsystem */
  subsystemId: string | null;
  /** Newest driver branch (R number) that still supports it ([vgpu17]: Pascal ends with R535). */
  lastBranch?: number;
  /** SR-IOV: vGPUs on virtual functions; sriov_totalvfs of the physical function. */
  sriovTotalVfs?: number;
  /** Mixed-size (heterogeneous) mode available from vGPU 17 (R550) on ([mixed]). */
  mixedSize?: boolean;
}

const NATIVE_BOARDS: NativeBoard[] = [
  { deviceId: "1bb3", subsystemId: null, lastBranch: 535 }, // Tesla P4
  { deviceId: "1b38", subsystemId: null, lastBranch: 535 }, // Tesla P40
  { deviceId: "1eb8", subsystemId: null }, // Tesla T4
  { deviceId: "1e30", subsystemId: "12ba" }, // Quadro RTX 6000
  // A40: 32 VFs ([a40-vfs]); L40S / A16: one VF per instance of the smallest type (L40S-1Q ×32, A16-1B ×16).
  { deviceId: "2235", subsystemId: null, sriovTotalVfs: 32, mixedSize: true },
  { deviceId: "26b9", subsystemId: null, sriovTotalVfs: 32, mixedSize: true },
  { deviceId: "25b6", subsystemId: "14a9", sriovTotalVfs: 16, mixedSize: false },
];

/** vgpu_unlock-rs built-in spoof ranges ([unlock]); only the targets whose types the sim carries. */
const SPOOF_RANGES: Array<{ ranges: Array<[number, number]>; deviceId: string; subsystemId: string | null }> =
  [
    {
      ranges: [
        [0x15f0, 0x15f1],
        [0x1b00, 0x1d56],
        [0x1725, 0x172f],
      ],
      deviceId: "1b38",
      subsystemId: null,
    },
    {
      ranges: [
        [0x1e02, 0x1ff9],
        [0x2182, 0x21d1],
      ],
      deviceId: "1e30",
      subsystemId: "12ba",
    },
  ];

export interface SimBoard {
  via: "native" | "unlock";
  /** board whose type table the driver uses */
  deviceId: string;
  /** subsystem the driver sees (forced by the unlock for Turing), else the GPU's own */
  subsystemId: string;
  lastBranch: number | null;
  sriovTotalVfs: number | null;
  mixedSize: boolean;
  types: SimVgpuType[];
}

/** typesOf's answers: the simulator asks for every sysfs file it renders (~200 in one inspection). */
const TYPES_OF = new Map<string, readonly SimVgpuType[]>();

function typesOf(deviceId: string, subsystemId: string): SimVgpuType[] {
  const key = `${deviceId}/${subsystemId}`;
  let types = TYPES_OF.get(key);
  if (!types) {
    types = boardRows(deviceId).filter(
      (t) =>
        t.pgpu.deviceId === deviceId && (t.pgpu.subsystemId === "0000" || t.pgpu.subsystemId === subsystemId),
    );
    TYPES_OF.set(key, types);
  }
  return [...types];
}

/** The board table the simulated host driver uses for a GPU, or null when it registers no types for it. */
export function simBoardFor(deviceId: string, subsystemDeviceId: string): SimBoard | null {
  const dev = deviceId.toLowerCase();
  const sub = subsystemDeviceId.toLowerCase();
  const native = NATIVE_BOARDS.find(
    (b) => b.deviceId === dev && (b.subsystemId === null || b.subsystemId === sub),
  );
  if (native)
    return {
      via: "native",
      deviceId: dev,
      subsystemId: sub,
      lastBranch: native.lastBranch ?? null,
      sriovTotalVfs: native.sriovTotalVfs ?? null,
      mixedSize: native.mixedSize ?? false,
      types: typesOf(dev, sub),
    };
  const n = Number.parseInt(dev, 16);
  const spoof = SPOOF_RANGES.find((r) => r.ranges.some(([lo, hi]) => n >= lo && n <= hi));
  if (!spoof) return null;
  const forced = spoof.subsystemId ?? sub;
  const target = NATIVE_BOARDS.find((b) => b.deviceId === spoof.deviceId);
  return {
    via: "unlock",
    deviceId: spoof.deviceId,
    subsystemId: forced,
    lastBranch: target?.lastBranch ?? null,
    sriovTotalVfs: null,
    mixedSize: false,
    types: typesOf(spoof.deviceId, forced),
  };
}

// ── host driver releases ─────────────────────────────────────────────────────────

export interface SimDriverRelease {
  vgpuRelease: string;
  version: string;
  /** kernels (major.minor series, inclusive) the release is reported to build on; max null = no known limit */
  kernel: { min: string; max: string | null };
  source: string;
}

export const SIM_DRIVER_RELEASES: readonly SimDriverRelease[] = [
  { vgpuRelease: "15.1", version: "525.85.07", kernel: { min: "5.14", max: "6.0" }, source: "seed" },
  { vgpuRelease: "16.8", version: "535.216.01", kernel: { min: "5.15", max: "6.8" }, source: "poll" },
  { vgpuRelease: "17.4", version: "550.127.06", kernel: { min: "6.2", max: "6.11" }, source: "kars85" },
  { vgpuRelease: "17.5", version: "550.144.02", kernel: { min: "6.2", max: "6.14" }, source: "poll" },
  { vgpuRelease: "18.0", version: "570.124.03", kernel: { min: "6.1", max: "6.14" }, source: "wiki, kars85" },
  {
    vgpuRelease: "18.3",
    version: "570.158.02",
    kernel: { min: "6.1", max: "6.14" },
    source: "anomixer2, kars85",
  },
  {
    vgpuRelease: "19.5",
    version: "580.159.01",
    kernel: { min: "6.8", max: "7.0" },
    source: "wiki, geforce-sriov",
  },
];

export function simDriverRelease(version: string): SimDriverRelease | undefined {
  return SIM_DRIVER_RELEASES.find((r) => r.version === version);
}

function kernelParts(kernel: string): number[] | null {
  const m = /^\s*(\d+(?:[.-]\d+)*)/.exec(kernel);
  return m ? m[1]!.split(/[.-]/).map(Number) : null;
}

function seriesCompare(k: number[], series: string): number {
  const s = series.split(".").map(Number);
  for (let i = 0; i < 2; i++) if ((k[i] ?? 0) !== (s[i] ?? 0)) return (k[i] ?? 0) < (s[i] ?? 0) ? -1 : 1;
  return 0;
}

/** The kernel release ("6.8.12-4-pve") is at least major.minor (an unreadable release is not). */
export function simKernelAtLeast(kernel: string, major: number, minor: number): boolean {
  const k = kernelParts(kernel);
  return k !== null && seriesCompare(k, `${major}.${minor}`) >= 0;
}

/** Whether the release's DKMS module builds on `kernel`: false below min / above max, else true. */
export function simDriverBuildsOn(release: SimDriverRelease, kernel: string): boolean {
  const k = kernelParts(kernel);
  if (!k || k.length < 2) return true;
  if (seriesCompare(k, release.kernel.min) < 0) return false;
  return release.kernel.max === null || seriesCompare(k, release.kernel.max) <= 0;
}
