/**
 * NVIDIA GPUs by PCI device id: name, generation, VRAM and whether (and how) they can do vGPU.
 * Pure data + functions, no I/O.
 *
 * Sources:
 * - research/unlock.md §1.8 + Appendix A: vgpu_unlock-rs built-in spoof table (mbilker/vgpu_unlock-rs
 *   `src/lib.rs` @71ec870, identical to DualCoder/vgpu_unlock @f432ffc) and the ids inside its ranges.
 * - seed guide ("Supported cards"): Maxwell 2.0 except the GTX 970, all Pascal, all Turing can be unlocked;
 *   Ampere / Ada only as vGPU-qualified boards ("YOUR RTX 30XX or 40XX WILL NOT WORK", polloloco README).
 * - research/unlock.md §6: the `pgpu` list of NVIDIA's vgpuConfig.xml (16.x/17.x era) = boards the stock
 *   driver offers vGPU types for ("native").
 * - research/installers.md §3.3, §5 #15: Ampere and newer native boards create vGPUs on SR-IOV VFs.
 * - VRAM sizes: NVIDIA product specifications (nominal memory per GPU, i.e. per PCI function);
 *   `null` where a model shipped in several memory sizes under one device id.
 */
import { type DriverRelease, patchedReleases, releaseDropsGeneration } from "./drivers.ts";
import { EXTRA_IDS, SPOOF_RANGE_IDS } from "./gpu-ids.ts";

export type Generation =
  | "kepler"
  | "maxwell"
  | "pascal"
  | "volta"
  | "turing"
  | "ampere"
  | "ada"
  | "hopper"
  | "blackwell";
export type Support = "native" | "unlock" | "unsupported";

export const GENERATIONS: readonly Generation[] = [
  "kepler",
  "maxwell",
  "pascal",
  "volta",
  "turing",
  "ampere",
  "ada",
  "hopper",
  "blackwell",
];

export const GENERATION_LABEL: Record<Generation, string> = {
  kepler: "Kepler",
  maxwell: "Maxwell",
  pascal: "Pascal",
  volta: "Volta",
  turing: "Turing",
  ampere: "Ampere",
  ada: "Ada Lovelace",
  hopper: "Hopper",
  blackwell: "Blackwell",
};

export interface GpuModel {
  /** 4 lowercase hex digits, e.g. "1e07" */
  deviceId: string;
  /** "TU102" */
  chip: string;
  /** Marketing name from pci.ids ("GeForce RTX 2080 Ti Rev. A"), or the chip when pci.ids has none */
  name: string;
  generation: Generation;
  /** "maxwell" splits into GM107/GM108 (1.0) and GM20x (2.0): vGPU unlock only supports 2.0 */
  maxwellVersion: 1 | 2 | null;
  vramMiB: number | null;
  /** A vGPU-qualified board: the stock NVIDIA vGPU host driver offers types for it */
  native: boolean;
}

export interface SpoofTarget {
  deviceId: string;
  name: string;
  /** vgpu_unlock-rs forces this subsystem id (M10 and Quadro RTX 6000); null = the real one is kept */
  subsystemId: string | null;
}

export interface GpuClassification {
  deviceId: string;
  name: string | null;
  generation: Generation | null;
  vramMiB: number | null;
  support: Support;
  supportReason: string;
  spoofAs: SpoofTarget | null;
  needsSriov: boolean;
  /** extra: the chip code name from pci.ids, e.g. "TU102" */
  chip: string | null;
}

/** vgpu_unlock-rs built-in ranges (inclusive), first match wins — research/unlock.md §1.8. */
export interface SpoofRange {
  label: string;
  ranges: ReadonlyArray<readonly [number, number]>;
  target: SpoofTarget;
}

