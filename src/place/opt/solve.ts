/**
 * Solve a placement problem: most VMs placed, then fewest GPUs used, then fewest VMs moved. Exact with
 * HiGHS in two stages (stages.ts) within one time budget (default 2 s in all); when it runs out of time,
 * its best answer (or the greedy packing when that is better) with the bound HiGHS proved; when the
 * solver fails, the best greedy packing (plus first-fit, never worse) with the LP relaxation's bound.
 * Every VM left out gets a reason.
 */

import type { Highs } from "highs";
import { acceptedSignature, buildClasses, buildGroups, nodesThatMatter } from "./classes.ts";
import { decodeMip } from "./decode.ts";
import { greedy, packGreedy } from "./greedy.ts";
import { loadHighs, resetHighs } from "./highs.ts";
import { buildMip } from "./mip.ts";
import {
  accepts,
  allowedOn,
  type OptGpu,
  type OptPlacement,
  type OptProblem,
  type OptRequest,
} from "./problem.ts";
import { unplacedReason } from "./reasons.ts";
import { solveStaged } from "./stages.ts";
import { GpuState, NodeBook, placementProblems } from "./state.ts";
import { preferSmallerTypes } from "./tiebreak.ts";

export const DEFAULT_TIME_LIMIT_SEC = 2;

export interface SolveOptions {
  /** move VMs that already have a vGPU when that places more (default: they stay) */
  rebalance?: boolean;
  /** seconds for the exact solver, both stages (default 2: 10,000 VMs on 1,000 GPUs in about that) */
  timeLimitSec?: number;
  /** only the most VMs placed: no second stage for the fewest GPUs (bench/placement.ts's optimum) */
  placedOnly?: boolean;
  /** "heuristic": do not run the exact solver */
  solver?: "highs" | "heuristic";
}

export interface SolveResult {
  placed: OptPlacement[];
  unplaced: Array<{ vmid: number; reason: string }>;
  /** GPUs carrying at least one vGPU afterwards */
  gpusUsed: number;
  /** most VMs (of the requests) any placement can place, as proved */
  bound: number;
  /**
   * "exact": the number placed is proven optimal (bound == placed); "time-limit": the solver ran out of
   * time, `bound` is what it proved; "heuristic": no solver (or it failed), `bound` from the LP or counting
   */
  method: "exact" | "time-limit" | "heuristic";
  /**
   * the GPU count is proven too: no placement of as many VMs uses fewer GPUs that were empty (and, among
   * those, none keeps more VMs where they are)
   */
  gpusProven: boolean;
  /** the solver's note when it could not be used */
  note?: string;
}

