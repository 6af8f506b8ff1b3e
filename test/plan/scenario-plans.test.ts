import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { desiredFiles, planOf, SNAPSHOT_DIR, scenarioNames, snapshotName } from "./scenario-plans.ts";

// The stored plans were written by `npx tsx test/plan/scenario-plans.ts --write` (before the planner
// was split into passes); a planner change that alters any of them must be deliberate: re-write them
// and review the diff.
const stored = new Set(readdirSync(SNAPSHOT_DIR));
const cases = scenarioNames().flatMap((s) =>
  desiredFiles()
    .filter((f) => stored.has(snapshotName(s, f)))
    .map((f) => [s, f] as const),
);

describe("plan --json of every simulated scenario × desired file", () => {
  it("covers every example vgpu.yaml and init's file for the built-in scenarios", () => {
    expect(cases.length).toBeGreaterThanOrEqual(4 * 30);
    for (const f of desiredFiles()) expect(cases.some(([, g]) => g === f)).toBe(true);
  });
  it.each(cases)("%s planned with %s is byte-identical to its stored plan", async (scenario, file) => {
    const want = readFileSync(join(SNAPSHOT_DIR, snapshotName(scenario, file)), "utf8");
    expect(await planOf(scenario, file)).toBe(want);
  });
});
