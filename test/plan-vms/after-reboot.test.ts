/**
 * VMs on a host that is not set up yet: the VM steps are planned for after the reboot, apply skips
 * them before it and runs them once the driver offers the types.
 * source: the simulated seed-fresh host (the seed guide's host: PVE 7.4, RTX 2080 Ti on nouveau, no driver)
 * with the seed host's two VMs (scenario part seedVms: 100 win11 on q35/OVMF, 101 ubuntu), whose
 * `qm set` edits /etc/pve/qemu-server/<vmid>.conf like qemu-server does for a stopped VM.
 */
import { describe, expect, it } from "vitest";
import { applyHost, type PlanDeps } from "../../src/apply/run.ts";
import { gatherForPlan } from "../../src/commands/plan.ts";
import type { HostEntry } from "../../src/desired/schema.ts";
import { seedVms } from "../../src/hosts/sim/scenarios/parts.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { exampleEntry } from "../helpers/seed-sim.ts";

const CONF = "/etc/pve/qemu-server";

function seedFreshWithVms(): { host: SimHost; deps: PlanDeps } {
  const state = buildScenarioState("seed-fresh");
  state.vms = seedVms();
  const host = SimHost.fromState(state);
  return { host, deps: { host, gather: gatherForPlan } };
}

const boots = (host: SimHost) => host.snapshot().bootCount;

async function entry(): Promise<HostEntry> {
  return {
    ...(await exampleEntry()),
    vms: [
      { vmid: 100, type: "GRID RTX6000-4Q" },
      { vmid: 101, vram: "2G", os: "linux" },
    ],
  };
}

describe("VMs on a host being set up", () => {
  it("are planned after the setup, marked to run after the reboot, with types from NVIDIA's table", async () => {
    const { host, deps } = seedFreshWithVms();
    const ENTRY = await entry();
    const g = await deps.gather(host, ENTRY);
    const p = buildPlan(ENTRY, g);
    expect(p.blockers).toEqual([]);
    const ids = p.steps.map((s) => s.id);
    expect(ids.slice(-3)).toEqual(["initramfs", "vm-100", "vm-101"]);
    expect(p.steps.filter((s) => s.afterReboot).map((s) => s.id)).toEqual(["vm-100", "vm-101"]);
    expect(p.steps.find((s) => s.id === "vm-100")!.changes[0]).toEqual({
      kind: "command",
      argv: ["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259,pcie=1"],
    });
    expect(p.split![0]).toMatchObject({ type: "nvidia-259", vms: [{ vmid: 100 }, { vmid: 101 }] });
    expect(p.notes.join("\n")).toContain("after the reboot");
  });

  it("apply --reboot sets up, reboots once, then attaches; a second apply does nothing", async () => {
    const { host, deps } = seedFreshWithVms();
    const ENTRY = await entry();
    const boots0 = boots(host);
    const r = await applyHost(ENTRY, deps, { reboot: true });
    expect(boots(host) - boots0).toBe(1); // counted by the simulated host
    expect(r.verified).toBe(true);
    expect(r.applied.slice(-3)).toEqual(["initramfs", "vm-100", "vm-101"]);
    expect(await host.readFile(`${CONF}/100.conf`)).toContain(
      "hostpci0: 0000:01:00.0,mdev=nvidia-259,pcie=1\n",
    );
    expect(await host.readFile(`${CONF}/101.conf`)).toContain("hostpci0: 0000:01:00.0,mdev=nvidia-259\n");
    expect(await host.readFile("/etc/vgpu_unlock/profile_override.toml")).toContain("[vm.101]");

    const again = await applyHost(ENTRY, deps, { reboot: true });
    expect(again.applied).toEqual([]);
    expect(boots(host) - boots0).toBe(1);
  });

  it("without --reboot leaves the VMs for the apply after the reboot", async () => {
    const { host, deps } = seedFreshWithVms();
    const ENTRY = await entry();
    const first = await applyHost(ENTRY, deps, { reboot: false });
    expect(first.applied).not.toContain("vm-100");
    expect(first.next).toContain("reboot");
    // no qm set ran before the reboot: the VM configs are untouched
    expect(await host.readFile(`${CONF}/100.conf`)).not.toContain("hostpci0");
    expect(await host.readFile(`${CONF}/101.conf`)).not.toContain("hostpci0");
    await host.reboot();
    const second = await applyHost(ENTRY, deps, { reboot: false });
    expect(second.applied).toEqual(["vm-100", "vm-101"]);
    expect(second.verified).toBe(true);
  });
});
