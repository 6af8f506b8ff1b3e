/**
 * The split: which GPU each VM of vgpu.yaml gets. Pure.
 *
 * Time-sliced vGPUs share a physical GPU only as the driver allows (model.ts sharingRule: one type
 * before driver 525, one framebuffer size from 525, any size in mixed-size mode; research/proxmox.md
 * §3), so the decision is a type per GPU, then VMs into GPUs carrying a type they can use or run beside:
 * - a VM with a `type` needs a GPU carrying that type or one the rule lets it join (2B beside 2Q);
 * - a VM with `vram` (+ os/workload) can use any type of a series that suits it (suggest.ts), and
 *   gets its VRAM through a per-VM override when the type's own size differs.
 * Every combination of candidate types per GPU (the requested types, suggestProfile's pick for
 * each VRAM-only VM, the type the GPU already carries) is tried; the winner places the most VMs,
 * then keeps the most VMs where they already are, then prefers each VM's best series. Ties go to
 * the first combination in a fixed order (GPUs by address, types by id), so the result is
 * deterministic. VMs that fit nowhere are reported with a refusal code and the reason.
 */
import { normalisePciAddress } from "../facts/pci.ts";
import { findType, type Series } from "../knowledge/vgpu-types.ts";
import { effectiveVramMiB } from "../knowledge/vram.ts";
import { formatSize, sizeText } from "../report/units.ts";
import { findVm, PlacementRefusal, type RefusalCode, type ResolvedType, resolveType } from "./attach.ts";
import {
  addressOnGpu,
  canShareGpu,
  type PlaceGpu,
  type PlacementModel,
  type PlaceType,
  sharingOf,
  typeMiB,
  usersOf,
} from "./model.ts";
import { optimiserChoice } from "./split-opt.ts";
import {
  type GuestOs,
  preferredSeries,
  seriesForOs,
  suggestProfile,
  toSuggestType,
  type Workload,
} from "./suggest.ts";

export interface SplitRequest {
  vmid: number;
  /** "nvidia-259", "259" or a type name; omitted = chosen from vramMiB/os/workload */
  type?: string;
  /** wanted VRAM, MiB (only without `type`) */
  vramMiB?: number;
  /** guest OS; omitted = from the VM's ostype (unknown: series both OSes can use) */
  os?: GuestOs;
  /** default "desktop" */
  workload?: Workload;
  /** GPU address the VM must use */
  gpu?: string;
}

export interface SplitOptions {
  /** VMs vgpu.yaml manages (placed or detached): their current vGPUs do not count as taken */
  managed?: number[];
  /** the type a GPU must carry (vgpu.yaml `gpus[].type`), by GPU address */
  gpuTypes?: Record<string, string>;
  /**
   * Per-VM VRAM overrides can apply (vgpu_unlock-rs preloaded; default true). false: a `vram` request
   * takes a type of at least that framebuffer, whole (native boards, e.g. SR-IOV data-center GPUs).
   */
  overrides?: boolean;
}

export interface SplitVm {
  vmid: number;
  /** VRAM it takes, MiB (null = unknown) */
  vramMiB: number | null;
}

export interface SplitGpu {
  gpu: string;
  name: string;
  /** the type the GPU carries (null = none); its VMs may have others the driver runs beside it (model.ts sharingRule) */
  type: string | null;
  typeName: string | null;
  /** VMs of vgpu.yaml placed here, by vmid */
  vms: SplitVm[];
  /** vGPUs vgpu.yaml does not manage (other VMs, mdevs created by hand) */
  others: Array<{ vmid: number | null; uuid: string | null; type: string; vramMiB: number | null }>;
  totalMiB: number | null;
  usedMiB: number;
  freeMiB: number | null;
  /** more instances of `type` the GPU would hold (null = unknown or no type) */
  instancesLeft: number | null;
}

export interface Placement {
  vmid: number;
  gpu: string;
  type: string;
  typeName: string | null;
  /** VRAM the VM gets, MiB */
  vramMiB: number | null;
  /** set when the type's own size differs: the [vm.N] override that gives the VM vramMiB */
  overrideVramMiB: number | null;
  /** the VM already has a vGPU of this type on this GPU */
  kept: boolean;
  reasons: string[];
}

