// PCI addresses and GPU functions: the one normaliser (src/facts/pci.ts) and the derivations over it
// (src/facts/derive.ts physicalGpuFunctions, pciProductName, mdevUuidFor).
import { describe, expect, it } from "vitest";
import {
  mdevUuidFor,
  pciProductName,
  physicalGpuFunctions,
  vmidFromMdevUuid,
} from "../../src/facts/derive.ts";
import { normalisePciAddress, pciAddressCovers, pciBus, sameBus } from "../../src/facts/pci.ts";
import { parseLspciDnnk } from "../../src/facts/system/lspci.ts";
import type { Facts } from "../../src/facts/types.ts";
import { fixture } from "./fixture.ts";

describe("normalisePciAddress", () => {
  it("turns every spelling the host prints into 0000:bb:dd.f", () => {
    // nvidia-smi: "00000000:01:00.0" (seed guide line 293)
    expect(normalisePciAddress("00000000:01:00.0")).toBe("0000:01:00.0");
    // lspci -nnk without -D: "01:00.0" (lspci-nnk-no-domain.txt); hostpci lines: "01:00.0"
    expect(normalisePciAddress("01:00.0")).toBe("0000:01:00.0");
    expect(normalisePciAddress(" 0000:5E:00.0 ")).toBe("0000:5e:00.0");
    // a VMD / second-segment domain keeps its digits (sysfs prints it with %04x)
    expect(normalisePciAddress("10000:01:00.0")).toBe("10000:01:00.0");
    expect(normalisePciAddress("00010000:01:00.0")).toBe("10000:01:00.0");
  });

  it("the function part: kept optional, required, or defaulted to .0", () => {
    // hostpci0: 0000:01:00 = all functions of the device (research/proxmox.md)
    expect(normalisePciAddress("01:00")).toBe("0000:01:00");
    expect(normalisePciAddress("01:00", "required")).toBeNull();
    expect(normalisePciAddress("01:00", "zero")).toBe("0000:01:00.0");
    expect(normalisePciAddress("0000:01:00.1", "zero")).toBe("0000:01:00.1");
  });

  it("anything else is not an address", () => {
    for (const bad of ["", "gpu0", "mapping=gpu", "01:00.8", "1:0.0", "0000:01:00.0.0", "nvidia-259"]) {
      expect(normalisePciAddress(bad)).toBeNull();
    }
  });

  it("buses and hostpci coverage", () => {
    expect(pciBus("01:00.1")).toBe("0000:01");
    expect(sameBus("0000:51:00.0", "51:03.7")).toBe(true);
    expect(sameBus("0000:51:00.0", "0000:52:00.0")).toBe(false);
    expect(sameBus("garbage", "garbage")).toBe(false);
    expect(pciAddressCovers("01:00", "0000:01:00.0")).toBe(true);
    expect(pciAddressCovers("0000:01:00.0", "0000:01:00.1")).toBe(false);
    expect(pciAddressCovers("41:00", "0000:41:00.0")).toBe(true);
    expect(pciAddressCovers(null, "0000:01:00.0")).toBe(false);
  });
});

// source: martins3/martins3.github.io (search index id 56793414217): `lspci -nn` per IOMMU group of an
// A40 with SR-IOV enabled — its virtual functions 51:00.4 … 51:04.3 are 3D controllers of their own.
// The PF line (51:00.0) has the same shape as the VF lines (the page lists only the VFs' groups).
const A40_LSPCI = [
  "51:00.0 3D controller [0302]: NVIDIA Corporation GA102GL [A40] [10de:2235] (rev a1)",
  "51:00.4 3D controller [0302]: NVIDIA Corporation GA102GL [A40] [10de:2235] (rev a1)",
  "51:00.5 3D controller [0302]: NVIDIA Corporation GA102GL [A40] [10de:2235] (rev a1)",
  "51:01.0 3D controller [0302]: NVIDIA Corporation GA102GL [A40] [10de:2235] (rev a1)",
  "51:04.3 3D controller [0302]: NVIDIA Corporation GA102GL [A40] [10de:2235] (rev a1)",
].join("\n");

describe("physicalGpuFunctions", () => {
  const facts = (sriov: Facts["sriov"]) => ({ pci: parseLspciDnnk(A40_LSPCI), sriov }) as unknown as Facts;

  it("folds the SR-IOV virtual functions into their physical function", () => {
    const f = facts([{ address: "0000:51:00.0", totalVfs: 32, numVfs: 32 }]);
    expect(physicalGpuFunctions(f).map((p) => p.address)).toEqual(["0000:51:00.0"]);
  });

  it("without VFs enabled (or SR-IOV unknown) every function is a GPU of its own", () => {
    expect(physicalGpuFunctions(facts([{ address: "0000:51:00.0", totalVfs: 32, numVfs: 0 }]))).toHaveLength(
      5,
    );
    expect(physicalGpuFunctions(facts(null))).toHaveLength(5);
  });

  it("audio functions are not GPUs (lspci-nnk-no-domain.txt: GTX 1650 Mobile + its HDA function)", () => {
    const f = { pci: parseLspciDnnk(fixture("lspci-nnk-no-domain.txt")), sriov: null } as unknown as Facts;
    expect(physicalGpuFunctions(f).map((p) => p.address)).toEqual(["0000:01:00.0"]);
  });
});

describe("pciProductName and mdevUuidFor", () => {
  it("the name in lspci's last brackets", () => {
    const [gpu] = parseLspciDnnk(fixture("lspci-nnk-no-domain.txt"));
    expect(pciProductName(gpu!.description)).toBe("GeForce GTX 1650 Mobile / Max-Q");
    expect(pciProductName("NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A] [10de:1e07] (rev a1)")).toBe(
      "GeForce RTX 2080 Ti Rev. A",
    );
    expect(pciProductName("NVIDIA GPU")).toBeNull();
  });

  it("Proxmox's mdev UUID for hostpci<index> of a VM, and back (research/unlock.md §1.6)", () => {
    expect(mdevUuidFor(100, 0)).toBe("00000000-0000-0000-0000-000000000100");
    expect(mdevUuidFor(102, 1)).toBe("00000001-0000-0000-0000-000000000102");
    expect(vmidFromMdevUuid(mdevUuidFor(123456, 7))).toEqual({ vmid: 123456, index: 7 });
  });
});
