/**
 * Placement quality and time (issue 15): the optimiser (src/place/opt/solve.ts: HiGHS, and its greedy
 * fallback alone) against first-fit, best-fit and NVIDIA's breadth-first / depth-first policies, on
 * generated clusters (test/place/opt-gen.ts: P4, P40, T4, RTX 6000, A16, A40, L4, L40S nodes of 8 GPUs,
 * types and limits from the vGPU type table) from 10 VMs / 2 GPUs to 10,000 VMs / 1,000 GPUs.
 * Quality = VMs placed / the optimum: the solver's answer when it proved it ("exact"), else one more solve
 * with no time limit outside the timed part (`optimum`), so "% of opt" never depends on the bound.
 * Run alone: `npx tsx bench/placement.ts` writes only the `placement` / `placementDate` keys of
 * bench/results.json (`npm run bench` writes all of it).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { greedy, type Policy } from "../src/place/opt/greedy.ts";
import { loadHighs } from "../src/place/opt/highs.ts";
import type { OptProblem } from "../src/place/opt/problem.ts";
import { solvePlacement } from "../src/place/opt/solve.ts";
import { generate } from "../test/place/opt-gen.ts";

export interface PlacementRow {
  vms: number;
  gpus: number;
  seed: number;
  /** the upper bound the timed solve proved */
  bound: number;
  method: string;
  /** the timed solve also proved its GPU count (fewest GPUs for that many VMs) */
  gpusProven: boolean;
  /** the most VMs any placement places: the timed answer when exact, else an untimed solve's */
  optimum: number;
  /** "exact" when the untimed solve (or the timed one) proved `optimum`; else its method */
  optimumMethod: string;
  algorithms: Array<{
    name: string;
    placed: number;
    gpusUsed: number;
    ms: number;
    pctOfBound: number;
    pctOfOpt: number;
  }>;
}

export const SIZES: ReadonlyArray<readonly [number, number]> = [
  [10, 2],
  [100, 10],
  [1000, 100],
  [10000, 1000],
  // supply-rich: every request fits (nearly), so the GPUs used tell the placements apart (stage 2)
  [1000, 1000],
  [3000, 1000],
];

const POLICIES: Policy[] = ["first-fit", "best-fit", "breadth-first", "depth-first"];

function pct(placed: number, bound: number): number {
  // rounded down: 8003 of 8004 shows as 99.9 %, not 100 %
  return bound === 0 ? 100 : Math.floor((placed / bound) * 1000) / 10;
}

/** Seconds the untimed solve for the optimum may take (it is not part of any figure's time). */
const OPTIMUM_SEC = 300;

export async function benchPlacement(seeds = [1, 2, 3]): Promise<PlacementRow[]> {
  await loadHighs(); // loaded once per process, as in the CLI; not part of each solve's time
  const rows: PlacementRow[] = [];
  for (const [vms, gpus] of SIZES)
    for (const seed of seeds) {
      const p = generate({ vms, gpus, seed });
      let t0 = performance.now();
      const exact = await solvePlacement(p);
      const exactMs = performance.now() - t0;
      t0 = performance.now();
      const heur = await solvePlacement(p, { solver: "heuristic" });
      const heurMs = performance.now() - t0;
      const opt =
        exact.method === "exact"
          ? exact
          : await solvePlacement(p, { timeLimitSec: OPTIMUM_SEC, placedOnly: true });
      const algorithms = [
        { name: "optimiser (HiGHS)", placed: exact.placed.length, gpusUsed: exact.gpusUsed, ms: exactMs },
        { name: "fallback (greedy pack)", placed: heur.placed.length, gpusUsed: heur.gpusUsed, ms: heurMs },
        ...POLICIES.map((policy) => policyRun(p, policy)),
      ].map((a) => ({
        ...a,
        ms: Math.round(a.ms * 10) / 10,
        pctOfBound: pct(a.placed, exact.bound),
        pctOfOpt: pct(a.placed, opt.placed.length),
      }));
      rows.push({
        vms,
        gpus,
        seed,
        bound: exact.bound,
        method: exact.method,
        gpusProven: exact.gpusProven,
        optimum: opt.placed.length,
        optimumMethod: opt.method,
        algorithms,
      });
    }
  return rows;
}

function policyRun(
  p: OptProblem,
  policy: Policy,
): { name: string; placed: number; gpusUsed: number; ms: number } {
  const t = performance.now();
  const g = greedy(p, policy);
  const ms = performance.now() - t;
  return { name: policy, placed: g.placed.length, gpusUsed: g.states.filter((s) => s.count > 0).length, ms };
}

export function formatPlacement(rows: PlacementRow[]): string[] {
  const lines = [
    "size (VMs/GPUs, seed)   optimum  bound  algorithm               placed  % of opt  GPUs   time",
  ];
  for (const r of rows) {
    r.algorithms.forEach((a, i) => {
      const opt = `${r.optimum}${r.optimumMethod === "exact" ? "" : "?"}`;
      const head =
        i === 0
          ? `${`${r.vms}/${r.gpus} #${r.seed}`.padEnd(22)}  ${opt.padStart(7)}  ${String(r.bound).padStart(5)}`
          : " ".repeat(38);
      const how = `${r.method}${r.gpusProven ? ", GPUs proven" : ""}`;
      lines.push(
        `${head}  ${a.name.padEnd(22)}  ${String(a.placed).padStart(6)}  ${`${a.pctOfOpt} %`.padStart(8)}  ${String(a.gpusUsed).padStart(4)}  ${`${a.ms} ms`.padStart(10)}${i === 0 ? `  (${how})` : ""}`,
      );
    });
  }
  return lines;
}

/** `npx tsx bench/placement.ts`: the placement figures alone, into bench/results.json. */
async function main(): Promise<void> {
  const rows = await benchPlacement();
  const file = join(import.meta.dirname, "results.json");
  const results = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  results.placementDate = new Date().toISOString();
  results.placement = rows;
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  for (const l of formatPlacement(rows)) console.log(l);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
