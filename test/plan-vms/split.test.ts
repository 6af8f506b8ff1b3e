/**
 * The split search (src/place/split.ts) on the model of the simulated seed host.
 * source: sim scenario seed-configured = the seed guide's host after the guide (RTX 2080 Ti 1e07,
 * 11 GiB, the RTX6000 types of seed guide lines 308-319: nvidia-256 = RTX6000-1Q … nvidia-259 =
 * RTX6000-4Q, max 6 instances of 4Q; VM 100 win11 on q35, VM 101 ubuntu on i440fx). A second GPU
 * is the same card at 0000:02:00.0. One type per physical GPU: research/proxmox.md §3; VRAM of all
 * vGPUs within the physical framebuffer: research/unlock.md §4 #11.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runInspect } from "../../src/commands/inspect.ts";
import { parseHostpci } from "../../src/facts/system/qemu-server.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { buildPlacementModel, type PlacementModel } from "../../src/place/index.ts";
import { osFromOstype, planSplit, type SplitRequest } from "../../src/place/split.ts";

let base: PlacementModel;

beforeAll(async () => {
  const host = SimHost.fromState(buildScenarioState("seed-configured"));
  const { report, facts } = await runInspect({}, { host });
  base = buildPlacementModel(report, facts);
});

/** The seed model, with `gpus` identical cards and VMs 100…(100+vms-1). */
function model(gpus = 1, vms = 2): PlacementModel {
  const m = structuredClone(base);
  for (let i = 1; i < gpus; i++) {
    const addr = `0000:0${i + 1}:00.0`;
    m.gpus.push({ ...structuredClone(base.gpus[0]!), address: addr, parents: [addr] });
  }
  for (let id = 102; id < 100 + vms; id++)
    m.vms.push({
      vmid: id,
      name: `vm${id}`,
      ostype: "l26",
      machine: null,
      running: false,
      args: null,
      hostpci: [],
    });
  return m;
}

function give(m: PlacementModel, vmid: number, raw: string, index = 0): void {
  m.vms.find((v) => v.vmid === vmid)!.hostpci.push({ ...parseHostpci(index, raw), pending: false });
}

const typed = (vmid: number, type: string, gpu?: string): SplitRequest => ({ vmid, type, gpu });

