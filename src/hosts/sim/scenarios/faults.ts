/**
 * Fault scenarios for `vgpuctl doctor`: each is a small mutation of a healthy or fresh base host
 * (seed-configured, p4-configured, seed-fresh…) that makes exactly one known problem appear in the
 * rendered evidence. Named after the finding code they produce (src/checks/index.ts FINDING_CODES).
 */
import { configuredCmdline } from "../logic.ts";
import type { SimGpu, SimState, SimVm } from "../state.ts";
import { settleDrivers, startVm } from "../transitions.ts";
import {
  freshHost,
  installDriver,
  installUnlock,
  prepareHost,
  rtx2080ti,
  seedVms,
  stockGrub,
  stockModules,
} from "./parts.ts";

export interface FaultScenario {
  name: string;
  description: string;
  build(): SimState;
}

/** The base hosts of scenarios/index.ts, passed in so the faults stay mutations of the same hosts. */
export interface BaseHosts {
  seedFresh(name: string): SimState;
  seedConfigured(name: string): SimState;
  p4Fresh(name: string): SimState;
  p4Configured(name: string): SimState;
}

const DRIVER_17_4 = { version: "550.127.06", vgpuRelease: "17.4", buildDate: "Thu Oct 10 23:05:09 UTC 2024" };
const DRIVER_18_0 = { version: "570.124.03", vgpuRelease: "18.0", buildDate: "Thu Feb 20 23:31:30 UTC 2025" };
/** The regular (non-vGPU) R535 production driver a user might install by mistake. */
const PLAIN_535 = { version: "535.183.01", vgpuRelease: "", buildDate: "Sun May 12 19:39:15 UTC 2024" };

const GPU = "0000:01:00.0";
const UNLOCK_CONFIG = "/etc/vgpu_unlock/config.toml";
const OVERRIDES = "/etc/vgpu_unlock/profile_override.toml";

export function a40(sriov: { totalVfs: number; numVfs: number }): SimGpu {
  return {
    address: GPU,
    deviceId: "2235",
    subsystemVendorId: "10de",
    subsystemDeviceId: "145a",
    lspciName: "GA102GL [A40]",
    subsystemVendorName: "NVIDIA Corporation",
    productName: "NVIDIA A40",
    productBrand: "NVIDIA",
    architecture: "Ampere",
    chipset: "GA102 (172000a1)",
    vramMiB: 46068,
    vbios: "94.02.5C.00.02",
    powerCapW: 300,
    sysfsClass: "0x030200",
    linkSpeed: "16.0 GT/s PCIe",
    revision: "a1",
    driver: "nouveau",
    functions: [],
    sriov,
  };
}

function vmById(s: SimState, vmid: number): SimVm {
  const vm = s.vms.find((v) => v.vmid === vmid);
  if (!vm) throw new Error(`scenario bug: no VM ${vmid}`);
  return vm;
}

/** qm set VMID --hostpci0 VALUE on a stopped VM. */
function hostpci(s: SimState, vmid: number, value: string): SimVm {
  const vm = vmById(s, vmid);
  vm.config.hostpci0 = value;
  return vm;
}

/** qm start, failing the scenario build if the simulated start is refused unexpectedly. */
function start(s: SimState, vmid: number): void {
  const err = startVm(s, vmById(s, vmid));
  if (err) throw new Error(`scenario bug: VM ${vmid} did not start: ${err}`);
}

/** PVE 8.2 / kernel 6.8 Intel GRUB host with an A40 on the 17.4 driver (no unlock: A40 is native). */
function a40Host(name: string, numVfs: number): SimState {
  const s = freshHost({
    scenario: name,
    pve: 8,
    cpu: "intel",
    bootloader: "grub",
    efi: true,
    gpus: [a40({ totalVfs: 32, numVfs: 0 })],
  });
  s.vms = seedVms();
  prepareHost(s, { vfioVirqfd: false });
  installDriver(s, { ...DRIVER_17_4, patched: false });
  s.gpus[0]!.sriov!.numVfs = numVfs;
  // kept up to date: vGPUs on VFs need qemu-server ≥ 8.2.5 (8.2.7 was current with pve-manager 8.2.7)
  s.packages["qemu-server"] = "8.2.7";
  return s;
}

