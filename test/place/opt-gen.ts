/**
 * Generated cluster inventories and vGPU requests for the placement optimiser's property tests and for
 * bench/placement.ts. GPU types, framebuffer sizes and maximum instances come from the vGPU type table
 * (src/knowledge/data/vgpu-types.csv, NVIDIA vgpuConfig.xml — see SOURCES.md there); VRAM is each
 * board's vGPU budget (largest size × its max instances); SR-IOV boards get their VF counts
 * (A16: 16 per GPU, A40/L4/L40S: 32 — `sriov_totalvfs`, research/proxmox.md §1).
 */
import { typesForBoard } from "../../src/knowledge/vgpu-types.ts";
import type { SharingRule } from "../../src/place/model.ts";
import type { OptGpu, OptProblem, OptRequest, OptType } from "../../src/place/opt/problem.ts";

export interface BoardModel {
  model: string;
  deviceId: string;
  subsystemId: string | null;
  slots: number | null;
}

export const BOARDS: BoardModel[] = [
  { model: "Tesla P4", deviceId: "1bb3", subsystemId: null, slots: null },
  { model: "Tesla P40", deviceId: "1b38", subsystemId: null, slots: null },
  { model: "Tesla T4", deviceId: "1eb8", subsystemId: null, slots: null },
  { model: "Quadro RTX 6000", deviceId: "1e30", subsystemId: "12ba", slots: null },
  { model: "NVIDIA A16", deviceId: "25b6", subsystemId: "14a9", slots: 16 },
  { model: "NVIDIA A40", deviceId: "2235", subsystemId: null, slots: 32 },
  { model: "NVIDIA L4", deviceId: "27b8", subsystemId: null, slots: 32 },
  { model: "NVIDIA L40S", deviceId: "26b9", subsystemId: null, slots: 32 },
];

/** mulberry32: a small seeded PRNG, so every generated instance can be made again. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPE_CACHE = new Map<string, OptType[]>();

/** The Q/B/A types a board offers (C types left out: compute only), from the type table. */
export function boardTypes(b: BoardModel): OptType[] {
  const hit = TYPE_CACHE.get(b.model);
  if (hit) return hit;
  const types = typesForBoard(b.deviceId, b.subsystemId)
    .filter((t) => t.maxInstances !== null && t.profileMiB > 0 && /-\d+[QBA]$/.test(t.name))
    .map((t) => ({
      type: t.type,
      name: t.name,
      series: t.name.slice(-1) as OptType["series"],
      fbMiB: t.profileMiB,
      maxInstances: t.maxInstances!,
    }));
  TYPE_CACHE.set(b.model, types);
  return types;
}

export function boardGpu(b: BoardModel, host: string, i: number, rule: SharingRule = "one-size"): OptGpu {
  const types = boardTypes(b);
  const vram = Math.max(...types.map((t) => t.fbMiB * t.maxInstances));
  const address = `0000:${(0x10 + i).toString(16).padStart(2, "0")}:00.0`;
  return {
    id: `${host}/${address}`,
    host,
    address,
    model: b.model,
    vramMiB: vram,
    rule,
    types,
    slots: b.slots,
    fixed: [],
  };
}

export interface GenOptions {
  vms: number;
  gpus: number;
  seed: number;
  /** GPUs per node (default 8) */
  perHost?: number;
  /** boards to draw from (default all) */
  boards?: BoardModel[];
  /** share of requests pinned to a node / with a notWith partner (default 0) */
  pinned?: number;
  rules?: SharingRule[];
}

/** A cluster of `gpus` GPUs (whole nodes of one board each) and `vms` requests over its types. */
export function generate(o: GenOptions): OptProblem {
  const rand = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const boards = o.boards ?? BOARDS;
  const perHost = o.perHost ?? 8;
  const gpus: OptGpu[] = [];
  let board = pick(boards);
  for (let i = 0; i < o.gpus; i++) {
    const host = `pve${Math.floor(i / perHost) + 1}`;
    if (i % perHost === 0) board = pick(boards);
    gpus.push(boardGpu(board, host, i % perHost, pick(o.rules ?? ["one-size"])));
  }
  const present = [...new Set(gpus.map((g) => g.model))].map((m) => boards.find((b) => b.model === m)!);
  const hosts = [...new Set(gpus.map((g) => g.host))];
  const requests: OptRequest[] = [];
  for (let i = 0; i < o.vms; i++) {
    const vmid = 100 + i;
    const types = boardTypes(pick(present)).filter((t) => t.fbMiB <= 16384);
    const t = pick(types);
    const r: OptRequest =
      rand() < 0.6
        ? { vmid, type: rand() < 0.5 ? t.type : t.name! }
        : { vmid, minMiB: t.fbMiB, series: t.series ?? "Q" };
    if (rand() < (o.pinned ?? 0)) r.host = pick(hosts);
    if (i > 0 && rand() < (o.pinned ?? 0)) r.notWith = [vmid - 1];
    requests.push(r);
  }
  return { gpus, requests };
}
