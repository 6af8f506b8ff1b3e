// issue 14 "Done means" (kernels), through the built CLI on simulated hosts; reboots counted on the host side
// (the simulator's bootCount). sim:kernel-too-new = seed-configured (15.1, kernels 5.14 – 6.0) booted into 6.2.
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli, tempSimDir } from "../helpers/cli.ts";
import { simState, statePath } from "./sim-state.ts";

const SEED = ["--host", "sim:kernel-too-new", "-f", "examples/seed-host.yaml"];
const PIN = "/etc/kernel/proxmox-boot-pin";

function cli(dir: string, args: string[]) {
  return runCli(args, { VGPUCTL_SIM_DIR: dir });
}

interface KernelState {
  bootCount: number;
  files: Record<string, string>;
  kernel: { installed: string[]; running: string; buildInfo: Record<string, string> };
  packages: Record<string, string>;
}

const state = (dir: string, name: string) =>
  JSON.parse(readFileSync(statePath(dir, name), "utf8")) as KernelState;

describe("kernel-too-new is brought back to a kernel the driver supports (examples/seed-host.yaml)", () => {
  it("apply --reboot pins the installed 5.15 kernel: 1 reboot on the host, verified; doctor 0; again 0 steps; uninstall unpins", () => {
    const dir = tempSimDir();
    const plan = cli(dir, ["plan", ...SEED, "--json"]).json<{
      steps: Array<{ id: string; changes: unknown[] }>;
    }>();
    expect(plan.steps.map((s) => s.id)).toEqual(["kernel-pin"]);
    expect(plan.steps[0]!.changes).toEqual([
      { kind: "command", argv: ["proxmox-boot-tool", "kernel", "pin", "5.15.102-1-pve"] },
    ]);
    const boots = simState(dir, "kernel-too-new").bootCount;
    const a = cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({ applied: ["kernel-pin"], rebooted: true, verified: true });
    const after = state(dir, "kernel-too-new");
    expect(after.bootCount).toBe(boots + 1);
    expect(after.kernel.running).toBe("5.15.102-1-pve");
    expect(after.files[PIN]).toBe("5.15.102-1-pve\n");
    expect(cli(dir, ["doctor", "--host", "sim:kernel-too-new"]).code).toBe(0);
    expect(cli(dir, ["plan", ...SEED, "--json"]).json<{ steps: unknown[] }>().steps).toEqual([]);

    const u = cli(dir, ["uninstall", "--host", "sim:kernel-too-new", "--yes"]);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stdout + u.stderr).toContain("proxmox-boot-tool kernel unpin");
    expect(state(dir, "kernel-too-new").files[PIN]).toBeUndefined();
  });
});

describe("kernel-too-new with no kernel in range installed is given one (sim:kernel-too-new-alone)", () => {
  it("apply --reboot installs pve-kernel-5.15.158-2-pve with its headers and pins it: 1 reboot, verified; again 0 steps; uninstall unpins", () => {
    const dir = tempSimDir();
    const args = ["--host", "sim:kernel-too-new-alone", "-f", "examples/seed-host.yaml"];
    const plan = cli(dir, ["plan", ...args, "--json"]).json<{
      steps: Array<{ id: string; changes: unknown[] }>;
      reboots: number;
    }>();
    expect(plan.steps.map((s) => s.id)).toEqual(["kernel-install", "kernel-pin"]);
    expect(plan.reboots).toBe(1);
    expect(plan.steps[0]!.changes).toContainEqual({
      kind: "command",
      argv: ["apt-get", "install", "-y", "pve-kernel-5.15.158-2-pve", "pve-headers-5.15.158-2-pve"],
    });
    const boots = simState(dir, "kernel-too-new-alone").bootCount;
    const a = cli(dir, ["apply", ...args, "--yes", "--reboot", "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({
      applied: ["kernel-install", "kernel-pin"],
      rebooted: true,
      verified: true,
    });
    const after = state(dir, "kernel-too-new-alone");
    expect(after.bootCount).toBe(boots + 1);
    expect(after.kernel.running).toBe("5.15.158-2-pve");
    expect(after.files[PIN]).toBe("5.15.158-2-pve\n");
    expect(cli(dir, ["doctor", "--host", "sim:kernel-too-new-alone"]).code).toBe(0);
    expect(cli(dir, ["plan", ...args, "--json"]).json<{ steps: unknown[] }>().steps).toEqual([]);

    const u = cli(dir, ["uninstall", "--host", "sim:kernel-too-new-alone", "--yes"]);
    expect(u.code, u.stderr).toBe(0);
    const end = state(dir, "kernel-too-new-alone");
    expect(end.files[PIN]).toBeUndefined();
    // the installed kernel is left: it is the running one (kernels.ts / passes/kernel.ts say why)
    expect(end.kernel.installed).toContain("5.15.158-2-pve");
  });
});

