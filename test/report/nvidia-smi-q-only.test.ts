/**
 * A user who pastes only `nvidia-smi -q` (no lspci): the report still names the board from the
 * query's "Device Id : 0x1B3810DE", its generation and the driver version (issue 18 item 4).
 * Fixture: test/fixtures/conformance/p40-535-nvidia-smi-q.txt (SOURCES.md there: a real Tesla P40 on 535.129.03).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BUNDLE_FORMAT, type Capture } from "../../src/facts/capture.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { buildInspectReport } from "../../src/report/inspect-report.ts";

const P40 = readFileSync(
  new URL("../fixtures/conformance/p40-535-nvidia-smi-q.txt", import.meta.url),
  "utf8",
);

function pasted(stdout: string): Capture {
  return {
    format: BUNDLE_FORMAT,
    host: "paste",
    capturedAt: "2026-01-01T00:00:00Z",
    commands: [{ cmd: "nvidia-smi -q", stdout, exitCode: 0 }],
    files: {},
    capturedPaths: [],
    redacted: [],
    notes: [],
  };
}

describe("inspect from a pasted nvidia-smi -q alone", () => {
  it("names the Tesla P40 by its Device Id, with generation and the driver version", () => {
    const r = buildInspectReport(parseFacts(pasted(P40)));
    expect(r.driver?.version).toBe("535.129.03");
    expect(r.gpus).toHaveLength(1);
    expect(r.gpus[0]).toMatchObject({ deviceId: "1b38", generation: "pascal", support: "native" });
  });

  it("a spoofed/unlocked card named 'NVIDIA Graphics Device' is still identified by its Device Id (P10 1b39)", () => {
    const text = P40.replace(
      /Product Name(\s+): Tesla P40/,
      "Product Name$1: NVIDIA Graphics Device",
    ).replace(/0x1B3810DE/g, "0x1B3910DE");
    const g = buildInspectReport(parseFacts(pasted(text))).gpus[0]!;
    expect(g.deviceId).toBe("1b39");
    expect(g.generation).toBe("pascal");
    expect(g.support).not.toBe("unsupported");
  });

  it("a GPU known only by a name that identifies no board has deviceId null, never an empty string", () => {
    const text = P40.replace(
      /Product Name(\s+): Tesla P40/,
      "Product Name$1: NVIDIA Graphics Device",
    ).replace(/^\s*Device Id\s*:.*$/m, "");
    expect(buildInspectReport(parseFacts(pasted(text))).gpus[0]!.deviceId).toBeNull();
  });
});
