// Issue 13 item 8: an unsupported GPU (GeForce RTX 3080, Ampere consumer: vgpu_unlock cannot unlock it)
// is refused first and consistently: plan lists no setup steps before the refusal, init names no
// driver release "known to work", as `catalog gpu 2206` says none.
import { describe, expect, it } from "vitest";
import { buildInitYaml } from "../../src/commands/init.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { simWithDeps } from "../helpers/seed-sim.ts";
import { planOf } from "./scenario-plans.ts";

describe("rtx3080 (unsupported GPU)", () => {
  it("plan of what init writes: no steps, the gpu-unsupported refusal only", async () => {
    const plan = JSON.parse(await planOf("rtx3080", "init"));
    expect(plan.steps).toEqual([]);
    expect(plan.blockers.map((b: { code: string }) => b.code)).toEqual(["gpu-unsupported"]);
  });

  it("plan of the seed example (gpus named): also no steps before the refusal", async () => {
    const plan = JSON.parse(await planOf("rtx3080", "seed-host.yaml"));
    expect(plan.steps).toEqual([]);
    expect(plan.blockers[0].code).toBe("gpu-unsupported");
  });

  it("init lists no driver releases and no driver template", async () => {
    const { host } = simWithDeps("rtx3080");
    const yaml = buildInitYaml(parseFacts(await host.capture(GATHER_SPEC)), "sim:rtx3080");
    expect(yaml).not.toMatch(/releases known to work/);
    expect(yaml).not.toMatch(/# driver:/);
    expect(yaml).toMatch(/No GPU on this host can do vGPU/);
  });
});
