import { describe, expect, it } from "vitest";
import { FINDING_CODES, runChecks } from "../../src/checks/index.ts";
import type { Facts } from "../../src/facts/types.ts";
import { emptyFacts, healthyFacts } from "./healthy.ts";

describe("baseline", () => {
  it("the healthy seed-configured host has no findings at all", () => {
    expect(runChecks(healthyFacts())).toEqual([]);
  });

  it("nothing captured: no error and no warning", () => {
    const out = runChecks(emptyFacts());
    expect(out.filter((f) => f.severity !== "info")).toEqual([]);
  });

  // Missing evidence must never produce an error: drop each fact of the healthy host in turn.
  const keys = Object.keys(healthyFacts()).filter(
    (k) => !["host", "capturedAt", "notes"].includes(k),
  ) as Array<keyof Facts>;
  for (const key of keys) {
    it(`healthy host with ${key} not captured: no error or warning`, () => {
      const f = healthyFacts() as unknown as Record<string, unknown>;
      f[key] = key === "journals" ? { vgpud: null, vgpuMgr: null } : null;
      const out = runChecks(f as unknown as Facts);
      expect(out.filter((x) => x.severity !== "info")).toEqual([]);
    });
    it(`only ${key} captured: no error`, () => {
      const f = emptyFacts() as unknown as Record<string, unknown>;
      f[key] = (healthyFacts() as unknown as Record<string, unknown>)[key];
      const out = runChecks(f as unknown as Facts);
      expect(out.filter((x) => x.severity === "error")).toEqual([]);
    });
  }

  it("findings come errors first, and every emitted code is a declared one", () => {
    const f = healthyFacts();
    f.pci![0]!.deviceId = "13c2"; // GTX 970: error
    f.modulesLoad!.push({ module: "vfio_virqfd", path: "/etc/modules", line: 12 });
    f.uname!.release = "6.2.16-3-pve"; // vfio_virqfd warning + kernel error
    const out = runChecks(f);
    const sev = out.map((x) => x.severity);
    expect(sev).toEqual(
      [...sev].sort(
        (a, b) => ["error", "warning", "info"].indexOf(a) - ["error", "warning", "info"].indexOf(b),
      ),
    );
    for (const x of out) expect(FINDING_CODES).toContain(x.code);
    expect(out.some((x) => x.severity === "warning")).toBe(true);
  });

  it("a check that throws becomes an info finding, not a crash", () => {
    const f = healthyFacts();
    // a malformed fact a buggy parser might produce
    (f as unknown as { vms: unknown }).vms = [{ vmid: 100, hostpci: null }];
    const out = runChecks(f);
    expect(out.find((x) => x.code === "check-failed")?.severity).toBe("info");
  });
});
