// issue 10 "Done means" for Proxmox VE 9 and a native SR-IOV card, through the built CLI
// (dist/vgpuctl.cjs): examples/pve9-l40s.yaml on sim:pve9-l40s-fresh (AMD, IOMMU on, console on the
// BMC's ASPEED graphics: nouveau drives no framebuffer) takes 0 reboots and is verified live; the same
// file on sim:pve9-l40s-nouveau-console (console on nouveaudrmfb) takes 1. Reboots are counted on the
// host side: the simulator's bootCount in its state file. Uninstall puts every file back byte for byte,
// the deb822 .sources files included.
import { describe, expect, it } from "vitest";
import { buildScenarioState } from "../../src/hosts/sim/sim-host.ts";
import { runCli, tempSimDir } from "../helpers/cli.ts";
import { hostFiles, simState } from "./sim-state.ts";

const FILE = "examples/pve9-l40s.yaml";
const GPU = "0000:41:00.0";
const SOURCES = "/etc/apt/sources.list.d";

function run(dir: string, scenario: string, args: string[]) {
  return runCli([...args, "--host", `sim:${scenario}`], { VGPUCTL_SIM_DIR: dir });
}

interface PlanJson {
  steps: Array<{ id: string; reboot: boolean }>;
  reboots: number;
  blockers: unknown[];
  notes: string[];
}

describe("examples/pve9-l40s.yaml on sim:pve9-l40s-fresh (console on the BMC): no reboot", () => {
  it("plans 0 reboots and says why: IOMMU active in this boot, nouveau drives no framebuffer", () => {
    const dir = tempSimDir();
    const p = run(dir, "pve9-l40s-fresh", ["plan", "-f", FILE, "--json"]).json<PlanJson>();
    expect(p.blockers).toEqual([]);
    expect(p.reboots).toBe(0);
    expect(p.steps.map((s) => s.id)).toEqual([
      "repository",
      "packages",
      "driver-install",
      "nouveau-blacklist",
      "initramfs",
      "load-now",
      "mixed-size",
    ]);
    expect(p.notes.find((n) => n.startsWith("no reboot:"))).toMatch(
      /IOMMU is active in this boot .*nouveau drives no framebuffer \(\/proc\/fb: 0 astdrmfb\)/,
    );
  });

  it("apply --reboot: 0 reboots on the host, verified live (the VFs offer the L40S types); inspect shows them with capacity; doctor exits 0; a second plan has 0 steps; uninstall restores every file", () => {
    const dir = tempSimDir();
    const scenario = "pve9-l40s-fresh";
    const before = buildScenarioState(scenario);
    const a = run(dir, scenario, ["apply", "-f", FILE, "--yes", "--reboot", "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({ reboots: 0, rebooted: false, verified: true });
    // verified live from the host's VFs: nvidia/creatable_vgpu_types lists the L40S types
    const gpus = a.json<{ gpus: Array<{ address: string; offered: string[] }> }>().gpus;
    expect(gpus.find((g) => g.address === GPU)?.offered).toContain("nvidia-1150 NVIDIA L40S-4Q");
    const after = simState(dir, scenario);
    expect(after.bootCount).toBe(before.bootCount);
    // the Proxmox way: the helper package, VFs enabled by pve-nvidia-sriov@ALL (also at boot), no vgpu_unlock
    expect(after.files["/usr/bin/pve-nvidia-vgpu-helper"]).toBeDefined();
    expect(
      after.files["/etc/systemd/system/multi-user.target.wants/pve-nvidia-sriov@ALL.service"],
    ).toBeDefined();
    expect(after.files["/etc/vgpu_unlock/config.toml"]).toBeUndefined();
    expect(after.files[`${SOURCES}/pve-enterprise.sources`]).toMatch(/\nEnabled: no\n$/);
    expect(after.files[`${SOURCES}/proxmox.sources`]).toContain("Components: pve-no-subscription");
    // mixed-size mode now, and at every start of nvidia-vgpu-mgr
    expect(after.mixedSizeGpus).toEqual([GPU]);
    expect(after.files["/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpuctl-mixed-size.conf"]).toContain(
      `ExecStartPost=-/usr/bin/nvidia-smi vgpu -i ${GPU} -shm 1`,
    );

    const inspect = run(dir, scenario, ["inspect"]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toMatch(/nvidia-1150 +NVIDIA L40S-4Q +4 GiB +12\/12/);
    const doctor = run(dir, scenario, ["doctor"]);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(run(dir, scenario, ["plan", "-f", FILE, "--json"]).json<PlanJson>()).toMatchObject({
      steps: [],
      reboots: 0,
    });

    const u = run(dir, scenario, ["uninstall", "--yes", "--reboot", "--json"]);
    expect(u.code, u.stderr).toBe(0);
    const restored = simState(dir, scenario);
    expect(hostFiles(restored)).toEqual(hostFiles(before));
    expect(restored.files[`${SOURCES}/pve-enterprise.sources`]).toBe(
      before.files[`${SOURCES}/pve-enterprise.sources`],
    );
    expect(restored.files[`${SOURCES}/ceph.sources`]).toBe(before.files[`${SOURCES}/ceph.sources`]);
    expect(restored.files[`${SOURCES}/proxmox.sources`]).toBeUndefined();
  });
});

describe("examples/pve9-l40s.yaml on sim:pve9-l40s-nouveau-console: one reboot", () => {
  it("plans 1 reboot and says why: nouveau drives the console's framebuffer", () => {
    const dir = tempSimDir();
    const p = run(dir, "pve9-l40s-nouveau-console", ["plan", "-f", FILE, "--json"]).json<PlanJson>();
    expect(p.blockers).toEqual([]);
    expect(p.reboots).toBe(1);
    expect(p.steps.map((s) => s.id)).not.toContain("load-now");
    expect(p.notes.find((n) => n.startsWith("1 reboot:"))).toMatch(
      /nouveau drives a framebuffer.*nouveaudrmfb/,
    );
  });

  it("apply --reboot: 1 reboot on the host, verified; doctor exits 0; a second plan has 0 steps; uninstall restores every file", () => {
    const dir = tempSimDir();
    const scenario = "pve9-l40s-nouveau-console";
    const before = buildScenarioState(scenario);
    const a = run(dir, scenario, ["apply", "-f", FILE, "--yes", "--reboot", "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({ reboots: 1, rebooted: true, verified: true });
    const after = simState(dir, scenario);
    expect(after.bootCount).toBe(before.bootCount + 1);
    expect(after.mixedSizeGpus).toEqual([GPU]);
    expect(run(dir, scenario, ["doctor"]).code).toBe(0);
    expect(run(dir, scenario, ["plan", "-f", FILE, "--json"]).json<PlanJson>()).toMatchObject({
      steps: [],
      reboots: 0,
    });
    expect(run(dir, scenario, ["uninstall", "--yes", "--reboot"]).code).toBe(0);
    expect(hostFiles(simState(dir, scenario))).toEqual(hostFiles(before));
  });
});
