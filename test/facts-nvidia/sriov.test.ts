/**
 * SR-IOV virtual functions from sysfs (src/facts/nvidia/sriov.ts) and the mixed-size mode from
 * `nvidia-smi -q` (src/report/sriov.ts mixedSizesOf). Fixtures: test/fixtures/facts-nvidia/SOURCES.md.
 */
import { describe, expect, it } from "vitest";
import { type Capture, Evidence, emptyCapture } from "../../src/facts/capture.ts";
import { CMD, parseFacts } from "../../src/facts/index.ts";
import {
  parseCurrentVgpuType,
  parsePhysfnUevent,
  virtualFunctionsFromSysfs,
} from "../../src/facts/nvidia/sriov.ts";
import { mdevTypesFromSysfs, sriovFromSysfs } from "../../src/facts/nvidia/sysfs.ts";
import { buildInspectReport } from "../../src/report/inspect-report.ts";
import { mixedSizesOf } from "../../src/report/sriov.ts";
import { crlf, fixture, garble } from "./fixture.ts";

const DEV = "/sys/bus/pci/devices";
const L40S = fixture("harvester-creatable-vgpu-types-l40s.txt");

function evidence(files: Record<string, string>, capturedPaths: string[] = []): Evidence {
  const cap: Capture = { ...emptyCapture("pve", "2026-01-31T12:00:00Z"), files, capturedPaths };
  return new Evidence(cap);
}

function vfsOf(ev: Evidence) {
  return virtualFunctionsFromSysfs(ev, sriovFromSysfs(ev), mdevTypesFromSysfs(ev));
}

describe("current_vgpu_type", () => {
  it("reads 0 as free and the decimal id a VF carries (bigstack-oss/cubecos#312)", () => {
    expect(parseCurrentVgpuType(fixture("cubecos-issue312-current-vgpu-type-free.txt"))).toBe(0);
    expect(parseCurrentVgpuType(fixture("cubecos-issue312-current-vgpu-type-1561.txt"))).toBe(1561);
    expect(parseCurrentVgpuType(crlf(fixture("cubecos-issue312-current-vgpu-type-1561.txt")))).toBe(1561);
  });

  it("is null for anything that is not one decimal number, and never throws", () => {
    for (const bad of ["", "nvidia-1561", "-1", "1.5", "0\n1\n", "cat: …: No such file or directory"])
      expect(parseCurrentVgpuType(bad)).toBeNull();
    for (const g of garble(fixture("cubecos-issue312-current-vgpu-type-1561.txt")))
      expect(() => parseCurrentVgpuType(g)).not.toThrow();
    expect(parseCurrentVgpuType(undefined as unknown as string)).toBeNull();
  });

  it("physfn/uevent names the physical function", () => {
    expect(parsePhysfnUevent("DRIVER=nvidia\nPCI_CLASS=30200\nPCI_SLOT_NAME=0000:41:00.0\n")).toBe(
      "0000:41:00.0",
    );
    expect(parsePhysfnUevent("DRIVER=nvidia\n")).toBeNull();
    expect(parsePhysfnUevent("")).toBeNull();
  });
});

