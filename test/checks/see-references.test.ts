// Issue 13 item 7: a finding only points at findings present ("(see code)" names a code the host has).
import { describe, expect, it } from "vitest";
import { FINDING_CODES, runChecks } from "../../src/checks/index.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { listScenarios } from "../../src/hosts/sim/scenarios/index.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";

async function findingsOn(scenario: string) {
  const host = SimHost.fromState(buildScenarioState(scenario));
  return runChecks(parseFacts(await host.capture(GATHER_SPEC)));
}

const referenced = (text: string) =>
  [...text.matchAll(/\(see ([^)]*)\)/g)].flatMap((m) =>
    m[1]!.split(" / ").filter((c) => (FINDING_CODES as readonly string[]).includes(c)),
  );

describe("finding references", () => {
  it("vgpud-rejected-gpu on a GPU bound to vfio-pci points at vfio-bound, not at unlock findings it lacks", async () => {
    const fs = await findingsOn("vfio-leftover");
    const x = fs.find((f) => f.code === "vgpud-rejected-gpu")!;
    const text = [x.title, ...x.evidence, ...x.fix].join("\n");
    expect(text).not.toMatch(/unlock-missing|unlock-disabled-consumer/);
    expect(x.fix[0]).toMatch(/is bound to vfio-pci, not nvidia.*\(see vfio-bound\)/);
    expect(fs.map((f) => f.code)).toContain("vfio-bound");
  });

  it("on every simulated scenario, each code a finding refers to is a finding of that host", async () => {
    for (const { name } of listScenarios()) {
      const fs = await findingsOn(name);
      const present = new Set(fs.map((f) => f.code));
      for (const f of fs)
        for (const code of referenced([f.title, ...f.evidence, ...f.fix].join("\n")))
          expect(present.has(code as (typeof FINDING_CODES)[number]), `${name}: ${f.code} → ${code}`).toBe(
            true,
          );
    }
  });
});
