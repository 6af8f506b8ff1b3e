/**
 * The tie-break after the solver (issue 15 follow-up): a request that asks for a framebuffer size
 * (`vram:` + series) gets the smallest type that satisfies it, unless a larger one saves a GPU. The
 * integer program decides how many GPUs carry each size and is indifferent between equally good answers,
 * so it may give VMs a larger size than they need. Two steps that never place fewer VMs nor use more
 * GPUs: (1) a VM on a GPU of a larger size moves to a GPU of the same node already in use with a smaller
 * size that has room for it; (2) a GPU whose VMs all accept a smaller size of it, and fit that size's
 * capacity, is given the smallest such size (its VMs retyped). GPUs with vGPUs that stay, mixed-size
 * GPUs and VMs that are where they were are left alone. Pure.
 */
import {
  capacityOf,
  keyOf,
  keysOf,
  type OptGpu,
  type OptPlacement,
  type OptProblem,
  type OptRequest,
  type OptType,
  typeFor,
} from "./problem.ts";
import { GpuState } from "./state.ts";

/** Smaller types where they cost no GPU; the result is a valid placement when the input is. */
export function preferSmallerTypes(p: OptProblem, placed: OptPlacement[]): OptPlacement[] {
  const reqs = new Map(p.requests.map((r) => [r.vmid, r]));
  const gpus = new Map(p.gpus.map((g) => [g.id, g]));
  const free = (r: OptRequest | undefined): r is OptRequest =>
    r !== undefined && r.type === undefined && r.anyOf === undefined && r.gpu === undefined && !r.current;
  const moved = moveToSmaller(gpus, reqs, placed, free);
  return relabelGpus(gpus, reqs, moved, free);
}

type IsFree = (r: OptRequest | undefined) => r is OptRequest;

const editable = (g: OptGpu | undefined): g is OptGpu =>
  g !== undefined && g.fixed.length === 0 && g.rule !== "mixed-sizes";

function fbOf(g: OptGpu, type: string): number {
  return g.types.find((t) => t.type === type)?.fbMiB ?? 0;
}

/** Step 1: a VM moves to a used GPU of its node with a smaller size and room (same node: anti-affinity kept). */
function moveToSmaller(
  gpus: Map<string, OptGpu>,
  reqs: Map<number, OptRequest>,
  placed: OptPlacement[],
  free: IsFree,
): OptPlacement[] {
  const states = new Map<string, GpuState>();
  const stateOf = (id: string) => states.get(id) ?? states.set(id, new GpuState(gpus.get(id)!)).get(id)!;
  for (const x of placed)
    stateOf(x.gpu).place(x.vmid, gpus.get(x.gpu)!.types.find((t) => t.type === x.type)!);
  const left = new Map<string, number>([...states].map(([id, s]) => [id, s.count]));
  const onHost = new Map<string, GpuState[]>();
  for (const s of states.values())
    if (editable(s.gpu)) onHost.set(s.gpu.host, [...(onHost.get(s.gpu.host) ?? []), s]);
  const out: OptPlacement[] = [];
  for (const x of placed) {
    const r = reqs.get(x.vmid);
    const from = gpus.get(x.gpu);
    const spot =
      free(r) && editable(from)
        ? smallerSpot(r, from, fbOf(from, x.type), onHost.get(from.host) ?? [], left)
        : null;
    if (!spot) {
      out.push(x);
      continue;
    }
    spot.s.place(x.vmid, spot.t);
    left.set(x.gpu, left.get(x.gpu)! - 1);
    left.set(spot.s.gpu.id, left.get(spot.s.gpu.id)! + 1);
    out.push({ vmid: x.vmid, gpu: spot.s.gpu.id, type: spot.t.type });
  }
  return out;
}

function smallerSpot(
  r: OptRequest,
  from: OptGpu,
  fbMiB: number,
  sameHost: GpuState[],
  left: Map<string, number>,
): { s: GpuState; t: OptType } | null {
  let best: { s: GpuState; t: OptType } | null = null;
  for (const s of sameHost) {
    if (s.gpu.id === from.id || left.get(s.gpu.id)! === 0) continue;
    const t = s.typeFor(r);
    if (t && t.fbMiB < fbMiB && (!best || t.fbMiB < best.t.fbMiB)) best = { s, t };
  }
  return best;
}

/** Step 2: each GPU takes the smallest size all its VMs accept and fit; its VMs take that size's types. */
function relabelGpus(
  gpus: Map<string, OptGpu>,
  reqs: Map<number, OptRequest>,
  placed: OptPlacement[],
  free: IsFree,
): OptPlacement[] {
  const byGpu = new Map<string, OptPlacement[]>();
  for (const x of placed) byGpu.set(x.gpu, [...(byGpu.get(x.gpu) ?? []), x]);
  const retyped = new Map<number, string>();
  for (const [id, xs] of byGpu) {
    const g = gpus.get(id);
    if (!editable(g) || !xs.every((x) => free(reqs.get(x.vmid)))) continue;
    const now = fbOf(g, xs[0]!.type);
    for (const { key, fbMiB } of keysBySize(g)) {
      if (fbMiB >= now) break;
      const types = xs.map((x) => typeFor(reqs.get(x.vmid)!, g, key));
      if (xs.length > capacityOf(g, key) || types.some((t) => t === null)) continue;
      for (const [i, x] of xs.entries()) retyped.set(x.vmid, types[i]!.type);
      break;
    }
  }
  return placed.map((x) => (retyped.has(x.vmid) ? { ...x, type: retyped.get(x.vmid)! } : x));
}

/** The GPU's sharing keys, smallest framebuffer first. */
function keysBySize(g: OptGpu): Array<{ key: string; fbMiB: number }> {
  const size = (k: string) => Math.min(...g.types.filter((t) => keyOf(g, t) === k).map((t) => t.fbMiB));
  return keysOf(g)
    .map((key) => ({ key, fbMiB: size(key) }))
    .sort((a, b) => a.fbMiB - b.fbMiB);
}