describe("virtualFunctionsFromSysfs", () => {
  const pf = {
    [`${DEV}/0000:41:00.0/vendor`]: "0x10de\n",
    [`${DEV}/0000:41:00.0/sriov_totalvfs`]: "32\n",
    [`${DEV}/0000:41:00.0/sriov_numvfs`]: "32\n",
  };
  const paths = [`${DEV}/0000:41:00.0`, `${DEV}/0000:41:00.4`, `${DEV}/0000:41:00.5`];

  it("vendor-specific VFIO: each VF's physical function, current type and creatable list", () => {
    const ev = evidence(
      {
        ...pf,
        [`${DEV}/0000:41:00.4/vendor`]: "0x10de\n",
        [`${DEV}/0000:41:00.4/physfn/uevent`]: "PCI_SLOT_NAME=0000:41:00.0\n",
        [`${DEV}/0000:41:00.4/nvidia/creatable_vgpu_types`]: "ID    : vGPU Name\n",
        [`${DEV}/0000:41:00.4/nvidia/current_vgpu_type`]: fixture(
          "cubecos-issue312-current-vgpu-type-1561.txt",
        ),
        [`${DEV}/0000:41:00.5/vendor`]: "0x10de\n",
        [`${DEV}/0000:41:00.5/nvidia/creatable_vgpu_types`]: L40S,
        [`${DEV}/0000:41:00.5/nvidia/current_vgpu_type`]: fixture(
          "cubecos-issue312-current-vgpu-type-free.txt",
        ),
      },
      paths,
    );
    const vfs = vfsOf(ev)!;
    expect(vfs.map((v) => [v.address, v.physfn, v.currentType, v.interface])).toEqual([
      ["0000:41:00.4", "0000:41:00.0", 1561, "vendor-vfio"],
      ["0000:41:00.5", "0000:41:00.0", 0, "vendor-vfio"],
    ]);
    expect(vfs[0]!.creatable).toEqual([]);
    expect(vfs[1]!.creatable).toHaveLength(23);
  });

  it("older branches: a VF's own mdev_supported_types with an instance left are what it can create", () => {
    const t = (vf: string, type: string, name: string, avail: string) => ({
      [`${DEV}/${vf}/mdev_supported_types/${type}/name`]: `${name}\n`,
      [`${DEV}/${vf}/mdev_supported_types/${type}/available_instances`]: `${avail}\n`,
      [`${DEV}/${vf}/mdev_supported_types/${type}/description`]:
        "num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=4\n",
    });
    const ev = evidence(
      {
        ...pf,
        [`${DEV}/0000:41:00.4/vendor`]: "0x10de\n",
        ...t("0000:41:00.4", "nvidia-713", "NVIDIA A16-4Q", "1"),
        [`${DEV}/0000:41:00.5/vendor`]: "0x10de\n",
        ...t("0000:41:00.5", "nvidia-713", "NVIDIA A16-4Q", "0"),
      },
      paths,
    );
    const vfs = vfsOf(ev)!;
    expect(vfs.map((v) => [v.address, v.interface, v.currentType])).toEqual([
      ["0000:41:00.4", "mdev", null],
      ["0000:41:00.5", "mdev", null],
    ]);
    expect(vfs[0]!.creatable).toEqual([{ id: "713", name: "NVIDIA A16-4Q" }]);
    expect(vfs[1]!.creatable).toEqual([]);
  });

  it("no VFs on a GPU without SR-IOV; null when no NVIDIA sysfs was captured", () => {
    expect(vfsOf(evidence({ [`${DEV}/0000:01:00.0/vendor`]: "0x10de\n" }, [`${DEV}/0000:01:00.0`]))).toEqual(
      [],
    );
    expect(vfsOf(evidence({}))).toBeNull();
  });
});

describe("mixed-size mode (nvidia-smi -q)", () => {
  const facts = (q: string) => {
    const cap = emptyCapture("pve", "2026-01-31T12:00:00Z");
    cap.commands.push({ cmd: CMD.nvidiaSmiQ, stdout: q, exitCode: 0 });
    return parseFacts(cap);
  };

  it("reads the device capability: 'Heterogeneous Time-Slice Sizes : Not Supported' (akb486)", () => {
    expect(mixedSizesOf(facts(fixture("akb486-nvidia-smi-q.txt")), "0000:01:00.0")).toEqual({
      supported: false,
      enabled: null,
    });
  });

  it("N/A and absent lines say nothing (H200 pass-through; an A16 on a 13.x driver)", () => {
    expect(mixedSizesOf(facts(fixture("h200-nvidia-smi-q-virtualization.txt")), "0000:03:00.0")).toBeNull();
    const a16 = facts(fixture("nutanix-a16-nvidia-smi-q.txt"));
    expect(a16.nvidiaSmiQuery?.gpus[0]?.hostVgpuMode).toBe("SR-IOV");
    expect(mixedSizesOf(a16, "0000:13:00.0")).toBeNull();
  });

  it("'vGPU Heterogeneous Mode : Enabled' under GPU Virtualization Mode (the line NVIDIA's user guide shows after -shm 1)", () => {
    const q = fixture("h200-nvidia-smi-q-virtualization.txt").replace(
      "vGPU Heterogeneous Mode           : N/A",
      "vGPU Heterogeneous Mode           : Enabled",
    );
    expect(mixedSizesOf(facts(q), "0000:03:00.0")).toEqual({ supported: null, enabled: true });
  });
});

