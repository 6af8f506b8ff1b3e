/**
 * Scenarios of the simulated host. Each builds a complete SimState; `sim:NAME` opens it.
 * Required by DESIGN.md: seed-fresh, seed-configured, p4-fresh, rtx3080. The rest are faults for `doctor`.
 */
import type { SimState } from "../state.ts";
import { settleDrivers } from "../transitions.ts";
import { faultScenarios } from "./faults.ts";
import {
  freshHost,
  installDriver,
  installUnlock,
  prepareHost,
  rtx2080ti,
  rtx3080,
  seedVms,
  stageDriverFiles,
  teslaP4,
} from "./parts.ts";

export interface ScenarioInfo {
  name: string;
  description: string;
}

interface Scenario extends ScenarioInfo {
  build(): SimState;
}

const DRIVER_15_1 = { version: "525.85.07", vgpuRelease: "15.1", buildDate: "Wed Jan 11 22:36:24 UTC 2023" };
const DRIVER_16_8 = { version: "535.216.01", vgpuRelease: "16.8", buildDate: "Thu Oct 10 22:43:41 UTC 2024" };
const DRIVER_17_4 = { version: "550.127.06", vgpuRelease: "17.4", buildDate: "Thu Oct 10 23:05:09 UTC 2024" };

function seedFresh(name = "seed-fresh"): SimState {
  const s = freshHost({
    scenario: name,
    pve: 7,
    cpu: "intel",
    bootloader: "grub",
    efi: true,
    gpus: [rtx2080ti()],
  });
  s.vms = seedVms();
  stageDriverFiles(s, { version: DRIVER_15_1.version, vgpuRelease: DRIVER_15_1.vgpuRelease, patch: true });
  return s;
}

function seedConfigured(name = "seed-configured"): SimState {
  const s = seedFresh(name);
  prepareHost(s, { vfioVirqfd: true });
  installUnlock(s);
  installDriver(s, { ...DRIVER_15_1, patched: true });
  return s;
}

function p4Fresh(name = "p4-fresh"): SimState {
  const s = freshHost({
    scenario: name,
    pve: 8,
    cpu: "amd",
    bootloader: "systemd-boot",
    efi: true,
    gpus: [teslaP4()],
  });
  stageDriverFiles(s, { version: DRIVER_16_8.version, vgpuRelease: DRIVER_16_8.vgpuRelease, patch: false });
  return s;
}

function p4Configured(name = "p4-configured"): SimState {
  const s = p4Fresh(name);
  prepareHost(s, { vfioVirqfd: false });
  installUnlock(s, { disable: true });
  installDriver(s, { ...DRIVER_16_8, patched: false });
  return s;
}

const SCENARIOS: Scenario[] = [
  {
    name: "seed-fresh",
    description:
      "the guide's host before the guide: PVE 7.4, kernel 5.15, Intel, GRUB (UEFI), RTX 2080 Ti 1e07 on nouveau, no driver",
    build: () => seedFresh(),
  },
  {
    name: "seed-configured",
    description:
      "the guide's host after the guide: patched 15.1 driver (525.85.07), vgpu_unlock-rs, RTX6000 types, VMs 100 win11 + 101 ubuntu",
    build: () => seedConfigured(),
  },
  {
    name: "p4-fresh",
    description:
      "fresh PVE 8.2, kernel 6.8.12-4, AMD, ZFS + systemd-boot via proxmox-boot-tool, Tesla P4 1bb3 on nouveau",
    build: () => p4Fresh(),
  },
  {
    name: "p4-configured",
    description: "p4-fresh after setup: vGPU 16.8 driver (535.216.01), unlock = false, P4 types offered",
    build: () => p4Configured(),
  },
  {
    name: "rtx3080",
    description: "fresh PVE 8.2, Intel, GRUB, GeForce RTX 3080 2206 (Ampere consumer: no vGPU) on nouveau",
    build: () =>
      freshHost({
        scenario: "rtx3080",
        pve: 8,
        cpu: "intel",
        bootloader: "grub",
        efi: true,
        gpus: [rtx3080()],
      }),
  },
  {
    name: "iommu-off-firmware",
    description:
      "fault: seed-configured with VT-d disabled in the firmware (intel_iommu=on is on the cmdline but no DMAR unit)",
    build: () => {
      const s = seedConfigured("iommu-off-firmware");
      s.firmwareIommu = false;
      return s;
    },
  },
  {
    name: "vfio-leftover",
    description:
      "fault: seed-configured plus an old passthrough vfio.conf (options vfio-pci ids=10de:1e07,10de:10f7): GPU bound to vfio-pci",
    build: () => {
      const s = seedConfigured("vfio-leftover");
      s.files["/etc/modprobe.d/vfio.conf"] = "options vfio-pci ids=10de:1e07,10de:10f7 disable_vga=1\n";
      settleDrivers(s);
      return s;
    },
  },
  {
    name: "secure-boot-on",
    description:
      "fault: p4-configured booted with Secure Boot on (GRUB/shim); unsigned nvidia module rejected, driver not loaded",
    build: () => {
      const s = p4Configured("secure-boot-on");
      s.boot.secureBoot = true;
      settleDrivers(s);
      return s;
    },
  },
  {
    name: "open-driver",
    description:
      "fault: seed-configured but the driver was installed with the open kernel modules (-m=kernel-open): no vGPU types",
    build: () => {
      const s = seedConfigured("open-driver");
      s.driver!.flavour = "open";
      return s;
    },
  },
  {
    name: "p4-on-17x",
    description:
      "fault: Tesla P4 with the vGPU 17.4 driver (550.127.06), which dropped Pascal: vgpud rejects the GPU",
    build: () => {
      const s = p4Fresh("p4-on-17x");
      prepareHost(s, { vfioVirqfd: false });
      installUnlock(s, { disable: true });
      installDriver(s, { ...DRIVER_17_4, patched: false });
      return s;
    },
  },
  {
    name: "kernel-too-new",
    description:
      "fault: seed-configured booted into the opt-in 6.2 kernel: DKMS built the 15.1 module only for 5.15, driver not loaded",
    build: () => {
      const s = seedConfigured("kernel-too-new");
      const k = "6.2.16-3-pve";
      s.kernel.installed.push(k);
      s.kernel.buildInfo[k] = "#1 SMP PREEMPT_DYNAMIC PVE 6.2.16-3 (2023-06-17T05:58Z)";
      s.packages["pve-kernel-6.2"] = "7.4-4";
      s.packages[`pve-kernel-${k}`] = "6.2.16-3";
      s.kernel.running = k;
      s.cmdline = s.cmdline.replace(/vmlinuz-\S+/, `vmlinuz-${k}`);
      s.boot.nextCmdline = s.cmdline;
      settleDrivers(s);
      return s;
    },
  },
  ...faultScenarios({ seedFresh, seedConfigured, p4Fresh, p4Configured }),
];

export function listScenarios(): ScenarioInfo[] {
  return SCENARIOS.map(({ name, description }) => ({ name, description }));
}

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