export const SPOOF_RANGES: readonly SpoofRange[] = [
  {
    label: "Maxwell (GM107/GM108)",
    ranges: [
      [0x1340, 0x13bd],
      [0x174d, 0x179c],
    ],
    target: { deviceId: "13bd", name: "Tesla M10", subsystemId: "1160" },
  },
  {
    label: "Maxwell 2.0 (GM200/GM204/GM206)",
    ranges: [
      [0x13c0, 0x1436],
      [0x1617, 0x1667],
      [0x17c2, 0x17fd],
    ],
    target: { deviceId: "13f2", name: "Tesla M60", subsystemId: null },
  },
  {
    label: "Pascal (GP100/GP102/GP104/GP106/GP107/GP108)",
    ranges: [
      [0x15f0, 0x15f1],
      [0x1b00, 0x1d56],
      [0x1725, 0x172f],
    ],
    target: { deviceId: "1b38", name: "Tesla P40", subsystemId: null },
  },
  {
    label: "Volta GV100",
    ranges: [
      [0x1d81, 0x1d81],
      [0x1dba, 0x1dba],
    ],
    target: { deviceId: "1db6", name: "Tesla V100 32GB PCIe", subsystemId: null },
  },
  {
    label: "Turing (TU102/TU104/TU106/TU116/TU117)",
    ranges: [
      [0x1e02, 0x1ff9],
      [0x2182, 0x21d1],
    ],
    target: { deviceId: "1e30", name: "Quadro RTX 6000", subsystemId: "12ba" },
  },
  {
    label: "Ampere (GA10x)",
    ranges: [[0x2200, 0x2600]],
    target: { deviceId: "2230", name: "RTX A6000", subsystemId: null },
  },
];

/** The vgpu_unlock-rs range a device id falls into (what the library would spoof it as), or null. */
export function spoofRangeFor(deviceId: string): SpoofRange | null {
  const id = Number.parseInt(deviceId, 16);
  if (!Number.isFinite(id)) return null;
  for (const r of SPOOF_RANGES) if (r.ranges.some(([lo, hi]) => id >= lo && id <= hi)) return r;
  return null;
}

/**
 * vGPU-qualified boards: every `pgpu` of vgpuConfig.xml (research/unlock.md §6) plus the compute-only
 * GA100/GH100 boards and the Blackwell RTX PRO 6000 Server Edition (listed "Native 19" in the
 * anomixer v1.84 DB, research/installers.md §1.9). Boards sharing one id are told apart by subsystem.
 */
const NATIVE: Record<string, { bySubsystem?: Record<string, { name: string; vramMiB: number }> }> = {
  "13bd": {}, // Tesla M10 (pgpu 0x13BD/0x1160)
  "13f2": {}, // Tesla M60
  "13f3": {}, // Tesla M6
  "15f7": {}, // Tesla P100 PCIe 12GB
  "15f8": {}, // Tesla P100 PCIe 16GB
  "15f9": {}, // Tesla P100 SXM2
  "1b38": {}, // Tesla P40
  "1bb3": {}, // Tesla P4
  "1bb4": {}, // Tesla P6
  "1db1": {},
  "1db3": {},
  "1db4": {},
  "1db5": {},
  "1db6": {},
  "1df6": {}, // Tesla V100 family
  "1e30": {
    bySubsystem: {
      "12ba": { name: "Quadro RTX 6000", vramMiB: 24576 },
      "129e": { name: "Quadro RTX 8000", vramMiB: 49152 },
    },
  },
  "1e78": {
    bySubsystem: {
      "13d9": { name: "Quadro RTX 6000 (passive)", vramMiB: 24576 },
      "13d8": { name: "Quadro RTX 8000 (passive)", vramMiB: 49152 },
    },
  },
  "1eb8": {}, // Tesla T4
  "2230": {}, // RTX A6000
  "2231": {}, // RTX A5000
  "2233": {}, // RTX A5500
  "2235": {}, // A40
  "2236": {}, // A10
  "2238": {}, // A10M
  "25b6": {
    bySubsystem: {
      "14a9": { name: "A16", vramMiB: 16384 },
      "157e": { name: "A2", vramMiB: 16384 },
    },
  },
  "20b0": {},
  "20b1": {},
  "20b2": {},
  "20b5": {},
  "20f1": {}, // A100
  "20b7": {}, // A30
  "26b1": {}, // RTX 6000 Ada
  "26b2": {}, // RTX 5000 Ada
  "26b5": {}, // L40
  "26b9": {}, // L40S
  "26ba": {}, // L20
  "27b6": {}, // L2
  "27b8": {}, // L4
  "2330": {},
  "2331": {}, // H100 SXM5 / PCIe
  "2bb5": {}, // RTX PRO 6000 Blackwell Server Edition
};