export interface Unplaced {
  vmid: number;
  code: RefusalCode;
  message: string;
  hint: string | null;
}

export interface SplitResult {
  gpus: SplitGpu[];
  placements: Placement[];
  unplaced: Unplaced[];
}

/** Combinations of types tried at most; beyond, the placement optimiser chooses the types (split-opt.ts). */
const MAX_COMBINATIONS = 4096;

interface Req {
  vmid: number;
  order: number;
  /** typed request */
  type: ResolvedType | null;
  vramMiB: number | null;
  os: GuestOs | null;
  workload: Workload;
  /** acceptable series, best first (untyped requests) */
  series: Series[];
  pin: PlaceGpu | null;
  current: { gpu: string; type: string } | null;
}

interface Bin {
  gpu: PlaceGpu;
  others: SplitGpu["others"];
  othersMiB: number;
  /** types of the unmanaged vGPUs */
  fixedTypes: string[];
  /** the type this GPU must carry (unmanaged vGPUs, or gpus[].type), null = free */
  locked: string | null;
  /** why nothing can go here, when so */
  conflict: PlacementRefusal | null;
  candidates: Array<string | null>;
}

interface Slot {
  bin: Bin;
  type: string | null;
  usedMiB: number;
  count: number;
  cap: number | null;
  vms: Array<{ req: Req; vramMiB: number | null }>;
}

interface Outcome {
  slots: Slot[];
  placed: Map<number, Slot>;
  kept: number;
  penalty: number;
}

/** Windows for win* ostypes, Linux for l24/l26/solaris/other unix; null when unknown. */
export function osFromOstype(ostype: string | null): GuestOs | null {
  if (!ostype) return null;
  if (/^(win|w2k|wxp|wvista)/i.test(ostype)) return "windows";
  if (/^(l2[46]|solaris)$/i.test(ostype)) return "linux";
  return null;
}

function seriesOfType(gpu: PlaceGpu, type: string): Series | null {
  return gpu.types.find((t) => t.type === type)?.series ?? null;
}

function typeInfo(gpu: PlaceGpu, type: string): PlaceType | undefined {
  return gpu.types.find((t) => t.type === type);
}

