/**
 * Scenarios of the simulated host. Each builds a complete SimState; `sim:NAME` opens it.
 * Required by DESIGN.md: seed-fresh, seed-configured, p4-fresh, rtx3080. The rest are faults for `doctor`.
 */
import { configuredCmdline } from "../logic.ts";
import { SRIOV_MANAGE_SCRIPT } from "../nvidia.ts";
import type { SimState } from "../state.ts";
import { enableVfs, SRIOV_MANAGE, settleDrivers, WANTS } from "../transitions.ts";
import { faultScenarios } from "./faults.ts";
import {
  a16Gpu,
  freshHost,
  installDriver,
  installUnlock,
  l40s,
  prepareHost,
  prepareProxmoxWay,
  q35OvmfVm,
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
  /** its copies sim:NAME@N are the nodes pve<N> of one cluster, sharing /etc/pve's cluster files (../cluster.ts) */
  cluster?: boolean;
}

const DRIVER_15_1 = { version: "525.85.07", vgpuRelease: "15.1", buildDate: "Wed Jan 11 22:36:24 UTC 2023" };
const DRIVER_16_8 = { version: "535.216.01", vgpuRelease: "16.8", buildDate: "Thu Oct 10 22:43:41 UTC 2024" };
const DRIVER_17_4 = { version: "550.127.06", vgpuRelease: "17.4", buildDate: "Thu Oct 10 23:05:09 UTC 2024" };
/** vGPU 18.3 (anomixer/proxmox-vgpu-installer#2: "18.3 (570.158.02)"); build date is the sim's. */
const DRIVER_18_3 = { version: "570.158.02", vgpuRelease: "18.3", buildDate: "Sun Jun  1 05:31:52 UTC 2025" };
/** vGPU 19.5 (host 580.159.01; nvidia-data.ts: builds on kernels 6.8 – 7.0, so on PVE 9.1's 6.17). */
const DRIVER_19_5 = { version: "580.159.01", vgpuRelease: "19.5" };

/**
 * Proxmox VE 9.1 on an AMD EPYC server (BMC graphics), ZFS + systemd-boot, one L40S on nouveau, fresh:
 * deb822 sources with the enterprise repositories enabled and no subscription, no NVIDIA driver; the
 * vGPU 19.5 installer staged in /root. `consoleOnNouveau`: the console runs on nouveau's framebuffer.
 */
function pve9L40sFresh(name: string, consoleOnNouveau: boolean): SimState {
  const s = freshHost({
    scenario: name,
    pve: 9,
    cpu: "epyc",
    bootloader: "systemd-boot",
    efi: true,
    gpus: [l40s()],
  });
  if (consoleOnNouveau) s.consoleFb = "nouveaudrmfb";
  s.vms = [q35OvmfVm(100, "win11-vws", "win11"), q35OvmfVm(101, "ubuntu-cuda", "l26")];
  stageDriverFiles(s, { ...DRIVER_19_5, patch: false });
  return s;
}

/**
 * Proxmox VE 8.4 (kernel 6.8.12-9) set up the Proxmox way with the vGPU 18.3 driver and one A16 board: four
 * GPUs 10de:25b6 (subsystem 14a9), each with its 16 VFs enabled at boot by pve-nvidia-sriov@ALL.service;
 * VMs 100–103 (q35, OVMF) without a vGPU.
 */
function a16Configured(name = "a16-configured"): SimState {
  const s = freshHost({
    scenario: name,
    pve: 8,
    cpu: "epyc",
    bootloader: "systemd-boot",
    efi: true,
    gpus: ["0000:41:00.0", "0000:42:00.0", "0000:43:00.0", "0000:44:00.0"].map(a16Gpu),
  });
  upgradeTo84(s);
  prepareProxmoxWay(s);
  installDriver(s, { ...DRIVER_18_3, patched: false });
  s.files[SRIOV_MANAGE] = SRIOV_MANAGE_SCRIPT;
  s.files[`${WANTS}/pve-nvidia-sriov@ALL.service`] = "";
  enableVfs(s, "ALL");
  s.vms = [
    q35OvmfVm(100, "cad-01", "win11"),
    q35OvmfVm(101, "cad-02", "win11"),
    q35OvmfVm(102, "vdi-01", "win11"),
    q35OvmfVm(103, "ml-dev", "l26"),
  ];
  return s;
}

/**
 * a16-configured as a node of the two-node cluster "vgpu-lab" (nodes pve1, pve2): /etc/pve/corosync.conf in
 * the form of pve-docs pvecm.adoc's example (logging, nodelist with name/nodeid/quorum_votes/ring0_addr,
 * quorum, totem with cluster_name and interface linknumber 0).
 */
