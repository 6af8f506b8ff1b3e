/**
 * Greedy placement, one VM after another: the baselines the optimiser is measured against (first-fit,
 * best-fit, and NVIDIA's breadth-first / depth-first vGPU placement policies — "breadth-first … the
 * physical GPU with the fewest vGPUs", "depth-first … the most vGPUs that still has room", NVIDIA vGPU
 * user guide, "Modifying GPU Allocation Policy") and, with a good order plus local search, the fallback
 * when the exact solver is unavailable or out of time. Pure.
 */
import { acceptedSignature, classSignature, nodesThatMatter } from "./classes.ts";
import {
  acceptedTypes,
  allowedOn,
  type OptPlacement,
  type OptProblem,
  type OptRequest,
  type OptType,
} from "./problem.ts";
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
  const reach = new Reach(p, states);
  const book = new NodeBook(p.requests);
  const pick = PICKS[policy];
  const twin = twins(p, states);
  const placed: OptPlacement[] = [];
  const unplaced: number[] = [];
  const seen = new Set<number>();
  for (const r of order) {
    const options: Array<{ s: GpuState; t: OptType }> = [];
    seen.clear();
    for (const s of reach.of(r)) {
      if (s.closed || !book.allows(r.vmid, s.gpu.host)) continue;
      // an empty GPU like one already looked at offers the same and scores the same: every policy keeps
      // the first of equals, so skipping it changes nothing (and spares a scan over 1,000 empty GPUs)
      if (s.count === 0) {
        const id = twin.get(s)!;
        if (seen.has(id)) continue;
        seen.add(id);
      }
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

/** Interchangeable GPUs (classes.ts classSignature) share a number. */
function twins(p: OptProblem, states: GpuState[]): Map<GpuState, number> {
  const byHost = nodesThatMatter(p);
  const ids = new Map<string, number>();
  return new Map(
    states.map((s) => {
      const sig = classSignature(s.gpu, byHost);
      if (!ids.has(sig)) ids.set(sig, ids.size);
      return [s, ids.get(sig)!];
    }),
  );
}

/** For each kind of request (same pins, same accepted types), the GPUs it could ever go to, in order. */
class Reach {
  private readonly memo = new Map<string, GpuState[]>();
  constructor(
    private readonly p: OptProblem,
    private readonly states: GpuState[],
  ) {}

  of(r: OptRequest): GpuState[] {
    const key = `${r.gpu ?? ""}|${r.host ?? ""}|${acceptedSignature(this.p, r)}`;
    let out = this.memo.get(key);
    if (!out) {
      out = this.states.filter((s) => allowedOn(r, s.gpu) && acceptedTypes(s.gpu.types, r).length > 0);
      this.memo.set(key, out);
    }
    return out;
  }
}

/**
 * The fallback: the best of first-fit and of packing in a good order — VMs that already have a vGPU,
 * then the smallest first (to place the most VMs, small ones first: more of them fit a GPU), then the
 * ones fewest GPUs can take — onto the fullest GPU that still takes each (depth-first) or the tightest
 * fit (best-fit).
 */
export function packGreedy(p: OptProblem): GreedyResult {
  const states = p.gpus.map((g) => new GpuState(g));
  const reach = new Reach(p, states);
  const smallest = (r: OptRequest) => {
    let min = Number.POSITIVE_INFINITY;
    for (const s of reach.of(r)) min = Math.min(min, acceptedTypes(s.gpu.types, r)[0]!.fbMiB);
    return min;
  };
  const sizes = new Map(p.requests.map((r) => [r.vmid, smallest(r)]));
  const order = [...p.requests].sort(
    (a, b) =>
      Number(b.current != null) - Number(a.current != null) ||
      sizes.get(a.vmid)! - sizes.get(b.vmid)! ||
      reach.of(a).length - reach.of(b).length ||
      a.vmid - b.vmid,
  );
  const tries = [greedy(p, "depth-first", order), greedy(p, "best-fit", order), greedy(p, "first-fit")];
  return tries.reduce((best, t) => (t.placed.length > best.placed.length ? t : best));
}
