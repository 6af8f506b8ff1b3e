/**
 * What a GPU carries while a placement is built or checked, and the rule that decides whether one more
 * vGPU fits: the sharing rule's key, the type's maximum instances, the VRAM, the SR-IOV slots. Pure.
 */
import {
  acceptedTypes,
  accepts,
  allowedOn,
  capacityOf,
  keyOf,
  type OptGpu,
  type OptPlacement,
  type OptProblem,
  type OptRequest,
  type OptType,
} from "./problem.ts";

export class GpuState {
  /** the sharing key it carries (undefined = empty; null = mixed-size GPU with vGPUs) */
  key: string | null | undefined;
  count = 0;
  usedMiB = 0;
  readonly perType = new Map<string, number>();
  readonly vmids: number[] = [];

  constructor(readonly gpu: OptGpu) {
    for (const f of gpu.fixed) this.add(f.type, f.fbMiB, f.vmid);
  }

  private add(type: string, fbMiB: number, vmid: number | null): void {
    if (this.key === undefined) this.key = keyOf(this.gpu, { type, fbMiB });
    this.count++;
    this.usedMiB += fbMiB;
    this.perType.set(type, (this.perType.get(type) ?? 0) + 1);
    if (vmid !== null) this.vmids.push(vmid);
  }

  /** Nothing more fits (every key full, the VFs or the VRAM used up): greedy scans skip it. */
  closed = false;

  /** Would a vGPU of type `t` fit now? */
  fits(t: OptType): boolean {
    const g = this.gpu;
    if (this.closed || (!g.types.includes(t) && !g.types.some((x) => x.type === t.type))) return false;
    if (this.usedMiB + t.fbMiB > g.vramMiB) return false;
    if (g.slots !== null && this.count + 1 > g.slots) return false;
    if ((this.perType.get(t.type) ?? 0) + 1 > t.maxInstances) return false;
    const key = keyOf(g, t);
    if (key === null) return true;
    if (this.key !== undefined && this.key !== key) return false;
    return this.count + 1 <= capacityOf(g, key);
  }

  /** The type the request would take here now (smallest fitting), null = none. */
  typeFor(r: OptRequest): OptType | null {
    if (!allowedOn(r, this.gpu)) return null;
    for (const t of acceptedTypes(this.gpu.types, r)) if (this.fits(t)) return t;
    return null;
  }

  place(vmid: number, t: OptType): void {
    this.add(t.type, t.fbMiB, vmid);
    this.closed = this.full();
  }

  private full(): boolean {
    const g = this.gpu;
    if (g.slots !== null && this.count >= g.slots) return true;
    if (!g.types.some((t) => t.fbMiB <= this.freeMiB)) return true;
    return typeof this.key === "string" && this.count >= capacityOf(g, this.key);
  }

  get freeMiB(): number {
    return this.gpu.vramMiB - this.usedMiB;
  }
}

/** Anti-affinity bookkeeping: which requested VMs sit on which node. */
export class NodeBook {
  private readonly byHost = new Map<string, Set<number>>();
  private readonly notWith = new Map<number, Set<number>>();

  constructor(requests: readonly OptRequest[]) {
    const link = (a: number, b: number) => {
      if (!this.notWith.has(a)) this.notWith.set(a, new Set());
      this.notWith.get(a)!.add(b);
    };
    for (const r of requests)
      for (const o of r.notWith ?? []) {
        link(r.vmid, o);
        link(o, r.vmid);
      }
  }

  allows(vmid: number, host: string): boolean {
    const avoid = this.notWith.get(vmid);
    if (!avoid) return true;
    const here = this.byHost.get(host);
    return !here || ![...avoid].some((v) => here.has(v));
  }

  add(vmid: number, host: string): void {
    if (!this.byHost.has(host)) this.byHost.set(host, new Set());
    this.byHost.get(host)!.add(vmid);
  }
}

/** Every rule a placement must keep, checked from scratch; [] when valid. */
export function placementProblems(p: OptProblem, placed: readonly OptPlacement[]): string[] {
  const states = new Map(p.gpus.map((g) => [g.id, new GpuState(g)]));
  const reqs = new Map(p.requests.map((r) => [r.vmid, r]));
  const book = new NodeBook(p.requests);
  const out: string[] = [];
  const seen = new Set<number>();
  for (const pl of placed) {
    const r = reqs.get(pl.vmid);
    const s = states.get(pl.gpu);
    const t = s?.gpu.types.find((x) => x.type === pl.type);
    if (!r || !s || !t) {
      out.push(`VM ${pl.vmid}: unknown request, GPU or type (${pl.gpu} ${pl.type})`);
      continue;
    }
    if (seen.has(pl.vmid)) out.push(`VM ${pl.vmid} placed twice`);
    seen.add(pl.vmid);
    if (!accepts(r, t)) out.push(`VM ${pl.vmid}: ${pl.type} is not what it asked for`);
    if (!allowedOn(r, s.gpu)) out.push(`VM ${pl.vmid}: pinned elsewhere`);
    if (!s.fits(t)) out.push(`VM ${pl.vmid}: ${pl.type} does not fit on ${pl.gpu}`);
    if (!book.allows(pl.vmid, s.gpu.host)) out.push(`VM ${pl.vmid}: shares ${s.gpu.host} with a notWith VM`);
    s.place(pl.vmid, t);
    book.add(pl.vmid, s.gpu.host);
  }
  return out;
}
