/**
 * Placement as an optimisation (issue 15): property-based checks over generated cluster inventories
 * (opt-gen.ts: types, sizes and limits from the NVIDIA type table). Invariants, never timings.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { greedy } from "../../src/place/opt/greedy.ts";
import type { OptProblem } from "../../src/place/opt/problem.ts";
import { solvePlacement } from "../../src/place/opt/solve.ts";
import { placementProblems } from "../../src/place/opt/state.ts";
import { preferSmallerTypes } from "../../src/place/opt/tiebreak.ts";
import { bruteForceOptimum } from "./opt-brute.ts";
import { BOARDS, boardGpu, generate } from "./opt-gen.ts";

const small = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  gpus: fc.integer({ min: 1, max: 3 }),
  vms: fc.integer({ min: 1, max: 9 }),
  perHost: fc.integer({ min: 1, max: 2 }),
  rule: fc.constantFrom("one-size" as const, "one-type" as const),
  pinned: fc.constantFrom(0, 0.3),
});

interface Small {
  seed: number;
  gpus: number;
  vms: number;
  perHost: number;
  rule: "one-size" | "one-type";
  pinned: number;
}

function smallProblem(o: Small): OptProblem {
  // small boards keep the exhaustive search small: P4 (8 GB), T4 (16 GB), A16 (16 GB, 16 VFs)
  const boards = BOARDS.filter((b) => ["Tesla P4", "Tesla T4", "NVIDIA A16"].includes(b.model));
  return generate({ ...o, boards, rules: [o.rule] });
}

describe("solvePlacement on generated inventories", () => {
  it("every placement keeps the rules (sharing key, max instances, offered types, VRAM, VFs, pins, notWith)", async () => {
    await fc.assert(
      fc.asyncProperty(small, async (o) => {
        const p = smallProblem(o);
        const r = await solvePlacement(p);
        expect(placementProblems(p, r.placed)).toEqual([]);
        expect(r.placed.length + r.unplaced.length).toBe(p.requests.length);
      }),
      { numRuns: 40 },
    );
  });

  it("never places fewer VMs than first-fit, and never more than its proven bound", async () => {
    await fc.assert(
      fc.asyncProperty(small, async (o) => {
        const p = smallProblem(o);
        const r = await solvePlacement(p);
        expect(r.placed.length).toBeGreaterThanOrEqual(greedy(p, "first-fit").placed.length);
        expect(r.placed.length).toBeLessThanOrEqual(r.bound);
      }),
      { numRuns: 40 },
    );
  });

  it("places at least 99 % of the optimum an exhaustive search finds on small instances", async () => {
    await fc.assert(
      fc.asyncProperty(small, async (o) => {
        const p = smallProblem({ ...o, pinned: 0 });
        const best = bruteForceOptimum(p);
        const r = await solvePlacement(p);
        expect(r.placed.length).toBeGreaterThanOrEqual(Math.ceil(0.99 * best));
        expect(r.bound).toBeGreaterThanOrEqual(best);
      }),
      { numRuns: 30 },
    );
  });

  it("the heuristic fallback is valid and never below first-fit", async () => {
    await fc.assert(
      fc.asyncProperty(small, async (o) => {
        const p = smallProblem(o);
        const r = await solvePlacement(p, { solver: "heuristic" });
        expect(placementProblems(p, r.placed)).toEqual([]);
        expect(r.placed.length).toBeGreaterThanOrEqual(greedy(p, "first-fit").placed.length);
        expect(r.method).toBe("heuristic");
      }),
      { numRuns: 30 },
    );
  });

  it("a request no GPU can take is reported unplaced with a reason", async () => {
    await fc.assert(
      fc.asyncProperty(small, async (o) => {
        const p = smallProblem(o);
        p.requests.push({ vmid: 99_999, type: "NVIDIA L40S-48Q" }); // no L40S in these inventories
        const r = await solvePlacement(p);
        const u = r.unplaced.find((x) => x.vmid === 99_999);
        expect(u?.reason).toMatch(/no GPU .*offers NVIDIA L40S-48Q/);
      }),
      { numRuns: 15 },
    );
  });
});

describe("solvePlacement, worked cases", () => {
  const a16 = BOARDS.find((b) => b.model === "NVIDIA A16")!;

  it("packs by size class: 4 × 4Q and 4 × 8Q on two A16 GPUs of 16 GB use one size each", async () => {
    const p: OptProblem = {
      gpus: [boardGpu(a16, "pve1", 0), boardGpu(a16, "pve1", 1)],
      requests: [
        ...[100, 101, 102, 103].map((vmid) => ({ vmid, type: "NVIDIA A16-4Q" })),
        ...[104, 105].map((vmid) => ({ vmid, type: "NVIDIA A16-8Q" })),
      ],
    };
    const r = await solvePlacement(p);
    expect(r.placed).toHaveLength(6);
    const gpuOf = (vmid: number) => r.placed.find((x) => x.vmid === vmid)!.gpu;
    expect(new Set([100, 101, 102, 103].map(gpuOf)).size).toBe(1);
    expect(gpuOf(104)).not.toBe(gpuOf(100));
    expect(r.method).toBe("exact");
  });

  it("types of one size share a GPU in equal-size mode (2B beside 2Q), not under the one-type rule", async () => {
    const mk = (rule: "one-size" | "one-type"): OptProblem => ({
      gpus: [boardGpu(a16, "pve1", 0, rule)],
      requests: [
        { vmid: 100, type: "NVIDIA A16-2Q" },
        { vmid: 101, type: "NVIDIA A16-2B" },
      ],
    });
    expect((await solvePlacement(mk("one-size"))).placed).toHaveLength(2);
    expect((await solvePlacement(mk("one-type"))).placed).toHaveLength(1);
  });

  it("mixed-size mode: a 24Q and two 12Q share one 48 GB L40S; in equal-size mode only one size fits", async () => {
    const l40s = BOARDS.find((b) => b.model === "NVIDIA L40S")!;
    const mk = (rule: "one-size" | "mixed-sizes"): OptProblem => ({
      gpus: [boardGpu(l40s, "pve1", 0, rule)],
      requests: [
        { vmid: 100, type: "NVIDIA L40S-24Q" },
        { vmid: 101, type: "NVIDIA L40S-24Q" },
        { vmid: 102, type: "NVIDIA L40S-12Q" },
        { vmid: 103, type: "NVIDIA L40S-12Q" },
      ],
    });
    const mixed = await solvePlacement(mk("mixed-sizes"));
    // 24 + 12 + 12 = 48 GB is the only way to three: the VRAM decides
    expect(mixed.placed.map((x) => x.vmid).sort()).toHaveLength(3);
    expect(new Set(mixed.placed.map((x) => x.type)).size).toBe(2);
    expect(placementProblems(mk("mixed-sizes"), mixed.placed)).toEqual([]);
    expect(mixed.unplaced[0]!.reason).toMatch(/VRAM and instance limits/);
    const equal = await solvePlacement(mk("one-size"));
    expect(equal.placed).toHaveLength(2);
    expect(new Set(equal.placed.map((x) => x.type)).size).toBe(1);
  });

  it("anti-affinity: notWith VMs land on different nodes, and the loser's reason names it", async () => {
    const p: OptProblem = {
      gpus: [boardGpu(a16, "pve1", 0)],
      requests: [
        { vmid: 100, type: "NVIDIA A16-4Q", notWith: [101] },
        { vmid: 101, type: "NVIDIA A16-4Q" },
      ],
    };
    const r = await solvePlacement(p);
    expect(r.placed).toHaveLength(1);
    expect(r.unplaced[0]!.reason).toMatch(/must not share a node/);
    p.gpus.push(boardGpu(a16, "pve2", 0));
    const r2 = await solvePlacement(p);
    expect(r2.placed).toHaveLength(2);
    expect(new Set(r2.placed.map((x) => x.gpu.split("/")[0])).size).toBe(2);
  });

  it("a VM that already has a vGPU stays; with rebalance it moves only when that places more", async () => {
    const p: OptProblem = {
      gpus: [boardGpu(a16, "pve1", 0), boardGpu(a16, "pve1", 1)],
      requests: [
        { vmid: 100, type: "NVIDIA A16-16Q", current: { gpu: "pve1/0000:11:00.0", type: "nvidia-715" } },
        { vmid: 101, type: "NVIDIA A16-16Q" },
      ],
    };
    const r = await solvePlacement(p);
    expect(r.placed.find((x) => x.vmid === 100)!.gpu).toBe("pve1/0000:11:00.0");
    const moved = await solvePlacement(p, { rebalance: true });
    expect(moved.placed.find((x) => x.vmid === 100)!.gpu).toBe("pve1/0000:11:00.0");
    expect(moved.placed).toHaveLength(2);
  });

  it("tie-break: a VRAM request gets the smallest type that satisfies it (one 4 GB request on an A16 → A16-4Q)", async () => {
    const p: OptProblem = {
      gpus: [boardGpu(a16, "pve1", 0)],
      requests: [
        { vmid: 100, minMiB: 4096, series: "Q" },
        { vmid: 101, minMiB: 3000, series: "Q" },
      ],
    };
    const r = await solvePlacement(p);
    expect(r.placed.map((x) => x.type)).toEqual(["nvidia-713", "nvidia-713"]);
    expect(r.gpusUsed).toBe(1);
  });

  it("tie-break: a larger type when it saves a GPU (a 4 GB request joins an 8Q GPU on a full one-GPU node)", async () => {
    const p: OptProblem = {
      gpus: [boardGpu(a16, "pve1", 0)],
      requests: [
        { vmid: 100, type: "NVIDIA A16-8Q" },
        { vmid: 101, minMiB: 4096, series: "Q" },
      ],
    };
    const r = await solvePlacement(p);
    expect(r.placed).toHaveLength(2);
    expect(r.placed.find((x) => x.vmid === 101)!.type).toBe("nvidia-714");
  });

  it("tie-break step by step: a 16Q chosen for a 4 GB request becomes 4Q; a VM moves to a used smaller-size GPU", () => {
    const p: OptProblem = {
      gpus: [boardGpu(a16, "pve1", 0), boardGpu(a16, "pve1", 1)],
      requests: [
        { vmid: 100, minMiB: 4096, series: "Q" },
        { vmid: 101, type: "NVIDIA A16-4Q" },
      ],
    };
    const before = [
      { vmid: 100, gpu: "pve1/0000:10:00.0", type: "nvidia-715" },
      { vmid: 101, gpu: "pve1/0000:11:00.0", type: "nvidia-713" },
    ];
    const after = preferSmallerTypes(p, before);
    expect(placementProblems(p, after)).toEqual([]);
    // 100 moves beside 101 (a 4 GB GPU in use has room): one GPU fewer
    expect(after.find((x) => x.vmid === 100)).toEqual({
      vmid: 100,
      gpu: "pve1/0000:11:00.0",
      type: "nvidia-713",
    });
    const alone = preferSmallerTypes(p, [{ vmid: 100, gpu: "pve1/0000:10:00.0", type: "nvidia-715" }]);
    expect(alone).toEqual([{ vmid: 100, gpu: "pve1/0000:10:00.0", type: "nvidia-713" }]);
  });
});
