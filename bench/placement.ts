/**
 * Placement quality and time (issue 15): the optimiser (src/place/opt/solve.ts: HiGHS, and its greedy
 * fallback alone) against first-fit, best-fit and NVIDIA's breadth-first / depth-first policies, on
 * generated clusters (test/place/opt-gen.ts: P4, P40, T4, RTX 6000, A16, A40, L4, L40S nodes of 8 GPUs,
 * types and limits from the vGPU type table) from 10 VMs / 2 GPUs to 10,000 VMs / 1,000 GPUs.
 * Quality = VMs placed / the optimum (the bound the solver proved; equal to the optimum when "exact").
 */
import { performance } from "node:perf_hooks";
import { greedy, type Policy } from "../src/place/opt/greedy.ts";
import { loadHighs } from "../src/place/opt/highs.ts";
import { solvePlacement } from "../src/place/opt/solve.ts";
import { generate } from "../test/place/opt-gen.ts";

export interface PlacementRow {
  vms: number;
  gpus: number;
  seed: number;
  /** the proven optimum (exact) or upper bound */
  bound: number;
  method: string;
  algorithms: Array<{ name: string; placed: number; gpusUsed: number; ms: number; pctOfBound: number }>;
}

export const SIZES: ReadonlyArray<readonly [number, number]> = [
  [10, 2],
  [100, 10],
  [1000, 100],
  [10000, 1000],
];

const POLICIES: Policy[] = ["first-fit", "best-fit", "breadth-first", "depth-first"];

function pct(placed: number, bound: number): number {
  return bound === 0 ? 100 : Math.round((placed / bound) * 1000) / 10;
}

export async function benchPlacement(seeds = [1, 2, 3]): Promise<PlacementRow[]> {
  await loadHighs(); // loaded once per process, as in the CLI; not part of each solve's time
  const rows: PlacementRow[] = [];
  for (const [vms, gpus] of SIZES)
    for (const seed of vms >= 10000 ? seeds.slice(0, 1) : seeds) {
      const p = generate({ vms, gpus, seed });
      let t0 = performance.now();
      const exact = await solvePlacement(p);
      const exactMs = performance.now() - t0;
      t0 = performance.now();
      const heur = await solvePlacement(p, { solver: "heuristic" });
      const heurMs = performance.now() - t0;
      const algorithms = [
        { name: "optimiser (HiGHS)", placed: exact.placed.length, gpusUsed: exact.gpusUsed, ms: exactMs },
        { name: "fallback (greedy pack)", placed: heur.placed.length, gpusUsed: heur.gpusUsed, ms: heurMs },
        ...POLICIES.map((policy) => {
          const t = performance.now();
          const g = greedy(p, policy);
          const ms = performance.now() - t;
          return {
            name: policy,
            placed: g.placed.length,
            gpusUsed: g.states.filter((s) => s.count > 0).length,
            ms,
          };
        }),
      ].map((a) => ({ ...a, ms: Math.round(a.ms * 10) / 10, pctOfBound: pct(a.placed, exact.bound) }));
      rows.push({ vms, gpus, seed, bound: exact.bound, method: exact.method, algorithms });
    }
  return rows;
}

export function formatPlacement(rows: PlacementRow[]): string[] {
  const lines = ["size (VMs/GPUs, seed)   bound  algorithm               placed  % of opt  GPUs   time"];
  for (const r of rows) {
    r.algorithms.forEach((a, i) => {
      const head =
        i === 0
          ? `${`${r.vms}/${r.gpus} #${r.seed}`.padEnd(22)}  ${String(r.bound).padStart(5)}`
          : " ".repeat(29);
      lines.push(
        `${head}  ${a.name.padEnd(22)}  ${String(a.placed).padStart(6)}  ${`${a.pctOfBound} %`.padStart(8)}  ${String(a.gpusUsed).padStart(4)}  ${`${a.ms} ms`.padStart(10)}${i === 0 ? `  (${r.method})` : ""}`,
      );
    });
  }
  return lines;
}
