// Dependencies are passed in, not reached for: vgpu.yaml is read through `readText` (the CLI passes
// node:fs), the simulated host's faults come from the env given to openHost (not process.env), and
// uninstall runs without a `gather` function. Host: the simulated seed-fresh host (DESIGN.md scenario).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyHost, uninstallHost } from "../../src/apply/run.ts";
import { loadDesired } from "../../src/commands/plan.ts";
import { openHost } from "../../src/hosts/open.ts";
import { UserError } from "../../src/util/errors.ts";
import { exampleEntry, simFiles, simWithDeps } from "../helpers/seed-sim.ts";

describe("loadDesired reads vgpu.yaml through readText", () => {
  it("resolves the file against cwd and parses what readText returns", async () => {
    const read: string[] = [];
    const d = await loadDesired("conf/vgpu.yaml", {
      cwd: "/home/admin",
      readText: async (p) => {
        read.push(p);
        return "hosts:\n  - host: sim:seed-fresh\n";
      },
    });
    expect(read).toEqual(["/home/admin/conf/vgpu.yaml"]);
    expect(d.hosts[0]).toMatchObject({ host: "sim:seed-fresh", unlock: "auto" });
  });

  it("a file that is not there is a UserError pointing at `vgpuctl init`", async () => {
    const missing = Object.assign(new Error("ENOENT: no such file or directory"), { code: "ENOENT" });
    const e = await loadDesired("vgpu.yaml", { cwd: "/x", readText: () => Promise.reject(missing) }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toBe("cannot read vgpu.yaml: no such file");
    expect((e as UserError).hint).toMatch(/vgpuctl init/);
  });
});

describe("the simulated host's faults come from the env openHost is given", () => {
  const saved = process.env.VGPUCTL_SIM_FAULT;
  afterEach(() => {
    if (saved === undefined) delete process.env.VGPUCTL_SIM_FAULT;
    else process.env.VGPUCTL_SIM_FAULT = saved;
  });

  it("VGPUCTL_SIM_FAULT in that env applies; the process's own environment does not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vgpuctl-deps-"));
    const faulty = await openHost("sim:seed-fresh", {
      env: { VGPUCTL_SIM_DIR: dir, VGPUCTL_SIM_FAULT: "fail:sha256sum" },
    });
    expect((await faulty.exec(["sha256sum", "/etc/hostname"])).exitCode).toBe(1);
    await faulty.close();
    process.env.VGPUCTL_SIM_FAULT = "fail:sha256sum";
    const clean = await openHost("sim:seed-fresh", { env: { VGPUCTL_SIM_DIR: dir } });
    expect((await clean.exec(["sha256sum", "/etc/hostname"])).exitCode).toBe(0);
    await clean.close();
  });
});

describe("uninstall needs no gather function", () => {
  it("undoes an apply from the journal with deps { host } alone", async () => {
    const { host, deps } = simWithDeps();
    const before = simFiles(host);
    const applied = await applyHost(await exampleEntry(), deps, { reboot: false });
    expect(applied.applied.length).toBeGreaterThan(0);
    const u = await uninstallHost({ host }, { reboot: false });
    expect(u.undone.length).toBeGreaterThan(0);
    expect(simFiles(host)).toEqual(before);
  });
});
