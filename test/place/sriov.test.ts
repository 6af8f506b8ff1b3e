/**
 * SR-IOV GPUs in the report and in placement (src/report/sriov.ts, src/place/attach.ts).
 * source: sim scenario vm-uses-physical-function = an A40 (10de:2235, 48 GiB, 32 VFs 0000:01:00.4 …,
 * each listing the A40 types in nvidia/creatable_vgpu_types); VM 100 names the physical function.
 * Rules: research/proxmox.md §1b (`hostpciN: <VF>,mdev=nvidia-N`, PVE ≥ 8.2.5), §3 (equal-size mode;
 * per-GPU max instances from vgpuConfig.xml: A40-1Q 32, A40-24Q 2, A40-48Q 1).
 * Running vGPUs (nvidia/current_vgpu_type ≠ 0) are laid over the captured facts, as a running VM
 * would set them (bigstack-oss/cubecos#312: the file holds the decimal type id).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runChecks } from "../../src/checks/index.ts";
import { runInspect } from "../../src/commands/inspect.ts";
import { parseHostpci } from "../../src/facts/system/qemu-server.ts";
import type { Facts } from "../../src/facts/types.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { buildPlacementModel, type PlacementModel, planAttach, usersOf } from "../../src/place/index.ts";
import { buildInspectReport } from "../../src/report/inspect-report.ts";
import { addVm, refusal } from "./helpers.ts";

let base: Facts;

beforeAll(async () => {
  const host = SimHost.fromState(buildScenarioState("vm-uses-physical-function"));
  base = (await runInspect({}, { host })).facts;
});

/** The captured facts with VM 100 moved to a VF, and optional running vGPUs on VFs. */
function facts(opts: { vm100?: string | null; running?: Record<string, number> } = {}): Facts {
  const f = structuredClone(base);
  const vm100 = f.vms!.find((v) => v.vmid === 100)!;
  vm100.hostpci =
    opts.vm100 === null ? [] : [parseHostpci(0, opts.vm100 ?? "0000:01:00.0,mdev=nvidia-557,pcie=1")];
  for (const [vf, type] of Object.entries(opts.running ?? {})) {
    const v = f.virtualFunctions!.find((x) => x.address === vf)!;
    v.currentType = type;
    v.creatable = [];
  }
  return f;
}

function model(f: Facts): PlacementModel {
  return buildPlacementModel(buildInspectReport(f), f);
}

describe("inspect report of an SR-IOV GPU", () => {
  it("lists the types the VFs offer once, with the per-GPU limit, and every VF", () => {
    const g = buildInspectReport(facts()).gpus[0]!;
    expect(g.mdevTypes).toHaveLength(22);
    expect(g.mdevTypes.find((t) => t.name === "NVIDIA A40-1Q")).toMatchObject({
      type: "nvidia-557",
      framebufferMiB: 1024,
      maxInstances: 32,
      availableInstances: 32,
    });
    expect(g.mdevTypes.find((t) => t.name === "NVIDIA A40-24Q")).toMatchObject({
      maxInstances: 2,
      availableInstances: 2,
    });
    expect(g.vfs).toHaveLength(32);
    expect(g.vfs![0]).toEqual({ address: "0000:01:00.4", currentType: null, vmid: null });
    expect(g.vgpus).toEqual([]);
  });

  it("a VM config naming a VF shows on that VF; a running vGPU is listed once with the capacity it takes", () => {
    const f = facts({ vm100: "0000:01:00.5,mdev=nvidia-565", running: { "0000:01:00.5": 565 } });
    f.qmList = [{ vmid: 100, name: "win11", status: "running" }];
    const g = buildInspectReport(f).gpus[0]!;
    expect(g.vfs!.find((v) => v.address === "0000:01:00.5")).toEqual({
      address: "0000:01:00.5",
      currentType: "nvidia-565",
      vmid: 100,
    });
    expect(g.vgpus).toMatchObject([
      { uuid: "0000:01:00.5", vf: "0000:01:00.5", type: "nvidia-565", vmid: 100 },
    ]);
    const t = (name: string) => g.mdevTypes.find((x) => x.name === name)!;
    // A40-24Q: 2 per GPU, one runs; equal-size mode: no other size can start now
    expect(t("NVIDIA A40-24Q")).toMatchObject({ maxInstances: 2, availableInstances: 1 });
    expect(t("NVIDIA A40-1Q")).toMatchObject({ maxInstances: 32, availableInstances: 0 });
    expect(t("NVIDIA A40-24A")).toMatchObject({ availableInstances: 1 });
  });
});

