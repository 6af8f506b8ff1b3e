/**
 * When HiGHS cannot load, plan and apply split VMs by the greedy choice — and say so (a plan note)
 * instead of silently placing fewer.
 */
import { describe, expect, it, vi } from "vitest";

vi.mock("../../src/place/opt/highs-wasm.ts", () => ({
  highsWasm: () => {
    throw new Error("highs.wasm: ENOENT (test)");
  },
}));

const { loadedHighs, preloadSolver } = await import("../../src/place/opt/highs.ts");

describe("preloadSolver", () => {
  it("a solver that fails to load gives a note naming why, and the greedy split is used (no instance)", async () => {
    const note = await preloadSolver([{ vms: [{ vmid: 100 }] }]);
    expect(note).toMatch(
      /exact placement solver could not be loaded \(highs\.wasm: ENOENT \(test\)\).*greedy/,
    );
    expect(loadedHighs()).toBeNull();
  });

  it("no VMs to place: nothing is loaded and there is no note", async () => {
    expect(await preloadSolver([{ vms: [] }, {}])).toBeNull();
  });
});