function typeNum(t: string | null): number {
  if (t === null) return Number.POSITIVE_INFINITY;
  const m = /(\d+)$/.exec(t);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

function findGpu(model: PlacementModel, address: string): PlaceGpu | null {
  const a = normalisePciAddress(address) ?? address;
  return model.gpus.find((g) => g.address === a || g.parents.includes(a)) ?? null;
}

/** Instances of `type` a GPU holds in all (null = unknown). */
function capacity(gpu: PlaceGpu, type: string): number | null {
  const t = typeInfo(gpu, type);
  if (!t) return 0;
  if (t.maxInstances !== null) return t.maxInstances;
  if (t.availableInstances !== null)
    return t.availableInstances + gpu.mdevs.filter((m) => m.type === type).length;
  return null;
}

/** May vGPUs of types `a` and `b` run side by side on this GPU (model.ts sharingRule)? */
function joins(gpu: PlaceGpu, a: string, b: string): boolean {
  return canShareGpu(
    sharingOf(gpu),
    { type: a, framebufferMiB: typeMiB(gpu, a) },
    { type: b, framebufferMiB: typeMiB(gpu, b) },
  );
}

/** The driver's rule in words, for reasons and refusals. */
function ruleText(gpu: PlaceGpu): string {
  const rule = sharingOf(gpu);
  return rule === "one-size"
    ? "one framebuffer size per GPU, equal-size mode"
    : rule === "one-type"
      ? "one type per GPU before driver 525"
      : "mixed-size mode";
}

function label(gpu: PlaceGpu | null, type: string): string {
  const n = gpu ? typeInfo(gpu, type)?.name : null;
  return n ? `${type} (${n})` : type;
}

type Fits = (r: Req, gpu: PlaceGpu, type: string) => boolean;

/** Choose a GPU (and, for VRAM-only VMs, a type) for every request; see the file comment. */
export function planSplit(
  model: PlacementModel,
  requests: SplitRequest[],
  opts: SplitOptions = {},
): SplitResult {
  const unplaced: Unplaced[] = [];
  const refuse = (vmid: number, e: unknown) => {
    if (!(e instanceof PlacementRefusal)) throw e;
    const message = e.message.startsWith(`VM ${vmid}`) ? e.message : `VM ${vmid}: ${e.message}`;
    unplaced.push({ vmid, code: e.code, message, hint: e.hint ?? null });
  };
  const managed = new Set([...(opts.managed ?? []), ...requests.map((r) => r.vmid)]);
  const reqs: Req[] = [];
  requests.forEach((r, order) => {
    try {
      reqs.push(readRequest(model, r, order));
    } catch (e) {
      refuse(r.vmid, e);
    }
  });
  const bins = [...model.gpus]
    .sort((a, b) => a.address.localeCompare(b.address))
    .map((gpu) => binOf(model, gpu, managed, opts.gpuTypes ?? {}));
  const overrides = opts.overrides !== false;
  const fits = fitsRule(overrides);
  for (const bin of bins) bin.candidates = candidatesOf(bin, reqs, fits, overrides);
  const outcome = bestOutcome(bins, reqs, fits, overrides);
  if (!outcome) return { gpus: [], placements: [], unplaced };
  const placements: Placement[] = [];
  for (const r of reqs) {
    const slot = outcome.placed.get(r.vmid);
    if (slot) placements.push(placementOf(r, slot, overrides));
    else unplaced.push(reasonFor(r, outcome.slots, fits));
  }
  placements.sort((a, b) => a.vmid - b.vmid);
  unplaced.sort((a, b) => a.vmid - b.vmid);
  return { gpus: outcome.slots.map(splitGpuOf), placements, unplaced };
}

/** One request read against the host: the VM, its type or series, a pinned GPU, its current vGPU. */
function readRequest(model: PlacementModel, r: SplitRequest, order: number): Req {
  const vm = findVm(model, r.vmid);
  const type = r.type !== undefined ? resolveType(model, r.type) : null;
  let pin: PlaceGpu | null = null;
  if (r.gpu !== undefined) {
    pin = findGpu(model, r.gpu);
    if (!pin)
      throw new PlacementRefusal(
        "unknown-gpu",
        `VM ${r.vmid}: ${r.gpu} is not an NVIDIA GPU on ${model.host}`,
        model.gpus.length > 0
          ? `GPUs: ${model.gpus.map((g) => g.address).join(", ")}`
          : "no NVIDIA GPU was found",
      );
  }
  const os = r.os ?? osFromOstype(vm.ostype);
  const workload = r.workload ?? "desktop";
  const series = type
    ? []
    : os
      ? preferredSeries(os, workload)
      : preferredSeries("linux", workload).filter((s) => seriesForOs("windows").includes(s));
  const cur = vm.hostpci.find((h) => h.mdev !== null);
  const curGpu = cur ? model.gpus.find((g) => addressOnGpu(cur.address, g)) : undefined;
  return {
    vmid: r.vmid,
    order,
    type,
    vramMiB: type ? null : (r.vramMiB ?? null),
    os,
    workload,
    series,
    pin,
    current: cur?.mdev && curGpu ? { gpu: curGpu.address, type: cur.mdev } : null,
  };
}

/** A GPU with what vGPUs vgpu.yaml does not manage take, and the type it is locked to (or why it is not usable). */
function binOf(
  model: PlacementModel,
  gpu: PlaceGpu,
  managed: Set<number>,
  gpuTypes: Record<string, string>,
): Bin {
  const others: SplitGpu["others"] = [];
  let othersMiB = 0;
  for (const u of usersOf(model, gpu)) {
    if (u.vmid !== null && managed.has(u.vmid)) continue;
    const v = effectiveVramMiB(model.overrides, u, typeMiB(gpu, u.type), findType).mib;
    others.push({ vmid: u.vmid, uuid: u.uuid, type: u.type, vramMiB: v });
    othersMiB += v ?? 0;
  }
  const fixedTypes = [...new Set(others.map((o) => o.type))];
  let locked: string | null = fixedTypes[0] ?? null;
  let conflict: PlacementRefusal | null = null;
  const who = others.map((o) => (o.vmid !== null ? `VM ${o.vmid}` : `mdev ${o.uuid}`)).join(", ");
  if (fixedTypes.some((t) => !joins(gpu, fixedTypes[0]!, t)))
    conflict = new PlacementRefusal(
      "mixed-types",
      `GPU ${gpu.address} already carries ${fixedTypes.join(" and ")} (${who}), which the driver does not run together (${ruleText(gpu)}): it cannot take another vGPU until they can`,
      "detach the VMs the others cannot run beside (vgpuctl vm detach VMID)",
    );
  const wantedEntry = Object.entries(gpuTypes).find(([a]) => findGpu(model, a) === gpu);
  if (wantedEntry && !conflict) {
    let wanted: string | null = null;
    try {
      wanted = resolveType(model, wantedEntry[1]).type;
    } catch (e) {
      // a type the GPU does not know: the setup plan reports it (plan/passes/gpu-type.ts)
      if (!(e instanceof PlacementRefusal)) throw e;
      wanted = null;
    }
    if (wanted && locked && !joins(gpu, wanted, locked))
      conflict = new PlacementRefusal(
        "mixed-types",
        `GPU ${gpu.address} carries ${locked} (${who}), but vgpu.yaml gives it ${wanted}; the driver allows ${ruleText(gpu)}`,
        `detach ${who} or change gpus[].type`,
      );
    else if (wanted && !typeInfo(gpu, wanted))
      conflict = new PlacementRefusal(
        "type-not-offered",
        `GPU ${gpu.address} does not offer ${wanted} (vgpu.yaml gpus[].type)`,
        gpu.types.length > 0
          ? `it offers: ${gpu.types
              .slice(0, 10)
              .map((t) => t.type)
              .join(", ")}`
          : "run `vgpuctl doctor` to see why no types are offered",
      );
    else if (wanted) locked = wanted;
  }
  return { gpu, others, othersMiB, fixedTypes, locked, conflict, candidates: [] };
}

/** Whether a request may take a type on a GPU (without overrides: a framebuffer at least what it asks). */
function fitsRule(overrides: boolean): Fits {
  return (r: Req, gpu: PlaceGpu, type: string): boolean => {
    if (r.pin && r.pin !== gpu) return false;
    if (r.type)
      return (
        r.type.type === type || (typeInfo(gpu, r.type.type) !== undefined && joins(gpu, r.type.type, type))
      );
    const s = seriesOfType(gpu, type);
    if (s === null || !r.series.includes(s)) return false;
    // without overrides the VM gets the type's whole framebuffer: at least what it asks for
    const size = typeMiB(gpu, type);
    return overrides || r.vramMiB === null || (size !== null && size >= r.vramMiB);
  };
}

/** The types worth trying on a GPU, then null (leave it empty). */
function candidatesOf(bin: Bin, reqs: Req[], fits: Fits, overrides: boolean): Array<string | null> {
  if (bin.conflict) return [null];
  if (bin.locked) return [bin.locked];
  const set = new Set<string>();
  for (const r of reqs) {
    if (r.pin && r.pin !== bin.gpu) continue;
    if (r.type) {
      if (typeInfo(bin.gpu, r.type.type)) set.add(r.type.type);
      continue;
    }
    if (r.current?.gpu === bin.gpu.address && fits(r, bin.gpu, r.current.type)) set.add(r.current.type);
    const s = overrides ? suggestFor(r, bin.gpu) : smallestFitting(r, bin.gpu);
    if (s) set.add(s);
  }
  return [...[...set].sort((a, b) => typeNum(a) - typeNum(b) || a.localeCompare(b)), null];
}

/** Every combination of candidates while few; beyond, the optimiser chooses (split-opt.ts). */
function bestOutcome(bins: Bin[], reqs: Req[], fits: Fits, overrides: boolean): Outcome | null {
  if (bins.reduce((n, b) => n * b.candidates.length, 1) > MAX_COMBINATIONS)
    return evaluate(bins, optimiserChoice(bins, reqs, fits, capacity), reqs, fits, overrides);
  let best: Outcome | null = null;
  const choice: Array<string | null> = new Array(bins.length).fill(null);
  const walk = (i: number) => {
    if (i === bins.length) {
      const o = evaluate(bins, choice, reqs, fits, overrides);
      if (!best || better(o, best)) best = o;
      return;
    }
    for (const c of bins[i]!.candidates) {
      choice[i] = c;
      walk(i + 1);
    }
  };
  walk(0);
  return best;
}

/** A placed request: its GPU, type, VRAM (override) and why. */
function placementOf(r: Req, slot: Slot, overrides: boolean): Placement {
  const type = r.type?.type ?? slot.type!;
  const size = typeMiB(slot.bin.gpu, type);
  const vram = slot.vms.find((v) => v.req === r)!.vramMiB;
  const kept = r.current?.gpu === slot.bin.gpu.address && r.current.type === type;
  const reasons: string[] = [];
  if (r.pin) reasons.push(`GPU ${slot.bin.gpu.address} as vgpu.yaml asks`);
  else if (kept) reasons.push(`VM ${r.vmid} already has ${type} on GPU ${slot.bin.gpu.address}`);
  else
    reasons.push(
      `GPU ${slot.bin.gpu.address} carries ${label(slot.bin.gpu, slot.type!)}${type !== slot.type ? `, which ${type} may run beside` : ""} (${ruleText(slot.bin.gpu)})`,
    );
  if (!r.type) {
    const s = seriesOfType(slot.bin.gpu, type);
    reasons.push(
      `${s ?? "?"} series for ${r.workload} on ${r.os ?? "an unknown guest OS"} (preferred: ${r.series.join(", ")})`,
    );
  }
  const override = overrides && !r.type && r.vramMiB !== null && size !== r.vramMiB ? r.vramMiB : null;
  if (override !== null)
    reasons.push(
      `${type} is ${sizeText(size)}; a per-VM override gives VM ${r.vmid} ${formatSize(override)}`,
    );
  else if (!r.type && r.vramMiB !== null && size !== null && size > r.vramMiB)
    reasons.push(
      `${type} is the smallest fitting type (${formatSize(size)} for ${formatSize(r.vramMiB)} asked)`,
    );

  return {
    vmid: r.vmid,
    gpu: slot.bin.gpu.address,
    type,
    typeName: typeInfo(slot.bin.gpu, type)?.name ?? null,
    vramMiB: vram,
    overrideVramMiB: override,
    kept,
    reasons,
  };
}

/** What a GPU carries after the split. */
function splitGpuOf(s: Slot): SplitGpu {
  const type = s.type ?? s.bin.fixedTypes[0] ?? null;
  const usedMiB = s.usedMiB;
  const cap = type ? capacity(s.bin.gpu, type) : null;
  return {
    gpu: s.bin.gpu.address,
    name: s.bin.gpu.name,
    type,
    typeName: type ? (typeInfo(s.bin.gpu, type)?.name ?? null) : null,
    vms: s.vms.map((v) => ({ vmid: v.req.vmid, vramMiB: v.vramMiB })).sort((a, b) => a.vmid - b.vmid),
    others: s.bin.others,
    totalMiB: s.bin.gpu.vramMiB,
    usedMiB,
    freeMiB: s.bin.gpu.vramMiB === null ? null : Math.max(0, s.bin.gpu.vramMiB - usedMiB),
    instancesLeft: cap === null || type === null ? null : Math.max(0, cap - s.count),
  };
}

/** Without overrides: the smallest type of the best series with at least the VRAM asked for. */
function smallestFitting(r: Req, gpu: PlaceGpu): string | null {
  for (const series of r.series) {
    const fitting = gpu.types
      .filter((t) => t.series === series && t.framebufferMiB !== null)
      .filter((t) => r.vramMiB === null || t.framebufferMiB! >= r.vramMiB)
      .sort((a, b) => a.framebufferMiB! - b.framebufferMiB! || typeNum(a.type) - typeNum(b.type));
    if (fitting[0]) return fitting[0].type;
  }
  return null;
}

function suggestFor(r: Req, gpu: PlaceGpu): string | null {
  if (gpu.types.length === 0) return null;
  const s = suggestProfile({
    os: r.os ?? "linux",
    workload: r.workload,
    vramMiB: r.vramMiB ?? undefined,
    types: gpu.types.map(toSuggestType),
    offered: gpu.types.some((t) => t.offered),
    gpu: { address: gpu.address, vramMiB: gpu.vramMiB, currentTypes: [] },
  });
  if (!s.type || !s.series || !r.series.includes(s.series)) return null;
  return s.type;
}

function evaluate(
  bins: Bin[],
  choice: Array<string | null>,
  reqs: Req[],
  fits: (r: Req, g: PlaceGpu, t: string) => boolean,
  overrides = true,
): Outcome {
  const slots: Slot[] = bins.map((bin, i) => {
    const type = choice[i] ?? null;
    return {
      bin,
      type,
      usedMiB: bin.othersMiB,
      count: type ? bin.others.filter((o) => joins(bin.gpu, o.type, type)).length : 0,
      // mixed-size mode: VRAM decides (each type keeps its own maximum)
      cap: type ? (sharingOf(bin.gpu) === "mixed-sizes" ? null : capacity(bin.gpu, type)) : 0,
      vms: [],
    };
  });
  const need = (r: Req, s: Slot): number | null =>
    (r.type ? typeMiB(s.bin.gpu, r.type.type) : !overrides ? typeMiB(s.bin.gpu, s.type!) : r.vramMiB) ??
    typeMiB(s.bin.gpu, s.type!);
  const room = (r: Req, s: Slot): boolean => {
    if (s.type === null || !fits(r, s.bin.gpu, s.type)) return false;
    if (s.cap !== null && s.count + 1 > s.cap) return false;
    const n = need(r, s);
    return s.bin.gpu.vramMiB === null || n === null || s.usedMiB + n <= s.bin.gpu.vramMiB;
  };
  // least flexible first: pinned, then VMs that can stay, typed, then by VRAM (largest first)
  const order = [...reqs].sort(
    (a, b) =>
      Number(b.pin !== null) - Number(a.pin !== null) ||
      Number(b.current !== null) - Number(a.current !== null) ||
      Number(b.type !== null) - Number(a.type !== null) ||
      (b.vramMiB ?? 0) - (a.vramMiB ?? 0) ||
      a.vmid - b.vmid,
  );
  const placed = new Map<number, Slot>();
  let kept = 0;
  let penalty = 0;
  for (const r of order) {
    const ok = slots.filter((s) => room(r, s));
    if (ok.length === 0) continue;
    const stay = ok.find(
      (s) => r.current?.gpu === s.bin.gpu.address && r.current.type === (r.type?.type ?? s.type),
    );
    const free = (s: Slot) =>
      s.bin.gpu.vramMiB === null ? Number.POSITIVE_INFINITY : s.bin.gpu.vramMiB - s.usedMiB;
    const pick =
      stay ??
      [...ok].sort(
        (a, b) =>
          free(b) - free(a) || a.count - b.count || a.bin.gpu.address.localeCompare(b.bin.gpu.address),
      )[0]!;
    const n = need(r, pick);
    pick.usedMiB += n ?? 0;
    pick.count++;
    pick.vms.push({ req: r, vramMiB: n });
    placed.set(r.vmid, pick);
    if (stay) kept++;
    if (!r.type) {
      const s = seriesOfType(pick.bin.gpu, pick.type!);
      penalty += (s ? r.series.indexOf(s) : 9) * 10;
      if (r.vramMiB !== null && typeMiB(pick.bin.gpu, pick.type!) !== r.vramMiB) penalty += 1;
    }
  }
  return { slots, placed, kept, penalty };
}

function better(a: Outcome, b: Outcome): boolean {
  if (a.placed.size !== b.placed.size) return a.placed.size > b.placed.size;
  if (a.kept !== b.kept) return a.kept > b.kept;
  return a.penalty < b.penalty;
}

/** Why a request was left out of the winning split. */
function reasonFor(r: Req, slots: Slot[], fits: (r: Req, g: PlaceGpu, t: string) => boolean): Unplaced {
  const what = r.type ? label(null, r.type.type) : `a ${r.series.join("/")}-series type`;
  const mk = (code: RefusalCode, message: string, hint: string | null): Unplaced => ({
    vmid: r.vmid,
    code,
    message,
    hint,
  });
  const candidates = slots.filter((s) => !r.pin || s.bin.gpu === r.pin);
  const offering = candidates.filter((s) =>
    s.bin.gpu.types.some((t) => (r.type ? t.type === r.type.type : fits(r, s.bin.gpu, t.type))),
  );
  if (offering.length === 0) {
    const where = r.pin ? `GPU ${r.pin.address}` : "no GPU on this host";
    return mk(
      "type-not-offered",
      r.pin ? `VM ${r.vmid}: ${where} does not offer ${what}` : `VM ${r.vmid}: ${where} offers ${what}`,
      r.type
        ? "choose a type `vgpuctl inspect` lists for the GPU"
        : `no type of series ${r.series.join("/")} suits ${r.workload} on ${r.os ?? "this guest"}; set \`type\``,
    );
  }
  for (const s of offering)
    if (s.bin.conflict)
      return mk(s.bin.conflict.code, `VM ${r.vmid}: ${s.bin.conflict.message}`, s.bin.conflict.hint ?? null);
  const sameType = offering.filter((s) => s.type !== null && fits(r, s.bin.gpu, s.type));
  if (sameType.length === 0) {
    const s = offering[0]!;
    const users = [
      ...s.bin.others.map((o) => (o.vmid !== null ? `VM ${o.vmid}` : `mdev ${o.uuid}`)),
      ...s.vms.map((v) => `VM ${v.req.vmid}`),
    ];
    return mk(
      "mixed-types",
      `VM ${r.vmid}: GPU ${s.bin.gpu.address} carries ${s.type ?? s.bin.fixedTypes.join(", ")}${users.length ? ` (${users.join(", ")})` : ""}, not ${what}; the driver allows ${ruleText(s.bin.gpu)}${offering.length > 1 ? " (the same holds for every GPU offering it)" : ""}`,
      `give VM ${r.vmid} the same type (its VRAM can differ: use \`vram\`), or move VMs to another GPU`,
    );
  }
  const s = sameType[0]!;
  if (s.cap !== null && s.count + 1 > s.cap) {
    return mk(
      "no-instances",
      `VM ${r.vmid}: GPU ${s.bin.gpu.address} holds at most ${s.cap} × ${label(s.bin.gpu, s.type!)} and all are taken (${[
        ...s.bin.others
          .filter((o) => o.type === s.type)
          .map((o) => (o.vmid !== null ? `VM ${o.vmid}` : `mdev ${o.uuid}`)),
        ...s.vms.map((v) => `VM ${v.req.vmid}`),
      ].join(", ")})`,
      "use a smaller type, or fewer VMs on this GPU",
    );
  }
  const mine = (r.type ? typeMiB(s.bin.gpu, s.type!) : r.vramMiB) ?? 0;
  const parts = [
    ...s.bin.others.map(
      (o) => `${o.vmid !== null ? `VM ${o.vmid}` : `mdev ${o.uuid}`} ${sizeText(o.vramMiB)}`,
    ),
    ...s.vms.map((v) => `VM ${v.req.vmid} ${sizeText(v.vramMiB)}`),
  ];
  return mk(
    "vram-overcommit",
    `VM ${r.vmid}: GPU ${s.bin.gpu.address} has ${sizeText(s.bin.gpu.vramMiB)} of VRAM; ${parts.length ? `${parts.join(", ")} plus ` : ""}${formatSize(mine)} for VM ${r.vmid} is ${formatSize(s.usedMiB + mine)} — a VM would fail to start ("error allocating framebuffer")`,
    "give the VMs less VRAM (`vram:`), or use another GPU",
  );
}
