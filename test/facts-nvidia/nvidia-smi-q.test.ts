import { describe, expect, it } from "vitest";
import { parseNvidiaSmiQuery } from "../../src/facts/nvidia/nvidia-smi-q.ts";
import { crlf, fixture, garble } from "./fixture.ts";

describe("parseNvidiaSmiQuery", () => {
  it("reads a vGPU host GPU (525, Non SR-IOV), ignoring grep separators and a pasted table", () => {
    // source: https://github.com/akb486/vgpu README
    const q = parseNvidiaSmiQuery(fixture("akb486-nvidia-smi-q.txt"));
    expect(q.driverVersion).toBe("525.147.01");
    expect(q.cudaVersion).toBeNull(); // "Not Found"
    expect(q.error).toBeNull();
    expect(q.gpus).toHaveLength(1);
    const g = q.gpus[0]!;
    expect(g).toMatchObject({
      busId: "0000:01:00.0",
      productName: "NVIDIA GeForce RTX 4088",
      productBrand: "GeForce",
      productArchitecture: "Ada Lovelace",
      virtualizationMode: "Host VGPU",
      hostVgpuMode: "Non SR-IOV",
      fbTotalMiB: null,
      vbiosVersion: null,
    });
    expect(g.fields["vGPU Device Capability / Heterogeneous Time-Slice Profiles"]).toBe("Supported");
    expect(g.fields["vGPU Device Capability / Heterogeneous Time-Slice Sizes"]).toBe("Not Supported");
    expect(g.fields["MIG Mode / Current"]).toBe("N/A");
    expect(g.fields["GPU Operation Mode / Current"]).toBe("N/A");
    // nothing from the table pasted after the report leaks in
    expect(Object.keys(g.fields).some((k) => k.includes("NVIDIA-SMI"))).toBe(false);
  });

  it("scopes Total/Reserved to FB Memory Usage and normalises a non-zero PCI domain", () => {
    // source: bigstack-oss/cubecos test fixture (index id 66050694460)
    const q = parseNvidiaSmiQuery(fixture("cubecos-nvidia-smi-q.txt"));
    expect(q.driverVersion).toBe("580.105.06");
    const g = q.gpus[0]!;
    expect(g.busId).toBe("0001:c8:00.0");
    expect(g.fbTotalMiB).toBe(97887);
    expect(g.fbReservedMiB).toBe(2288);
    expect(g.fields["BAR1 Memory Usage / Total"]).toBe("131072 MiB");
    expect(g.fields["PCI / Bus Id"]).toBe("00000001:C8:00.0");
    expect(g.productArchitecture).toBeNull();
  });

  it("survives CRLF", () => {
    const q = parseNvidiaSmiQuery(crlf(fixture("cubecos-nvidia-smi-q.txt")));
    expect(q.gpus[0]).toMatchObject({ busId: "0001:c8:00.0", fbTotalMiB: 97887 });
  });

  it("reports errors and never throws on garbage", () => {
    // source: https://github.com/ci-for-research/self-hosted-runners/issues/40
    const e = parseNvidiaSmiQuery(fixture("ci-for-research-issue40-nvidia-smi-failed.txt"));
    expect(e.gpus).toEqual([]);
    expect(e.error).toMatch(/couldn't communicate/);
    for (const g of garble(fixture("akb486-nvidia-smi-q.txt")))
      expect(() => parseNvidiaSmiQuery(g)).not.toThrow();
  });
});
