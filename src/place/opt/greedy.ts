/**
 * Greedy placement, one VM after another: the baselines the optimiser is measured against (first-fit,
 * best-fit, and NVIDIA's breadth-first / depth-first vGPU placement policies — "breadth-first … the
 * physical GPU with the fewest vGPUs", "depth-first … the most vGPUs that still has room", NVIDIA vGPU
 * user guide, "Modifying GPU Allocation Policy") and, with a good order plus local search, the fallback
 * when the exact solver is unavailable or out of time. Pure.
 */
import type { OptPlacement, OptProblem, OptRequest, OptType } from "./problem.ts";
import { GpuState, NodeBook } from "./state.ts";

export type Policy = "first-fit" | "best-fit" | "breadth-first" | "depth-first";

export interface GreedyResult {
  placed: OptPlacement[];
  unplaced: number[];
  states: GpuState[];
}

type Pick = (options: Array<{ s: GpuState; t: OptType }>) => { s: GpuState; t: OptType };

const PICKS: Record<Policy, Pick> = {
  "first-fit": (o) => o[0]!,
  "best-fit": (o) => minBy(o, (x) => x.s.freeMiB - x.t.fbMiB),
  "breadth-first": (o) => minBy(o, (x) => x.s.count),
  "depth-first": (o) => minBy(o, (x) => -x.s.count),
};

function minBy<T extends object>(xs: T[], f: (x: T) => number): T {
  let best = xs[0]!;
  let bv = f(best);
  for (const x of xs) {
    const v = f(x);
    if (v < bv) {
      best = x;
      bv = v;
    }
  }
  return best;
}

/** Place the requests in the given order under a policy. */
export function greedy(
  p: OptProblem,
  policy: Policy,
  order: readonly OptRequest[] = p.requests,
): GreedyResult {
  const states = p.gpus.map((g) => new GpuState(g));
  const book = new NodeBook(p.requests);
  const pick = PICKS[policy];
  const placed: OptPlacement[] = [];
  const unplaced: number[] = [];
  for (const r of order) {
    const options: Array<{ s: GpuState; t: OptType }> = [];
    for (const s of states) {
      if (!book.allows(r.vmid, s.gpu.host)) continue;
      const t = s.typeFor(r);
      if (t) {
        options.push({ s, t });
        if (policy === "first-fit") break;
      }
    }
    if (options.length === 0) {
      unplaced.push(r.vmid);
      continue;
    }
    const { s, t } = pick(options);
    s.place(r.vmid, t);
    book.add(r.vmid, s.gpu.host);
    placed.push({ vmid: r.vmid, gpu: s.gpu.id, type: t.type });
  }
  return { placed, unplaced, states };
}

/**
 * The fallback: requests that can go to the fewest GPUs first, the largest first, each onto the fullest
 * GPU that still takes it (packs GPUs, keeps empty ones for sizes that need them); the better of that and
 * first-fit in request order.
 */
export function packGreedy(p: OptProblem): GreedyResult {
  const states = p.gpus.map((g) => new GpuState(g));
  const reach = new Map(p.requests.map((r) => [r.vmid, states.filter((s) => s.typeFor(r)).length]));
  const size = (r: OptRequest) => Math.max(0, ...states.map((s) => s.typeFor(r)?.fbMiB ?? 0));
  const sizes = new Map(p.requests.map((r) => [r.vmid, size(r)]));
  const order = [...p.requests].sort(
    (a, b) =>
      Number(b.current != null) - Number(a.current != null) ||
      reach.get(a.vmid)! - reach.get(b.vmid)! ||
      sizes.get(b.vmid)! - sizes.get(a.vmid)! ||
      a.vmid - b.vmid,
  );
  const packed = greedy(p, "depth-first", order);
  const ff = greedy(p, "first-fit");
  return ff.placed.length > packed.placed.length ? ff : packed;
}