describe("vm attach on an SR-IOV GPU", () => {
  it("writes a free virtual function (function ≠ 0) with mdev=", () => {
    const p = planAttach(model(facts()), { vmid: 101, type: "NVIDIA A40-2Q" });
    expect(p.value).toBe("0000:01:00.4,mdev=nvidia-558");
    expect(p.gpu).toBe("0000:01:00.0");
  });

  it("skips a VF another VM's config names, and takes a VF given by hand", () => {
    const m = model(facts({ vm100: "0000:01:00.4,mdev=nvidia-558,pcie=1" }));
    expect(planAttach(m, { vmid: 101, type: "nvidia-558" }).value).toBe("0000:01:00.5,mdev=nvidia-558");
    expect(planAttach(m, { vmid: 101, type: "nvidia-558", gpu: "01:01.2" }).value).toBe(
      "0000:01:01.2,mdev=nvidia-558",
    );
  });

  it("refuses the physical function given by hand", () => {
    const r = refusal(() =>
      planAttach(model(facts()), { vmid: 101, type: "nvidia-558", gpu: "0000:01:00.0" }),
    );
    expect(r.code).toBe("physical-function");
    expect(r.message).toBe(
      "0000:01:00.0 is the physical function of an SR-IOV GPU; its vGPUs live on its 32 virtual functions, so Proxmox VE cannot start a vGPU on it",
    );
    expect(r.hint).toContain("--gpu 0000:01:00.4");
  });

  it("refuses a VF in use", () => {
    const m = model(facts({ vm100: "0000:01:00.4,mdev=nvidia-558,pcie=1" }));
    const r = refusal(() => planAttach(m, { vmid: 101, type: "nvidia-558", gpu: "0000:01:00.4" }));
    expect(r.code).toBe("vf-in-use");
    expect(r.message).toBe("virtual function 0000:01:00.4 of GPU 0000:01:00.0 is in use by VM 100");
  });

  it("refuses a type the GPU does not offer", () => {
    const r = refusal(() => planAttach(model(facts()), { vmid: 101, type: "NVIDIA A16-4Q" }));
    expect(r.code).toBe("type-not-offered");
    expect(r.message).toBe("no GPU on vm-uses-physical-function offers nvidia-713 (NVIDIA A16-4Q)");
  });

  it("refuses a second framebuffer size in equal-size mode, allows another type of the same size", () => {
    const m = model(facts({ vm100: "0000:01:00.4,mdev=nvidia-558,pcie=1" }));
    const r = refusal(() => planAttach(m, { vmid: 101, type: "NVIDIA A40-4Q" }));
    expect(r.code).toBe("mixed-sizes");
    expect(r.message).toBe(
      "GPU 0000:01:00.0 already carries 2 GiB nvidia-558 vGPUs (VM 100) and is not in mixed-size mode; a 4 GiB nvidia-560 (NVIDIA A40-4Q) would fail to start",
    );
    expect(planAttach(m, { vmid: 101, type: "NVIDIA A40-2B" }).value).toBe("0000:01:00.5,mdev=nvidia-556");
    // in mixed-size mode the sizes may differ
    m.gpus[0]!.mixedSizes = true;
    expect(planAttach(m, { vmid: 101, type: "NVIDIA A40-4Q" }).value).toBe("0000:01:00.5,mdev=nvidia-560");
  });

  it("refuses more instances on the GPU than the board allows, counting configured VMs running or not", () => {
    const m = model(facts({ vm100: "0000:01:00.4,mdev=nvidia-565" }));
    addVm(m, 102, null, "0000:01:00.5,mdev=nvidia-565");
    const r = refusal(() => planAttach(m, { vmid: 101, type: "NVIDIA A40-24Q" }));
    expect(r.code).toBe("no-instances");
    expect(r.message).toBe(
      "GPU 0000:01:00.0 holds at most 2 × nvidia-565 (NVIDIA A40-24Q) and 2 are already assigned (VM 100, VM 102)",
    );
  });
});

