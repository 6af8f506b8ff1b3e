import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseNvidiaSmiQuery, queryGpuPciIds } from "../../src/facts/nvidia/nvidia-smi-q.ts";
import { crlf, fixture, garble } from "./fixture.ts";

/** The full real report of a Tesla P40 on 535.129.03 (test/fixtures/conformance/SOURCES.md), prompt line included. */
const P40_535 = readFileSync(
  new URL("../fixtures/conformance/p40-535-nvidia-smi-q.txt", import.meta.url),
  "utf8",
);

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

  it("reads identity and driver version from a full 220-line real report pasted after its prompt", () => {
    const q = parseNvidiaSmiQuery(P40_535);
    expect(q.driverVersion).toBe("535.129.03");
    expect(q.error).toBeNull();
    const g = q.gpus[0]!;
    expect(g).toMatchObject({
      busId: "0000:83:00.0",
      productName: "Tesla P40",
      fbTotalMiB: 24576,
      fbReservedMiB: 0,
    });
    // the second "Total" (BAR1) and the one under Conf Compute do not replace FB Memory Usage's
    expect(g.fields["BAR1 Memory Usage / Total"]).toBe("32768 MiB");
    expect(g.fields["ECC Errors / Aggregate / Double Bit / Total"]).toBe("N/A");
    expect(queryGpuPciIds(g)).toEqual({
      deviceId: "1b38",
      vendorId: "10de",
      subsystemDeviceId: "11d9",
      subsystemVendorId: "10de",
    });
  });

  it("keeps the device id when the card's name is not a board name (unlocked: NVIDIA Graphics Device)", () => {
    const spoofed = P40_535.replace("Tesla P40", "NVIDIA Graphics Device").replace(
      "0x1B3810DE",
      "0x1B3910DE",
    );
    const q = parseNvidiaSmiQuery(crlf(spoofed));
    expect(q.driverVersion).toBe("535.129.03");
    expect(q.gpus[0]!.productName).toBe("NVIDIA Graphics Device");
    expect(queryGpuPciIds(q.gpus[0]!).deviceId).toBe("1b39");
  });

  it("gives null ids when the PCI block is missing or unreadable", () => {
    const q = parseNvidiaSmiQuery(fixture("akb486-nvidia-smi-q.txt"));
    expect(queryGpuPciIds(q.gpus[0]!)).toEqual({
      deviceId: null,
      vendorId: null,
      subsystemDeviceId: null,
      subsystemVendorId: null,
    });
  });
});
