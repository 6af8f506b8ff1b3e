/**
 * The exact model, as an integer program in CPLEX LP text for HiGHS:
 *   y[c,k]  GPUs of class c given sharing key k (0…|c|); Σ_k y[c,k] ≤ |c|
 *   u[c]    a mixed-size GPU is used (binary)
 *   x[g,c,k] VMs of group g on class c with key k (mixed-size: k = a type); Σ_g x[g,c,k] ≤ cap(c,k)·y[c,k]
 *   mixed-size GPU: Σ fb·x ≤ free VRAM·u, Σ x ≤ free slots·u, per type Σ x ≤ its maximum left
 *   x[g,c,k] ≤ |g|·y[c,k] when |g| < cap (implied for integers; tightens the relaxation)
 *   Σ_{c,k} x[g,c,k] ≤ |g|;  notWith a b, per node: x[a on node] + x[b on node] ≤ 1
 * Objective: VMs placed (Σx). The other two goals (fewest GPUs newly used, then most VMs kept where they
 * are) are a second solve over the same rows (stages.ts); `gpuCols` and `stayCols` name their columns.
 * One weighted objective (P·placed − S·GPUs + stays) was measured 3–25× slower: HiGHS found the optimum
 * at the root but then spent seconds proving the GPU-count part. Pure.
 */
import type { GpuClass, ReqGroup } from "./classes.ts";
import { groupFits } from "./classes.ts";
import { accepts, allowedOn, keyOf, type OptProblem } from "./problem.ts";

export interface XVar {
  name: string;
  group: number;
  cls: number;
  /** sharing key, or the type on a mixed-size GPU */
  key: string;
  /** mixed-size: the type */
  type: string | null;
}

export interface MipModel {
  text: string;
  xs: XVar[];
  /** y / u columns: class → key → name (mixed: key "") */
  ys: Map<number, Map<string, string>>;
  /** columns counting GPUs newly used: y / u of classes with nothing on them yet */
  gpuCols: string[];
  /**
   * where GPUs newly used come from: per class with nothing on it yet and key, its x columns and what one
   * GPU holds (null: a mixed-size GPU, used when any x is) — decodeMip fills each key's GPUs in turn, so
   * X VMs there take ⌈X / cap⌉ GPUs
   */
  newGpuCells: Array<{ xs: string[]; cap: number | null }>;
  /** x columns that keep a VM on the GPU and key (or type) it has now */
  stayCols: string[];
}

class Lines {
  readonly rows: string[] = [];
  private n = 0;
  add(terms: string[], rhs: string): void {
    if (terms.length === 0) return;
    const body: string[] = [];
    for (let i = 0; i < terms.length; i += 40) body.push(terms.slice(i, i + 40).join(" "));
    this.rows.push(` r${this.n++}: ${body.join("\n   ")} ${rhs}`);
  }
}

const term = (coef: number, v: string, first = false) =>
  coef < 0 ? `- ${-coef} ${v}` : `${first ? "" : "+ "}${coef} ${v}`;

/** Build the model (objective: VMs placed); `relax`: no integrality (the LP relaxation, for a bound). */
export function buildMip(p: OptProblem, classes: GpuClass[], groups: ReqGroup[], relax = false): MipModel {
  const xs: XVar[] = [];
  const ys = new Map<number, Map<string, string>>();
  const rows = new Lines();
  const bounds: string[] = [];
  classes.forEach((c, ci) => {
    const m = new Map<string, string>();
    ys.set(ci, m);
    if (c.mixed) {
      m.set("", `u${ci}`);
      bounds.push(c.inUse ? ` u${ci} = 1` : ` 0 <= u${ci} <= 1`);
      addMixedVars(c, ci, groups, xs);
      return;
    }
    for (const [k] of c.caps) {
      const name = `y${ci}_${m.size}`;
      m.set(k, name);
      bounds.push(` 0 <= ${name} <= ${c.gpus.length}`);
      groups.forEach((g, gi) => {
        if (groupFits(g, c, k)) xs.push({ name: `x${xs.length}`, group: gi, cls: ci, key: k, type: null });
      });
    }
    rows.add(
      [...m.values()].map((y, i) => term(1, y, i === 0)),
      `<= ${c.gpus.length}`,
    );
  });
  addCapacityRows(classes, xs, ys, rows);
  addSmallGroupRows(classes, groups, xs, ys, rows);
  addGroupRows(groups, xs, rows);
  addNotWithRows(p, classes, groups, xs, rows);
  const objective = xs.map((x, i) => term(1, x.name, i === 0));
  const ints = relax ? [] : [...[...ys.values()].flatMap((m) => [...m.values()]), ...xs.map((x) => x.name)];
  const text = [
    "Maximize",
    ` obj: ${objective.length ? objective.join(" ") : "0 x_none"}`,
    "Subject To",
    ...(rows.rows.length ? rows.rows : [" r_none: x_none >= 0"]),
    "Bounds",
    ...bounds,
    ...(objective.length ? [] : [" x_none = 0"]),
    ...(ints.length ? ["General", ` ${ints.join(" ")}`] : []),
    "End",
  ].join("\n");
  return {
    text,
    xs,
    ys,
    newGpuCells: newGpuCells(classes, xs),
    gpuCols: gpuColumns(classes, ys),
    stayCols: stayColumns(p, classes, groups, xs),
  };
}

function addMixedVars(c: GpuClass, ci: number, groups: ReqGroup[], xs: XVar[]): void {
  const g0 = c.gpus[0]!;
  groups.forEach((g, gi) => {
    const r = g.requests[0]!;
    if (!allowedOn(r, g0)) return;
    for (const t of g0.types)
      if (accepts(r, t)) xs.push({ name: `x${xs.length}`, group: gi, cls: ci, key: t.type, type: t.type });
  });
}

