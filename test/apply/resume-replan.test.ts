// Issue 13 item 1: a failed apply is fixed by editing vgpu.yaml. On resume apply re-plans against the
// host and the current file (the journal says what was done, not what is left).
import { describe, expect, it } from "vitest";
import { StepFailedError } from "../../src/apply/executor.ts";
import { JOURNAL_PATH, type Journal } from "../../src/apply/journal.ts";
import { applyHost } from "../../src/apply/run.ts";
import { gatherForPlan } from "../../src/commands/plan.ts";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
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

  it("a step the failed run completed is not done again; the failed step and the rest run", async () => {
    const state = simWithDeps().host.snapshot();
    const failing = SimHost.fromState(state, undefined, { faults: ["fail:nvidia-installer"] });
    const err = await applyHost(ENTRY, { host: failing, gather: gatherForPlan }, { reboot: false }).catch(
      (e) => e,
    );
    expect((err as StepFailedError).step.id).toBe("driver-install");
    const host = SimHost.fromState(failing.snapshot()); // the cause fixed
    const r = await applyHost(ENTRY, { host, gather: gatherForPlan }, { reboot: true });
    expect(r.applied).toEqual(SEED_FRESH_STEPS.slice(SEED_FRESH_STEPS.indexOf("driver-install")));
    const j = JSON.parse((await host.readFile(JOURNAL_PATH))!) as Journal;
    expect(j.entries.filter((e) => e.id === "driver-patch")).toHaveLength(1);
  });
});
