/**
 * Real posts (test/fixtures/paste/SOURCES.md) pasted whole: the outputs in them are found by shape or
 * prompt and read right — the GPU from the kernel log alone, the driver's flavour from dmesg alone —
 * and the prose stays "not recognised".
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deriveDriver } from "../../src/facts/derive.ts";
import { driverSummary } from "../../src/facts/driver-evidence.ts";
import { gpuIdentities } from "../../src/facts/identity.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { readPaste, renderRecognition } from "../../src/paste/index.ts";
import { buildInspectReport } from "../../src/report/inspect-report.ts";
import { REPO } from "../helpers/cli.ts";

function post(name: string) {
  const r = readPaste(readFileSync(join(REPO, "test/fixtures/paste", name), "utf8"), {
    now: "2026-01-01T00:00:00Z",
  });
  return { r, facts: parseFacts(r.capture) };
}

describe("real posts", () => {
  it("open-gpu-kernel-modules#421: unprompted dmesg between prose → the open module 525.60.11", () => {
    const { r, facts } = post("open-gpu-kernel-modules-421-open-module.txt");
    expect(renderRecognition(r)).toEqual([
      "lines 1–2: not recognised",
      "lines 4–5: dmesg",
      "line 7: not recognised",
    ]);
    expect(deriveDriver(facts)).toMatchObject({ version: "525.60.11", flavour: "open", source: "dmesg" });
    expect(driverSummary(facts).flavourFrom).toBe("kernel log");
  });

  it("cosmic-epoch#3411: a wrapped NVRM message in a fence → the GPU 10de:1d16 at 0000:2c:00.0, open module", () => {
    const { r, facts } = post("cosmic-epoch-3411-open-module-no-gsp.txt");
    expect(renderRecognition(r)).toEqual(["line 1: not recognised", "lines 3–11: dmesg"]);
    expect(gpuIdentities(facts)).toMatchObject([
      { address: "0000:2c:00.0", deviceId: "1d16", sources: ["kernel log"], conflicts: [] },
    ]);
    expect(driverSummary(facts).flavour).toBe("open");
    const gpu = buildInspectReport(facts).gpus[0]!;
    expect(gpu.deviceId).toBe("1d16");
    expect(gpu.identity?.from.deviceId).toBe("kernel log");
  });

  it("void-packages#1231: `[user@host ~]$ sudo dmesg | grep nvidia` → proprietary module, the GPU's address, kept filtered", () => {
    const { r, facts } = post("void-packages-1231-proprietary-taint.txt");
    expect(r.capture.host).toBe("voidmachine");
    expect(r.capture.commands.map((c) => c.cmd)).toEqual(["sudo dmesg | grep nvidia"]);
    expect(facts.dmesg?.filtered).toBe(true);
    expect(driverSummary(facts)).toMatchObject({ flavour: "proprietary", flavourFrom: "kernel log" });
    expect(gpuIdentities(facts).map((g) => g.address)).toEqual(["0000:01:00.0"]);
  });
});