export function faultScenarios(b: BaseHosts): FaultScenario[] {
  return [
    ...bootDriverAndUnlockFaults(b),
    ...gpuAndVmConfigFaults(b),
    ...vmStartAndDriverKindFaults(b),
    ...kernelAndManagerFaults(b),
  ];
}

/** Faults of the boot command line, modules, headers, driver loading, vgpu_unlock's config. */
function bootDriverAndUnlockFaults(b: BaseHosts): FaultScenario[] {
  return [
    {
      name: "iommu-cmdline-wrong-bootloader",
      description:
        "fault: p4-configured (systemd-boot) with amd_iommu=on iommu=pt written to /etc/default/grub instead of /etc/kernel/cmdline",
      build: () => {
        const s = b.p4Configured("iommu-cmdline-wrong-bootloader");
        s.files["/etc/kernel/cmdline"] = "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n";
        s.files["/etc/default/grub"] = stockGrub("quiet amd_iommu=on iommu=pt");
        s.boot.nextCmdline = configuredCmdline(s);
        s.cmdline = s.boot.nextCmdline;
        return s;
      },
    },
    {
      name: "cmdline-not-applied",
      description:
        "fault: seed-configured whose GRUB edit (intel_iommu=on iommu=pt) was never applied: no update-grub, no reboot",
      build: () => {
        const s = b.seedConfigured("cmdline-not-applied");
        s.cmdline = s.cmdline.replace(/\s+(intel_iommu=on|iommu=pt)\b/g, "");
        s.boot.nextCmdline = s.cmdline;
        return s;
      },
    },
    {
      name: "vfio-module-missing",
      description:
        "fault: p4-configured with the guide's vfio_virqfd in /etc/modules on kernel 6.8 (merged into vfio in 6.2)",
      build: () => {
        const s = b.p4Configured("vfio-module-missing");
        s.files["/etc/modules"] = stockModules(["vfio", "vfio_iommu_type1", "vfio_pci", "vfio_virqfd"]);
        settleDrivers(s);
        return s;
      },
    },
    {
      name: "headers-missing",
      description:
        "fault: seed-configured after the pve-headers packages were autoremoved: DKMS cannot rebuild the driver",
      build: () => {
        const s = b.seedConfigured("headers-missing");
        delete s.packages["pve-headers"];
        delete s.packages[`pve-headers-${s.kernel.running}`];
        return s;
      },
    },
    {
      name: "driver-not-loaded",
      description:
        "fault: seed-configured after `rmmod nvidia_vgpu_vfio nvidia` (a failed reinstall): driver installed, module not loaded",
      build: () => {
        const s = b.seedConfigured("driver-not-loaded");
        s.driverLoaded = false;
        for (const g of s.gpus) g.driver = null;
        return s;
      },
    },
    {
      name: "unlock-disabled-consumer",
      description:
        "fault: seed-configured (RTX 2080 Ti) with `unlock = false` in /etc/vgpu_unlock/config.toml",
      build: () => {
        const s = b.seedConfigured("unlock-disabled-consumer");
        s.files[UNLOCK_CONFIG] = "unlock = false\n";
        return s;
      },
    },
    {
      name: "unlock-enabled-native",
      description:
        "fault: p4-configured without `unlock = false`: vgpu_unlock spoofs a natively supported Tesla P4",
      build: () => {
        const s = b.p4Configured("unlock-enabled-native");
        delete s.files[UNLOCK_CONFIG];
        return s;
      },
    },
    {
      name: "unlock-config-invalid",
      description:
        "fault: seed-configured with a typo in /etc/vgpu_unlock/config.toml (`unlock = flase`): both NVIDIA daemons abort",
      build: () => {
        const s = b.seedConfigured("unlock-config-invalid");
        s.files[UNLOCK_CONFIG] = "unlock = flase\n";
        return s;
      },
    },
    {
      name: "unlock-version-mismatch",
      description:
        "fault: PVE 8.2, RTX 2080 Ti on the patched vGPU 18.0 driver with a vgpu_unlock-rs build that only knows R550 structs; VM 100 running",
      build: () => {
        const s = freshHost({
          scenario: "unlock-version-mismatch",
          pve: 8,
          cpu: "intel",
          bootloader: "grub",
          efi: true,
          gpus: [rtx2080ti()],
        });
        s.vms = seedVms();
        prepareHost(s, { vfioVirqfd: false });
        installUnlock(s);
        s.unlock!.knownDriverBranch = 550;
        // A 2 GiB VM 100 (valid override): the library cannot apply it on 18.0.
        s.files[OVERRIDES] = "[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n";
        installDriver(s, { ...DRIVER_18_0, patched: true });
        hostpci(s, 100, `${GPU},mdev=nvidia-259`);
        start(s, 100);
        return s;
      },
    },
  ];
}

