import { describe, expect, it } from "vitest";
import { type Capture, Evidence, emptyCapture } from "../../src/facts/capture.ts";
import {
  creatableTypesFromSysfs,
  mdevTypesFromSysfs,
  parseCreatableVgpuTypes,
  sriovFromSysfs,
} from "../../src/facts/nvidia/sysfs.ts";
import { fixture } from "./fixture.ts";

const DEV = "/sys/bus/pci/devices";

function evidence(files: Record<string, string>, capturedPaths: string[] = []): Evidence {
  const cap: Capture = { ...emptyCapture("pve", "2026-01-31T12:00:00Z"), files, capturedPaths };
  return new Evidence(cap);
}

// Values of the legacy mdev files: seed guide lines 308-315 / akb486 README (nvidia-256/257 on a Turing card).
const turing = {
  [`${DEV}/0000:01:00.0/vendor`]: "0x10de\n",
  [`${DEV}/0000:01:00.0/device`]: "0x1e07\n",
  [`${DEV}/0000:01:00.0/mdev_supported_types/nvidia-256/name`]: "GRID RTX6000-1Q\n",
  [`${DEV}/0000:01:00.0/mdev_supported_types/nvidia-256/description`]:
    "num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24\n",
  [`${DEV}/0000:01:00.0/mdev_supported_types/nvidia-256/available_instances`]: "24\n",
  [`${DEV}/0000:01:00.0/mdev_supported_types/nvidia-256/device_api`]: "vfio-pci\n",
  [`${DEV}/0000:01:00.0/mdev_supported_types/nvidia-257/name`]: "GRID RTX6000-2Q\n",
  [`${DEV}/0000:01:00.0/mdev_supported_types/nvidia-257/description`]:
    "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=12\n",
  [`${DEV}/0000:01:00.0/mdev_supported_types/nvidia-257/available_instances`]: "12\n",
  [`${DEV}/0000:01:00.0/mdev_supported_types/nvidia-257/device_api`]: "vfio-pci\n",
  // the GPU's audio function is also NVIDIA, with nothing else captured
  [`${DEV}/0000:01:00.1/vendor`]: "0x10de\n",
  // a non-NVIDIA device that happens to be in the capture
  [`${DEV}/0000:00:02.0/vendor`]: "0x8086\n",
  [`${DEV}/0000:00:02.0/mdev_supported_types/i915-GVTg_V5_4/name`]: "GVTg_V5_4\n",
};

describe("mdevTypesFromSysfs", () => {
  it("builds MdevTypes from mdev_supported_types files of NVIDIA functions only", () => {
    const ev = evidence(turing, [`${DEV}/0000:01:00.0`, `${DEV}/0000:01:00.1`]);
    const types = mdevTypesFromSysfs(ev);
    expect(types).toEqual([
      {
        parent: "0000:01:00.0",
        type: "nvidia-256",
        name: "GRID RTX6000-1Q",
        availableInstances: 24,
        deviceApi: "vfio-pci",
        framebufferMiB: 1024,
        maxInstances: 24,
        numHeads: 4,
        maxResolution: "5120x2880",
        frlConfig: 60,
        description:
          "num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24",
      },
      expect.objectContaining({
        type: "nvidia-257",
        name: "GRID RTX6000-2Q",
        framebufferMiB: 2048,
        availableInstances: 12,
      }),
    ]);
  });

  it("is null when no NVIDIA sysfs was captured, [] when NVIDIA functions offer no types", () => {
    expect(mdevTypesFromSysfs(evidence({}))).toBeNull();
    expect(mdevTypesFromSysfs(evidence({ [`${DEV}/0000:00:02.0/vendor`]: "0x8086\n" }))).toBeNull();
    expect(
      mdevTypesFromSysfs(evidence({ [`${DEV}/0000:41:00.0/vendor`]: "0x10de\n" }, [`${DEV}/0000:41:00.0`])),
    ).toEqual([]);
  });

  it("accepts a hand-made bundle without vendor files when the types are nvidia-*", () => {
    const files = Object.fromEntries(Object.entries(turing).filter(([p]) => !p.endsWith("/vendor")));
    const types = mdevTypesFromSysfs(evidence(files));
    expect(types?.map((t) => t.type)).toEqual(["nvidia-256", "nvidia-257"]);
  });
});