/** Nominal VRAM per GPU (per PCI function: M10 = 4 × 8 GB, M60 = 2 × 8 GB, A16 = 4 × 16 GB). */
const VRAM_MIB: Record<string, number> = {
  // Kepler
  "0ff2": 4096,
  "11bf": 4096,
  "118a": 4096,
  "102d": 12288,
  "1023": 12288,
  "1024": 12288,
  "103a": 12288,
  "1180": 2048,
  "1004": 3072,
  "100a": 3072,
  "1005": 6144,
  "100c": 6144,
  // Maxwell
  "1381": 1024,
  "13bd": 8192,
  "13ba": 4096,
  "13bb": 2048,
  "13bc": 4096,
  "13c0": 4096,
  "13c2": 4096,
  "13f0": 8192,
  "13f1": 8192,
  "13f2": 8192,
  "13f3": 8192,
  "1430": 4096,
  "1431": 4096,
  "17c2": 12288,
  "17c8": 6144,
  "17f0": 12288,
  "17f1": 24576,
  // Pascal
  "15f0": 16384,
  "15f7": 12288,
  "15f8": 16384,
  "15f9": 16384,
  "1b00": 12288,
  "1b02": 12288,
  "1b06": 11264,
  "1b30": 24576,
  "1b38": 24576,
  "1b80": 8192,
  "1b81": 8192,
  "1b82": 8192,
  "1b83": 6144,
  "1b84": 3072,
  "1bb0": 16384,
  "1bb1": 8192,
  "1bb3": 8192,
  "1bb4": 16384,
  "1c02": 3072,
  "1c03": 6144,
  "1c04": 5120,
  "1c06": 6144,
  "1c30": 5120,
  "1c31": 5120,
  "1c81": 2048,
  "1c82": 4096,
  "1c83": 3072,
  "1cb1": 4096,
  "1cb2": 2048,
  "1cb3": 2048,
  "1cb6": 2048,
  "1d01": 2048,
  // Volta
  "1d81": 12288,
  "1dba": 32768,
  "1db1": 16384,
  "1db3": 16384,
  "1db4": 16384,
  "1db5": 32768,
  "1db6": 32768,
  "1df6": 32768,
  // Turing
  "1e02": 24576,
  "1e03": 12288,
  "1e04": 11264,
  "1e07": 11264, // seed guide nvidia-smi: "85MiB / 11264MiB" on the RTX 2080 Ti
  "1e36": 24576,
  "1e37": 16384,
  "1e38": 24576,
  "1e81": 8192,
  "1e82": 8192,
  "1e84": 8192,
  "1e87": 8192,
  "1e89": 6144,
  "1eb0": 16384,
  "1eb1": 8192,
  "1eb8": 16384,
  "1ec2": 8192,
  "1ec7": 8192,
  "1f02": 8192,
  "1f03": 12288,
  "1f06": 8192,
  "1f07": 8192,
  "1f08": 6144,
  "1f09": 6144,
  "1f0a": 4096,
  "1f42": 8192,
  "1f47": 8192,
  "1f82": 4096,
  "1f83": 4096,
  "1fb1": 4096,
  "1ff0": 8192,
  "1ff2": 4096,
  "2182": 6144,
  "2184": 6144,
  "2187": 4096,
  "2188": 4096,
  "21c4": 6144,
  // Ampere
  "2203": 24576,
  "2204": 24576,
  "2206": 10240,
  "2208": 12288,
  "220a": 12288,
  "2216": 10240,
  "2230": 49152,
  "2231": 24576,
  "2232": 20480,
  "2233": 24576,
  "2235": 49152,
  "2236": 24576,
  "2237": 24576,
  "2414": 8192,
  "2482": 8192,
  "2484": 8192,
  "2486": 8192,
  "2488": 8192,
  "2489": 8192,
  "24b0": 16384,
  "2504": 12288,
  "2507": 8192,
  "2531": 6144,
  "2571": 12288,
  "2582": 8192,
  "25b6": 16384, // A2 and A16 (per GPU) both have 16 GB
  "2583": 4096,
  "20b0": 40960,
  "20b1": 40960,
  "20b2": 81920,
  "20b5": 81920,
  "20b7": 24576,
  "20f1": 40960,
  // Ada
  "2684": 24576,
  "2685": 24576,
  "2702": 16384,
  "2704": 16384,
  "2705": 16384,
  "2782": 12288,
  "2783": 12288,
  "2786": 12288,
  "2803": 8192,
  "2805": 16384,
  "2882": 8192,
  "26b1": 49152,
  "26b2": 32768,
  "26b5": 49152,
  "26b9": 49152,
  "26ba": 49152,
  "27b0": 20480,
  "27b6": 24576,
  "27b8": 24576,
  // Hopper
  "2330": 81920,
  "2331": 81920,
  // Blackwell
  "2b85": 32768,
  "2b87": 32768,
  "2c02": 16384,
  "2c05": 16384,
  "2f04": 12288,
  "2d05": 8192,
  "2bb5": 98304,
  "2bb1": 98304,
  "2bb4": 98304,
  // 2bb3 RTX PRO 5000 Blackwell: reported with 48935 MiB and with 73415 MiB (48 GB and 72 GB boards share the id)
};