/** Faults of SR-IOV functions, vGPU types and VRAM on a GPU, overrides, mdev/SMBIOS UUIDs. */
function gpuAndVmConfigFaults(b: BaseHosts): FaultScenario[] {
  return [
    {
      name: "sriov-vfs-missing",
      description:
        "fault: PVE 8.2 with an A40 (Ampere, native vGPU 17.4) whose SR-IOV virtual functions were never enabled (sriov_numvfs 0)",
      build: () => a40Host("sriov-vfs-missing", 0),
    },
    {
      name: "vm-uses-physical-function",
      description:
        "fault: the A40 host with its 32 VFs enabled, but VM 100 is given the physical function 0000:01:00.0 with mdev=nvidia-557",
      build: () => {
        const s = a40Host("vm-uses-physical-function", 32);
        hostpci(s, 100, `${GPU},mdev=nvidia-557,pcie=1`);
        return s;
      },
    },
    {
      name: "mixed-types",
      description:
        "fault: seed-configured, VM 100 runs RTX6000-4Q (nvidia-259) and VM 101 is set to RTX6000-1Q (nvidia-256) on the same GPU",
      build: () => {
        const s = b.seedConfigured("mixed-types");
        hostpci(s, 100, `${GPU},mdev=nvidia-259`);
        hostpci(s, 101, `${GPU},mdev=nvidia-256`);
        start(s, 100);
        return s;
      },
    },
    {
      name: "vram-overcommit",
      description:
        "fault: seed-configured, VMs 100 and 101 on nvidia-259 with per-VM overrides of 6 GiB each on the 11 GiB RTX 2080 Ti",
      build: () => {
        const s = b.seedConfigured("vram-overcommit");
        s.files[OVERRIDES] = [100, 101]
          .map((id) => `[vm.${id}]\nframebuffer = 0x164000000\nframebuffer_reservation = 0x1C000000\n`)
          .join("\n");
        hostpci(s, 100, `${GPU},mdev=nvidia-259`);
        hostpci(s, 101, `${GPU},mdev=nvidia-259`);
        start(s, 100);
        return s;
      },
    },
    {
      name: "override-invalid",
      description:
        "fault: seed-configured with `cuda_enabled = true` in profile_override.toml (vgpu_unlock-rs wants 1): every VM start fails",
      build: () => {
        const s = b.seedConfigured("override-invalid");
        s.files[OVERRIDES] = "[profile.nvidia-259]\nnum_displays = 1\ncuda_enabled = true\n";
        hostpci(s, 100, `${GPU},mdev=nvidia-259`);
        return s;
      },
    },
    {
      name: "override-unread",
      description:
        "fault: p4-configured without the vgpu_unlock drop-ins, yet a [vm.100] override in profile_override.toml: nothing reads it",
      build: () => {
        const s = b.p4Configured("override-unread");
        delete s.files["/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf"];
        delete s.files["/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf"];
        // seed guide "Common VRAM sizes": 2GB = 0x74000000 + 0xC000000
        s.files[OVERRIDES] = "[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n";
        return s;
      },
    },
    {
      name: "duplicate-mdev-uuid",
      description:
        "fault: seed-configured, VM 101 cloned from VM 100 keeps `args: -uuid 00000000-0000-0000-0000-000000000100`",
      build: () => {
        const s = b.seedConfigured("duplicate-mdev-uuid");
        hostpci(s, 100, `${GPU},mdev=nvidia-259`);
        hostpci(s, 101, `${GPU},mdev=nvidia-259`);
        vmById(s, 101).config.args = "-uuid 00000000-0000-0000-0000-000000000100";
        return s;
      },
    },
    {
      name: "duplicate-smbios-uuid",
      description: "fault: seed-configured, vGPU VMs 100 and 101 share one smbios1 uuid (cloned by hand)",
      build: () => {
        const s = b.seedConfigured("duplicate-smbios-uuid");
        hostpci(s, 100, `${GPU},mdev=nvidia-259`);
        hostpci(s, 101, `${GPU},mdev=nvidia-259`);
        vmById(s, 101).config.smbios1 = vmById(s, 100).config.smbios1!;
        return s;
      },
    },
    {
      name: "vm-start-failed",
      description:
        'fault: seed-configured without the nvidia-vgpu-mgr vgpu_unlock drop-in: `qm start 100` fails ("VGX capable boards")',
      build: () => {
        const s = b.seedConfigured("vm-start-failed");
        delete s.files["/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf"];
        const vm = hostpci(s, 100, `${GPU},mdev=nvidia-259`);
        if (!startVm(s, vm)) throw new Error("scenario bug: VM 100 should not start");
        return s;
      },
    },
  ];
}

