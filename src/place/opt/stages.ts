/**
 * The integer program solved lexicographically, in two stages on one persistent HiGHS model (the extended
 * API of npm `highs` ≥ 1.15: createModel / run / info / setSolution, node_modules/highs/types.d.ts):
 *   1. most VMs placed (objective Σx), within most of the time budget, started from a dive on the LP;
 *   2. with Σx ≥ P* (P* = stage 1's answer) as a row, fewest GPUs newly used, then most VMs kept where
 *      they are, started from stage 1's answer or a dive on this stage's LP (so every incumbent places
 *      P* too), in what time is left.
 * Stage 2 is skipped when it cannot improve: stage 1's answer costs no more than the LP of stage 2.
 * Measured (loaded 2-core machine, 10,000 VMs / 1,000 GPUs): stage 1 0.5–1.8 s, stage 2 0.1–0.8 s; one
 * weighted objective (P·placed − S·GPUs + stays) took 2.6–7 s on 1,000 VMs, proving the GPU part.
 */
import type { Highs } from "highs";
import type { MipModel } from "./mip.ts";

/** HiGHS options for both stages (each measured on the generated clusters of bench/placement.ts). */
const OPTIONS = {
  output_flag: false,
  mip_rel_gap: 0,
  // the objective is a count: a gap below 1 proves the optimum
  mip_abs_gap: 0.99,
  // the feasibility-jump heuristic costs ~0.2–0.8 s per solve in the WebAssembly build even on a
  // 12-column model (measured: 230 ms with it, 3 ms without); its incumbents are not needed here
  mip_heuristic_run_feasibility_jump: false,
  // GPUs of a class are already aggregated, so symmetry detection finds little and costs ~2× (measured)
  mip_detect_symmetry: false,
};

export interface StagedAnswer {
  /** column values of the answer (stage 2's when it ran and has one, else stage 1's); null: none found */
  values: ((name: string) => number) | null;
  /** stage 1 proved that no placement places more VMs */
  placedProven: boolean;
  /** the most VMs any placement places, as HiGHS proved it (its dual bound, rounded down) */
  dualBound: number;
  /** stage 2 proved (or its LP showed) that no placement of as many VMs uses fewer new GPUs */
  gpusProven: boolean;
  /** HiGHS's status of stage 1 when it found nothing */
  status: string;
}

/** Solve `model` in `budgetSec` seconds in all (stage 2 gets at least `reserve` of them; `stage2` false: none). */
export function solveStaged(highs: Highs, model: MipModel, budgetSec: number, stage2 = true): StagedAnswer {
  const start = performance.now();
  const reserve = Math.min(0.4, budgetSec / 4);
  const m = highs.createModel({ format: "lp", data: model.text });
  try {
    const names = columnNames(m);
    const hint = dive(highs, model.text, model, names, Math.min(1, budgetSec / 4)).values;
    if (hint) m.setSolution({ colValue: hint });
    const spent = (performance.now() - start) / 1000;
    m.options.set({ ...OPTIONS, time_limit: Math.max(0.05, budgetSec - reserve - spent) });
    const s1 = m.run().modelStatus;
    const dual = m.info.get("mip_dual_bound") as number;
    const dualBound = Number.isFinite(dual) ? Math.floor(dual + 1e-6) : Number.POSITIVE_INFINITY;
    const cols = new Map(names.map((n, i) => [n, i]));
    const first = hasPrimal(m) ? m.getSolution().colValue.slice() : null;
    const status = statusName(highs, s1);
    if (!first) return { values: null, placedProven: false, dualBound, gpusProven: false, status };
    const answer = (v: Float64Array) => (name: string) => v[cols.get(name) ?? -1] ?? 0;
    const xCols = model.xs.map((x) => cols.get(x.name)!);
    const placed = Math.round(sum(first, xCols));
    // out of time with an incumbent that reaches the proven bound is proven too
    const placedProven = s1 === highs.constants.modelStatus.optimal || placed >= dualBound;
    // stage 2 ends with the budget, or `reserve` from now when stage 1 took (more than) its share
    const end = Math.max(start + budgetSec * 1000, performance.now() + reserve * 1000);
    if (!stage2) return { values: answer(first), placedProven, dualBound, gpusProven: false, status };
    const second = secondStage(highs, m, model, cols, placed, first, newGpus(model, answer(first)), end);
    const values = answer(second?.values ?? first);
    return { values, placedProven, dualBound, gpusProven: second?.proven ?? true, status };
  } finally {
    m.dispose();
  }
}