describe("a pin the root pool could not boot is refused (sim:kernel-too-new-zfs)", () => {
  it("rpool has feature@fast_dedup active (ZFS 2.3): pinning 6.8 (ZFS 2.2) is refused with zfs-pool-too-new, nothing changed", () => {
    const dir = tempSimDir();
    const args = ["--host", "sim:kernel-too-new-zfs", "-f", "examples/p4-host.yaml"];
    cli(dir, ["plan", ...args]);
    const before = readFileSync(statePath(dir, "kernel-too-new-zfs"), "utf8");
    const a = cli(dir, ["apply", ...args, "--yes", "--reboot"]);
    expect(a.code).toBe(1);
    expect(a.stderr.split("\n").filter((l) => l.includes("[zfs-pool-too-new]"))).toEqual([
      "  ✗ [zfs-pool-too-new] Kernel 6.8.12-4-pve cannot import the root pool rpool: it has ZFS features active that 6.8.12-4-pve's ZFS 2.2 lacks",
    ]);
    expect(a.stderr).toContain("zpool get: rpool feature@fast_dedup active (OpenZFS 2.3)");
    expect(a.stderr).toContain("fix: do not pin 6.8.12-4-pve");
    expect(readFileSync(statePath(dir, "kernel-too-new-zfs"), "utf8")).toBe(before);
  });
});

describe("doctor catches a kernel that arrives after the setup, with the exact fix", () => {
  /** apt full-upgrade on seed-configured: a newer kernel (and its headers) installed, the host not rebooted yet. */
  function newKernelArrives(dir: string, k: string, headers: boolean) {
    cli(dir, ["inspect", "--host", "sim:seed-configured"]);
    const path = statePath(dir, "seed-configured");
    const s = JSON.parse(readFileSync(path, "utf8")) as KernelState;
    s.kernel.installed.push(k);
    s.kernel.buildInfo[k] = "#1 SMP PREEMPT_DYNAMIC PVE 6.2.16-3 (2023-06-17T05:58Z)";
    s.packages[`pve-kernel-${k}`] = "6.2.16-3";
    if (headers) s.packages[`pve-headers-${k}`] = "6.2.16-3";
    writeFileSync(path, JSON.stringify(s));
  }

  it("a kernel outside the driver's range: next-kernel-unsupported, fix = pin the running kernel", () => {
    const dir = tempSimDir();
    newKernelArrives(dir, "6.2.16-3-pve", false);
    const d = cli(dir, ["doctor", "--host", "sim:seed-configured", "--json"]);
    const f = (d.json<{ findings: Array<{ code: string; fix: string[] }> }>().findings ?? []).find(
      (x) => x.code === "next-kernel-unsupported",
    );
    expect(f?.fix[0]).toBe("proxmox-boot-tool kernel pin 5.15.102-1-pve");
  });

  it("a kernel in range whose DKMS module is not built: next-kernel-dkms-missing, fix = dkms install for it", () => {
    const dir = tempSimDir();
    // 16.8 on seed-configured first (kernels 5.15 – 6.8), then 6.2 arrives with its headers but no DKMS build
    expect(
      cli(dir, [
        "apply",
        "--host",
        "sim:seed-configured",
        "-f",
        "examples/seed-upgrade.yaml",
        "--yes",
        "--reboot",
      ]).code,
    ).toBe(0);
    newKernelArrives(dir, "6.2.16-3-pve", true);
    const d = cli(dir, ["doctor", "--host", "sim:seed-configured", "--json"]);
    const f = (d.json<{ findings: Array<{ code: string; fix: string[] }> }>().findings ?? []).find(
      (x) => x.code === "next-kernel-dkms-missing",
    );
    expect(f?.fix[0]).toBe("dkms install nvidia/535.216.01 -k 6.2.16-3-pve");
  });
});
