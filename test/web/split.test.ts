// Sources: the sim scenarios are the seed guide's host (seed guide: RTX 2080 Ti, 11 GiB, RTX6000 types
// nvidia-256…; "mdevctl types" output in the guide), shared/data/vgpu-types.csv for framebuffer sizes.
import { describe, expect, it } from "vitest";
import { parseFacts } from "../../src/facts/index.ts";
import { parseProfileOverride } from "../../src/facts/nvidia/unlock.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { buildInspectReport, type InspectGpu } from "../../src/report/inspect-report.ts";
import { formatMiB, gpuSplit, typeLabel } from "../../src/web/split.ts";

async function reportAfter(scenario: string, cmds: string[][]) {
  const host = SimHost.fromState(buildScenarioState(scenario));
  for (const c of cmds) {
    const r = await host.exec(c);
    expect(r.exitCode, `${c.join(" ")}: ${r.stderr}`).toBe(0);
  }
  return buildInspectReport(parseFacts(await host.capture(GATHER_SPEC)));
}

describe("gpuSplit on the seed host", () => {
  it("one running VM with RTX6000-4Q: a 4 GiB segment labelled with VM id, name and type; 7 GiB free", async () => {
    const r = await reportAfter("seed-configured", [
      ["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259"],
      ["qm", "start", "100"],
    ]);
    const s = gpuSplit(r.gpus[0]!, r.vms);
    expect(s.totalMiB).toBe(11264);
    expect(s.segments).toHaveLength(1);
    expect(s.segments[0]).toMatchObject({
      state: "active",
      vmid: 100,
      vmName: "win11",
      type: "nvidia-259",
      typeLabel: "RTX6000-4Q",
      framebufferMiB: 4096,
      label: "VM 100 (win11) · RTX6000-4Q · 4 GiB",
    });
    expect(s.usedMiB).toBe(4096);
    expect(s.freeMiB).toBe(7168);
    expect(s.typesInUse).toEqual([{ type: "nvidia-259", label: "RTX6000-4Q" }]);
    expect(s.availableInstances).toBe(5);
    expect(s.maxInstances).toBe(6);
    expect(s.overcommitted).toBe(false);
  });

  it("a stopped VM configured for a vGPU on this GPU is shown as assigned, not running", async () => {
    const r = await reportAfter("seed-configured", [
      ["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259"],
      ["qm", "start", "100"],
      ["qm", "set", "101", "--hostpci0", "01:00.0,mdev=nvidia-259"],
    ]);
    const s = gpuSplit(r.gpus[0]!, r.vms);
    expect(s.segments.map((x) => [x.vmid, x.state])).toEqual([
      [100, "active"],
      [101, "assigned"],
    ]);
    expect(s.segments[1]!.label).toBe("VM 101 (ubuntu) · RTX6000-4Q · 4 GiB · VM stopped");
    expect(s.freeMiB).toBe(11264 - 8192);
  });

  it("a per-VM profile_override.toml size is what the bar shows (knowledge/vram.ts effectiveVramMiB)", async () => {
    // source: seed guide lines 360-366 — [vm.100] framebuffer = 0x74000000, framebuffer_reservation = 0xC000000 (2 GB)
    const host = SimHost.fromState(buildScenarioState("seed-configured"));
    for (const c of [
      ["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259"],
      ["qm", "start", "100"],
      ["qm", "set", "101", "--hostpci0", "01:00.0,mdev=nvidia-259"],
    ])
      expect((await host.exec(c)).exitCode).toBe(0);
    const facts = parseFacts(await host.capture(GATHER_SPEC));
    const text = "[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n";
    facts.profileOverride = { present: true, text, ...parseProfileOverride(text) };
    const r = buildInspectReport(facts);
    const s = gpuSplit(r.gpus[0]!, r.vms);
    expect(s.segments.map((x) => [x.vmid, x.framebufferMiB, x.vramFrom])).toEqual([
      [100, 2048, "[vm.100]"],
      [101, 4096, null],
    ]);
    expect(s.segments[0]!.label).toBe("VM 100 (win11) · RTX6000-4Q · 2 GiB ([vm.100])");
    expect(s.freeMiB).toBe(11264 - 2048 - 4096);
  });

  it("no vGPU yet: no segments, everything free, no type in use", async () => {
    const r = await reportAfter("seed-configured", []);
    const s = gpuSplit(r.gpus[0]!, r.vms);
    expect(s.segments).toEqual([]);
    expect(s.freeMiB).toBe(11264);
    expect(s.typesInUse).toEqual([]);
    expect(s.availableInstances).toBeNull();
  });
});