function addCapacityRows(classes: GpuClass[], xs: XVar[], ys: MipModel["ys"], rows: Lines): void {
  const byCell = new Map<string, XVar[]>();
  for (const x of xs) {
    const k = `${x.cls}\u0000${classes[x.cls]!.mixed ? "" : x.key}`;
    if (!byCell.has(k)) byCell.set(k, []);
    byCell.get(k)!.push(x);
  }
  for (const [cell, vars] of byCell) {
    const [ci, key] = cell.split("\u0000") as [string, string];
    const c = classes[Number(ci)]!;
    const y = ys.get(Number(ci))!.get(key)!;
    if (!c.mixed) {
      rows.add([...vars.map((x, i) => term(1, x.name, i === 0)), term(-c.caps.get(key)!, y)], "<= 0");
      continue;
    }
    const g = c.gpus[0]!;
    const used = g.fixed.reduce((n, f) => n + f.fbMiB, 0);
    const fb = (x: XVar) => g.types.find((t) => t.type === x.type)!.fbMiB;
    rows.add([...vars.map((x, i) => term(fb(x), x.name, i === 0)), term(-(g.vramMiB - used), y)], "<= 0");
    if (g.slots !== null)
      rows.add(
        [...vars.map((x, i) => term(1, x.name, i === 0)), term(-(g.slots - g.fixed.length), y)],
        "<= 0",
      );
    for (const t of g.types) {
      const mine = vars.filter((x) => x.type === t.type);
      const left = t.maxInstances - g.fixed.filter((f) => f.type === t.type).length;
      rows.add(
        mine.map((x, i) => term(1, x.name, i === 0)),
        `<= ${Math.max(0, left)}`,
      );
    }
  }
}

/**
 * A group smaller than a GPU's capacity fills at most its own size of each GPU given that key:
 * x[g,c,k] ≤ |g|·y[c,k]. Implied for integers, it cuts off LP answers that spread a few VMs over a
 * fraction of a GPU — a tighter relaxation, so the solver proves the optimum sooner (and lpBound is lower).
 */
function addSmallGroupRows(
  classes: GpuClass[],
  groups: ReqGroup[],
  xs: XVar[],
  ys: MipModel["ys"],
  rows: Lines,
): void {
  for (const x of xs) {
    const c = classes[x.cls]!;
    if (c.mixed) continue;
    const cap = c.caps.get(x.key)!;
    const size = groups[x.group]!.requests.length;
    if (size < cap) rows.add([term(1, x.name, true), term(-size, ys.get(x.cls)!.get(x.key)!)], "<= 0");
  }
}

function addGroupRows(groups: ReqGroup[], xs: XVar[], rows: Lines): void {
  const byGroup = new Map<number, XVar[]>();
  for (const x of xs) {
    if (!byGroup.has(x.group)) byGroup.set(x.group, []);
    byGroup.get(x.group)!.push(x);
  }
  for (const [gi, vars] of byGroup)
    rows.add(
      vars.map((x, i) => term(1, x.name, i === 0)),
      `<= ${groups[gi]!.requests.length}`,
    );
}

function addNotWithRows(
  p: OptProblem,
  classes: GpuClass[],
  groups: ReqGroup[],
  xs: XVar[],
  rows: Lines,
): void {
  const groupOf = new Map<number, number>();
  groups.forEach((g, gi) => {
    if (g.requests.length === 1) groupOf.set(g.requests[0]!.vmid, gi);
  });
  const hosts = [...new Set(p.gpus.map((g) => g.host))];
  for (const r of p.requests)
    for (const o of r.notWith ?? []) {
      const a = groupOf.get(r.vmid);
      const b = groupOf.get(o);
      if (a === undefined || b === undefined || a === b) continue;
      for (const h of hosts) {
        const on = xs.filter((x) => (x.group === a || x.group === b) && classes[x.cls]!.gpus[0]!.host === h);
        if (on.length > 1)
          rows.add(
            on.map((x, i) => term(1, x.name, i === 0)),
            "<= 1",
          );
      }
    }
}

function newGpuCells(classes: GpuClass[], xs: XVar[]): MipModel["newGpuCells"] {
  const cells = new Map<string, { xs: string[]; cap: number | null }>();
  for (const x of xs) {
    const c = classes[x.cls]!;
    if (c.inUse) continue;
    const k = `${x.cls}\u0000${c.mixed ? "" : x.key}`;
    if (!cells.has(k)) cells.set(k, { xs: [], cap: c.mixed ? null : c.caps.get(x.key)! });
    cells.get(k)!.xs.push(x.name);
  }
  return [...cells.values()];
}

function gpuColumns(classes: GpuClass[], ys: MipModel["ys"]): string[] {
  return classes.flatMap((c, ci) => (c.inUse ? [] : [...ys.get(ci)!.values()]));
}

function stayColumns(p: OptProblem, classes: GpuClass[], groups: ReqGroup[], xs: XVar[]): string[] {
  if (!p.requests.some((r) => r.current != null)) return [];
  return xs
    .filter((x) => {
      const cur = groups[x.group]!.requests[0]!.current;
      const g = classes[x.cls]!.gpus[0]!;
      return cur != null && (cur.gpu === g.id || cur.gpu === g.address) && sameKey(g, cur.type, x);
    })
    .map((x) => x.name);
}

function sameKey(g: GpuClass["gpus"][number], type: string, x: XVar): boolean {
  if (x.type !== null) return x.type === type;
  const t = g.types.find((q) => q.type === type);
  return t !== undefined && keyOf(g, t) === x.key;
}
