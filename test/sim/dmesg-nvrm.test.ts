/**
 * Multi-line `NVRM:` records in the simulated dmesg: the installed nvidia module loaded by udev while
 * nouveau owns the GPU. Text: NVIDIA kernel-open/nvidia/nv.c (one nv_printf per record, "\nNVRM: "
 * inside); layout: real pastes (test/fixtures/conformance/SOURCES.md "dmesg NVRM continuation") —
 * continuation lines indented under the text, under the wider stamp with `dmesg -T`.
 */
import { describe, expect, it } from "vitest";
import { parseDmesg } from "../../src/facts/system/dmesg.ts";
import { dmesgWallClock } from "../../src/hosts/sim/noise.ts";
import { renderDmesg } from "../../src/hosts/sim/render/dmesg.ts";
import { buildScenarioState } from "../../src/hosts/sim/sim-host.ts";

/** seed-fresh (2080 Ti on nouveau) with the 15.1 driver installed but never loaded. */
function nouveauWithDriver() {
  const s = buildScenarioState("seed-fresh");
  s.driver = structuredClone(buildScenarioState("seed-configured").driver);
  s.driverLoaded = false;
  return s;
}

describe("dmesg: the nvidia module finds its GPU owned by nouveau", () => {
  it("prints NVIDIA's multi-line records with continuation lines under the text", () => {
    const out = renderDmesg(nouveauWithDriver());
    expect(out).toMatch(
      /^\[ {4}5\.\d{6}\] NVRM: This can occur when a driver such as: \n {15}NVRM: nouveau, rivafb, nvidiafb or rivatv \n {15}NVRM: was loaded and obtained ownership of the NVIDIA device\(s\)\.$/m,
    );
    expect(out).toMatch(/^ {15}NVRM: again\.$/m);
    expect(out).toMatch(/^\[ {4}5\.\d{6}\] NVRM: No NVIDIA devices probed\.$/m);
    // the reader keeps the first line of each record among its NVRM lines
    expect(parseDmesg(out).nvrm).toContain("NVRM: No NVIDIA devices probed.");
  });

  it("dmesg -T keeps the continuation lines under the text, indented to the wall-clock stamp", () => {
    const s = nouveauWithDriver();
    const out = dmesgWallClock(s, renderDmesg(s));
    const first =
      /^(\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}\] )NVRM: Try unloading/m.exec(out);
    expect(first).not.toBeNull();
    const pad = " ".repeat(first![1]!.length);
    expect(out).toContain(`${pad}NVRM: reconfigure your kernel without the conflicting\n`);
  });

  it("a host with the driver loaded, or none installed, prints no such record", () => {
    expect(renderDmesg(buildScenarioState("seed-configured"))).not.toContain("probe routine");
    expect(renderDmesg(buildScenarioState("seed-fresh"))).not.toContain("probe routine");
  });
});