describe("inspect report of an SR-IOV GPU on an older branch (mdev_supported_types on the VFs)", () => {
  it("lists the types once with the per-GPU limit, and the mdev a VF carries with its VM", () => {
    const t = (vf: string, avail: string) => ({
      [`${DEV}/${vf}/vendor`]: "0x10de\n",
      [`${DEV}/${vf}/mdev_supported_types/nvidia-713/name`]: "NVIDIA A16-4Q\n",
      [`${DEV}/${vf}/mdev_supported_types/nvidia-713/available_instances`]: `${avail}\n`,
      // description format: research/proxmox.md §3 (max_instance = per physical GPU)
      [`${DEV}/${vf}/mdev_supported_types/nvidia-713/description`]:
        "num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=4\n",
    });
    const cap: Capture = {
      ...emptyCapture("pve", "2026-01-31T12:00:00Z"),
      files: {
        [`${DEV}/0000:41:00.0/vendor`]: "0x10de\n",
        [`${DEV}/0000:41:00.0/sriov_totalvfs`]: "16\n",
        [`${DEV}/0000:41:00.0/sriov_numvfs`]: "2\n",
        ...t("0000:41:00.4", "0"),
        ...t("0000:41:00.5", "1"),
      },
      capturedPaths: [`${DEV}/0000:41:00.0`, `${DEV}/0000:41:00.4`, `${DEV}/0000:41:00.5`],
    };
    // PVE's mdev UUID for hostpci0 of VM 100 (research/proxmox.md §1b), `mdevctl list` format
    cap.commands.push({
      cmd: CMD.mdevctlList,
      stdout: "00000000-0000-0000-0000-000000000100 0000:41:00.4 nvidia-713\n",
      exitCode: 0,
    });
    const g = buildInspectReport(parseFacts(cap)).gpus.find((x) => x.address === "0000:41:00.0")!;
    expect(g.mdevTypes).toEqual([
      expect.objectContaining({
        type: "nvidia-713",
        maxInstances: 4,
        availableInstances: 1,
        framebufferMiB: 4096,
      }),
    ]);
    expect(g.vfs).toEqual([
      { address: "0000:41:00.4", currentType: "nvidia-713", vmid: 100 },
      { address: "0000:41:00.5", currentType: null, vmid: null },
    ]);
    expect(g.vgpus).toMatchObject([{ vf: "0000:41:00.4", type: "nvidia-713", vmid: 100 }]);
  });
});

describe("which VM a vGPU of nvidia-smi vgpu -q belongs to", () => {
  // research-vgpu-q-old-vm-id.txt: "VM ID : 2103066" is QEMU's pid on KVM, not a Proxmox VMID
  const report = (conf: Record<string, string>) => {
    const cap: Capture = {
      ...emptyCapture("pve", "2026-01-31T12:00:00Z"),
      files: conf,
      capturedPaths: ["/etc/pve/qemu-server"],
    };
    cap.commands.push(
      {
        cmd: CMD.vgpuQ,
        stdout: fixture("research-vgpu-q-old-vm-id.txt").replace(
          /MDEV UUID\s+: \S+/,
          "MDEV UUID                         : N/A",
        ),
        exitCode: 0,
      },
      {
        cmd: CMD.lspci,
        stdout:
          "0000:c1:00.0 3D controller [0302]: NVIDIA Corporation TU104GL [Tesla T4] [10de:1eb8] (rev a1)\n",
        exitCode: 0,
      },
    );
    return buildInspectReport(parseFacts(cap)).gpus[0]!.vgpus;
  };

  it("is the VM whose config has the VM Name, never the pid in VM ID", () => {
    expect(report({})).toMatchObject([{ type: "nvidia-232", vmid: null }]);
    expect(
      report({ "/etc/pve/qemu-server/101.conf": "name: Win11SV2_View87\nostype: win11\n" }),
    ).toMatchObject([{ type: "nvidia-232", vmid: 101 }]);
  });
});