/** Faults of VM starts, passthrough leftovers and the driver kind. */
function vmStartAndDriverKindFaults(b: BaseHosts): FaultScenario[] {
  return [
    {
      name: "vfio-config-leftover",
      description:
        "fault: seed-configured with a passthrough vfio.conf (options vfio-pci ids=10de:1e07) written but not yet rebooted",
      build: () => {
        const s = b.seedConfigured("vfio-config-leftover");
        s.files["/etc/modprobe.d/vfio.conf"] = "options vfio-pci ids=10de:1e07,10de:10f7 disable_vga=1\n";
        return s;
      },
    },
    {
      name: "vm-full-passthrough",
      description:
        "fault: seed-configured, VM 101 passes the whole RTX 2080 Ti through (hostpci0: 0000:01:00,pcie=1)",
      build: () => {
        const s = b.seedConfigured("vm-full-passthrough");
        hostpci(s, 101, "0000:01:00,pcie=1,x-vga=1");
        return s;
      },
    },
    {
      name: "vm-mdev-type-unavailable",
      description:
        "fault: seed-configured, VM 100 asks for nvidia-64 (GRID P4-2Q, copied from a P4 host), which the RTX 2080 Ti does not offer",
      build: () => {
        const s = b.seedConfigured("vm-mdev-type-unavailable");
        hostpci(s, 100, `${GPU},mdev=nvidia-64`);
        return s;
      },
    },
    {
      name: "stale-mdev",
      description:
        "fault: seed-configured, VM 100's QEMU was killed: the VM is stopped but its mdev 00000000-…-000000000100 still exists",
      build: () => {
        const s = b.seedConfigured("stale-mdev");
        hostpci(s, 100, `${GPU},mdev=nvidia-259`);
        start(s, 100);
        vmById(s, 100).running = false;
        return s;
      },
    },
    {
      name: "driver-not-vgpu",
      description:
        "fault: seed-fresh prepared, but the regular GeForce driver 535.183.01 was installed instead of the vgpu-kvm one",
      build: () => {
        const s = b.seedFresh("driver-not-vgpu");
        prepareHost(s, { vfioVirqfd: true });
        installDriver(s, { ...PLAIN_535, patched: false });
        s.driver!.kind = "plain";
        delete s.files["/usr/share/nvidia/vgpu/vgpuConfig.xml"];
        delete s.files["/etc/systemd/system/multi-user.target.wants/nvidia-vgpud.service"];
        delete s.files["/etc/systemd/system/multi-user.target.wants/nvidia-vgpu-mgr.service"];
        settleDrivers(s);
        return s;
      },
    },
  ];
}