/** "GM204 [GeForce GTX 970]" → { chip: "GM204", name: "GeForce GTX 970" }; "GM204" → { chip, name: chip }. */
function splitPciText(text: string): { chip: string; name: string } {
  const m = /^(\S+?)\s*\[(.*)\]\s*$/.exec(text);
  if (!m) return { chip: text.trim(), name: text.trim() };
  return { chip: m[1]!, name: m[2]!.trim() };
}

function generationOfChip(chip: string): { generation: Generation; maxwellVersion: 1 | 2 | null } | null {
  const c = chip.toUpperCase();
  if (c.startsWith("GK")) return { generation: "kepler", maxwellVersion: null };
  if (c.startsWith("GM107") || c.startsWith("GM108")) return { generation: "maxwell", maxwellVersion: 1 };
  if (c.startsWith("GM2")) return { generation: "maxwell", maxwellVersion: 2 };
  if (c.startsWith("GP")) return { generation: "pascal", maxwellVersion: null };
  if (c.startsWith("GV")) return { generation: "volta", maxwellVersion: null };
  if (c.startsWith("TU")) return { generation: "turing", maxwellVersion: null };
  // GN20-* are GA107 laptop parts, GN21 Ada, GN22 Blackwell (pci.ids board codes).
  if (c.startsWith("GA") || c.startsWith("GN20")) return { generation: "ampere", maxwellVersion: null };
  if (c.startsWith("AD") || c.startsWith("GN21")) return { generation: "ada", maxwellVersion: null };
  if (c.startsWith("GH")) return { generation: "hopper", maxwellVersion: null };
  if (c.startsWith("GB") || c.startsWith("GN22")) return { generation: "blackwell", maxwellVersion: null };
  return null;
}

/** One row of the id lists as the table's model; bad data (a chip of no known generation) throws. */
function modelOf(deviceId: string, text: string): GpuModel {
  const { chip, name } = splitPciText(text);
  const gen = generationOfChip(chip);
  if (!gen) throw new Error(`knowledge/gpus: no generation for chip ${chip} (${deviceId})`);
  return {
    deviceId,
    chip,
    name,
    generation: gen.generation,
    maxwellVersion: gen.maxwellVersion,
    vramMiB: VRAM_MIB[deviceId] ?? null,
    native: deviceId in NATIVE,
  };
}

/**
 * GPU_TABLE: each model is made when first asked for, then kept (the same object every time). Making all
 * ~480 at load (a regular expression and two objects per row, in V8's interpreter) was part of every
 * start that loads the knowledge base, where `inspect` looks up the host's one or two GPUs (issue 16).
 * Iterating makes the rest, in the order of the id lists, as the eagerly built Map had them.
 */