describe("gpuSplit edge cases", () => {
  // Tesla P4: 8 GiB, P4-4Q = 4096 MiB, max 2 (shared/data/vgpu-types.csv)
  const p4: InspectGpu = {
    address: "0000:41:00.0",
    vendorId: "10de",
    deviceId: "1bb3",
    subsystemId: null,
    name: "Tesla P4",
    generation: "pascal",
    vramMiB: 8192,
    driverInUse: "nvidia",
    support: "native",
    supportReason: "natively supported",
    spoofAs: null,
    mdevTypes: [
      {
        type: "nvidia-65",
        name: "GRID P4-4Q",
        framebufferMiB: 4096,
        maxInstances: 2,
        availableInstances: 0,
        parent: "0000:41:00.0",
      },
    ],
    vgpus: [
      { uuid: "00000000-0000-0000-0000-000000000200", type: "nvidia-65", vmid: 200 },
      { uuid: "00000000-0000-0000-0000-000000000201", type: "nvidia-65", vmid: 201 },
      { uuid: "aaaaaaaa-0000-0000-0000-000000000001", type: "nvidia-999", vmid: null },
    ],
    sriov: null,
  };

  it("full GPU: free 0; an unknown type keeps a segment with 'size unknown'; over-commit flagged", () => {
    const s = gpuSplit(p4, [{ vmid: 200, name: null, running: true, hostpci: [] }]);
    expect(s.usedMiB).toBe(8192);
    expect(s.freeMiB).toBe(0);
    expect(s.segments[0]!.label).toBe("VM 200 · P4-4Q · 4 GiB");
    expect(s.segments[2]!.label).toBe("no VM · nvidia-999 · size unknown");
    expect(s.typesInUse.map((t) => t.type)).toEqual(["nvidia-65", "nvidia-999"]);
    expect(s.availableInstances).toBeNull(); // mixed: no single type
    const over = gpuSplit({ ...p4, vramMiB: 6144 }, []);
    expect(over.overcommitted).toBe(true);
    expect(over.freeMiB).toBe(0);
  });

  it("unknown VRAM size: free is unknown, not a guess", () => {
    const s = gpuSplit({ ...p4, vramMiB: null }, []);
    expect(s.totalMiB).toBeNull();
    expect(s.freeMiB).toBeNull();
  });

  it("hostpci on another GPU, or through a mapping, is not counted on this one", () => {
    const s = gpuSplit({ ...p4, vgpus: [] }, [
      {
        vmid: 300,
        name: "x",
        running: false,
        hostpci: [{ index: 0, mdev: "nvidia-65", address: "0000:42:00.0", mapping: null }],
      },
      {
        vmid: 301,
        name: "y",
        running: false,
        hostpci: [{ index: 0, mdev: "nvidia-65", address: null, mapping: "p4" }],
      },
      {
        vmid: 302,
        name: "z",
        running: false,
        hostpci: [{ index: 0, mdev: "nvidia-65", address: "41:00", mapping: null }],
      },
    ]);
    expect(s.segments.map((x) => x.vmid)).toEqual([302]);
  });

  it("formats sizes and type names", () => {
    expect(formatMiB(4096)).toBe("4 GiB");
    expect(formatMiB(1536)).toBe("1.5 GiB");
    expect(formatMiB(512)).toBe("512 MiB");
    expect(typeLabel("GRID RTX6000-4Q", "nvidia-259")).toBe("RTX6000-4Q");
    expect(typeLabel(null, "nvidia-259")).toBe("nvidia-259");
    expect(typeLabel(null, null)).toBe("unknown type");
  });
});

describe("gpuSplit on an SR-IOV GPU (sim vm-uses-physical-function: A40, 32 VFs)", () => {
  it("a stopped VM whose config names a VF is drawn like an mdev GPU's assigned vGPU; the PF entry is not", async () => {
    const r = await reportAfter("vm-uses-physical-function", [
      ["qm", "set", "101", "--hostpci0", "0000:01:00.5,mdev=nvidia-558"],
    ]);
    const g = r.gpus[0]!;
    expect(g.vfs?.find((v) => v.address === "0000:01:00.5")?.vmid).toBe(101);
    const s = gpuSplit(g, r.vms);
    expect(s.segments).toHaveLength(1);
    expect(s.segments[0]).toMatchObject({
      state: "assigned",
      vmid: 101,
      type: "nvidia-558",
      typeLabel: "NVIDIA A40-2Q",
      framebufferMiB: 2048,
    });
    expect(s.maxInstances).toBe(24);
  });
});
