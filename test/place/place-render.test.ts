/**
 * `vgpuctl place` text summary (src/cli/commands/place.ts renderPlace): "optimal" only when both the count
 * placed and the GPU count are proven; an exact count without the GPU count proven says so.
 */
import { describe, expect, it } from "vitest";
import { renderPlace } from "../../src/cli/commands/place.ts";
import { colorsFor } from "../../src/cli/output.ts";
import type { PlaceJson } from "../../src/commands/place.ts";

const plain = colorsFor({ isTTY: false }, {}, false);
const result = (over: Partial<PlaceJson>): PlaceJson => ({
  placed: [{ vmid: 100, host: "pve1", gpu: "0000:41:00.0", type: "nvidia-257", name: "GRID RTX6000-4Q" }],
  unplaced: [],
  gpusUsed: 1,
  bound: 1,
  method: "exact",
  gpusProven: true,
  ...over,
});

describe("place summary line", () => {
  it("says optimal when the count placed and the GPUs used are both proven", () => {
    const text = renderPlace(result({}), plain);
    expect(text).toMatch(/1 placed \(at most 1 can be\), 0 not, on 1 GPU\(s\) — optimal/);
  });

  it("says the GPU count is not proven when only the count placed is", () => {
    const text = renderPlace(result({ gpusProven: false }), plain);
    expect(text).toContain("— most VMs placed (proven); fewer GPUs not ruled out within the time limit");
    expect(text).not.toContain("optimal");
  });
});
