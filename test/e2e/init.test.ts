import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempSimDir } from "../helpers/cli.ts";

describe("vgpuctl init writes safely", () => {
  it("an unwritable place is one clear line, exit 2, no stack trace", () => {
    const r = runCli(["init", "--host", "demo", "-o", "/nonexistent-dir/vgpu.yaml"], {
      VGPUCTL_SIM_DIR: tempSimDir(),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot write \/nonexistent-dir\/vgpu\.yaml: ENOENT/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("never replaces an existing file without --force, and leaves no temp files", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgpuctl-init-"));
    const out = join(dir, "vgpu.yaml");
    const env = { VGPUCTL_SIM_DIR: tempSimDir() };
    expect(runCli(["init", "--host", "demo", "-o", out], env).code).toBe(0);
    const first = readFileSync(out, "utf8");
    expect(first).toMatch(/^# yaml-language-server: \$schema=/m);
    const again = runCli(["init", "--host", "demo", "-o", out], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
    expect(runCli(["init", "--host", "demo", "-o", out, "--force"], env).code).toBe(0);
    expect(readdirSync(dir)).toEqual(["vgpu.yaml"]);
    expect(existsSync(out)).toBe(true);
  });
});

describe("vgpuctl init on an SR-IOV board", () => {
  it("names each physical GPU of an A16 (not its 64 virtual functions), and that file applies without a reboot", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgpuctl-init-"));
    const out = join(dir, "vgpu.yaml");
    const env = { VGPUCTL_SIM_DIR: tempSimDir() };
    expect(runCli(["init", "--host", "sim:a16-configured", "-o", out], env).code).toBe(0);
    const addresses = [...readFileSync(out, "utf8").matchAll(/- address: "([^"]+)"/g)].map((m) => m[1]);
    expect(addresses).toEqual(["0000:41:00.0", "0000:42:00.0", "0000:43:00.0", "0000:44:00.0"]);
    const plan = runCli(["plan", "-f", out, "--json"], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json()).toMatchObject({ blockers: [], reboots: 0 });
    const a = runCli(["apply", "-f", out, "--yes", "--json"], env);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({ reboots: 0, verified: true });
  });
});
