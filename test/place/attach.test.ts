/**
 * Placement and refusals (src/place/attach.ts) on the model of the simulated seed host.
 * source: sim scenario seed-configured = the seed guide's host after the guide (RTX 2080 Ti 1e07,
 * 11 GiB, RTX6000 types of seed guide lines 308-319; VM 100 win11 on q35, VM 101 ubuntu on i440fx).
 * The refusal rules: research/proxmox.md §1b (pcie needs q35, hostpci slots 0-15, mdev UUID
 * "%08d-0000-0000-0000-%012d"), §3 (one type per physical GPU), research/unlock.md §4 #11 and §5.3
 * (VRAM of all vGPUs must fit physical FB; overrides change it).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runInspect } from "../../src/commands/inspect.ts";
import { parseHostpci } from "../../src/facts/system/qemu-server.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import {
  buildPlacementModel,
  isQ35,
  type PlacementModel,
  planAttach,
  planDetach,
  usersOf,
} from "../../src/place/index.ts";
import { addVm, refusal } from "./helpers.ts";

let base: PlacementModel;

beforeAll(async () => {
  const host = SimHost.fromState(buildScenarioState("seed-configured"));
  const { report, facts } = await runInspect({}, { host });
  base = buildPlacementModel(report, facts);
});

function model(): PlacementModel {
  return structuredClone(base);
}

function vm(m: PlacementModel, vmid: number) {
  const v = m.vms.find((x) => x.vmid === vmid);
  if (!v) throw new Error(`no VM ${vmid}`);
  return v;
}

function give(m: PlacementModel, vmid: number, raw: string, index = 0, pending = false): void {
  const h = parseHostpci(index, raw);
  vm(m, vmid).hostpci.push({ ...h, pending });
}

describe("the seed host model", () => {
  it("has the GPU with its 18 offered types, 11 GiB and the two VMs", () => {
    expect(base.gpus).toHaveLength(1);
    const g = base.gpus[0]!;
    expect(g.address).toBe("0000:01:00.0");
    expect(g.vramMiB).toBe(11264);
    expect(g.types.find((t) => t.type === "nvidia-259")).toMatchObject({
      name: "GRID RTX6000-4Q",
      series: "Q",
      framebufferMiB: 4096,
      maxInstances: 6,
      maxResolution: "7680x4320",
    });
    expect(base.vms.map((v) => [v.vmid, isQ35(v.machine)])).toEqual([
      [100, true],
      [101, false],
    ]);
  });
});

describe("planAttach", () => {
  it("attaches nvidia-259 to VM 100 with pcie=1 (q35) on the only GPU", () => {
    const p = planAttach(model(), { vmid: 100, type: "nvidia-259" });
    expect(p).toMatchObject({
      key: "hostpci0",
      value: "0000:01:00.0,mdev=nvidia-259,pcie=1",
      gpu: "0000:01:00.0",
      pcie: true,
      pending: false,
      uuid: "00000000-0000-0000-0000-000000000100",
      vramMiB: 4096,
    });
  });

  it("accepts a profile name and leaves pcie off on an i440fx VM", () => {
    const p = planAttach(model(), { vmid: 101, type: "RTX6000-2B" });
    expect(p.value).toBe("0000:01:00.0,mdev=nvidia-436");
    expect(planAttach(model(), { vmid: 101, type: "GRID RTX6000-2B" }).type.type).toBe("nvidia-436");
    expect(planAttach(model(), { vmid: 101, type: "436" }).type.type).toBe("nvidia-436");
  });

  it("driver 525 (seed: 15.1): refuses a second framebuffer size, accepts another series of the same size", () => {
    const m = model();
    expect(m.gpus[0]!.sharing).toBe("one-size");
    give(m, 100, "0000:01:00.0,mdev=nvidia-259,pcie=1");
    const r = refusal(() => planAttach(m, { vmid: 101, type: "nvidia-260" }));
    expect(r.code).toBe("mixed-types");
    expect(r.message).toContain("already carries 4 GiB nvidia-259 vGPUs (VM 100)");
    expect(r.message).toContain("a 6 GiB nvidia-260 (GRID RTX6000-6Q) would fail to start");
    // the same type, and another type of the same size (RTX6000-4A), are fine
    expect(planAttach(m, { vmid: 101, type: "nvidia-259" }).gpu).toBe("0000:01:00.0");
    expect(planAttach(m, { vmid: 101, type: "nvidia-440" }).gpu).toBe("0000:01:00.0");
  });

  it("driver < 525: refuses a second type even of the same size", () => {
    const m = model();
    m.gpus[0]!.sharing = "one-type";
    give(m, 100, "0000:01:00.0,mdev=nvidia-259,pcie=1");
    const r = refusal(() => planAttach(m, { vmid: 101, type: "nvidia-440" }));
    expect(r.code).toBe("mixed-types");
    expect(r.message).toContain("already carries nvidia-259 (VM 100)");
    expect(r.message).toContain("one type per physical GPU");
    expect(planAttach(m, { vmid: 101, type: "nvidia-259" }).gpu).toBe("0000:01:00.0");
  });

  it("driver 525: same-size types share the type's maximum (6 × 4 GiB)", () => {
    const m = model();
    for (let i = 0; i < 6; i++)
      m.gpus[0]!.mdevs.push({
        uuid: `b3c9a1f2-5d4e-4f6a-8b7c-9d0e1f2a3b4${i}`,
        type: i % 2 ? "nvidia-440" : "nvidia-259",
        vmid: null,
      });
    const r = refusal(() => planAttach(m, { vmid: 101, type: "nvidia-259" }));
    expect(r.code).toBe("no-instances");
    expect(r.message).toContain("holds at most 6 × nvidia-259 (GRID RTX6000-4Q) and 6 are already assigned");
  });

  it("counts an mdev created by hand as a user of the GPU", () => {
    const m = model();
    m.gpus[0]!.mdevs.push({ uuid: "b3c9a1f2-5d4e-4f6a-8b7c-9d0e1f2a3b4c", type: "nvidia-257", vmid: null });
    expect(usersOf(m, m.gpus[0]!)).toHaveLength(1);
    // a 2 GiB mdev keeps a 4 GiB type off the GPU (one framebuffer size from driver 525 on)
    expect(refusal(() => planAttach(m, { vmid: 100, type: "nvidia-259" })).code).toBe("mixed-types");
  });

  it("refuses more instances than the type allows", () => {
    const m = model();
    m.gpus[0]!.vramMiB = 24576; // a real Quadro RTX 6000, so only the instance count limits
    for (let i = 0; i < 6; i++) {
      addVm(m, 200 + i);
      give(m, 200 + i, "0000:01:00.0,mdev=nvidia-259");
    }
    const r = refusal(() => planAttach(m, { vmid: 101, type: "nvidia-259" }));
    expect(r.code).toBe("no-instances");
    expect(r.message).toContain("at most 6 × nvidia-259 (GRID RTX6000-4Q) and 6 are already assigned");
  });

  it("refuses VRAM overcommit, counting overrides", () => {
    const m = model();
    give(m, 100, "0000:01:00.0,mdev=nvidia-259,pcie=1");
    // 4 GiB + 4 GiB fit in 11 GiB
    expect(planAttach(m, { vmid: 101, type: "nvidia-259" }).vramMiB).toBe(4096);
    // [vm.100] raises VM 100 to 8 GiB (seed guide table: 8GB = 0x1DC000000 + 0x24000000)
    m.overrides.push({
      kind: "vm",
      key: "100",
      line: 1,
      values: { framebuffer: 0x1dc000000, framebuffer_reservation: 0x24000000 },
    });
    const r = refusal(() => planAttach(m, { vmid: 101, type: "nvidia-259" }));
    expect(r.code).toBe("vram-overcommit");
    expect(r.message).toContain("VM 100 8 GiB via [vm.100]");
    expect(r.message).toContain("is 12 GiB");
    // asking for less VRAM for the new VM makes it fit again
    expect(planAttach(m, { vmid: 101, type: "nvidia-259", vramMiB: 3072 }).vramMiB).toBe(3072);
  });

  it("refuses a single type larger than the physical GPU", () => {
    const r = refusal(() => planAttach(model(), { vmid: 100, type: "nvidia-263" }));
    expect(r.code).toBe("vram-overcommit");
    expect(r.message).toContain("has 11 GiB of VRAM");
  });

  it("refuses pcie=1 on a non-q35 VM", () => {
    const r = refusal(() => planAttach(model(), { vmid: 101, type: "nvidia-259", pcie: true }));
    expect(r.code).toBe("pcie-non-q35");
    expect(r.message).toContain("i440fx");
    expect(planAttach(model(), { vmid: 100, type: "nvidia-259", pcie: false }).value).toBe(
      "0000:01:00.0,mdev=nvidia-259",
    );
  });

  it("refuses a hostpci slot in use, and takes the next free one otherwise", () => {
    const m = model();
    give(m, 101, "0000:02:00.0,pcie=0", 0);
    const r = refusal(() => planAttach(m, { vmid: 101, type: "nvidia-259", index: 0 }));
    expect(r.code).toBe("slot-in-use");
    expect(r.message).toContain("hostpci0 of VM 101 is in use: 0000:02:00.0");
    const p = planAttach(m, { vmid: 101, type: "nvidia-259" });
    expect([p.key, p.uuid]).toEqual(["hostpci1", "00000001-0000-0000-0000-000000000101"]);
  });

  it("refuses a VM that already has a vGPU (also a pending one)", () => {
    const m = model();
    give(m, 100, "0000:01:00.0,mdev=nvidia-259,pcie=1", 0, true);
    const r = refusal(() => planAttach(m, { vmid: 100, type: "nvidia-259", index: 1 }));
    expect(r.code).toBe("vm-has-vgpu");
    expect(r.message).toContain("(pending)");
  });

  it("refuses an mdev UUID that already exists", () => {
    const m = model();
    // a leftover mdev with Proxmox VE's UUID for hostpci0 of VM 101 (e.g. defined with mdevctl)
    m.gpus[0]!.mdevs.push({ uuid: "00000000-0000-0000-0000-000000000101", type: "nvidia-259", vmid: 101 });
    const r = refusal(() => planAttach(m, { vmid: 101, type: "nvidia-259" }));
    expect(r.code).toBe("duplicate-mdev-uuid");
    expect(r.message).toContain("00000000-0000-0000-0000-000000000101");
  });

  it("refuses an unknown VM, an unknown type and a type the GPU does not offer", () => {
    expect(refusal(() => planAttach(model(), { vmid: 999, type: "nvidia-259" })).code).toBe("unknown-vm");
    expect(refusal(() => planAttach(model(), { vmid: 100, type: "nvidia-99999" })).code).toBe("unknown-type");
    expect(refusal(() => planAttach(model(), { vmid: 100, type: "RTX6000-5Q" })).code).toBe("unknown-type");
    // GRID M60-2Q exists in NVIDIA's table but this GPU does not offer it
    const r = refusal(() => planAttach(model(), { vmid: 100, type: "nvidia-18" }));
    expect(r.code).toBe("type-not-offered");
    const g = refusal(() => planAttach(model(), { vmid: 100, type: "nvidia-18", gpu: "01:00.0" }));
    expect(g.code).toBe("type-not-offered");
    expect(refusal(() => planAttach(model(), { vmid: 100, type: "nvidia-259", gpu: "02:00.0" })).code).toBe(
      "unknown-gpu",
    );
  });

  it("chooses a GPU already carrying the type, else an empty one", () => {
    const m = model();
    const second = structuredClone(m.gpus[0]!);
    second.address = "0000:02:00.0";
    second.parents = ["0000:02:00.0"];
    m.gpus.push(second);
    give(m, 100, "0000:02:00.0,mdev=nvidia-259,pcie=1");
    const same = planAttach(m, { vmid: 101, type: "nvidia-259" });
    expect(same.gpu).toBe("0000:02:00.0");
    expect(same.notes.join("\n")).toContain("already carries nvidia-259");
    const other = planAttach(m, { vmid: 101, type: "nvidia-257" });
    expect(other.gpu).toBe("0000:01:00.0");
  });

  it("a running VM gets the change as pending", () => {
    const m = model();
    vm(m, 101).running = true;
    const p = planAttach(m, { vmid: 101, type: "nvidia-259" });
    expect(p.pending).toBe(true);
    expect(p.notes.join("\n")).toContain("takes effect at its next start");
  });

  it("writes mapping=ID,mdev=… for a cluster mapping and checks the mapping", () => {
    const m = model();
    m.mappings = [
      { id: "rtx", mdev: true, entries: [] },
      { id: "plain", mdev: false, entries: [] },
    ];
    expect(planAttach(m, { vmid: 100, type: "nvidia-259", mapping: "rtx" }).value).toBe(
      "mapping=rtx,mdev=nvidia-259,pcie=1",
    );
    expect(refusal(() => planAttach(m, { vmid: 100, type: "nvidia-259", mapping: "nope" })).code).toBe(
      "unknown-mapping",
    );
    expect(refusal(() => planAttach(m, { vmid: 100, type: "nvidia-259", mapping: "plain" })).code).toBe(
      "mapping-not-mdev",
    );
  });
});

describe("planDetach", () => {
  it("removes the vGPU entries only, and refuses when there is none", () => {
    const m = model();
    give(m, 100, "0000:02:00.0", 0);
    give(m, 100, "0000:01:00.0,mdev=nvidia-259,pcie=1", 1);
    expect(planDetach(m, 100).keys).toEqual(["hostpci1"]);
    expect(refusal(() => planDetach(m, 100, 0)).code).toBe("no-vgpu");
    expect(refusal(() => planDetach(m, 101)).code).toBe("no-vgpu");
    expect(refusal(() => planDetach(m, 555)).code).toBe("unknown-vm");
  });
});