class GpuTable implements ReadonlyMap<string, GpuModel> {
  #texts: Map<string, string> | undefined;
  #models = new Map<string, GpuModel>();
  #complete = false;

  /** device id → pci.ids text; a later row for an id replaces the earlier one, as Map.set did. */
  #textIndex(): Map<string, string> {
    this.#texts ??= new Map([...SPOOF_RANGE_IDS, ...EXTRA_IDS]);
    return this.#texts;
  }

  /** Every model, in the lists' order. */
  #all(): Map<string, GpuModel> {
    if (!this.#complete) {
      const all = new Map<string, GpuModel>();
      for (const id of this.#textIndex().keys()) all.set(id, this.get(id)!);
      this.#models = all;
      this.#complete = true;
    }
    return this.#models;
  }

  get(deviceId: string): GpuModel | undefined {
    let model = this.#models.get(deviceId);
    if (model === undefined && !this.#complete) {
      const text = this.#textIndex().get(deviceId);
      if (text === undefined) return undefined;
      model = modelOf(deviceId, text);
      this.#models.set(deviceId, model);
    }
    return model;
  }

  has(deviceId: string): boolean {
    return this.#textIndex().has(deviceId);
  }

  get size(): number {
    return this.#textIndex().size;
  }

  keys(): MapIterator<string> {
    return this.#all().keys();
  }

  values(): MapIterator<GpuModel> {
    return this.#all().values();
  }

  entries(): MapIterator<[string, GpuModel]> {
    return this.#all().entries();
  }

  [Symbol.iterator](): MapIterator<[string, GpuModel]> {
    return this.entries();
  }

  forEach(
    fn: (value: GpuModel, key: string, map: ReadonlyMap<string, GpuModel>) => void,
    thisArg?: unknown,
  ): void {
    for (const [id, model] of this.#all()) fn.call(thisArg, model, id, this);
  }
}

/** Every GPU the knowledge base knows, by device id. */
export const GPU_TABLE: ReadonlyMap<string, GpuModel> = new GpuTable();

/** "0x1E07", "10de:1e07", " 1E07 " → "1e07"; anything else → null. */
export function normalizeDeviceId(input: string | null | undefined): string | null {
  if (typeof input !== "string") return null;
  let s = input.trim().toLowerCase();
  if (s.startsWith("10de:")) s = s.slice(5);
  if (s.startsWith("0x")) s = s.slice(2);
  return /^[0-9a-f]{4}$/.test(s) ? s : null;
}

const ADA_PLUS: ReadonlySet<Generation> = new Set(["ampere", "ada", "hopper", "blackwell"]);

/** Ampere and newer vGPU boards put their vGPUs on SR-IOV virtual functions (research/installers.md §3.3). */
export function generationNeedsSriov(generation: Generation | null): boolean {
  return generation !== null && ADA_PLUS.has(generation);
}

const GTX_970 = "13c2";