describe("vm attach through a resource mapping of an SR-IOV GPU's VFs", () => {
  it("applies that GPU's size rule, counting VMs on the mapping", () => {
    const f = facts({ vm100: "mapping=a40,mdev=nvidia-558,pcie=1" });
    // one map entry per VF, mdev=1 (research/proxmox.md §1c)
    f.pciMappings = [
      {
        id: "a40",
        mdev: true,
        entries: ["0000:01:00.4", "0000:01:00.5"].map((path) => ({
          node: "vm-uses-physical-function",
          path,
          id: "10de:2235",
          subsystemId: "10de:145a",
          iommugroup: null,
        })),
      },
    ];
    const m = model(f);
    expect(refusal(() => planAttach(m, { vmid: 101, type: "NVIDIA A40-4Q", mapping: "a40" })).code).toBe(
      "mixed-sizes",
    );
    expect(planAttach(m, { vmid: 101, type: "NVIDIA A40-2Q", mapping: "a40" }).value).toBe(
      "mapping=a40,mdev=nvidia-558",
    );
  });
});

describe("a running vGPU of a VM on a mapping", () => {
  it("is matched to the VM through nvidia-smi vgpu -q's VM name and counted once", () => {
    const f = facts({ vm100: "mapping=a40,mdev=nvidia-565", running: { "0000:01:00.4": 565 } });
    f.qmList = [{ vmid: 100, name: "win11", status: "running" }];
    f.pciMappings = [
      {
        id: "a40",
        mdev: true,
        entries: [{ node: null, path: "0000:01:00.4", id: "10de:2235", subsystemId: null, iommugroup: null }],
      },
    ];
    // `nvidia-smi vgpu -q` on PVE: VM Name = the config's name with ",debug-threads=on" (research/proxmox.md §3)
    f.vgpuQuery = {
      driverVersion: null,
      error: null,
      gpus: [
        {
          busId: "0000:01:00.0",
          activeVgpus: 1,
          vgpus: [
            {
              gpuBusId: "0000:01:00.0",
              vgpuId: "3251634190",
              uuid: null,
              vmId: "2101",
              vmName: "win11,debug-threads=on",
              typeName: "NVIDIA A40-24Q",
              typeId: "565",
              fbUsageMiB: null,
              licensed: null,
            },
          ],
        },
      ],
    };
    const r = buildInspectReport(f);
    expect(r.gpus[0]!.vgpus).toMatchObject([{ vf: "0000:01:00.4", vmid: 100 }]);
    const m = model(f);
    expect(usersOf(m, m.gpus[0]!).map((u) => u.vmid)).toEqual([100]);
  });
});

describe("doctor on an SR-IOV host", () => {
  const codes = (f: Facts) => runChecks(f).map((x) => x.code);

  it("a VM on a VF, another running one: nothing to report about VMs or types", () => {
    const f = facts({ vm100: "0000:01:00.4,mdev=nvidia-558,pcie=1", running: { "0000:01:00.4": 558 } });
    f.qmList = [{ vmid: 100, name: "win11", status: "running" }];
    const found = codes(f);
    for (const c of [
      "vm-uses-physical-function",
      "mdev-types-empty",
      "sriov-vfs-missing",
      "vram-overcommit",
      "mixed-types",
      "vm-mdev-type-unavailable",
    ])
      expect(found).not.toContain(c);
  });

  it("a second size configured while the first runs: mixed-types with the sizes, not 'type not offered'", () => {
    const f = facts({ vm100: "0000:01:00.6,mdev=nvidia-560", running: { "0000:01:00.5": 558 } });
    f.vms!.find((v) => v.vmid === 101)!.hostpci = [parseHostpci(0, "0000:01:00.5,mdev=nvidia-558")];
    f.qmList = [{ vmid: 101, name: "ubuntu", status: "running" }];
    // the free VFs' lists collapse to the running size (bigstack-oss/cubecos#1338)
    for (const v of f.virtualFunctions!)
      if (v.currentType === 0 || v.currentType === null)
        v.creatable = (v.creatable ?? []).filter((t) => / A40-2[QBA]$/.test(t.name));
    const found = runChecks(f);
    expect(found.map((x) => x.code)).not.toContain("vm-mdev-type-unavailable");
    expect(found.find((x) => x.code === "mixed-types")?.title).toMatch(
      /of 2 framebuffer sizes on 0000:01:00.0 A40/,
    );
  });

  it("two A40-24Q fill the GPU the driver's way (2 × 24 GiB although nvidia-smi shows 46068 MiB): no overcommit", () => {
    const f = facts({ vm100: "0000:01:00.4,mdev=nvidia-565" });
    f.vms!.find((v) => v.vmid === 101)!.hostpci = [parseHostpci(0, "0000:01:00.5,mdev=nvidia-565")];
    expect(runChecks(f).map((x) => x.code)).not.toContain("vram-overcommit");
  });

  it("every VF busy (empty creatable lists) is not 'no types offered'", () => {
    const running: Record<string, number> = {};
    for (const v of base.virtualFunctions!) running[v.address] = 557;
    expect(codes(facts({ vm100: null, running }))).not.toContain("mdev-types-empty");
  });

  it("still flags the physical function, and more instances than the GPU allows", () => {
    expect(codes(facts())).toContain("vm-uses-physical-function");
    const f = facts({ vm100: "0000:01:00.4,mdev=nvidia-566" });
    f.vms!.push({
      ...structuredClone(f.vms![0]!),
      vmid: 102,
      hostpci: [parseHostpci(0, "0000:01:00.5,mdev=nvidia-566")],
    });
    expect(codes(f)).toContain("vram-overcommit");
  });
});

