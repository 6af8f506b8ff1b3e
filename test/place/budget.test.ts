/**
 * The VRAM budget of a GPU for the overcommit refusal, and pending `delete:` of running VMs.
 * sources: Tesla P4 nvidia-smi total "7680MiB" (nvidia-smi paste in IndustryEssentials/ymir
 * README.md: `Tesla P4 … 4351MiB /  7680MiB`; also the sim scenario p4-configured); P4 type sizes and
 * max instances: research/unlock.md Appendix (nvidia-63 P4-1Q 1024 MiB × 8, nvidia-65 P4-4Q 4096 MiB ×
 * 2, nvidia-66 P4-8Q 8192 MiB × 1); RTX 2080 Ti 11264 MiB with the spoofed RTX6000 types
 * (max_instance=24 of 1Q): seed guide lines 308-319. `delete:` in [PENDING]: research/proxmox.md §1b
 * (non-hot-pluggable changes of a running VM go to pending).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runInspect } from "../../src/commands/inspect.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import {
  buildPlacementModel,
  markPendingDeletes,
  type PlacementModel,
  type PlacementRefusal,
  type PlaceType,
  pendingDeletes,
  planAttach,
  planDetach,
  vgpuBudgetMiB,
} from "../../src/place/index.ts";

const t = (type: string, framebufferMiB: number, maxInstances: number): PlaceType => ({
  type,
  name: null,
  series: "Q",
  framebufferMiB,
  maxInstances,
  availableInstances: maxInstances,
  maxResolution: null,
  numHeads: null,
  offered: true,
});

describe("vgpuBudgetMiB", () => {
  it("native board: the profiles' nominal size, a little above nvidia-smi's total (Tesla P4)", () => {
    expect(
      vgpuBudgetMiB(7680, [t("nvidia-63", 1024, 8), t("nvidia-65", 4096, 2), t("nvidia-66", 8192, 1)]),
    ).toBe(8192);
  });
  it("spoofed consumer card: the physical VRAM (2080 Ti shown as RTX 6000)", () => {
    expect(vgpuBudgetMiB(11264, [t("nvidia-256", 1024, 24), t("nvidia-259", 4096, 6)])).toBe(11264);
  });
  it("unknown VRAM stays unknown; no types = physical", () => {
    expect(vgpuBudgetMiB(null, [t("nvidia-66", 8192, 1)])).toBeNull();
    expect(vgpuBudgetMiB(7680, [])).toBe(7680);
  });
});

describe("attach on a Tesla P4 (p4-configured)", () => {
  let base: PlacementModel;
  beforeAll(async () => {
    const host = SimHost.fromState(buildScenarioState("p4-configured"));
    const { report, facts } = await runInspect({}, { host });
    base = buildPlacementModel(report, facts);
  });
  const withVms = (): PlacementModel => {
    const m = structuredClone(base);
    for (const vmid of [100, 101])
      m.vms.push({
        vmid,
        name: null,
        ostype: "win11",
        machine: "q35",
        running: false,
        args: null,
        hostpci: [],
      });
    return m;
  };

  it("one P4-8Q and two P4-4Q fit (no false VRAM overcommit against nvidia-smi's 7680 MiB)", () => {
    expect(base.gpus[0]!.vramMiB).toBe(8192);
    const m = withVms();
    expect(planAttach(m, { vmid: 100, type: "nvidia-66" }).gpu).toBe("0000:01:00.0");
    m.vms[m.vms.length - 2]!.hostpci.push({
      index: 0,
      raw: "0000:01:00.0,mdev=nvidia-65",
      mdev: "nvidia-65",
      address: "0000:01:00.0",
      mapping: null,
      pcie: false,
      pending: false,
    });
    expect(planAttach(m, { vmid: 101, type: "nvidia-65" }).key).toBe("hostpci0");
  });

  it("still refuses a real overcommit (two P4-4Q at 6 GiB each)", () => {
    const m = withVms();
    m.vms[m.vms.length - 2]!.hostpci.push({
      index: 0,
      raw: "0000:01:00.0,mdev=nvidia-65",
      mdev: "nvidia-65",
      address: "0000:01:00.0",
      mapping: null,
      pcie: false,
      pending: false,
    });
    m.overrides = [
      {
        kind: "vm",
        key: "100",
        line: 1,
        values: { framebuffer: 0x164000000, framebuffer_reservation: 0x1c000000 },
      },
    ];
    const e = (() => {
      try {
        planAttach(m, { vmid: 101, type: "nvidia-65", vramMiB: 6144 });
      } catch (x) {
        return x as PlacementRefusal;
      }
      throw new Error("expected a refusal");
    })();
    expect(e.code).toBe("vram-overcommit");
    expect(e.message).toContain("8 GiB of VRAM");
  });
});

describe("pending delete", () => {
  const CONF = `name: ubuntu
hostpci0: 0000:01:00.0,mdev=nvidia-259

[PENDING]
delete: !hostpci0,net1

[special:cloudinit]
delete: ide2
`;
  it("reads the keys of the [PENDING] delete line only", () => {
    expect(pendingDeletes(CONF)).toEqual(["hostpci0", "net1"]);
    expect(pendingDeletes("garbage\n[PENDING]\n")).toEqual([]);
  });

  it("a vGPU whose removal is pending is not detached twice, and attach says why it waits", async () => {
    const host = SimHost.fromState(buildScenarioState("seed-configured"));
    const { report, facts } = await runInspect({}, { host });
    const m = buildPlacementModel(report, facts);
    const vm = m.vms.find((v) => v.vmid === 101)!;
    vm.running = true;
    vm.hostpci.push({
      index: 0,
      raw: "0000:01:00.0,mdev=nvidia-259",
      mdev: "nvidia-259",
      address: "0000:01:00.0",
      mapping: null,
      pcie: false,
      pending: false,
    });
    markPendingDeletes(vm, pendingDeletes(CONF));
    expect(vm.hostpci[0]!.pendingDelete).toBe(true);
    expect(() => planDetach(m, 101)).toThrow(/already removed as a pending change/);
    expect(() => planAttach(m, { vmid: 101, type: "nvidia-259" })).toThrow(
      /removal pending until the VM restarts/,
    );
  });
});