function a16Cluster(): SimState {
  const s = a16Configured("a16-cluster");
  const node = (n: number) =>
    `  node {\n    name: pve${n}\n    nodeid: ${n}\n    quorum_votes: 1\n    ring0_addr: 10.10.10.${n}\n  }\n`;
  s.files["/etc/pve/corosync.conf"] =
    `logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n\n${node(1)}\n${node(2)}\n}\n\nquorum {\n  provider: corosync_votequorum\n}\n\ntotem {\n  cluster_name: vgpu-lab\n  config_version: 2\n  ip_version: ipv4-6\n  secauth: on\n  version: 2\n  interface {\n    linknumber: 0\n  }\n\n}\n`;
  return s;
}

/**
 * A PVE 8.2 base upgraded to 8.4 (`pveversion`: "pve-manager/8.4.1/2a5fa54a8503f96d", seen in several
 * public scripts' samples), booted into kernel 6.8.12-9-pve; qemu-server 8.3.x (≥ 8.2.5: VF vGPUs).
 */
function upgradeTo84(s: SimState): void {
  const k = "6.8.12-9-pve";
  s.pve = {
    ...s.pve,
    proxmoxVe: "8.4.0",
    manager: "8.4.1",
    managerHash: "2a5fa54a8503f96d",
    debianVersion: "12.10",
  };
  s.clock = "2025-05-12T08:00:00.000Z";
  s.kernel.installed = [k, ...s.kernel.installed];
  s.kernel.buildInfo[k] = "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9 (2025-03-16T19:18Z)";
  s.kernel.running = k;
  Object.assign(s.packages, {
    "proxmox-ve": "8.4.0",
    "pve-manager": "8.4.1",
    "proxmox-kernel-helper": "8.1.1",
    "proxmox-kernel-6.8": "6.8.12-9",
    [`proxmox-kernel-${k}-signed`]: "6.8.12-9",
    "qemu-server": "8.3.12",
  });
  s.boot.nextCmdline = configuredCmdline(s);
  s.cmdline = s.boot.nextCmdline;
}

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
  // the next driver, downloaded for the upgrade in place (examples/seed-upgrade.yaml): 16.8 with its patch
  stageDriverFiles(s, { version: DRIVER_16_8.version, vgpuRelease: DRIVER_16_8.vgpuRelease, patch: true });
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

const BASE_SCENARIOS: Scenario[] = [
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
  {
    name: "pve9-l40s-fresh",
    description:
      "fresh PVE 9.1 (Debian 13, deb822 sources, enterprise repos enabled, no subscription), kernel 6.17.2-1, AMD EPYC, ZFS + systemd-boot, L40S 26b9 (SR-IOV) on nouveau, console on the BMC's ASPEED graphics, vGPU 19.5 installer in /root",
    build: () => pve9L40sFresh("pve9-l40s-fresh", false),
  },
  {
    name: "pve9-l40s-nouveau-console",
    description:
      "pve9-l40s-fresh whose console runs on nouveau (nouveaudrmfb): nouveau cannot be unloaded without a reboot",
    build: () => pve9L40sFresh("pve9-l40s-nouveau-console", true),
  },
  {
    name: "a16-configured",
    description:
      "PVE 8.4, kernel 6.8.12-9, vGPU 18.3 (570.158.02), A16 board = four GPUs 25b6/14a9 with 16 VFs each (pve-nvidia-sriov@ALL enabled, pve-nvidia-vgpu-helper), VMs 100–103 q35/OVMF without vGPU",
    build: () => a16Configured(),
  },
  {
    name: "a16-cluster",
    description:
      'a16-configured as the nodes of a Proxmox VE cluster "vgpu-lab": sim:a16-cluster@N is node pve<N>, its own host, sharing /etc/pve/mapping/pci.cfg with the other copies',
    build: () => a16Cluster(),
    cluster: true,
  },
];

/**
 * The fault scenarios, listed when first asked for: opening a base scenario (demo) does not need them, and
 * building their table at every start cost ~1 M instructions (issue 16).
 */
let faults: Scenario[] | undefined;

function faultList(): Scenario[] {
  faults ??= faultScenarios({ seedFresh, seedConfigured, p4Fresh, p4Configured });
  return faults;
}

export function listScenarios(): ScenarioInfo[] {
  return [...BASE_SCENARIOS, ...faultList()].map(({ name, description }) => ({ name, description }));
}

/** The base scenarios come first, as in listScenarios: a name is found where the list shows it first. */
export function findScenario(name: string): Scenario | undefined {
  return BASE_SCENARIOS.find((s) => s.name === name) ?? faultList().find((s) => s.name === name);
}