describe("planSplit", () => {
  it("driver 525 (seed: 15.1): a 2Q and a 2B share one GPU; before 525 they need two GPUs", () => {
    const reqs = [typed(100, "nvidia-257"), typed(101, "nvidia-436")];
    const r = planSplit(model(1, 2), reqs);
    expect(r.unplaced).toEqual([]);
    expect(r.placements.map((p) => [p.vmid, p.gpu, p.type])).toEqual([
      [100, "0000:01:00.0", "nvidia-257"],
      [101, "0000:01:00.0", "nvidia-436"],
    ]);
    expect(r.gpus[0]).toMatchObject({ usedMiB: 4096, instancesLeft: 10 });
    const old = model(1, 2);
    old.gpus[0]!.sharing = "one-type";
    const o = planSplit(old, reqs);
    expect(o.placements).toHaveLength(1);
    expect(o.unplaced[0]!.code).toBe("mixed-types");
    expect(o.unplaced[0]!.message).toContain("one type per GPU before driver 525");
  });

  it("mixed-size mode: a 4Q beside a 2Q on one GPU", () => {
    const m = model(1, 2);
    m.gpus[0]!.mixedSizes = true;
    const r = planSplit(m, [typed(100, "nvidia-259"), typed(101, "nvidia-257")]);
    expect(r.unplaced).toEqual([]);
    expect(r.gpus[0]!.usedMiB).toBe(6144);
  });

  it("keeps one type per GPU: two 4Q and two 2Q VMs on two cards get one card each", () => {
    const r = planSplit(model(2, 4), [
      typed(100, "nvidia-259"),
      typed(101, "nvidia-257"),
      typed(102, "nvidia-259"),
      typed(103, "nvidia-257"),
    ]);
    expect(r.unplaced).toEqual([]);
    expect(r.gpus.map((g) => [g.gpu, g.type, g.vms.map((v) => v.vmid)])).toEqual([
      ["0000:01:00.0", "nvidia-257", [101, 103]],
      ["0000:02:00.0", "nvidia-259", [100, 102]],
    ]);
    for (const g of r.gpus)
      expect(new Set(r.placements.filter((p) => p.gpu === g.gpu).map((p) => p.type)).size).toBe(1);
    expect(r.gpus[1]).toMatchObject({ totalMiB: 11264, usedMiB: 8192, freeMiB: 3072, instancesLeft: 4 });
  });

  it("on one GPU chooses the type group that fits the most VMs and refuses the rest with mixed-types", () => {
    const r = planSplit(model(1, 5), [
      typed(100, "nvidia-259"),
      typed(101, "nvidia-259"),
      typed(102, "nvidia-256"),
      typed(103, "nvidia-256"),
      typed(104, "nvidia-256"),
    ]);
    expect(r.gpus[0]).toMatchObject({ type: "nvidia-256", typeName: "GRID RTX6000-1Q" });
    expect(r.placements.map((p) => p.vmid)).toEqual([102, 103, 104]);
    expect(r.unplaced.map((u) => [u.vmid, u.code])).toEqual([
      [100, "mixed-types"],
      [101, "mixed-types"],
    ]);
    expect(r.unplaced[0]!.message).toContain("one framebuffer size per GPU, equal-size mode");
  });

  it("is deterministic: the order of the requests does not change the split; ties go to the lower address", () => {
    const reqs = [typed(100, "nvidia-259"), typed(101, "nvidia-257"), typed(102, "nvidia-259")];
    const a = planSplit(model(2, 3), reqs);
    const b = planSplit(model(2, 3), [...reqs].reverse());
    expect(b).toEqual(a);
    const one = planSplit(model(2, 2), [typed(100, "nvidia-259")]);
    expect(one.placements[0]!.gpu).toBe("0000:01:00.0");
  });

  it("packs VRAM-only VMs onto one type with per-VM overrides and refuses what exceeds the VRAM", () => {
    const r = planSplit(model(1, 4), [
      { vmid: 101, vramMiB: 4096, os: "linux", workload: "cad" },
      { vmid: 102, vramMiB: 3072, os: "linux", workload: "cad" },
      { vmid: 103, vramMiB: 5120, os: "linux", workload: "cad" },
    ]);
    // any two fit the 11 GiB, all three (12 GiB) do not; cad prefers Q, and RTX6000-4Q needs the
    // fewest overrides (4 GiB is exactly its size)
    expect(r.gpus[0]!.type).toBe("nvidia-259");
    expect(r.placements.map((p) => [p.vmid, p.vramMiB, p.overrideVramMiB])).toEqual([
      [101, 4096, null],
      [103, 5120, 5120],
    ]);
    expect(r.unplaced).toHaveLength(1);
    expect(r.unplaced[0]).toMatchObject({ vmid: 102, code: "vram-overcommit" });
    expect(r.unplaced[0]!.message).toContain("has 11 GiB of VRAM");
    expect(r.gpus[0]).toMatchObject({ usedMiB: 9216, freeMiB: 2048 });
  });

  it("chooses the series from the guest OS: A types for Windows only, never for Linux", () => {
    const r = planSplit(model(2, 3), [
      { vmid: 100, vramMiB: 1024, workload: "gaming" }, // win11 ostype → windows
      { vmid: 101, vramMiB: 1024, workload: "gaming" }, // l26 → linux: B or Q, never A
    ]);
    expect(osFromOstype("win11")).toBe("windows");
    expect(osFromOstype("l26")).toBe("linux");
    const byVm = new Map(r.placements.map((p) => [p.vmid, p]));
    expect(byVm.get(101)!.typeName).not.toMatch(/\dA$/);
    expect(byVm.get(100)!.typeName).toMatch(/\d[AB]$/);
    expect(r.unplaced).toEqual([]);
  });

  it("keeps a VM where it already is, even when another GPU has more room", () => {
    const m = model(2, 2);
    give(m, 100, "0000:02:00.0,mdev=nvidia-259,pcie=1");
    const r = planSplit(m, [typed(100, "nvidia-259")]);
    expect(r.placements[0]).toMatchObject({ gpu: "0000:02:00.0", kept: true });
  });

  it("counts vGPUs vgpu.yaml does not manage: a typed VM cannot join a GPU carrying another type", () => {
    const m = model(1, 3);
    give(m, 102, "0000:01:00.0,mdev=nvidia-256");
    const r = planSplit(m, [typed(100, "nvidia-259", "0000:01:00.0")]);
    expect(r.unplaced[0]).toMatchObject({ vmid: 100, code: "mixed-types" });
    expect(r.unplaced[0]!.message).toContain("VM 102");
    expect(r.gpus[0]).toMatchObject({ type: "nvidia-256", others: [expect.objectContaining({ vmid: 102 })] });
    // ... but the same VM managed by vgpu.yaml (listed for detach) frees the GPU
    const freed = planSplit(m, [typed(100, "nvidia-259", "0000:01:00.0")], { managed: [102] });
    expect(freed.unplaced).toEqual([]);
  });

  it("honours gpus[].type, and refuses more instances than the type allows", () => {
    const reqs = [100, 101, 102, 103].map((id) => typed(id, "nvidia-260")); // RTX6000-6Q: 6 GiB each
    const r = planSplit(model(1, 4), reqs.slice(0, 1), { gpuTypes: { "0000:01:00.0": "GRID RTX6000-4Q" } });
    expect(r.unplaced[0]).toMatchObject({ vmid: 100, code: "mixed-types" });
    const m = model(1, 8);
    m.gpus[0]!.vramMiB = 65536; // only the instance limit (6 × 4Q) binds
    const many = planSplit(
      m,
      [100, 101, 102, 103, 104, 105, 106, 107].map((id) => typed(id, "nvidia-259")),
    );
    expect(many.placements).toHaveLength(6);
    expect(many.unplaced.map((u) => u.code)).toEqual(["no-instances", "no-instances"]);
    expect(many.gpus[0]!.instancesLeft).toBe(0);
  });

  it("reports unknown VMs, types and GPUs with their refusal codes", () => {
    const r = planSplit(model(), [
      typed(999, "nvidia-259"),
      typed(100, "nvidia-99999"),
      typed(101, "nvidia-259", "0000:09:00.0"),
    ]);
    expect(r.unplaced.map((u) => [u.vmid, u.code])).toEqual([
      [100, "unknown-type"],
      [101, "unknown-gpu"],
      [999, "unknown-vm"],
    ]);
    expect(r.unplaced.every((u) => u.message.startsWith(`VM ${u.vmid}`))).toBe(true);
  });
});