describe("mixed-size mode on the simulated A40", () => {
  it("after `nvidia-smi vgpu -i 0 -shm 1` inspect says enabled and a second size may be attached", async () => {
    const host = SimHost.fromState(buildScenarioState("vm-uses-physical-function"));
    for (const argv of [
      ["qm", "set", "100", "--delete", "hostpci0"],
      ["qm", "set", "101", "--hostpci0", "0000:01:00.4,mdev=nvidia-558"],
    ])
      expect((await host.exec(argv)).exitCode).toBe(0);
    const before = await runInspect({}, { host });
    expect(before.report.gpus[0]!.mixedSizes).toEqual({ supported: true, enabled: false });
    expect(
      refusal(() =>
        planAttach(buildPlacementModel(before.report, before.facts), { vmid: 100, type: "NVIDIA A40-4Q" }),
      ).code,
    ).toBe("mixed-sizes");
    // research/proxmox.md §3: "nvidia-smi vgpu -i <id> -shm 1" enables mixed-size mode
    expect((await host.exec(["nvidia-smi", "vgpu", "-i", "0", "-shm", "1"])).exitCode).toBe(0);
    const after = await runInspect({}, { host });
    expect(after.report.gpus[0]!.mixedSizes).toEqual({ supported: true, enabled: true });
    const p = planAttach(buildPlacementModel(after.report, after.facts), {
      vmid: 100,
      type: "NVIDIA A40-4Q",
    });
    expect(p.value).toBe("0000:01:00.5,mdev=nvidia-560,pcie=1");
  });
});

describe("an A16 GPU (sim a16-configured) once a vGPU runs", () => {
  it("still offers the board's other types, with 0 available, and never the A2's that share its device id", async () => {
    const host = SimHost.fromState(buildScenarioState("a16-configured"));
    const f = (await runInspect({}, { host })).facts;
    const vf = f.virtualFunctions!.find((v) => v.physfn === "0000:41:00.0")!;
    vf.currentType = 714; // A16-8Q running
    // lspci without subsystem ids (a hand-made bundle): 25b6 is both A2 and A16
    for (const p of f.pci ?? []) p.subsystemDeviceId = null;
    // the free VFs list only the running size (bigstack-oss/cubecos#1338)
    for (const v of f.virtualFunctions!)
      if (v.physfn === "0000:41:00.0")
        v.creatable = v === vf ? [] : (v.creatable ?? []).filter((t) => /-8[QBA]$/.test(t.name));
    const g = buildInspectReport(f).gpus.find((x) => x.address === "0000:41:00.0")!;
    expect(g.mdevTypes.every((t) => t.name?.startsWith("NVIDIA A16-"))).toBe(true);
    expect(g.mdevTypes.find((t) => t.name === "NVIDIA A16-4Q")).toMatchObject({
      maxInstances: 4,
      availableInstances: 0,
    });
    expect(g.mdevTypes.find((t) => t.name === "NVIDIA A16-8Q")).toMatchObject({
      maxInstances: 2,
      availableInstances: 1,
    });
  });
});