export function classifyGpu(input: {
  deviceId: string;
  subsystemVendorId?: string | null;
  subsystemDeviceId?: string | null;
}): GpuClassification {
  const deviceId = normalizeDeviceId(input.deviceId);
  const raw = String(input.deviceId ?? "").trim();
  if (!deviceId) {
    return unsupported(
      raw.toLowerCase(),
      null,
      `"${raw}" is not a PCI device id (expected 4 hex digits, e.g. 1e07)`,
    );
  }
  const model = GPU_TABLE.get(deviceId);
  if (!model) {
    const range = spoofRangeFor(deviceId);
    const hint = range
      ? `; it lies in vgpu_unlock-rs's ${range.label} range, but vgpuctl cannot confirm which card it is`
      : "";
    return unsupported(
      deviceId,
      null,
      `unknown device id 10de:${deviceId}: not in vgpuctl's GPU table${hint}`,
    );
  }
  const sub = normalizeDeviceId(input.subsystemDeviceId ?? null);
  const base: Omit<GpuClassification, "support" | "supportReason" | "spoofAs" | "needsSriov"> = {
    deviceId,
    name: model.name,
    generation: model.generation,
    vramMiB: model.vramMiB,
    chip: model.chip,
  };

  if (model.native) {
    const variant = sub ? NATIVE[deviceId]?.bySubsystem?.[sub] : undefined;
    const needsSriov = generationNeedsSriov(model.generation);
    return {
      ...base,
      name: variant?.name ?? model.name,
      vramMiB: variant?.vramMiB ?? model.vramMiB,
      support: "native",
      supportReason: `${variant?.name ?? model.name} is a vGPU-qualified board: the stock NVIDIA vGPU host driver supports it, no unlock needed (set unlock = false)${
        needsSriov ? "; vGPUs live on SR-IOV virtual functions (enable them with pve-nvidia-sriov@ALL)" : ""
      }`,
      spoofAs: null,
      needsSriov,
    };
  }

  switch (model.generation) {
    case "kepler":
      return {
        ...base,
        ...rest(
          "unsupported",
          "Kepler GPUs cannot do vGPU with any current driver: vgpu_unlock has no spoof target for Kepler and NVIDIA's vGPU releases no longer support Kepler boards",
        ),
      };
    case "maxwell":
      if (deviceId === GTX_970) {
        return {
          ...base,
          ...rest(
            "unsupported",
            "the GeForce GTX 970 is the one Maxwell 2.0 card excluded from vgpu_unlock support (polloloco guide); the usual explanation is its split memory (3.5 GB + a slower 0.5 GB segment)",
          ),
        };
      }
      if (model.maxwellVersion === 1) {
        return {
          ...base,
          ...rest(
            "unsupported",
            "Maxwell 1.0 (GM107/GM108) consumer cards are not supported: vgpu_unlock works on Maxwell 2.0 (GM20x) and newer only",
          ),
        };
      }
      return unlockResult(
        base,
        deviceId,
        "Maxwell 2.0; the last vGPU release with Maxwell 2.0 profiles is 16.x",
      );
    case "pascal":
      return unlockResult(base, deviceId, "Pascal; the last vGPU release with Pascal profiles is 16.x");
    case "volta":
      return unlockResult(base, deviceId, "Volta");
    case "turing":
      return unlockResult(base, deviceId, `Turing; ${turingPatchSpan()}`);
    default:
      return { ...base, ...rest("unsupported", notUnlockable(model)) };
  }
}

/**
 * Ampere and newer without vGPU types: a GeForce card is a consumer card; a "…GL" chip (A10G, RTX A4000,
 * RTX PRO Blackwell workstation boards) is a professional / data-center board — just not one vgpuctl's type
 * table (NVIDIA's vgpuConfig.xml) offers vGPU types for.
 */
function notUnlockable(model: GpuModel): string {
  const gen = GENERATION_LABEL[model.generation];
  const what = /GL$/i.test(model.chip)
    ? `${model.name} is a professional/data-center ${gen} board, but not one NVIDIA's vGPU host driver offers types for in vgpuctl's table`
    : `${model.name} is a consumer ${gen} card, not a vGPU board`;
  return `vgpu_unlock cannot unlock Ampere and newer; only vGPU-qualified boards work (${what})`;
}

/**
 * What the driver matrix says about patches for Turing cards, which vgpu_unlock presents as a Quadro RTX 6000
 * (whose profiles end with 19.x): newest release with a patch in the polloloco repository, and in the mirror.
 */
export function turingPatchSpan(): string {
  let upstream: DriverRelease | undefined;
  let mirror: DriverRelease | undefined;
  // newest first, stopping at the first of each: only the releases looked at are built (drivers.ts)
  for (const r of patchedReleases()) {
    if (releaseDropsGeneration(r, "turing", "1e30")) continue;
    if (!upstream && r.patch?.availability === "polloloco") upstream = r;
    if (!mirror && r.patch?.availability === "community-mirror") mirror = r;
    if (upstream && mirror) break;
  }
  const parts = [
    upstream ? `unlock patches exist up to vGPU ${upstream.vgpuRelease} in the polloloco repository` : null,
    mirror ? `up to ${mirror.vgpuRelease} in a community mirror` : null,
  ].filter((x): x is string => x !== null);
  return `${parts.join(" and ")} (the Quadro RTX 6000 profiles it is presented as end with 19.x)`;
}

