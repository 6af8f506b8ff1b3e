/**
 * issue 13 items 4 and 5: override values are bounded (VRAM by the GPU's), a file that does not
 * validate is not edited, `override show` and `--json` agree, and one overcommit rule decides
 * `vm attach`, `override set` and doctor. Hosts: sim:seed-configured (RTX 2080 Ti, 11264 MiB, VMs 100
 * and 101 without vGPU) and `--host local --root DIR` copies.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runInProcess } from "./cli.ts";

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "vgpuctl-ovb-"));
  dirs.push(d);
  return d;
};

function sim() {
  const env = { VGPUCTL_SIM_DIR: temp() };
  return (...args: string[]) => runInProcess(["--host", "sim:seed-configured", ...args], env);
}

// what `override set --vm 100 --vram 99999999999999999999G` wrote before the fix (the issue's repro)
const HUGE =
  "[vm.100]\nframebuffer = 0x14542BA12A337C00000000000\nframebuffer_reservation = 0x15AF1D78B58C400000000000\n";

function localRoot(override: string): {
  run: (...a: string[]) => ReturnType<typeof runInProcess>;
  file: () => string;
} {
  const d = temp();
  mkdirSync(join(d, "etc/vgpu_unlock"), { recursive: true });
  mkdirSync(join(d, "etc/pve/qemu-server"), { recursive: true });
  writeFileSync(join(d, "etc/vgpu_unlock/profile_override.toml"), override);
  writeFileSync(join(d, "etc/pve/qemu-server/100.conf"), "name: win11\nmachine: pc-q35-7.2\n");
  return {
    run: (...a) => runInProcess(["--host", "local", "--root", d, ...a], {}),
    file: () => readFileSync(join(d, "etc/vgpu_unlock/profile_override.toml"), "utf8"),
  };
}

describe("override values are bounded (item 4)", () => {
  it("--vram beyond the GPU's VRAM is refused and nothing is written", async () => {
    const v = sim();
    const r = await v("override", "set", "--vm", "100", "--vram", "99999999999999999999G");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /--vram 99999999999999999999G is more than GPU 0000:01:00\.0 has: 11264 MiB of VRAM; nothing was written/,
    );
    expect((await v("--json", "override", "show")).out).not.toContain("framebuffer");
    expect((await v("override", "set", "--vm", "100", "--vram", "20G")).err).toContain(
      "(20480 MiB) is more than",
    );
  });

  it("a framebuffer beyond a TOML integer: show says error (as --json does), not valid", async () => {
    const { run } = localRoot(HUGE);
    const text = await run("override", "show");
    expect(text.out).not.toContain("valid");
    expect(text.out).toMatch(
      /error: line 2:15 error vm\.100\.framebuffer: .* is larger than a TOML integer can be/,
    );
    const json = JSON.parse((await run("--json", "override", "show")).out) as {
      issues: Array<{ severity: string; line: number }>;
      error: unknown;
    };
    expect(json.error).not.toBeNull();
    expect(json.issues.filter((i) => i.severity === "error").map((i) => i.line)).toEqual([2, 3]);
  });

  it("a later set refuses to edit the file that does not validate, naming file:line and the fix", async () => {
    const { run, file } = localRoot(HUGE);
    const r = await run("override", "set", "--vm", "100", "--cuda", "on");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^error: \/etc\/vgpu_unlock\/profile_override\.toml:2:15: vm\.100\.framebuffer = .*refusing to edit a file that does not validate, nothing was written/,
    );
    expect(r.err).toMatch(/fix: give framebuffer a size within the GPU's VRAM/);
    expect(file()).toBe(HUGE);
  });

  it("an edit that fixes the invalid values is allowed", async () => {
    const { run, file } = localRoot(HUGE);
    const r = await run("override", "set", "--vm", "100", "--vram", "4G");
    expect(r.code).toBe(0);
    expect(file()).toBe("[vm.100]\nframebuffer = 0xEC000000\nframebuffer_reservation = 0x14000000\n");
  });
});

describe("one overcommit rule: vm attach, override set, doctor (item 5)", () => {
  it("override set is refused where vm attach is, with the same words", async () => {
    const v = sim();
    expect((await v("vm", "attach", "100", "--type", "nvidia-259")).code).toBe(0);
    const attach = await v("vm", "attach", "101", "--type", "nvidia-259", "--vram", "8G");
    expect(attach.code).toBe(2);
    expect(attach.err).toMatch(
      /VM 101 will fail to start: GPU 0000:01:00\.0 has 11 GiB of VRAM; VM 100 4 GiB, VM 101 8 GiB is 12 GiB/,
    );
    expect((await v("vm", "attach", "101", "--type", "nvidia-259")).code).toBe(0);
    const set = await v("override", "set", "--vm", "101", "--vram", "10G");
    expect(set.code).toBe(2);
    expect(set.err).toMatch(
      /VM 101 will fail to start: GPU 0000:01:00\.0 has 11 GiB of VRAM; VM 100 4 GiB, VM 101 10 GiB via \[vm\.101\] is 14 GiB .*nothing was written/,
    );
    expect((await v("override", "set", "--vm", "101", "--vram", "6G")).code).toBe(0);
  });

  it("override unset that gives a VM its type's larger size back is refused by the same rule", async () => {
    const v = sim();
    expect((await v("vm", "attach", "100", "--type", "nvidia-259", "--vram", "2G")).code).toBe(0);
    expect((await v("vm", "attach", "101", "--type", "nvidia-259", "--vram", "8G")).code).toBe(0);
    const r = await v("override", "unset", "--vm", "100");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /VM 101 will fail to start: GPU 0000:01:00\.0 has 11 GiB of VRAM; VM 100 4 GiB, VM 101 8 GiB via \[vm\.101\] is 12 GiB/,
    );
    expect((await v("--json", "override", "show")).out).toContain('"key": "100"');
  });

  it("doctor reports the overcommit as an error naming the VM that will fail to start", async () => {
    const env = { VGPUCTL_SIM_DIR: temp() };
    const r = await runInProcess(["--host", "sim:vram-overcommit", "--json", "doctor"], env);
    const j = JSON.parse(r.out) as { findings: Array<{ code: string; severity: string; title: string }> };
    const f = j.findings.find((x) => x.code === "vram-overcommit")!;
    expect(f.severity).toBe("error");
    expect(f.title).toMatch(/^VM 101 will fail to start: /);
    expect(r.code).toBe(1);
  });
});

describe("overrides nothing reads (item 6)", () => {
  it("override set on a host without vgpu_unlock-rs preloaded says the file has no effect yet", async () => {
    const env = { VGPUCTL_SIM_DIR: temp() };
    const r = await runInProcess(
      ["--host", "sim:override-unread", "override", "set", "--type", "nvidia-65", "--frl", "off"],
      env,
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "note: nothing reads this file yet: vgpu_unlock-rs is not preloaded into nvidia-vgpu-mgr",
    );
    expect(r.out).toContain("it has no effect until vgpu_unlock-rs is preloaded");
    expect(r.out).not.toContain("vgpu_unlock-rs reads it at the next VM start");
  });

  it("doctor flags the overrides nothing reads (override-unread), not where the library is preloaded", async () => {
    const env = { VGPUCTL_SIM_DIR: temp() };
    const doctor = async (host: string) =>
      (
        JSON.parse((await runInProcess(["--host", host, "--json", "doctor"], env)).out) as {
          findings: Array<{ code: string; severity: string }>;
        }
      ).findings.filter((f) => f.code === "override-unread");
    expect(await doctor("sim:override-unread")).toMatchObject([{ severity: "warning" }]);
    expect(await doctor("sim:p4-configured")).toEqual([]);
  });
});
