/**
 * `sim:SCENARIO@N` (DESIGN.md "Simulated hosts"): the N-th independent copy of a scenario — its own
 * state file, so changes on one copy never show on another — and state writes whose temp names never
 * collide, even when many copies of one scenario are written at once in one process.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseHostSpec } from "../../src/hosts/host-spec.ts";
import { openHost } from "../../src/hosts/open.ts";

const dir = mkdtempSync(join(tmpdir(), "vgpuctl-sim-copies-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sim:SCENARIO@N", () => {
  it("parses the copy number; refuses @0 and a missing number with the form named", () => {
    expect(parseHostSpec("sim:seed-fresh@3")).toEqual({ kind: "sim", scenario: "seed-fresh", copy: 3 });
    expect(parseHostSpec("sim:seed-fresh")).toEqual({ kind: "sim", scenario: "seed-fresh" });
    expect(() => parseHostSpec("sim:seed-fresh@0")).toThrow(/copy number must be 1 to 100000/);
    let hint = "";
    try {
      parseHostSpec("sim:seed-fresh@");
    } catch (e) {
      hint = (e as { hint?: string }).hint ?? "";
    }
    expect(hint).toMatch(/sim:SCENARIO@N names the N-th copy/);
  });

  it("copies keep their own state: a file written on @1 is absent on @2 and on the plain scenario", async () => {
    const env = { VGPUCTL_SIM_DIR: dir };
    const one = await openHost("sim:seed-fresh@1", { env });
    await one.writeFile("/etc/vgpuctl-copy-test", "one\n");
    await one.close();
    const again = await openHost("sim:seed-fresh@1", { env });
    expect(await again.readFile("/etc/vgpuctl-copy-test")).toBe("one\n");
    await again.close();
    for (const spec of ["sim:seed-fresh@2", "sim:seed-fresh"]) {
      const other = await openHost(spec, { env });
      expect(await other.readFile("/etc/vgpuctl-copy-test")).toBeNull();
      await other.close();
    }
  });

  it("32 copies written at once in one process: every write lands, no temp file is left", async () => {
    const env = { VGPUCTL_SIM_DIR: dir };
    const hosts = await Promise.all(
      Array.from({ length: 32 }, (_, i) => openHost(`sim:p4-fresh@${i + 1}`, { env })),
    );
    await Promise.all(hosts.map((h, i) => h.writeFile("/etc/copy-number", `${i + 1}\n`)));
    await Promise.all(hosts.map((h) => h.close()));
    for (let i = 0; i < 32; i++) {
      const h = await openHost(`sim:p4-fresh@${i + 1}`, { env });
      expect(await h.readFile("/etc/copy-number")).toBe(`${i + 1}\n`);
      await h.close();
    }
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("eight handles on one copy writing in the same instant: no temp-name collision (ENOENT on rename)", async () => {
    const env = { VGPUCTL_SIM_DIR: dir };
    const hosts = await Promise.all(Array.from({ length: 8 }, () => openHost("sim:p4-fresh@40", { env })));
    await Promise.all(hosts.map((h, i) => h.writeFile(`/etc/writer-${i}`, "x\n")));
    await Promise.all(hosts.map((h) => h.close()));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
