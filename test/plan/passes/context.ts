/**
 * Planning contexts for the pass tests: a simulated scenario's facts as `plan` gathers them
 * (src/hosts/sim renders real output formats, see test/sim) and a host entry from an example vgpu.yaml.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gatherForPlan } from "../../../src/commands/plan.ts";
import { parseDesired } from "../../../src/desired/parse.ts";
import type { HostEntry } from "../../../src/desired/schema.ts";
import type { Facts } from "../../../src/facts/types.ts";
import { SimHost } from "../../../src/hosts/sim/sim-host.ts";
import { type PlanContext, readContext } from "../../../src/plan/context.ts";
import type { PassResult } from "../../../src/plan/passes/output.ts";
import type { Change, PlanInput } from "../../../src/plan/types.ts";
import { REPO } from "../scenario-plans.ts";

/** The host entry of examples/<file> with `over` on top. */
export function exampleEntry(file: string, over: Partial<HostEntry> = {}): HostEntry {
  const d = parseDesired(readFileSync(join(REPO, "examples", file), "utf8"), file);
  return { ...d.hosts[0]!, ...over };
}

/** What plan gathers from sim:<scenario> for `entry`; `tweak` edits the facts / files before use. */
export async function scenarioInput(
  scenario: string,
  entry: HostEntry,
  tweak?: (f: Facts, files: Map<string, string | null | undefined>) => void,
): Promise<PlanInput> {
  const stateDir = mkdtempSync(join(tmpdir(), "vgpuctl-pass-"));
  const host = await SimHost.open(scenario, { stateDir, spec: `sim:${scenario}`, faults: [] });
  const g = await gatherForPlan(host, entry);
  await host.close();
  const files = new Map<string, string | null | undefined>();
  tweak?.(g.facts, files);
  return { ...g, file: (p) => (files.has(p) ? files.get(p) : g.file(p)) };
}

/** The context readContext builds (throws when reading the host stopped, with the blockers found). */
export async function scenarioContext(
  scenario: string,
  entry: HostEntry,
  tweak?: (f: Facts, files: Map<string, string | null | undefined>) => void,
): Promise<PlanContext> {
  const { ctx, found } = readContext(entry, await scenarioInput(scenario, entry, tweak));
  if (!ctx) throw new Error(`no context: ${found.blockers.map((b) => b.code).join(", ")}`);
  return ctx;
}

export const ids = (r: PassResult) => r.steps.map((s) => s.id);
export const codes = (r: PassResult) => r.blockers.map((b) => b.code);
export const argvs = (r: PassResult) =>
  r.steps.flatMap((s) => s.changes).flatMap((c) => (c.kind === "command" ? [c.argv.join(" ")] : []));
export const fileAfter = (r: PassResult, path: string) =>
  r.steps
    .flatMap((s) => s.changes)
    .find((c): c is Extract<Change, { kind: "file" }> => c.kind === "file" && c.path === path)?.after;
