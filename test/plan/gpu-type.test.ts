// Issue 13 item 3: vgpu.yaml gpus[].type is validated against what the GPU offers (file:line and the
// offered types in the refusal) and acted on (equal-size mode: vGPUs of another size refuse it).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planHost } from "../../src/apply/run.ts";
import { selectEntries } from "../../src/commands/plan.ts";
import { parseDesired } from "../../src/desired/parse.ts";
import { REPO } from "../helpers/cli.ts";
import { simWithDeps } from "../helpers/seed-sim.ts";

async function planWith(scenario: string, example: string, from: string, to: string) {
  const text = readFileSync(join(REPO, "examples", example), "utf8").replace(from, to);
  const line = text.split("\n").findIndex((l) => l.includes(`type: ${to}`)) + 1;
  const [entry] = selectEntries(parseDesired(text, "vgpu.yaml"), `sim:${scenario}`);
  const { deps } = simWithDeps(scenario);
  return { plan: (await planHost(entry!, deps)).plan, line };
}

describe("gpus[].type", () => {
  it("an unknown type on a host without the driver: refused with file:line and the board's types", async () => {
    const { plan, line } = await planWith("seed-fresh", "seed-host.yaml", "GRID RTX6000-4Q", "totally-bogus");
    const b = plan.blockers.find((x) => x.code === "type-unknown")!;
    expect(b.title).toBe(
      `vgpu.yaml:${line}:15: gpus[].type "totally-bogus" is not a vGPU type of 0000:01:00.0 GeForce RTX 2080 Ti Rev. A`,
    );
    expect(b.evidence[0]).toMatch(/^its vGPU types \(vgpuConfig\.xml\): nvidia-256 \(GRID RTX6000-1Q\), /);
  });

  it("an unknown type on a configured host: refused (not 'Nothing to do'), offered types in id order", async () => {
    const { plan } = await planWith("p4-configured", "p4-host.yaml", "GRID P4-2Q", "totally-bogus");
    const b = plan.blockers.find((x) => x.code === "type-unknown")!;
    expect(b.evidence[0]).toMatch(
      /^it offers: nvidia-63 \(GRID P4-1Q\), .*nvidia-71 .*nvidia-157 .*nvidia-214 .*nvidia-243/,
    );
  });

  it("a known type (id or name) passes", async () => {
    for (const t of ["GRID P4-4Q", "nvidia-65", "P4-4Q"]) {
      const { plan } = await planWith("p4-configured", "p4-host.yaml", "GRID P4-2Q", t);
      expect(plan.blockers, t).toEqual([]);
    }
  });

  it("equal-size mode: a GPU carrying another size's vGPU refuses the type, naming what holds it", async () => {
    const { plan } = await planWith("stale-mdev", "seed-host.yaml", "GRID RTX6000-4Q", "GRID RTX6000-2Q");
    const b = plan.blockers.find((x) => x.code === "mixed-types")!;
    expect(b.title).toMatch(
      /carries nvidia-259 \(mdev 00000000-0000-0000-0000-000000000100\).*not "GRID RTX6000-2Q"/,
    );
    expect(b.fix[0]).toMatch(/mixedSizes: true/);
  });
});
