// issue 14 "Done means" (upgrade in place), through the built CLI on simulated hosts. Reboots are counted on the
// host side (the simulator's bootCount), never from apply's own report.
// sim:seed-configured runs the patched 15.1 driver (525.85.07) and has 16.8 (535.216.01) + its patch staged in
// /root (src/hosts/sim/scenarios/index.ts); examples/seed-upgrade.yaml names 16.8.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempSimDir } from "../helpers/cli.ts";
import { hostFiles, simState, statePath } from "./sim-state.ts";

const UPGRADE = ["--host", "sim:seed-configured", "-f", "examples/seed-upgrade.yaml"];

function cli(dir: string, args: string[], fault?: string) {
  return runCli(args, { VGPUCTL_SIM_DIR: dir, ...(fault ? { VGPUCTL_SIM_FAULT: fault } : {}) });
}

function driverOf(dir: string): { version: string } | null {
  return (
    JSON.parse(readFileSync(statePath(dir, "seed-configured"), "utf8")) as {
      driver: { version: string } | null;
    }
  ).driver;
}

describe("upgrade in place: seed-configured 15.1 → 16.8 with its patch (examples/seed-upgrade.yaml)", () => {
  it("plan removes the old driver and installs the new one, with one reboot", () => {
    const dir = tempSimDir();
    const r = cli(dir, ["plan", ...UPGRADE, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const plan = r.json<{ steps: Array<{ id: string }>; reboots: number; blockers: unknown[] }>();
    expect(plan.blockers).toEqual([]);
    expect(plan.steps.map((s) => s.id)).toEqual([
      "driver-keep-previous",
      "driver-remove",
      "driver-patch",
      "driver-install",
      "initramfs",
    ]);
    expect(plan.reboots).toBe(1);
  });

  it("apply --reboot converges: 1 reboot on the host, inspect shows 535.216.01 with types, doctor 0, then 0 steps", () => {
    const dir = tempSimDir();
    cli(dir, ["plan", ...UPGRADE]);
    const boots = simState(dir, "seed-configured").bootCount;
    const a = cli(dir, ["apply", ...UPGRADE, "--yes", "--reboot", "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({ rebooted: true, verified: true, problems: [] });
    expect(simState(dir, "seed-configured").bootCount).toBe(boots + 1);
    const inspect = cli(dir, ["inspect", "--host", "sim:seed-configured"]).stdout;
    expect(inspect).toContain("NVIDIA driver  535.216.01 (vGPU 16.8)");
    expect(inspect).toMatch(/nvidia-259\s+GRID RTX6000-4Q\s+4 GiB\s+6\/6/);
    expect(cli(dir, ["doctor", "--host", "sim:seed-configured"]).code).toBe(0);
    const again = cli(dir, ["plan", ...UPGRADE, "--json"]).json<{ steps: unknown[] }>();
    expect(again.steps).toEqual([]);
  });

  it("the new driver failing to install is rolled back: 15.1 re-installed from the kept installer, no reboot, one line", () => {
    const dir = tempSimDir();
    cli(dir, ["plan", ...UPGRADE]);
    const boots = simState(dir, "seed-configured").bootCount;
    // the 1st run of the .run installer is the new driver's install (--apply-patch runs are not counted)
    const a = cli(dir, ["apply", ...UPGRADE, "--yes", "--reboot"], "fail:nvidia-installer:1");
    expect(a.code).not.toBe(0);
    expect(a.stderr).toMatch(
      /error: the new driver did not come up \(step "driver-install".*\); rolled back: the previous driver was re-installed from \/var\/lib\/vgpuctl\/previous-driver\/NVIDIA-Linux-x86_64-525\.85\.07-vgpu-kvm-custom\.run/,
    );
    expect(driverOf(dir)?.version).toBe("525.85.07");
    expect(simState(dir, "seed-configured").bootCount).toBe(boots);
    expect(cli(dir, ["doctor", "--host", "sim:seed-configured"]).code).toBe(0);
    // a re-run plans the upgrade again from the start
    const again = cli(dir, ["plan", ...UPGRADE, "--json"]).json<{ steps: Array<{ id: string }> }>();
    expect(again.steps.map((s) => s.id)).toContain("driver-remove");
  });

  it("uninstall after the upgrade re-installs 15.1 from the kept installer", () => {
    const dir = tempSimDir();
    expect(cli(dir, ["apply", ...UPGRADE, "--yes", "--reboot"]).code).toBe(0);
    const u = cli(dir, ["uninstall", "--host", "sim:seed-configured", "--yes", "--reboot"]);
    expect(u.code, u.stderr).toBe(0);
    expect(driverOf(dir)?.version).toBe("525.85.07");
    expect(
      Object.keys(simState(dir, "seed-configured").files).filter((p) => p.startsWith("/var/lib/vgpuctl")),
    ).toEqual([]);
  });

  it("a VM running on a vGPU refuses the upgrade before anything changes; --stop-vms shuts it down first", () => {
    const dir = tempSimDir();
    cli(dir, ["plan", ...UPGRADE]);
    const path = statePath(dir, "seed-configured");
    const s = JSON.parse(readFileSync(path, "utf8"));
    s.vms[0].config.hostpci0 = "0000:01:00.0,mdev=nvidia-259";
    s.vms[0].running = true;
    writeFileSync(path, JSON.stringify(s));
    const before = hostFiles(simState(dir, "seed-configured"));
    const a = cli(dir, ["apply", ...UPGRADE, "--yes", "--reboot"]);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain(
      `[driver-vms-running] VM(s) ${s.vms[0].vmid} run on vGPUs of driver 525.85.07`,
    );
    expect(a.stderr).toContain("re-run apply with --stop-vms");
    expect(hostFiles(simState(dir, "seed-configured"))).toEqual(before);
    const b = cli(dir, ["apply", ...UPGRADE, "--yes", "--reboot", "--stop-vms", "--json"]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.json<{ applied: string[] }>().applied[0]).toBe("driver-stop-vms");
    expect(driverOf(dir)?.version).toBe("535.216.01");
  });
});

describe("a branch that dropped the GPU is refused before anything changes", () => {
  it("sim:p4-configured asked for 17.4 (550.127.06): driver-branch-drops-gpu, one line with the fix, nothing changed", () => {
    const dir = tempSimDir();
    const file = join(dir, "p4-17.yaml");
    writeFileSync(
      file,
      `hosts:\n  - host: sim:p4-configured\n    driver:\n      installer: /root/NVIDIA-Linux-x86_64-550.127.06-vgpu-kvm.run\n      sha256: "${"a".repeat(64)}"\n    gpus:\n      - address: "0000:01:00.0"\n        type: GRID P4-2Q\n`,
    );
    cli(dir, ["plan", "--host", "sim:p4-configured", "-f", file]);
    const before = simState(dir, "p4-configured");
    const a = cli(dir, ["apply", "--host", "sim:p4-configured", "-f", file, "--yes", "--reboot"]);
    expect(a.code).toBe(1);
    const lines = a.stderr.split("\n").filter((l) => l.includes("[driver-branch-drops-gpu]"));
    expect(lines).toEqual([
      "  ✗ [driver-branch-drops-gpu] vGPU 17.4 (driver 550.127.06) no longer supports pascal GPUs",
    ]);
    expect(a.stderr).toContain("fix: name a driver of the last branch that supports pascal");
    // the installer is not even looked at: the branch is refused first
    expect(a.stderr).not.toContain("driver-file-missing");
    const after = simState(dir, "p4-configured");
    expect(hostFiles(after)).toEqual(hostFiles(before));
    expect(after.bootCount).toBe(before.bootCount);
  });
});
