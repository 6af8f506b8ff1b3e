/**
 * The vms: split on many GPUs (issue 15): with 16 identical cards the combinations of candidate types
 * (4^16) are far too many to try, and the optimiser (src/place/split-opt.ts) chooses the type per GPU.
 * Model: sim scenario seed-configured (RTX 2080 Ti as RTX 6000, 11 GiB; RTX6000-1Q…4Q = nvidia-256…259,
 * seed guide lines 308-319), cloned to 16 GPUs; the exact optimum is computed by hand in each test.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runInspect } from "../../src/commands/inspect.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { buildPlacementModel, type PlacementModel } from "../../src/place/index.ts";
import { loadHighs } from "../../src/place/opt/highs.ts";
import { planSplit, type SplitRequest } from "../../src/place/split.ts";

let base: PlacementModel;

beforeAll(async () => {
  const host = SimHost.fromState(buildScenarioState("seed-configured"));
  const { report, facts } = await runInspect({}, { host });
  base = buildPlacementModel(report, facts);
  await loadHighs();
});

/** 16 copies of the seed GPU (0000:01:00.0 … 0000:10:00.0) and Linux VMs 100 … 100+vms-1. */
function model(gpus: number, vms: number): PlacementModel {
  const card = base.gpus[0]!;
  const addresses = Array.from(
    { length: gpus },
    (_, i) => `0000:${(i + 1).toString(16).padStart(2, "0")}:00.0`,
  );
  const vm0 = base.vms[1]!; // VM 101, ubuntu on i440fx, no vGPU
  return {
    ...structuredClone(base),
    gpus: addresses.map((address) => ({ ...structuredClone(card), address, parents: [address] })),
    vms: Array.from({ length: vms }, (_, i) => ({
      ...structuredClone(vm0),
      vmid: 100 + i,
      name: `vm${100 + i}`,
    })),
  };
}

describe("planSplit on 16 GPUs", () => {
  it("packs four sizes onto 16 cards: every VM placed when the optimum places all", () => {
    // per 11 GiB card: 8 × 1Q (max 24, VRAM 11) → 11; 2Q → 5; 3Q → 3; 4Q → 2.
    // 40 × 1Q (4 cards), 20 × 2Q (4 cards), 9 × 3Q (3 cards), 8 × 4Q (4 cards) = 15 cards ≤ 16
    const types = [
      ...Array(40).fill("nvidia-256"),
      ...Array(20).fill("nvidia-257"),
      ...Array(9).fill("nvidia-258"),
      ...Array(8).fill("nvidia-259"),
    ];
    const reqs: SplitRequest[] = types.map((type, i) => ({ vmid: 100 + i, type }));
    const r = planSplit(model(16, types.length), reqs);
    expect(r.unplaced).toEqual([]);
    expect(r.placements).toHaveLength(77);
    for (const g of r.gpus)
      expect(
        new Set(g.vms.map((v) => r.placements.find((p) => p.vmid === v.vmid)!.type)).size,
      ).toBeLessThanOrEqual(1);
  });
});
