// Issue 13 item 1: a failed apply is fixed by editing vgpu.yaml. On resume apply re-plans against the
// host and the current file (the journal says what was done, not what is left).
import { describe, expect, it } from "vitest";
import { StepFailedError } from "../../src/apply/executor.ts";
import { JOURNAL_PATH, type Journal } from "../../src/apply/journal.ts";
import { applyHost } from "../../src/apply/run.ts";
import { exampleEntry, SEED_FRESH_STEPS, simWithDeps } from "../helpers/seed-sim.ts";

const ENTRY = await exampleEntry();

describe("apply resumes from the current plan, not the journal's step", () => {
  it("repository: null fails at packages (401); switching to no-subscription then applies", async () => {
    const { host, deps } = simWithDeps();
    const withoutRepo = { ...structuredClone(ENTRY), repository: null };
    const err = await applyHost(withoutRepo, deps, { reboot: false }).catch((e) => e);
    expect(err).toBeInstanceOf(StepFailedError);
    expect((err as StepFailedError).step.id).toBe("packages");
    expect((err as StepFailedError).message).toMatch(/401/);

    const r = await applyHost(ENTRY, deps, { reboot: true });
    expect(r.applied).toEqual(SEED_FRESH_STEPS);
    expect(r.verified).toBe(true);
    const j = JSON.parse((await host.readFile(JOURNAL_PATH))!) as Journal;
    expect(j.inProgress).toBeNull();
    expect(j.entries.map((e) => e.id)).toEqual(SEED_FRESH_STEPS);
  });

  it("a step the journal has completed is not run again after a failure", async () => {
    const { deps } = simWithDeps();
    const withoutRepo = { ...structuredClone(ENTRY), repository: null };
    await applyHost(withoutRepo, deps, { reboot: false }).catch((e) => e);
    const again = await applyHost(withoutRepo, deps, { reboot: false }).catch((e) => e);
    expect(again).toBeInstanceOf(StepFailedError);
    expect((again as StepFailedError).completed).toEqual([]);
  });
});
