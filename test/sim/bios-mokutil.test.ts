/**
 * `mokutil --sb-state` on a legacy-BIOS host: mokutil finds no EFI variables and says so on stderr, exit 1
 * (mokutil's "EFI variables are not supported on this system"; real pastes: test/fixtures/conformance/
 * SOURCES.md). inspect reads that as "no Secure Boot".
 */
import { describe, expect, it } from "vitest";
import { runInspect } from "../../src/commands/inspect.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";

describe("mokutil on a BIOS host", () => {
  it("prints 'EFI variables are not supported on this system' on stderr and inspect says Secure Boot is off", async () => {
    const s = buildScenarioState("seed-configured");
    s.boot.efi = false;
    s.packages.mokutil = "0.6.0-2";
    const host = SimHost.fromState(s);
    expect(await host.exec(["mokutil", "--sb-state"])).toEqual({
      stdout: "",
      stderr: "EFI variables are not supported on this system\n",
      exitCode: 1,
    });
    const { report } = await runInspect({}, { host });
    expect(report.secureBoot).toBe(false);
    expect(report.notes.join("\n")).not.toContain("mokutil");
  });
});