type Model = ReturnType<Highs["createModel"]>;

/**
 * Stage 2 on the same model: Σx ≥ placed, minimise S·(GPUs newly used) − (VMs kept), S = stayers + 1 (one
 * GPU outweighs every stay), started from the better of stage 1's answer and a dive on this stage's LP.
 * null: skipped, stage 1's answer is already best (proven by the LP).
 */
function secondStage(
  highs: Highs,
  m: Model,
  model: MipModel,
  cols: Map<string, number>,
  placed: number,
  first: Float64Array,
  gpusFirst: number,
  end: number,
): { values: Float64Array; proven: boolean } | null {
  const xs = model.xs.map((x) => cols.get(x.name)!);
  const gpus = model.gpuCols.map((n) => cols.get(n)!);
  const stays = model.stayCols.map((n) => cols.get(n)!);
  const stayers = stays.length === 0 ? 0 : staysPossible(model);
  const n = m.getDimensions().numCols;
  const cost = new Float64Array(n);
  for (const i of gpus) cost[i] = stayers + 1;
  for (const i of stays) cost[i] = -1;
  m.addRow(placed, highs.infinity, { indices: xs, values: xs.map(() => 1) });
  m.changeColsCost({ kind: "range", from: 0, to: n - 1 }, cost);
  m.changeObjectiveSense(highs.constants.objectiveSense.minimize);
  const costFirst = (stayers + 1) * gpusFirst - Math.round(sum(first, stays));
  if (costFirst <= -stayers) return null; // no GPU newly used and every VM that can stay stays
  const lp = dive(
    highs,
    m.exportModel("lp"),
    model,
    columnNames(m),
    Math.max(0.05, (end - performance.now()) / 2000),
  );
  // stage 1's answer (with the GPUs it needs, not its y) costs no more than the LP's optimum: best already
  if (costFirst <= Math.ceil(lp.bound - 1e-6)) return null;
  // the dive's answer as the start when it keeps Σx ≥ placed (rounding VMs down may break it) and costs less
  const better = lp.values && sum(lp.values, xs) >= placed - 1e-6 && dot(lp.values, cost) < dot(first, cost);
  const start = better ? lp.values! : first;
  m.options.set({ time_limit: Math.max(0.05, (end - performance.now()) / 1000) });
  m.zeroAllClocks();
  m.setSolution({ colValue: start });
  const status = m.run().modelStatus;
  if (!hasPrimal(m)) return { values: start, proven: false };
  const values = m.getSolution().colValue.slice();
  if (sum(values, xs) < placed - 1e-6) throw new Error(`stage 2 placed fewer VMs than ${placed} (a bug)`);
  // HiGHS keeps the start as its incumbent; a worse answer than the start would be a solver bug
  if (dot(values, cost) > dot(start, cost) + 1e-6) return { values: start, proven: false };
  return { values, proven: status === highs.constants.modelStatus.optimal };
}

