/**
 * The plan (`vgpuctl plan --json`, stored as `<scenario>__<file>.snap`) of every simulated scenario for each example vgpu.yaml and for the
 * vgpu.yaml `init` writes for that scenario: the regression evidence that refactoring the planner
 * changes nothing. `npx tsx test/plan/scenario-plans.ts --write` stores them under snapshots/;
 * scenario-plans.test.ts compares.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildInitYaml } from "../../src/commands/init.ts";
import { planJson, runPlan } from "../../src/commands/plan.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { listScenarios, SimHost } from "../../src/hosts/sim/sim-host.ts";

export const REPO = join(import.meta.dirname, "../..");
export const SNAPSHOT_DIR = join(import.meta.dirname, "snapshots");

/** examples/*.yaml plus "init" (the file `vgpuctl init` writes for the scenario). */
export function desiredFiles(): string[] {
  const examples = readdirSync(join(REPO, "examples"))
    .filter((f) => f.endsWith(".yaml"))
    .sort();
  return [...examples, "init"];
}

export function snapshotName(scenario: string, file: string): string {
  return `${scenario}__${file.replace(/\.yaml$/, "")}.snap`;
}

/** plan --json of one scenario (fresh state) planned against one desired file. */
export async function planOf(scenario: string, file: string): Promise<string> {
  const stateDir = mkdtempSync(join(tmpdir(), "vgpuctl-plan-snap-"));
  try {
    const open = () => SimHost.open(scenario, { stateDir, spec: `sim:${scenario}`, faults: [] });
    let text: string;
    if (file === "init") {
      const host = await open();
      const facts = parseFacts(await host.capture(GATHER_SPEC));
      await host.close();
      text = buildInitYaml(facts, `sim:${scenario}`);
    } else text = readFileSync(join(REPO, "examples", file), "utf8");
    const [r] = await runPlan(
      { file: "vgpu.yaml", hostSpec: `sim:${scenario}` },
      { cwd: "/", openHost: open, readText: async () => text },
    );
    const json = "error" in r! ? { error: r.error.message } : planJson(r!.plan);
    return `${JSON.stringify(json, null, 2)}\n`;
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export function scenarioNames(): string[] {
  return listScenarios().map((s) => s.name);
}

if (process.argv.includes("--write")) {
  for (const s of scenarioNames())
    for (const f of desiredFiles()) writeFileSync(join(SNAPSHOT_DIR, snapshotName(s, f)), await planOf(s, f));
}
