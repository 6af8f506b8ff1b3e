import { describe, expect, it } from "vitest";
import { isOpenKernelModule, parseProcDriverVersion } from "../../src/facts/nvidia/driver-version.ts";
import { fixture } from "./fixture.ts";

describe("/proc/driver/nvidia/version", () => {
  it("reads the proprietary module line", () => {
    // source: proc-version-proprietary-515.txt (see SOURCES.md)
    const text = fixture("proc-version-proprietary-515.txt");
    expect(parseProcDriverVersion(text)).toBe("515.76");
    expect(isOpenKernelModule(text)).toBe(false);
    expect(
      parseProcDriverVersion(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  525.85.07  Sat Jan 21 00:27:18 UTC 2023\n",
      ),
    ).toBe("525.85.07");
  });

  it("reads the open module variants (x86_64 and aarch64)", () => {
    // source: https://github.com/nix-community/nixGL/issues/186 and /issues/139
    const open = fixture("nixgl-issue186-proc-version-open.txt");
    expect(parseProcDriverVersion(open)).toBe("565.57.01");
    expect(isOpenKernelModule(open)).toBe(true);
    expect(parseProcDriverVersion(fixture("nixgl-issue139-proc-version-jetson.txt"))).toBe("35.3.1");
  });

  it("null / false on anything else, never throws", () => {
    for (const g of ["", "\u0000", "GCC version:  gcc version 12.2.0 (GCC)", "NVRM version: garbage"]) {
      expect(parseProcDriverVersion(g)).toBeNull();
      expect(isOpenKernelModule(g)).toBe(false);
    }
    expect(parseProcDriverVersion(fixture("proc-version-proprietary-515.txt").replace(/\n/g, "\r\n"))).toBe(
      "515.76",
    );
  });
});
