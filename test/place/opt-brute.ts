/**
 * The optimum of a small placement problem, found independently of the solver: every way of giving each
 * GPU one sharing key (or none) is tried, and for each the most VMs that fit is a bipartite b-matching
 * (augmenting paths). The rules are written out again here from NVIDIA's documentation (equal-size mode:
 * one framebuffer size per GPU; before 525: one type per GPU; a GPU holds at most max-instances vGPUs, no
 * more than its VRAM divides into, one per SR-IOV VF). Requests must have no pins or anti-affinity.
 */
import type { OptGpu, OptProblem, OptRequest, OptType } from "../../src/place/opt/problem.ts";

function wants(r: OptRequest, t: OptType): boolean {
  if (r.type !== undefined) {
    const m = /^(?:nvidia-)?(\d+)$/.exec(r.type);
    return m ? t.type === `nvidia-${m[1]}` : t.name === r.type;
  }
  return (r.series === undefined || t.series === r.series) && t.fbMiB >= (r.minMiB ?? 0);
}

function keyChoices(g: OptGpu): Array<{ types: OptType[]; cap: number }> {
  const groups = new Map<string, OptType[]>();
  for (const t of g.types) {
    const k = g.rule === "one-type" ? t.type : String(t.fbMiB);
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  return [...groups.values()].map((types) => {
    let cap = Math.min(...types.map((t) => t.maxInstances), Math.floor(g.vramMiB / types[0]!.fbMiB));
    if (g.slots !== null) cap = Math.min(cap, g.slots);
    return { types, cap };
  });
}

/** Most VMs placeable when GPU i carries choice[i] (null = nothing). */
function matching(reqs: OptRequest[], choice: Array<{ types: OptType[]; cap: number } | null>): number {
  const load = choice.map(() => [] as number[]);
  const can = reqs.map((r) => choice.map((c) => c?.types.some((t) => wants(r, t))));
  const tryPlace = (v: number, seen: Set<number>): boolean => {
    for (let g = 0; g < choice.length; g++) {
      if (!can[v]![g] || seen.has(g)) continue;
      seen.add(g);
      if (load[g]!.length < choice[g]!.cap) {
        load[g]!.push(v);
        return true;
      }
      for (let i = 0; i < load[g]!.length; i++) {
        const other = load[g]![i]!;
        load[g]!.splice(i, 1);
        if (tryPlace(other, seen)) {
          load[g]!.push(v);
          return true;
        }
        load[g]!.splice(i, 0, other);
      }
    }
    return false;
  };
  let n = 0;
  for (let v = 0; v < reqs.length; v++) if (tryPlace(v, new Set())) n++;
  return n;
}

export function bruteForceOptimum(p: OptProblem): number {
  return bruteForce(p).placed;
}

/**
 * The most VMs placeable and the fewest GPUs that place that many: a GPU given a key but no VM could as
 * well be given none, so the fewest GPUs with a key over the choices that reach the most VMs is the
 * fewest GPUs carrying a vGPU. (The GPUs start empty.)
 */
export function bruteForce(p: OptProblem): { placed: number; gpus: number } {
  const options = p.gpus.map((g) => [null, ...keyChoices(g)]);
  let best = { placed: 0, gpus: 0 };
  const choice: Array<{ types: OptType[]; cap: number } | null> = [];
  const walk = (i: number) => {
    if (i === options.length) {
      const placed = matching(p.requests, choice);
      const gpus = choice.filter((c) => c !== null).length;
      if (placed > best.placed || (placed === best.placed && gpus < best.gpus)) best = { placed, gpus };
      return;
    }
    for (const o of options[i]!) {
      choice[i] = o;
      walk(i + 1);
    }
  };
  walk(0);
  return best;
}
