/**
 * Placement as an optimisation problem (issue 15), independent of where the data came from: GPUs of a
 * cluster (each with the types it really offers, its VRAM, its SR-IOV slots, the driver's sharing rule and
 * the vGPUs it already carries) and requests for vGPUs. Pure.
 *
 * Sharing rule per GPU (model.ts sharingRule, cited there): "one-type" (driver < 525) — one type per GPU;
 * "one-size" (equal-size mode, vGPU 15+) — one framebuffer size per GPU, types of that size may mix;
 * "mixed-sizes" (mixed-size mode on, vGPU 17+) — any sizes within the VRAM, each type up to its maximum.
 */
import type { Series } from "../../knowledge/vgpu-types.ts";
import type { SharingRule } from "../model.ts";

export interface OptType {
  /** "nvidia-1155" */
  type: string;
  /** "NVIDIA L40S-24Q" */
  name: string | null;
  series: Series | null;
  fbMiB: number;
  /** instances of this type one GPU holds (vgpuConfig.xml pgpu_maxInstances) */
  maxInstances: number;
}

/** A vGPU that is on the GPU and stays there (not a request, or kept where it is). */
export interface FixedVgpu {
  vmid: number | null;
  type: string;
  fbMiB: number;
}

export interface OptGpu {
  /** unique in the problem: "host/0000:41:00.0" */
  id: string;
  host: string;
  address: string;
  /** board name, e.g. "NVIDIA L40S" */
  model: string;
  /** VRAM the vGPUs share, MiB */
  vramMiB: number;
  rule: SharingRule;
  /** the types the GPU offers */
  types: OptType[];
  /** SR-IOV: virtual functions (vGPUs at most); null = not SR-IOV (no such limit) */
  slots: number | null;
  fixed: FixedVgpu[];
}

export interface OptRequest {
  vmid: number;
  /** a type id ("nvidia-1155") or name ("NVIDIA L40S-24Q"); else minMiB + series */
  type?: string;
  minMiB?: number;
  series?: Series;
  /** instead of type / minMiB / series: exactly these type ids ("nvidia-N") */
  anyOf?: string[];
  /** node (host) it must go to */
  host?: string;
  /** GPU id it must go to */
  gpu?: string;
  /** VMs it must not share a node with (anti-affinity) */
  notWith?: number[];
  /** where it is now: kept there (default) or moved only when that places more (rebalance) */
  current?: { gpu: string; type: string } | null;
}

export interface OptProblem {
  gpus: OptGpu[];
  requests: OptRequest[];
}

export interface OptPlacement {
  vmid: number;
  gpu: string;
  type: string;
}

const WANTED = new WeakMap<OptRequest, { id: string | null; name: string }>();

/** A typed request's wanted type: "nvidia-N" from an id, else the lower-case name (parsed once). */
function wanted(r: OptRequest & { type: string }): { id: string | null; name: string } {
  return cached(WANTED, r, () => {
    const s = r.type.trim();
    const id = /^(?:nvidia-)?([1-9]\d*)$/i.exec(s);
    return { id: id ? `nvidia-${id[1]}` : null, name: s.toLowerCase() };
  });
}

/** Does a request accept this type? */
export function accepts(r: OptRequest, t: OptType): boolean {
  if (r.anyOf !== undefined) return r.anyOf.includes(t.type);
  if (r.type !== undefined) {
    const w = wanted(r as OptRequest & { type: string });
    if (w.id !== null) return t.type === w.id;
    return t.name !== null && t.name.toLowerCase() === w.name;
  }
  if (r.series !== undefined && t.series !== r.series) return false;
  return t.fbMiB >= (r.minMiB ?? 0);
}

/** May the request go to this GPU at all (pins)? */
export function allowedOn(r: OptRequest, g: OptGpu): boolean {
  if (r.gpu !== undefined && r.gpu !== g.id && r.gpu !== g.address) return false;
  return r.host === undefined || r.host === g.host;
}

/** The sharing key of a type on a GPU: what vGPUs must have in common to share it (null = anything). */
export function keyOf(g: OptGpu, t: { type: string; fbMiB: number }): string | null {
  if (g.rule === "mixed-sizes") return null;
  return g.rule === "one-size" ? `${t.fbMiB} MiB` : t.type;
}

/** The key a GPU is locked to by its fixed vGPUs (undefined = free; null = mixed-size GPU). */
export function lockedKey(g: OptGpu): string | null | undefined {
  const f = g.fixed[0];
  return f ? keyOf(g, f) : undefined;
}

/**
 * How many vGPUs of key `key` one GPU holds in all (equal-size / one-type): the smallest maximum of the
 * types of that key, the VRAM divided by the size, and the VFs.
 */
export function capacityOf(g: OptGpu, key: string): number {
  const caps = cached(CAPS, g, () => new Map<string, number>());
  const hit = caps.get(key);
  if (hit !== undefined) return hit;
  const cap = computeCapacity(g, key);
  caps.set(key, cap);
  return cap;
}

/** The value a weak map holds for `key`, made (and kept) on first use. */
export function cached<K extends object, V>(map: WeakMap<K, V>, key: K, make: () => V): V {
  const hit = map.get(key);
  if (hit !== undefined) return hit;
  const made = make();
  map.set(key, made);
  return made;
}

const CAPS = new WeakMap<OptGpu, Map<string, number>>();

function computeCapacity(g: OptGpu, key: string): number {
  const ts = g.types.filter((t) => keyOf(g, t) === key);
  if (ts.length === 0) return 0;
  let cap = Math.min(...ts.map((t) => t.maxInstances));
  cap = Math.min(cap, Math.floor(g.vramMiB / ts[0]!.fbMiB));
  if (g.slots !== null) cap = Math.min(cap, g.slots);
  return Math.max(0, cap);
}

/** Keys of the GPU's types (each once, in type order). */
export function keysOf(g: OptGpu): string[] {
  return [...new Set(g.types.map((t) => keyOf(g, t)).filter((k): k is string => k !== null))];
}

/** The type a request takes on a GPU under key `key` (the smallest that fits; null = none). */
export function typeFor(r: OptRequest, g: OptGpu, key: string | null): OptType | null {
  const ts = g.types
    .filter((t) => accepts(r, t) && (key === null || keyOf(g, t) === key))
    .sort((a, b) => a.fbMiB - b.fbMiB || a.type.localeCompare(b.type));
  return ts[0] ?? null;
}

const ACCEPTED = new WeakMap<readonly OptType[], WeakMap<OptRequest, OptType[]>>();

/** The types of a list a request accepts, smallest first (cached per list and request). */
export function acceptedTypes(types: readonly OptType[], r: OptRequest): OptType[] {
  const byReq = cached(ACCEPTED, types, () => new WeakMap<OptRequest, OptType[]>());
  return cached(byReq, r, () =>
    types.filter((t) => accepts(r, t)).sort((a, b) => a.fbMiB - b.fbMiB || a.type.localeCompare(b.type)),
  );
}
