/**
 * From the integer program's numbers (GPUs per class and key, VMs per group, class and key) to concrete
 * placements: each class's GPUs take their keys in address order, and each VM goes to the first of them
 * with room, as the type its request takes under that key. Pure.
 */
import type { GpuClass, ReqGroup } from "./classes.ts";
import type { MipModel, XVar } from "./mip.ts";
import { accepts, keyOf, type OptPlacement, type OptRequest, type OptType } from "./problem.ts";
import type { GpuState } from "./state.ts";

export function decodeMip(
  model: MipModel,
  values: (name: string) => number,
  classes: GpuClass[],
  groups: ReqGroup[],
  states: Map<string, GpuState>,
): OptPlacement[] {
  const cursor = groups.map(() => 0);
  const next = (gi: number): OptRequest | null => groups[gi]!.requests[cursor[gi]!++] ?? null;
  const placed: OptPlacement[] = [];
  const byClass = new Map<number, XVar[]>();
  for (const x of model.xs) {
    if (Math.round(values(x.name)) <= 0) continue;
    if (!byClass.has(x.cls)) byClass.set(x.cls, []);
    byClass.get(x.cls)!.push(x);
  }
  for (const [ci, vars] of byClass) {
    const c = classes[ci]!;
    const gpusFor = keyedGpus(c, model.ys.get(ci)!, values, states);
    for (const x of vars) {
      const pool = c.mixed ? [states.get(c.gpus[0]!.id)!] : (gpusFor.get(x.key) ?? []);
      for (let n = Math.round(values(x.name)); n > 0; n--) {
        const r = next(x.group);
        if (!r) break;
        const spot = firstRoom(r, pool, x);
        if (!spot) continue;
        spot.s.place(r.vmid, spot.t);
        placed.push({ vmid: r.vmid, gpu: spot.s.gpu.id, type: spot.t.type });
      }
    }
  }
  return placed;
}

/** Which GPUs of a class carry which key: y[c,k] of them, in address order. */
function keyedGpus(
  c: GpuClass,
  ys: Map<string, string>,
  values: (name: string) => number,
  states: Map<string, GpuState>,
): Map<string, GpuState[]> {
  const out = new Map<string, GpuState[]>();
  if (c.mixed) return out;
  const free = c.gpus.map((g) => states.get(g.id)!);
  let i = 0;
  for (const [key, y] of ys) {
    const n = Math.round(values(y));
    out.set(key, free.slice(i, i + n));
    i += n;
  }
  return out;
}

function firstRoom(r: OptRequest, pool: GpuState[], x: XVar): { s: GpuState; t: OptType } | null {
  for (const s of pool) {
    if (s.closed) continue; // full: nothing fits (spares sorting types on every full GPU of a pool)
    const g = s.gpu;
    const ts = g.types
      .filter((t) => (x.type !== null ? t.type === x.type : keyOf(g, t) === x.key) && accepts(r, t))
      .sort((a, b) => stayRank(r, g.id, a) - stayRank(r, g.id, b) || a.fbMiB - b.fbMiB);
    const t = ts.find((q) => s.fits(q));
    if (t) return { s, t };
  }
  return null;
}

function stayRank(r: OptRequest, gpu: string, t: OptType): number {
  return r.current && r.current.gpu === gpu && r.current.type === t.type ? 0 : 1;
}