describe("sriovFromSysfs", () => {
  it("reads sriov_totalvfs / sriov_numvfs of physical functions", () => {
    const ev = evidence(
      {
        [`${DEV}/0000:41:00.0/vendor`]: "0x10de\n",
        [`${DEV}/0000:41:00.0/sriov_totalvfs`]: "32\n",
        [`${DEV}/0000:41:00.0/sriov_numvfs`]: "0\n",
        [`${DEV}/0000:41:00.4/vendor`]: "0x10de\n",
        [`${DEV}/0000:41:00.4/physfn/uevent`]: "PCI_SLOT_NAME=0000:41:00.0\n",
      },
      [`${DEV}/0000:41:00.0`, `${DEV}/0000:41:00.4`],
    );
    expect(sriovFromSysfs(ev)).toEqual([{ address: "0000:41:00.0", totalVfs: 32, numVfs: 0 }]);
    expect(sriovFromSysfs(evidence(turing))).toEqual([]);
    expect(sriovFromSysfs(evidence({}))).toBeNull();
  });
});

describe("creatable_vgpu_types", () => {
  it("parses the vendor-specific VFIO file", () => {
    // source: harvester/pcidevices gpuhelper comment (research/proxmox.md §3)
    const types = parseCreatableVgpuTypes(fixture("harvester-creatable-vgpu-types-l40s.txt"));
    expect(types).toHaveLength(23);
    expect(types[0]).toEqual({ id: "1145", name: "NVIDIA L40S-1B" });
    expect(types[22]).toEqual({ id: "2164", name: "NVIDIA L40S-3B" });
    expect(parseCreatableVgpuTypes("ID    : vGPU Name\n")).toEqual([]);
    expect(parseCreatableVgpuTypes("ID    : vGPU Name\r\n1148  : NVIDIA L40S-2Q\r\n")).toEqual([
      { id: "1148", name: "NVIDIA L40S-2Q" },
    ]);
  });

  it("maps every VF with the file to its creatable types", () => {
    const ev = evidence(
      {
        [`${DEV}/0000:41:00.0/vendor`]: "0x10de\n",
        [`${DEV}/0000:41:00.4/vendor`]: "0x10de\n",
        [`${DEV}/0000:41:00.4/nvidia/creatable_vgpu_types`]: fixture(
          "harvester-creatable-vgpu-types-l40s.txt",
        ),
        [`${DEV}/0000:41:00.5/vendor`]: "0x10de\n",
        [`${DEV}/0000:41:00.5/nvidia/creatable_vgpu_types`]: "ID    : vGPU Name\n",
      },
      [`${DEV}/0000:41:00.0`, `${DEV}/0000:41:00.4`, `${DEV}/0000:41:00.5`],
    );
    const map = creatableTypesFromSysfs(ev)!;
    expect(Object.keys(map)).toEqual(["0000:41:00.4", "0000:41:00.5"]);
    expect(map["0000:41:00.4"]).toHaveLength(23);
    expect(map["0000:41:00.5"]).toEqual([]);
    expect(creatableTypesFromSysfs(evidence(turing))).toEqual({});
    expect(creatableTypesFromSysfs(evidence({}))).toBeNull();
  });

  it("never throws on garbage", () => {
    for (const g of ["", "\u0000", ":::", "ID : x\n12 :\n : y\nabc : def"]) {
      expect(() => parseCreatableVgpuTypes(g)).not.toThrow();
    }
    expect(parseCreatableVgpuTypes("ID : x\n12 :\n : y\nabc : def")).toEqual([]);
  });
});