/** Faults of kernels that moved under the driver, and of the vGPU manager. */
function kernelAndManagerFaults(b: BaseHosts): FaultScenario[] {
  return [
    {
      name: "kernel-arrived-unsupported",
      description:
        "fault: seed-configured after `apt full-upgrade` installed the opt-in 6.2 kernel (not booted yet): the next boot leaves 15.1's range",
      build: () => {
        const s = b.seedConfigured("kernel-arrived-unsupported");
        const k = "6.2.16-3-pve";
        s.kernel.installed.push(k);
        s.kernel.buildInfo[k] = "#1 SMP PREEMPT_DYNAMIC PVE 6.2.16-3 (2023-06-17T05:58Z)";
        s.packages["pve-kernel-6.2"] = "7.4-4";
        s.packages[`pve-kernel-${k}`] = "6.2.16-3";
        return s;
      },
    },
    {
      name: "kernel-too-new-alone",
      description:
        "fault: kernel-too-new after `apt autoremove` took the 5.15 kernel: only 6.2 installed, outside 15.1's range; the repository still offers 5.15 kernels",
      build: () => {
        const s = b.seedConfigured("kernel-too-new-alone");
        const old = s.kernel.running;
        const k = "6.2.16-3-pve";
        s.kernel.installed = [k];
        s.kernel.buildInfo[k] = "#1 SMP PREEMPT_DYNAMIC PVE 6.2.16-3 (2023-06-17T05:58Z)";
        s.packages["pve-kernel-6.2"] = "7.4-4";
        s.packages[`pve-kernel-${k}`] = "6.2.16-3";
        delete s.packages[`pve-kernel-${old}`];
        delete s.packages[`pve-headers-${old}`];
        // DKMS's kernel prerm hook removed the module it had built for the removed kernel
        s.driver!.dkmsKernels = s.driver!.dkmsKernels.filter((x) => x !== old);
        for (const f of Object.keys(s.files)) if (f.startsWith(`/lib/modules/${old}/`)) delete s.files[f];
        s.kernel.running = k;
        s.boot.nextCmdline = configuredCmdline(s);
        s.cmdline = s.boot.nextCmdline;
        settleDrivers(s);
        return s;
      },
    },
    {
      name: "kernel-arrived-no-dkms",
      description:
        "fault: p4-configured after an upgrade installed kernel 6.8.12-9 without its headers (not booted yet): DKMS could not build 16.8 for it",
      build: () => {
        const s = b.p4Configured("kernel-arrived-no-dkms");
        const k = "6.8.12-9-pve";
        s.kernel.installed.push(k);
        s.kernel.buildInfo[k] = "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9 (2025-03-16T19:18Z)";
        s.packages[`proxmox-kernel-${k}-signed`] = "6.8.12-9";
        return s;
      },
    },
    {
      name: "kernel-too-new-zfs",
      description:
        "fault: p4-configured (ZFS root) booted into the opt-in 6.14 kernel after `zpool upgrade rpool` + dedup: 16.8 does not build on 6.14, and 6.8's ZFS 2.2 cannot import rpool (feature@fast_dedup active)",
      build: () => {
        const s = b.p4Configured("kernel-too-new-zfs");
        const k = "6.14.0-2-pve";
        s.kernel.installed.push(k);
        s.kernel.buildInfo[k] = "#1 SMP PREEMPT_DYNAMIC PMX 6.14.0-2 (2025-04-10T17:57Z)";
        s.packages["proxmox-kernel-6.14"] = "6.14.0-2";
        s.packages[`proxmox-kernel-${k}-signed`] = "6.14.0-2";
        s.packages[`proxmox-headers-${k}`] = "6.14.0-2";
        s.kernel.running = k;
        s.boot.nextCmdline = configuredCmdline(s);
        s.cmdline = s.boot.nextCmdline;
        // a pool created by ZFS 2.2 (PVE 8.2) and upgraded by 6.14's ZFS 2.3 (zpool-features(7))
        s.zpools = [
          {
            name: "rpool",
            size: "928G",
            features: {
              async_destroy: "enabled",
              large_blocks: "enabled",
              head_errlog: "active",
              vdev_zaps_v2: "active",
              block_cloning: "enabled",
              fast_dedup: "active",
              longname: "enabled",
            },
          },
        ];
        settleDrivers(s);
        return s;
      },
    },
    {
      name: "vgpu-mgr-inactive",
      description: "fault: p4-configured after `systemctl disable --now nvidia-vgpu-mgr.service`",
      build: () => {
        const s = b.p4Configured("vgpu-mgr-inactive");
        delete s.files["/etc/systemd/system/multi-user.target.wants/nvidia-vgpu-mgr.service"];
        return s;
      },
    },
  ];
}
