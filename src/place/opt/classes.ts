/**
 * The structure the exact model works on: GPUs that are interchangeable (same node, board, VRAM, rule,
 * offered types and slots, nothing on them yet) form one class, and requests that ask for the same thing
 * form one group. The integer program then decides how many GPUs of each class get each size (or type)
 * and how many VMs of each group go there, instead of deciding GPU by GPU. Pure.
 */
import {
  accepts,
  allowedOn,
  cached,
  capacityOf,
  keysOf,
  lockedKey,
  type OptGpu,
  type OptProblem,
  type OptRequest,
  type OptType,
  typeFor,
} from "./problem.ts";

export interface GpuClass {
  gpus: OptGpu[];
  /** mixed-size GPU: VRAM decides, the class has one GPU and no keys */
  mixed: boolean;
  /** GPU already in use (fixed vGPUs): using it costs nothing */
  inUse: boolean;
  /** sharing key → vGPUs one GPU of the class can still take with that key */
  caps: Map<string, number>;
}

export interface ReqGroup {
  requests: OptRequest[];
}

/** What interchangeable GPUs share (the host too where `byHost` says it matters). */
export function classSignature(g: OptGpu, byHost: (host: string) => boolean): string {
  const types = g.types.map((t) => `${t.type}:${t.fbMiB}:${t.maxInstances}:${t.name ?? ""}`).join(",");
  return [byHost(g.host) ? g.host : "*", g.model, g.vramMiB, g.rule, g.slots ?? "-", types].join("|");
}

/**
 * Which nodes' GPUs must stay apart from other nodes' in the classes: every node when a request has
 * notWith (anti-affinity counts per node), else the nodes requests are pinned to.
 */
export function nodesThatMatter(p: OptProblem): (host: string) => boolean {
  if (p.requests.some((r) => (r.notWith?.length ?? 0) > 0)) return () => true;
  const pinned = new Set(p.requests.flatMap((r) => (r.host !== undefined ? [r.host] : [])));
  return (h) => pinned.has(h);
}

/** `alone`: GPUs a request names (pins, where a VM is now) — each its own class, so it can be told apart. */
export function buildClasses(
  gpus: readonly OptGpu[],
  alone: ReadonlySet<string> = new Set(),
  byHost: (host: string) => boolean = () => true,
): GpuClass[] {
  const out: GpuClass[] = [];
  const byKey = new Map<string, GpuClass>();
  for (const g of gpus) {
    const mixed = g.rule === "mixed-sizes";
    if (mixed || g.fixed.length > 0 || alone.has(g.id) || alone.has(g.address)) {
      out.push({ gpus: [g], mixed, inUse: g.fixed.length > 0, caps: capsOf(g) });
      continue;
    }
    const sig = classSignature(g, byHost);
    const c = byKey.get(sig);
    if (c) c.gpus.push(g);
    else {
      const n: GpuClass = { gpus: [g], mixed: false, inUse: false, caps: capsOf(g) };
      byKey.set(sig, n);
      out.push(n);
    }
  }
  return out;
}

function capsOf(g: OptGpu): Map<string, number> {
  const caps = new Map<string, number>();
  if (g.rule === "mixed-sizes") return caps;
  const locked = lockedKey(g);
  for (const k of keysOf(g)) {
    if (locked !== undefined && k !== locked) continue;
    const left = capacityOf(g, k) - g.fixed.length;
    if (left > 0) caps.set(k, left);
  }
  return caps;
}

/** Requests asking the same thing with no individual constraint share a group. */
export function buildGroups(p: OptProblem): ReqGroup[] {
  const out: ReqGroup[] = [];
  const byKey = new Map<string, ReqGroup>();
  const linked = new Set(p.requests.flatMap((r) => r.notWith ?? []));
  for (const r of p.requests) {
    const single = r.gpu !== undefined || (r.notWith?.length ?? 0) > 0 || r.current != null;
    if (single || linked.has(r.vmid)) {
      out.push({ requests: [r] });
      continue;
    }
    const sig = `${r.host ?? ""}|${acceptedSignature(p, r)}`;
    const grp = byKey.get(sig);
    if (grp) grp.requests.push(r);
    else {
      const n = { requests: [r] };
      byKey.set(sig, n);
      out.push(n);
    }
  }
  return out;
}

/** The types a request accepts anywhere in the problem, as one string: requests with the same one are alike. */
export function acceptedSignature(p: OptProblem, r: OptRequest): string {
  const mine = cached(SIGNATURES, p, () => new Map<string, string>());
  // requests that ask in the same words accept the same types: the scan over the types runs once per wording
  const asked = `${r.type ?? ""}|${r.minMiB ?? ""}|${r.series ?? ""}|${r.anyOf?.join(",") ?? "-"}`;
  const hit = mine.get(asked);
  if (hit !== undefined) return hit;
  const ids = new Set<string>();
  for (const t of distinctTypes(p)) if (accepts(r, t)) ids.add(`${t.type}:${t.fbMiB}`);
  const sig = [...ids].sort().join(",");
  mine.set(asked, sig);
  return sig;
}

const SIGNATURES = new WeakMap<OptProblem, Map<string, string>>();

const DISTINCT = new WeakMap<OptProblem, OptType[]>();

function distinctTypes(p: OptProblem): OptType[] {
  return cached(DISTINCT, p, () => {
    const m = new Map<string, OptType>();
    for (const g of p.gpus) for (const t of g.types) m.set(`${t.type}|${t.fbMiB}|${t.name}|${t.series}`, t);
    return [...m.values()];
  });
}

/** Can the group's requests go to this class under key (null: a mixed-size class; any accepted type)? */
export function groupFits(grp: ReqGroup, c: GpuClass, key: string | null): boolean {
  const r = grp.requests[0]!;
  const g = c.gpus[0]!;
  return allowedOn(r, g) && typeFor(r, g, key) !== null;
}