function rest(
  support: Support,
  supportReason: string,
): Pick<GpuClassification, "support" | "supportReason" | "spoofAs" | "needsSriov"> {
  return { support, supportReason, spoofAs: null, needsSriov: false };
}

function unsupported(deviceId: string, generation: Generation | null, reason: string): GpuClassification {
  return {
    deviceId,
    name: null,
    generation,
    vramMiB: null,
    chip: null,
    ...rest("unsupported", reason),
  };
}

function unlockResult(
  base: Omit<GpuClassification, "support" | "supportReason" | "spoofAs" | "needsSriov">,
  deviceId: string,
  note: string,
): GpuClassification {
  const range = spoofRangeFor(deviceId);
  if (!range) {
    return { ...base, ...rest("unsupported", `no vgpu_unlock-rs spoof range covers 10de:${deviceId}`) };
  }
  return {
    ...base,
    support: "unlock",
    supportReason: `consumer/non-vGPU card (${note}): works with a patched vGPU driver + vgpu_unlock, which presents it as ${range.target.name} [10de:${range.target.deviceId}]`,
    spoofAs: { ...range.target },
    needsSriov: false,
  };
}

/**
 * Name a device from the host's pci.ids text (/usr/share/misc/pci.ids): the line "\t<id>  <name>"
 * inside the NVIDIA (10de) vendor block. Returns null when absent or the text is not pci.ids.
 */
export function pciIdsName(pciIdsText: string, deviceId: string): string | null {
  const id = normalizeDeviceId(deviceId);
  if (!id || typeof pciIdsText !== "string") return null;
  let inNvidia = false;
  for (const line of pciIdsText.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    if (!line.startsWith("\t")) {
      inNvidia = /^10de\s/i.test(line);
      continue;
    }
    if (!inNvidia || line.startsWith("\t\t")) continue;
    const m = /^\t([0-9a-f]{4})\s+(.+?)\s*$/i.exec(line);
    if (m && m[1]!.toLowerCase() === id) return m[2]!;
  }
  return null;
}

/**
 * The device id of a GPU known by its marketing name, as `nvidia-smi` prints it ("NVIDIA GeForce GTX 1080",
 * "Tesla P4", "Quadro P2000"). Only an exact, unambiguous match counts: truncated names
 * ("GeForce GTX 105...") and names shared by several boards give null.
 */
/** A GPU name as compared: lower case, no "NVIDIA " prefix, single spaces. */
function normName(s: string): string {
  return s
    .toLowerCase()
    .replace(/^nvidia\s+/, "")
    .replace(/\s+/g, " ")
    .trim();
}

export function deviceIdForName(name: string | null | undefined): string | null {
  if (typeof name !== "string") return null;
  const want = normName(name);
  if (want === "" || want.endsWith("...")) return null;
  const hits = [...GPU_TABLE.values()].filter((m) => normName(m.name) === want);
  return hits.length === 1 ? hits[0]!.deviceId : null;
}

/**
 * A device id that stands for a GPU's CLASS (generation and vGPU support) when only its name is known:
 * the exact name's board (deviceIdForName), or for a name nvidia-smi cut short ("GeForce GTX 105...",
 * DualCoder/vgpu_unlock#75) the first board the prefix names, when every board it names has the same
 * generation and support (every "GeForce GTX 105x" is a Pascal consumer card). Classification only: the
 * returned id is not the GPU's device id. Null when the prefix names boards of different classes.
 */
export function classDeviceIdForName(name: string | null | undefined): string | null {
  const exact = deviceIdForName(name);
  if (exact || typeof name !== "string") return exact;
  const want = normName(name);
  if (!want.endsWith("...")) return null;
  const prefix = want.slice(0, -3).trim();
  if (prefix.length < 8) return null;
  const hits = [...GPU_TABLE.values()].filter((m) => normName(m.name).startsWith(prefix));
  const classes = new Set(
    hits.map((m) => {
      const c = classifyGpu({ deviceId: m.deviceId });
      return `${c.generation}/${c.support}`;
    }),
  );
  return hits.length > 0 && classes.size === 1 ? hits[0]!.deviceId : null;
}
