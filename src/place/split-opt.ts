/**
 * The vms: split on many GPUs: instead of trying every combination of candidate types (split.ts; the
 * number of combinations grows as candidates^GPUs), the placement optimiser (opt/solve.ts) decides which
 * type each GPU carries — exactly with HiGHS when a command has loaded it (plan and apply do before
 * planning), else with its greedy packing. split.ts then places the VMs onto that choice as always. Pure.
 */

import { type PlaceGpu, sharingOf, typeMiB } from "./model.ts";
import { loadedHighs } from "./opt/highs.ts";
import type { OptGpu, OptProblem, OptRequest, OptType } from "./opt/problem.ts";
import { solveWith } from "./opt/solve.ts";

export interface SplitBin {
  gpu: PlaceGpu;
  others: Array<{ vmid: number | null; type: string; vramMiB: number | null }>;
  candidates: Array<string | null>;
}

export interface SplitReq {
  vmid: number;
  type: { type: string } | null;
  pin: PlaceGpu | null;
  current: { gpu: string; type: string } | null;
}

function binGpu(bin: SplitBin, i: number, capacity: (g: PlaceGpu, t: string) => number | null): OptGpu {
  const types: OptType[] = [];
  for (const c of bin.candidates) {
    if (c === null) continue;
    const info = bin.gpu.types.find((t) => t.type === c);
    const fb = typeMiB(bin.gpu, c);
    if (!info || fb === null) continue;
    types.push({
      type: c,
      name: info.name,
      series: info.series,
      fbMiB: fb,
      maxInstances: capacity(bin.gpu, c) ?? 64,
    });
  }
  const fb = Math.max(0, ...types.map((t) => t.fbMiB * t.maxInstances));
  return {
    id: String(i),
    host: "host",
    address: bin.gpu.address,
    model: bin.gpu.name,
    vramMiB: bin.gpu.vramMiB ?? fb,
    rule: sharingOf(bin.gpu),
    types,
    slots: bin.gpu.vfs ? bin.gpu.vfs.length : null,
    fixed: bin.others.map((o) => ({
      vmid: o.vmid,
      type: o.type,
      fbMiB: o.vramMiB ?? typeMiB(bin.gpu, o.type) ?? 0,
    })),
  };
}

/** The type each bin carries (null = none), as the optimiser chooses it. */
export function optimiserChoice<R extends SplitReq>(
  bins: SplitBin[],
  reqs: R[],
  fits: (r: R, g: PlaceGpu, t: string) => boolean,
  capacity: (g: PlaceGpu, t: string) => number | null,
): Array<string | null> {
  const gpus = bins.map((b, i) => binGpu(b, i, capacity));
  const requests: OptRequest[] = reqs.map((r) => {
    const anyOf = new Set<string>();
    for (const b of bins) for (const c of b.candidates) if (c !== null && fits(r, b.gpu, c)) anyOf.add(c);
    const o: OptRequest = { vmid: r.vmid, anyOf: r.type ? [r.type.type] : [...anyOf] };
    if (r.pin) o.gpu = String(bins.findIndex((b) => b.gpu === r.pin));
    const cur = r.current ? bins.findIndex((b) => b.gpu.address === r.current!.gpu) : -1;
    if (cur >= 0) o.current = { gpu: String(cur), type: r.current!.type };
    return o;
  });
  const problem: OptProblem = { gpus, requests };
  const solved = solveWith(problem, loadedHighs(), { rebalance: true });
  return bins.map((_, i) => {
    const counts = new Map<string, number>();
    for (const p of solved.placed) if (p.gpu === String(i)) counts.set(p.type, (counts.get(p.type) ?? 0) + 1);
    const best = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
    return best
      ? best[0]
      : (bins[i]!.candidates.find((c) => c !== null && bins[i]!.others.length > 0) ?? null);
  });
}
