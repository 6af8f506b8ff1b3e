/**
 * A complete, healthy Facts for the seed-configured host (DESIGN.md scenario `seed-configured`):
 * Proxmox VE 7.4, kernel 5.15, Intel, GRUB with `intel_iommu=on iommu=pt`, one GeForce RTX 2080 Ti
 * (10de:1e07) bound to nvidia, patched 15.1 driver 525.85.07 (proprietary, DKMS), vgpu_unlock-rs with both
 * drop-ins, RTX6000 types offered, VMs 100 (Windows 11) and 101 (Ubuntu) without a vGPU yet.
 * Values follow the seed guide: GRUB line (l. 124), dmesg DMAR lines (l. 174–197), nvidia-smi (l. 288–300:
 * 525.85.07, 11264MiB, bus 00000000:01:00.0), mdevctl types (l. 308–319), drop-ins (l. 84–86).
 * Tests mutate a fresh copy per case.
 */
import type { Facts, MdevType, VmConfig } from "../../src/facts/types.ts";

export const GPU = "0000:01:00.0";
export const KERNEL = "5.15.102-1-pve";
export const LIB = "/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so";

function rtx6000Type(id: number, gib: number, maxInstances: number, available: number): MdevType {
  return {
    parent: GPU,
    type: `nvidia-${id}`,
    name: `GRID RTX6000-${gib}Q`,
    availableInstances: available,
    deviceApi: "vfio-pci",
    framebufferMiB: gib * 1024,
    maxInstances,
    numHeads: 4,
    maxResolution: gib === 1 ? "5120x2880" : "7680x4320",
    frlConfig: 60,
    description: `num_heads=4, frl_config=60, framebuffer=${gib * 1024}M, max_resolution=${gib === 1 ? "5120x2880" : "7680x4320"}, max_instance=${maxInstances}`,
  };
}

export function vm(vmid: number, name: string, ostype: string, hostpci: VmConfig["hostpci"] = []): VmConfig {
  return {
    vmid,
    name,
    ostype,
    machine: "pc-q35-7.2",
    memoryMiB: 8192,
    args: null,
    smbiosUuid: `7f3c1a2e-1d4b-4c8e-9a1b-00000000${String(vmid).padStart(4, "0")}`,
    hostpci,
    pendingHostpci: [],
  };
}

export function mdevEntry(index: number, mdev: string, address = GPU): VmConfig["hostpci"][number] {
  return {
    index,
    raw: `${address},mdev=${mdev},pcie=1`,
    address,
    mapping: null,
    mdev,
    pcie: true,
    xvga: false,
  };
}