/** Load the exact solver (once), then solve; without it (it failed to load) the fallback, with a note. */
export async function solvePlacement(problem: OptProblem, opts: SolveOptions = {}): Promise<SolveResult> {
  let highs: Highs | null = null;
  let note: string | undefined;
  try {
    highs = await loadHighs();
  } catch (e) {
    note = `exact solver unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
  const r = solveWith(problem, highs, opts);
  return note && !r.note ? { ...r, note } : r;
}

/** Solve with a loaded HiGHS instance (null: heuristic + a simple bound). Synchronous. */
export function solveWith(problem: OptProblem, highs: Highs | null, opts: SolveOptions = {}): SolveResult {
  const started = performance.now();
  const { p, kept } = keepCurrent(problem, opts.rebalance === true);
  let found: Found;
  if (!highs || opts.solver === "heuristic")
    found = fallback(p, highs, opts.solver === "heuristic" ? "heuristic requested" : undefined);
  else {
    try {
      found = exact(
        p,
        highs,
        { ...opts, timeLimitSec: opts.timeLimitSec ?? DEFAULT_TIME_LIMIT_SEC },
        started,
      );
    } catch (e) {
      resetHighs();
      found = fallback(p, null, `exact solver failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const placed = preferSmallerTypes(p, topUp(p, found.placed));
  const wrong = placementProblems(p, placed);
  if (wrong.length > 0) throw new Error(`placement is invalid (a bug): ${wrong.slice(0, 3).join("; ")}`);
  const done = new Set(placed.map((x) => x.vmid));
  const all = [...kept, ...placed].sort((a, b) => a.vmid - b.vmid);
  return {
    placed: all,
    unplaced: reasons(p, placed, done),
    gpusUsed: gpusUsed(p, placed),
    bound: Math.max(found.bound, placed.length) + kept.length,
    // out of time, but the VMs placed after the top-up reach the proven bound: optimal all the same
    method: found.method === "time-limit" && placed.length >= found.bound ? "exact" : found.method,
    gpusProven: found.gpusProven && placed.length === found.placed.length,
    ...(found.note ? { note: found.note } : {}),
  };
}

interface Found {
  placed: OptPlacement[];
  bound: number;
  method: SolveResult["method"];
  gpusProven: boolean;
  note?: string;
}

/** Without rebalance, a VM that already has an acceptable vGPU keeps it: a fixed vGPU, not a request. */
function keepCurrent(problem: OptProblem, rebalance: boolean): { p: OptProblem; kept: OptPlacement[] } {
  if (rebalance) return { p: problem, kept: [] };
  const kept: OptPlacement[] = [];
  const gpus = new Map(problem.gpus.map((g) => [g.id, { ...g, fixed: [...g.fixed] }]));
  const requests: OptRequest[] = [];
  for (const r of problem.requests) {
    const g = r.current ? gpus.get(r.current.gpu) : undefined;
    const t = g?.types.find((x) => x.type === r.current!.type);
    if (g && t && accepts(r, t) && allowedOn(r, g)) {
      g.fixed.push({ vmid: r.vmid, type: t.type, fbMiB: t.fbMiB });
      kept.push({ vmid: r.vmid, gpu: g.id, type: t.type });
    } else requests.push(r.current ? { ...r, current: null } : r);
  }
  return { p: { gpus: problem.gpus.map((g) => gpus.get(g.id)!), requests }, kept };
}

/**
 * The integer program in two stages (stages.ts). Stage 1 proved optimal → "exact" (the VMs placed are the
 * most any placement places; whether the GPU count was proven too is `gpusProven`). Else "time-limit":
 * the better of its incumbent and the greedy packing, with the bound HiGHS proved (its dual bound, or the
 * LP relaxation's when it proved none).
 */
function exact(
  p: OptProblem,
  highs: Highs,
  opts: SolveOptions & { timeLimitSec: number },
  started: number,
): Found {
  const alone = new Set(p.requests.flatMap((r) => [r.gpu, r.current?.gpu].filter((x): x is string => !!x)));
  const classes = buildClasses(p.gpus, alone, nodesThatMatter(p));
  const groups = buildGroups(p);
  const model = buildMip(p, classes, groups);
  const staged = solveStaged(
    highs,
    model,
    Math.max(0.1, opts.timeLimitSec - (performance.now() - started) / 1000),
    opts.placedOnly !== true,
  );
  if (!staged.values) {
    const f = fallback(p, highs, `exact solver: ${staged.status}`);
    return { ...f, bound: Math.min(f.bound, staged.dualBound) };
  }
  const states = new Map(p.gpus.map((g) => [g.id, new GpuState(g)]));
  const placed = decodeMip(model, staged.values, classes, groups, states);
  if (staged.placedProven)
    return { placed, bound: placed.length, method: "exact", gpusProven: staged.gpusProven };
  // HiGHS's dual bound starts at the root LP's: the LP bound is only needed when it proved none
  const bound = Number.isFinite(staged.dualBound) ? staged.dualBound : lpBound(p, highs);
  // never fewer than first-fit (tens of ms on 10,000 VMs); the greedy packing (up to a second there,
  // first-fit among its tries) only when the incumbent is more than 1 % short
  const other = placed.length < 0.99 * bound ? packGreedy(p).placed : firstFit(p, placed.length);
  const better = other.length > placed.length;
  return {
    placed: better ? other : placed,
    bound,
    method: "time-limit",
    gpusProven: !better && staged.gpusProven,
  };
}

/** First-fit's placement when it places more than `than`, else none. */
function firstFit(p: OptProblem, than: number): OptPlacement[] {
  const ff = greedy(p, "first-fit").placed;
  return ff.length > than ? ff : [];
}

function fallback(p: OptProblem, highs: Highs | null, note?: string): Found {
  const placed = packGreedy(p).placed;
  return {
    placed,
    bound: lpBound(p, highs),
    method: "heuristic",
    gpusProven: false,
    ...(note ? { note } : {}),
  };
}

/**
 * A proven upper bound on the VMs placeable: the LP relaxation's optimum rounded down; without the
 * solver, the requests some GPU offers an acceptable type for.
 */
export function lpBound(p: OptProblem, highs: Highs | null): number {
  const naive = p.requests.filter((r) =>
    p.gpus.some((g) => allowedOn(r, g) && g.types.some((t) => accepts(r, t))),
  ).length;
  if (!highs) return naive;
  const alone = new Set(p.requests.flatMap((r) => (r.gpu ? [r.gpu] : [])));
  const classes = buildClasses(p.gpus, alone, nodesThatMatter(p));
  const model = buildMip(p, classes, buildGroups(p), true);
  const sol = highs.solve(model.text, { time_limit: 30, output_flag: false });
  if (sol.Status !== "Optimal") return naive;
  return Math.min(naive, Math.floor(sol.ObjectiveValue + 1e-6));
}

/** Place what still fits after the solver (never fewer than the solver placed). */
function topUp(p: OptProblem, placed: OptPlacement[]): OptPlacement[] {
  const states = new Map(p.gpus.map((g) => [g.id, new GpuState(g)]));
  const book = new NodeBook(p.requests);
  for (const x of placed) {
    const s = states.get(x.gpu)!;
    s.place(x.vmid, s.gpu.types.find((t) => t.type === x.type)!);
    book.add(x.vmid, s.gpu.host);
  }
  const done = new Set(placed.map((x) => x.vmid));
  const out = [...placed];
  const failed = new Set<string>();
  for (const r of p.requests) {
    if (done.has(r.vmid)) continue;
    // a request like one that found no room finds none either (no pin, no anti-affinity)
    const plain = r.gpu === undefined && !r.notWith?.length && !r.current;
    const sig = plain ? `${r.host ?? ""}|${acceptedSignature(p, r)}` : null;
    if (sig !== null && failed.has(sig)) continue;
    if (sig !== null) failed.add(sig);
    for (const s of states.values()) {
      const t = book.allows(r.vmid, s.gpu.host) ? s.typeFor(r) : null;
      if (!t) continue;
      s.place(r.vmid, t);
      book.add(r.vmid, s.gpu.host);
      out.push({ vmid: r.vmid, gpu: s.gpu.id, type: t.type });
      if (sig !== null) failed.delete(sig);
      break;
    }
  }
  return out;
}

/** Reasons for the requests left out (computed once per kind of plain request). */
function reasons(p: OptProblem, placed: OptPlacement[], done: Set<number>): SolveResult["unplaced"] {
  const memo = new Map<string, string>();
  return p.requests
    .filter((r) => !done.has(r.vmid))
    .map((r) => {
      const plain = r.gpu === undefined && !r.notWith?.length;
      const sig = plain
        ? `${r.host ?? ""}|${r.type ?? ""}|${r.minMiB ?? ""}|${r.series ?? ""}|${r.anyOf?.join(",") ?? ""}`
        : null;
      const reason = (sig !== null ? memo.get(sig) : undefined) ?? unplacedReason(p, r, placed);
      if (sig !== null) memo.set(sig, reason);
      return { vmid: r.vmid, reason };
    });
}

function gpusUsed(p: OptProblem, placed: OptPlacement[]): number {
  const used = new Set(placed.map((x) => x.gpu));
  for (const g of p.gpus as OptGpu[]) if (g.fixed.length > 0) used.add(g.id);
  return used.size;
}