/**
 * A first answer from the LP relaxation by diving: while some GPU count y (or mixed-size u) is
 * fractional, in every class the one closest to its next integer gets that as its lower bound and the LP
 * is solved again (warm, a few ms; classes share no Σ_k y ≤ |c| row, so one per class at a time). That
 * never makes the LP infeasible (Σ_k y ≤ |c| has integral bounds), and once every y is integral the rest
 * is a transportation problem whose vertices are integral except where mixed-size GPUs or anti-affinity
 * add rows — so VMs are rounded down (every row is ≤ with x ≥ 0). Measured on the generated clusters:
 * 98.8–99.9 % of the optimum in 0.1–0.7 s, where rounding every y at once (largest remainder) gave
 * 99.4–99.7 % at 10,000 VMs but less on small ones. Also the bound: the first LP's optimum (stage 1: the
 * most VMs, stage 2: the fewest GPUs, as a real number; ±∞ when the LP found none). values null: no
 * LP answer (or out of time).
 */
function dive(
  highs: Highs,
  text: string,
  model: MipModel,
  order: readonly string[],
  timeSec: number,
): { bound: number; values: Float64Array | null } {
  const lp = highs.createModel({ format: "lp", data: text });
  try {
    // the limit counts every re-solve of the dive (HiGHS's clock runs on until zeroAllClocks)
    lp.options.set({ output_flag: false, time_limit: timeSec });
    lp.clearIntegrality();
    const cols = new Map(columnNames(lp).map((n, i) => [n, i]));
    const byClass = [...model.ys.values()].map((keys) => [...keys.values()].map((n) => cols.get(n)!));
    const upper = lp.getCols({ kind: "range", from: 0, to: lp.getDimensions().numCols - 1 }).upper;
    const sense = lp.getObjectiveSense() === highs.constants.objectiveSense.maximize ? 1 : -1;
    let bound = sense * Number.POSITIVE_INFINITY;
    for (let first = true; ; first = false) {
      if (lp.run().modelStatus !== highs.constants.modelStatus.optimal) return { bound, values: null };
      if (first) bound = lp.getObjectiveValue();
      const v = lp.getSolution().colValue;
      const next = byClass.map((ys) => mostNearlyWhole(v, ys)).filter((i) => i >= 0);
      if (next.length === 0)
        return { bound, values: Float64Array.from(order, (n) => Math.floor(v[cols.get(n)!]! + 1e-6)) };
      for (const i of next) lp.changeColBounds(i, Math.ceil(v[i]! - 1e-6), upper[i]!);
    }
  } finally {
    lp.dispose();
  }
}

/** The fractional column (of `idx`) closest to its next integer; -1 when all are integral. */
function mostNearlyWhole(v: Float64Array, idx: number[]): number {
  let best = -1;
  let bestFrac = 1e-6;
  for (const i of idx) {
    const frac = v[i]! - Math.floor(v[i]! + 1e-6);
    if (frac > bestFrac) {
      best = i;
      bestFrac = frac;
    }
  }
  return best;
}

/** GPUs an answer newly uses (its y columns may say more than its VMs need). */
function newGpus(model: MipModel, value: (name: string) => number): number {
  let n = 0;
  for (const cell of model.newGpuCells) {
    const vms = cell.xs.reduce((a, x) => a + Math.round(value(x)), 0);
    n += cell.cap === null ? Math.min(1, vms) : Math.ceil(vms / cell.cap);
  }
  return n;
}

/** How many requests could stay (one stay column per request at most is 1: its group is itself). */
function staysPossible(model: MipModel): number {
  const stay = new Set(model.stayCols);
  return new Set(model.xs.filter((x) => stay.has(x.name)).map((x) => x.group)).size;
}

function columnNames(m: Model): string[] {
  return Array.from({ length: m.getDimensions().numCols }, (_, i) => m.getColName(i));
}

function hasPrimal(m: Model): boolean {
  // HiGHS's SolutionStatus: 2 = feasible
  return m.info.get("primal_solution_status") === 2;
}

function sum(v: Float64Array, idx: number[]): number {
  let s = 0;
  for (const i of idx) s += v[i]!;
  return s;
}

function dot(v: Float64Array, c: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * c[i]!;
  return s;
}

function statusName(highs: Highs, s: number): string {
  const names = highs.constants.modelStatus as Readonly<Record<string, number>>;
  return Object.keys(names).find((k) => names[k] === s) ?? String(s);
}