export function healthyFacts(): Facts {
  const dmesgLines = [
    `Linux version ${KERNEL} (build@proxmox) (gcc (Debian 10.2.1-6) 10.2.1 20210110) #1 SMP PVE 5.15.102-1 (2023-03-14T13:48Z)`,
    `Command line: BOOT_IMAGE=/boot/vmlinuz-${KERNEL} root=/dev/mapper/pve-root ro quiet intel_iommu=on iommu=pt`,
    "ACPI: DMAR 0x000000009CC98B68 0000B8 (v01 INTEL  BDW      00000001 INTL 00000001)",
    "DMAR: IOMMU enabled",
    "DMAR: Intel(R) Virtualization Technology for Directed I/O",
    "nvidia: loading out-of-tree module taints kernel.",
    "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  525.85.07  Sat Jan 21 00:56:54 UTC 2023",
    "VFIO - User Level meta-driver version: 0.3",
  ];
  return {
    host: "pve",
    capturedAt: "2023-01-24T20:21:28Z",
    notes: [],
    uname: {
      release: KERNEL,
      nodename: "pve",
      version: "#1 SMP PVE 5.15.102-1 (2023-03-14T13:48Z)",
      machine: "x86_64",
    },
    pve: {
      manager: "7.4-3",
      runningKernel: KERNEL,
      packages: {
        "proxmox-ve": "7.4-1",
        "pve-manager": "7.4-3",
        "pve-kernel-5.15": "7.3-3",
        [`pve-kernel-${KERNEL}`]: "5.15.102-1",
      },
    },
    cpuVendor: "intel",
    cmdline: [
      `BOOT_IMAGE=/boot/vmlinuz-${KERNEL}`,
      "root=/dev/mapper/pve-root",
      "ro",
      "quiet",
      "intel_iommu=on",
      "iommu=pt",
    ],
    grub: {
      present: true,
      vars: {
        GRUB_DEFAULT: "0",
        GRUB_TIMEOUT: "5",
        GRUB_CMDLINE_LINUX_DEFAULT: "quiet intel_iommu=on iommu=pt",
        GRUB_CMDLINE_LINUX: "",
      },
      cmdlineLinuxDefault: ["quiet", "intel_iommu=on", "iommu=pt"],
      cmdlineLinux: [],
      cmdlineLinuxDefaultLine: 9,
    },
    kernelCmdlineFile: { present: false },
    bootTool: { configured: false, mode: "legacy", esps: [] },
    efi: false,
    dmesg: {
      dmarEnabled: true,
      amdViEnabled: false,
      iommuDisabledLines: [],
      iommuEnabledLines: ["DMAR: IOMMU enabled"],
      nvrm: ["NVRM: loading NVIDIA UNIX x86_64 Kernel Module  525.85.07  Sat Jan 21 00:56:54 UTC 2023"],
      nouveau: [],
      vfio: ["VFIO - User Level meta-driver version: 0.3"],
      moduleSignature: [],
      lines: dmesgLines,
    },
    pci: [
      {
        address: GPU,
        className: "VGA compatible controller",
        classCode: "0300",
        description: "NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A]",
        vendorId: "10de",
        deviceId: "1e07",
        revision: "a1",
        subsystemVendorId: "10de",
        subsystemDeviceId: "12fa",
        subsystemName: "NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A]",
        driverInUse: "nvidia",
        kernelModules: ["nvidiafb", "nouveau", "nvidia_vgpu_vfio", "nvidia"],
      },
      {
        address: "0000:01:00.1",
        className: "Audio device",
        classCode: "0403",
        description: "NVIDIA Corporation TU102 High Definition Audio Controller",
        vendorId: "10de",
        deviceId: "10f7",
        revision: "a1",
        subsystemVendorId: "10de",
        subsystemDeviceId: "12fa",
        subsystemName: null,
        driverInUse: "snd_hda_intel",
        kernelModules: ["snd_hda_intel"],
      },
    ],
    lsmod: [
      { name: "nvidia_vgpu_vfio", size: 57344, usedBy: [] },
      { name: "nvidia", size: 39145472, usedBy: ["nvidia_vgpu_vfio"] },
      { name: "mdev", size: 28672, usedBy: ["nvidia_vgpu_vfio"] },
      { name: "vfio_pci", size: 16384, usedBy: [] },
      { name: "vfio_virqfd", size: 16384, usedBy: ["vfio_pci_core"] },
      { name: "vfio_iommu_type1", size: 40960, usedBy: [] },
      { name: "vfio", size: 36864, usedBy: ["nvidia_vgpu_vfio", "vfio_iommu_type1", "vfio_pci_core"] },
    ],
    dkms: [
      {
        module: "nvidia",
        version: "525.85.07",
        kernel: KERNEL,
        arch: "x86_64",
        status: "installed",
        warning: null,
      },
    ],
    secureBoot: false,
    packages: {
      "pve-manager": "7.4-3",
      [`pve-kernel-${KERNEL}`]: "5.15.102-1",
      [`pve-headers-${KERNEL}`]: "5.15.102-1",
      "pve-headers": "7.4-1",
      dkms: "2.8.4-3",
      mdevctl: "0.81-1",
      "build-essential": "12.9",
    },
    nvidiaSmi: {
      driverVersion: "525.85.07",
      cudaVersion: null,
      gpus: [{ index: 0, name: "NVIDIA GeForce ...", busId: GPU, memoryUsedMiB: 85, memoryTotalMiB: 11264 }],
      error: null,
    },
    nvidiaSmiQuery: null,
    vgpuQuery: { driverVersion: "525.85.07", gpus: [{ busId: GPU, activeVgpus: 0, vgpus: [] }], error: null },
    loadedDriverVersion: "525.85.07",
    driverModuleOpen: false,
    mdevTypes: [
      rtx6000Type(256, 1, 24, 24),
      rtx6000Type(257, 2, 12, 12),
      rtx6000Type(258, 3, 8, 8),
      rtx6000Type(259, 4, 6, 6),
    ],
    mdevs: [],
    sriov: [{ address: GPU, totalVfs: null, numVfs: null }],
    creatableVgpuTypes: null,
    modulesLoad: [
      { module: "vfio", path: "/etc/modules", line: 6 },
      { module: "vfio_iommu_type1", path: "/etc/modules", line: 7 },
      { module: "vfio_pci", path: "/etc/modules", line: 8 },
      { module: "vfio_virqfd", path: "/etc/modules", line: 9 },
    ],
    modprobe: [
      {
        path: "/etc/modprobe.d/blacklist.conf",
        blacklist: [{ module: "nouveau", line: 1 }],
        options: [],
        softdeps: [],
        installs: [],
        aliases: [],
      },
    ],
    dropins: ["nvidia-vgpud.service", "nvidia-vgpu-mgr.service"].map((unit) => ({
      unit,
      path: `/etc/systemd/system/${unit}.d/vgpu_unlock.conf`,
      environment: { LD_PRELOAD: LIB },
      sections: { Service: { Environment: [`LD_PRELOAD=${LIB}`] } },
    })),
    unlockConfig: { present: false },
    profileOverride: { present: true, text: "", sections: [], error: null },
    unlockLibraryFiles: [
      "build",
      "deps",
      "examples",
      "incremental",
      "libvgpu_unlock_rs.d",
      "libvgpu_unlock_rs.so",
    ],
    vms: [vm(100, "win11", "win11"), vm(101, "ubuntu", "l26")],
    pciMappings: [],
    qmList: [
      { vmid: 100, name: "win11", status: "stopped" },
      { vmid: 101, name: "ubuntu", status: "stopped" },
    ],
    services: { "nvidia-vgpud.service": "inactive", "nvidia-vgpu-mgr.service": "active" },
    journals: {
      vgpud: ["Started NVIDIA vGPU Daemon.", "nvidia-vgpud.service: Succeeded."],
      vgpuMgr: [
        "Started NVIDIA vGPU Manager Daemon.",
        "notice: vmiop_env_log: nvidia-vgpu-mgr daemon started",
      ],
    },
  };
}

/** Nothing captured at all: every fact unknown. */
export function emptyFacts(): Facts {
  return {
    host: "unknown",
    capturedAt: "2023-01-24T20:21:28Z",
    notes: ["not captured: everything"],
    uname: null,
    pve: null,
    cpuVendor: null,
    cmdline: null,
    grub: null,
    kernelCmdlineFile: null,
    bootTool: null,
    efi: null,
    dmesg: null,
    pci: null,
    lsmod: null,
    dkms: null,
    secureBoot: null,
    packages: null,
    nvidiaSmi: null,
    nvidiaSmiQuery: null,
    vgpuQuery: null,
    loadedDriverVersion: null,
    driverModuleOpen: null,
    mdevTypes: null,
    mdevs: null,
    sriov: null,
    creatableVgpuTypes: null,
    modulesLoad: null,
    modprobe: null,
    dropins: null,
    unlockConfig: null,
    profileOverride: null,
    unlockLibraryFiles: null,
    vms: null,
    pciMappings: null,
    qmList: null,
    services: null,
    journals: { vgpud: null, vgpuMgr: null },
  };
}
