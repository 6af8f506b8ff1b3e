/**
 * The lexicographic solve in stages (src/place/opt/stages.ts): stage 1 the most VMs placed, stage 2 the
 * fewest GPUs for that many. Checked against an exhaustive search written independently of the model
 * (opt-brute.ts), on generated inventories (opt-gen.ts: types and limits from NVIDIA's type table).
 * Generous time limits where a test needs the proof; invariants only where it does not. Never timings.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { OptProblem } from "../../src/place/opt/problem.ts";
import { solvePlacement } from "../../src/place/opt/solve.ts";
import { placementProblems } from "../../src/place/opt/state.ts";
import { bruteForce } from "./opt-brute.ts";
import { BOARDS, boardGpu, generate } from "./opt-gen.ts";

const SMALL_BOARDS = BOARDS.filter((b) => ["Tesla P4", "Tesla T4", "NVIDIA A16"].includes(b.model));
const PROOF = { timeLimitSec: 60 };

const tiny = (vms: { min: number; max: number }) =>
  fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    gpus: fc.integer({ min: 2, max: 3 }),
    vms: fc.integer(vms),
    rule: fc.constantFrom("one-size" as const, "one-type" as const),
  });

function tinyProblem(o: {
  seed: number;
  gpus: number;
  vms: number;
  rule: "one-size" | "one-type";
}): OptProblem {
  return generate({ ...o, perHost: 2, boards: SMALL_BOARDS, rules: [o.rule] });
}

describe("stage 2: fewest GPUs for the most VMs", () => {
  it("supply-rich (few requests, every one fits): the GPUs used are the fewest an exhaustive search finds", async () => {
    await fc.assert(
      fc.asyncProperty(tiny({ min: 1, max: 4 }), async (o) => {
        const p = tinyProblem(o);
        const best = bruteForce(p);
        const r = await solvePlacement(p, PROOF);
        expect(r.placed).toHaveLength(best.placed);
        expect(r.method).toBe("exact");
        expect(r.gpusProven).toBe(true);
        expect(r.gpusUsed).toBe(best.gpus);
      }),
      { numRuns: 40 },
    );
  });

  it("worked case: three A16-4Q requests on a node of four empty A16 GPUs share one GPU", async () => {
    const a16 = BOARDS.find((b) => b.model === "NVIDIA A16")!;
    const p: OptProblem = {
      gpus: [0, 1, 2, 3].map((i) => boardGpu(a16, "pve1", i)),
      requests: [100, 101, 102].map((vmid) => ({ vmid, type: "NVIDIA A16-4Q" })),
    };
    const r = await solvePlacement(p, PROOF);
    expect(r.placed).toHaveLength(3);
    expect(r.gpusUsed).toBe(1);
    expect(r.gpusProven).toBe(true);
  });
});

describe("stage 1: most VMs placed", () => {
  it("demand-rich (more requests than room): the number placed is the optimum an exhaustive search finds", async () => {
    await fc.assert(
      fc.asyncProperty(tiny({ min: 6, max: 12 }), async (o) => {
        const p = tinyProblem(o);
        const r = await solvePlacement(p, PROOF);
        expect(r.method).toBe("exact");
        expect(r.placed).toHaveLength(bruteForce(p).placed);
        expect(r.bound).toBe(r.placed.length);
      }),
      { numRuns: 30 },
    );
  });

  it("a time-limited run still returns a valid placement, with a bound no lower than the optimum", async () => {
    const p = generate({ vms: 1000, gpus: 100, seed: 1 });
    const limited = await solvePlacement(p, { timeLimitSec: 0.05 });
    expect(placementProblems(p, limited.placed)).toEqual([]);
    expect(limited.placed.length + limited.unplaced.length).toBe(p.requests.length);
    expect(limited.bound).toBeGreaterThanOrEqual(limited.placed.length);
    const full = await solvePlacement(p, { timeLimitSec: 300 });
    expect(full.method).toBe("exact");
    expect(limited.bound).toBeGreaterThanOrEqual(full.placed.length);
    expect(limited.placed.length).toBeLessThanOrEqual(full.placed.length);
  });
});
