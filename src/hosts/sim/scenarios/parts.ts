/** Building blocks for scenarios: platforms, package sets, GPUs, stock /etc files, VMs. */
import { configuredCmdline } from "../logic.ts";
import { FRAMEWORK_CONF, STOCK_FRAMEWORK_CONF } from "../mok.ts";
import { SRIOV_MANAGE_SCRIPT } from "../nvidia.ts";
import { HELPER_BLACKLIST, SRIOV_UNIT_TEXT } from "../packages.ts";
import type { SimGpu, SimPciFunction, SimState, SimVm } from "../state.ts";
import { SIM_STATE_VERSION } from "../state.ts";
import { settleDrivers } from "../transitions.ts";

export const UNLOCK_REPO = "/opt/vgpu_unlock-rs";

/**
 * Stand-ins for the NVIDIA vGPU host driver installer and polloloco's patch, copied to /root as the
 * guide does: a makeself shell header is all vgpuctl probes (sha256, first bytes) and the simulated
 * `sh X.run` reads (the driver version from its label). examples/seed-host.yaml names the sha256 of the
 * 15.1 pair (525.85.07).
 */
export function driverRunfile(version: string): string {
  return `#!/bin/sh\n# This script was generated using Makeself 2.1.5\nlabel="NVIDIA Accelerated Graphics Driver for Linux-x86_64 ${version}"\n`;
}

export function driverPatch(vgpuRelease: string, version: string): string {
  return `# ONLY for ${vgpuRelease} GRID driver (${version})\n--- NVIDIA-Linux-x86_64-${version}-vgpu-kvm/kernel/nvidia/nv-kernel.o_binary\n`;
}

/** Put the driver installer (and its unlock patch) where the guide downloads them. */
export function stageDriverFiles(
  s: SimState,
  d: { version: string; vgpuRelease: string; patch: boolean },
): void {
  s.files[`/root/NVIDIA-Linux-x86_64-${d.version}-vgpu-kvm.run`] = driverRunfile(d.version);
  if (d.patch) s.files[`/root/vgpu-proxmox/${d.version}.patch`] = driverPatch(d.vgpuRelease, d.version);
}
export const UNLOCK_SO = `${UNLOCK_REPO}/target/release/libvgpu_unlock_rs.so`;
/** Not text: capture skips it like any binary. */
const ELF = "\u007fELF\u0002\u0001\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000";

const PKGS_74: Record<string, string> = {
  "proxmox-ve": "7.4-1",
  "pve-manager": "7.4-3",
  "pve-kernel-helper": "7.3-8",
  "pve-kernel-5.15": "7.3-3",
  "pve-kernel-5.15.102-1-pve": "5.15.102-1",
  "ceph-fuse": "15.2.17-pve1",
  corosync: "3.1.7-pve1",
  criu: "3.15-1+deb11u1",
  "glusterfs-client": "9.2-1",
  ifupdown2: "3.1.0-1+pmx3",
  "ksm-control-daemon": "1.4-1",
  "libjs-extjs": "7.0.0-1",
  libknet1: "1.24-pve2",
  "libproxmox-acme-perl": "1.4.4",
  "libproxmox-backup-qemu0": "1.3.1-1",
  "libproxmox-rs-perl": "0.2.1",
  "libpve-access-control": "7.4-2",
  "libpve-apiclient-perl": "3.2-1",
  "libpve-common-perl": "7.3-3",
  "libpve-guest-common-perl": "4.2-4",
  "libpve-http-server-perl": "4.2-1",
  "libpve-rs-perl": "0.7.5",
  "libpve-storage-perl": "7.4-2",
  "libspice-server1": "0.14.3-2.1",
  lvm2: "2.03.11-2.1",
  "lxc-pve": "5.0.2-2",
  lxcfs: "5.0.3-pve1",
  "novnc-pve": "1.4.0-1",
  "proxmox-backup-client": "2.3.3-1",
  "proxmox-backup-file-restore": "2.3.3-1",
  "proxmox-mail-forward": "0.1.1-1",
  "proxmox-mini-journalreader": "1.3-1",
  "proxmox-widget-toolkit": "3.6.3",
  "pve-cluster": "7.3-3",
  "pve-container": "4.4-3",
  "pve-docs": "7.4-2",
  "pve-edk2-firmware": "3.20221111-1",
  "pve-firewall": "4.3-1",
  "pve-firmware": "3.6-4",
  "pve-ha-manager": "3.6.0",
  "pve-i18n": "2.11-1",
  "pve-qemu-kvm": "7.2.0-8",
  "pve-xtermjs": "4.16.0-1",
  "qemu-server": "7.4-2",
  smartmontools: "7.2-pve3",
  spiceterm: "3.2-2",
  swtpm: "0.8.0~bpo11+3",
  vncterm: "1.7-1",
  "zfsutils-linux": "2.1.9-pve1",
  "grub-efi-amd64": "2.06-3~deb11u5",
  "grub-pc": "2.06-3~deb11u5",
  "grub-common": "2.06-3~deb11u5",
  "initramfs-tools": "0.140",
  "util-linux": "2.36.1-8+deb11u1",
  pciutils: "1:3.7.0-5",
  systemd: "247.3-7+deb11u1",
  kmod: "28-1",
  curl: "7.74.0-1.3+deb11u7",
};

const PKGS_82: Record<string, string> = {
  "proxmox-ve": "8.2.0",
  "pve-manager": "8.2.7",
  "proxmox-kernel-helper": "8.1.0",
  "proxmox-kernel-6.8": "6.8.12-4",
  "proxmox-kernel-6.8.12-4-pve-signed": "6.8.12-4",
  "proxmox-kernel-6.8.4-2-pve-signed": "6.8.4-2",
  "ceph-fuse": "17.2.7-pve3",
  corosync: "3.1.7-pve3",
  criu: "3.17.1-2",
  "glusterfs-client": "10.3-5",
  ifupdown2: "3.2.0-1+pmx9",
  "ksm-control-daemon": "1.5-1",
  "libjs-extjs": "7.0.0-4",
  libknet1: "1.28-pve1",
  "libproxmox-acme-perl": "1.5.1",
  "libproxmox-backup-qemu0": "1.4.1",
  "libproxmox-rs-perl": "0.3.4",
  "libpve-access-control": "8.1.4",
  "libpve-apiclient-perl": "3.3.2",
  "libpve-cluster-api-perl": "8.0.8",
  "libpve-cluster-perl": "8.0.8",
  "libpve-common-perl": "8.2.5",
  "libpve-guest-common-perl": "5.1.4",
  "libpve-http-server-perl": "5.1.2",
  "libpve-network-perl": "0.9.8",
  "libpve-rs-perl": "0.8.10",
  "libpve-storage-perl": "8.2.5",
  "libspice-server1": "0.15.1-1",
  lvm2: "2.03.16-2",
  "lxc-pve": "6.0.0-1",
  lxcfs: "6.0.0-pve2",
  "novnc-pve": "1.4.0-4",
  "proxmox-backup-client": "3.2.7-1",
  "proxmox-backup-file-restore": "3.2.7-1",
  "proxmox-firewall": "0.5.0",
  "proxmox-mail-forward": "0.2.3",
  "proxmox-mini-journalreader": "1.4.0",
  "proxmox-offline-mirror-helper": "0.6.7",
  "proxmox-widget-toolkit": "4.2.4",
  "pve-cluster": "8.0.8",
  "pve-container": "5.2.0",
  "pve-docs": "8.2.3",
  "pve-edk2-firmware": "4.2023.08-4",
  "pve-esxi-import-tools": "0.7.2",
  "pve-firewall": "5.0.7",
  "pve-firmware": "3.14-1",
  "pve-ha-manager": "4.0.5",
  "pve-i18n": "3.2.4",
  "pve-qemu-kvm": "9.0.2-3",
  "pve-xtermjs": "5.3.0-3",
  "qemu-server": "8.2.4",
  smartmontools: "7.3-pve1",
  spiceterm: "3.3.0",
  swtpm: "0.8.0+pve1",
  vncterm: "1.8.0",
  "zfsutils-linux": "2.2.6-pve1",
  "grub-efi-amd64": "2.06-13+pmx2",
  "grub-common": "2.06-13+pmx2",
  "initramfs-tools": "0.142+deb12u1",
  "util-linux": "2.38.1-5+deb12u1",
  pciutils: "1:3.9.0-4",
  systemd: "252.30-1~deb12u2",
  "systemd-boot": "252.30-1~deb12u2",
  kmod: "30+20221128-1",
  mokutil: "0.6.0-2",
  "shim-signed": "1.44~1+deb12u1+15.8-1~deb12u1",
  curl: "7.88.1-10+deb12u7",
};

/**
 * Proxmox VE 9.1 (Debian 13 trixie): `pveversion -v` of a real 9.1.1 host (public system report, search id
 * 42801601592: "pve-manager: 9.1.1 (running version: 9.1.1/42db4a6cf33dac83)", kernel 6.17.2-1-pve) with
 * only the 6.17 kernel a fresh 9.1 install has; base-system versions are representative Debian 13 ones.
 */
const PKGS_91: Record<string, string> = {
  "proxmox-ve": "9.1.0",
  "pve-manager": "9.1.1",
  "proxmox-kernel-helper": "9.0.4",
  "proxmox-kernel-6.17": "6.17.2-1",
  "proxmox-kernel-6.17.2-1-pve-signed": "6.17.2-1",
  "ceph-fuse": "19.2.3-pve1",
  corosync: "3.1.9-pve2",
  criu: "4.1.1-1",
  "frr-pythontools": "10.3.1-1+pve4",
  ifupdown2: "3.3.0-1+pmx11",
  "ksm-control-daemon": "1.5-1",
  "libjs-extjs": "7.0.0-5",
  "libproxmox-acme-perl": "1.7.0",
  "libproxmox-backup-qemu0": "2.0.1",
  "libproxmox-rs-perl": "0.4.1",
  "libpve-access-control": "9.0.4",
  "libpve-apiclient-perl": "3.4.2",
  "libpve-cluster-api-perl": "9.0.7",
  "libpve-cluster-perl": "9.0.7",
  "libpve-common-perl": "9.0.15",
  "libpve-guest-common-perl": "6.0.2",
  "libpve-http-server-perl": "6.0.5",
  "libpve-network-perl": "1.2.3",
  "libpve-rs-perl": "0.11.3",
  "libpve-storage-perl": "9.1.0",
  "libspice-server1": "0.15.2-1+b1",
  lvm2: "2.03.31-2+pmx1",
  "lxc-pve": "6.0.5-3",
  lxcfs: "6.0.4-pve1",
  "novnc-pve": "1.6.0-3",
  "proxmox-backup-client": "4.1.0-1",
  "proxmox-backup-file-restore": "4.1.0-1",
  "proxmox-firewall": "1.2.1",
  "proxmox-mail-forward": "1.0.2",
  "proxmox-mini-journalreader": "1.6",
  "proxmox-offline-mirror-helper": "0.7.3",
  "proxmox-widget-toolkit": "5.1.2",
  "pve-cluster": "9.0.7",
  "pve-container": "6.0.18",
  "pve-docs": "9.1.1",
  "pve-edk2-firmware": "4.2025.05-2",
  "pve-esxi-import-tools": "1.0.1",
  "pve-firewall": "6.0.4",
  "pve-firmware": "3.17-2",
  "pve-ha-manager": "5.0.8",
  "pve-i18n": "3.6.4",
  "pve-qemu-kvm": "10.1.2-4",
  "pve-xtermjs": "5.5.0-3",
  "qemu-server": "9.1.0",
  smartmontools: "7.4-pve1",
  spiceterm: "3.4.1",
  swtpm: "0.8.0+pve3",
  vncterm: "1.9.1",
  "zfsutils-linux": "2.3.4-pve1",
  "grub-efi-amd64": "2.12-9+pmx2",
  "grub-common": "2.12-9+pmx2",
  "initramfs-tools": "0.148.3",
  "util-linux": "2.41-5",
  pciutils: "1:3.13.0-2",
  systemd: "257.9-1~deb13u1",
  "systemd-boot": "257.9-1~deb13u1",
  kmod: "34.2-2",
  mokutil: "0.7.2-1",
  "shim-signed": "1.47+pmx1+15.8-1+pmx1",
  curl: "8.14.1-2+deb13u2",
};

/**
 * The repository files a fresh Proxmox VE 9 install writes (deb822; pve-docs pve-package-repos.adoc @ 9.1.3:
 * debian.sources, pve-enterprise.sources "enabled by default", ceph.sources with the ceph-squid enterprise
 * repository; `ls /etc/apt/sources.list.d/` on a default install: "ceph.sources debian.sources
 * pve-enterprise.sources", computingforgeeks PVE 9 no-subscription guide).
 */
export const PVE9_SOURCES: Record<string, string> = {
  "/etc/apt/sources.list.d/debian.sources": `Types: deb deb-src
URIs: http://deb.debian.org/debian/
Suites: trixie trixie-updates
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://security.debian.org/debian-security/
Suites: trixie-security
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`,
  "/etc/apt/sources.list.d/pve-enterprise.sources": `Types: deb
URIs: https://enterprise.proxmox.com/debian/pve
Suites: trixie
Components: pve-enterprise
Signed-By: /usr/share/keyrings/proxmox-archive-keyring.gpg
`,
  "/etc/apt/sources.list.d/ceph.sources": `Types: deb
URIs: https://enterprise.proxmox.com/debian/ceph-squid
Suites: trixie
Components: enterprise
Signed-By: /usr/share/keyrings/proxmox-archive-keyring.gpg
`,
};

const STOCK_GRUB = (cmdline: string) => `# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
# For full documentation of the options in this file, see:
#   info -f grub -n 'Simple configuration'

GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=\`lsb_release -i -s 2> /dev/null || echo Debian\`
GRUB_CMDLINE_LINUX_DEFAULT="${cmdline}"
GRUB_CMDLINE_LINUX=""

# Uncomment to enable BadRAM filtering, modify to suit your needs
# This works with Linux (a patch is available for kernel versions >= 2.6.14)
#GRUB_BADRAM="0x01234567,0xfefefefe,0x89abcdef,0xefefefef"

# Uncomment to disable graphical terminal (grub-pc only)
#GRUB_TERMINAL=console

# Uncomment if you don't want GRUB to pass "root=UUID=xxx" parameter to Linux
#GRUB_DISABLE_LINUX_UUID=true

# Uncomment to disable generation of recovery mode menu entries
#GRUB_DISABLE_RECOVERY="true"
`;

export function stockGrub(cmdlineDefault = "quiet"): string {
  return STOCK_GRUB(cmdlineDefault);
}

const STOCK_MODULES = `# /etc/modules: kernel modules to load at boot time.
#
# This file contains the names of kernel modules that should be loaded
# at boot time, one per line. Lines beginning with "#" are ignored.

`;

export function stockModules(extra: string[] = []): string {
  return STOCK_MODULES + extra.map((m) => `${m}\n`).join("");
}

const PVE_BLACKLIST = `# This file contains a list of modules which are not supported by Proxmox VE 

# nvidiafb see bugreport https://bugzilla.proxmox.com/show_bug.cgi?id=701
blacklist nvidiafb
`;

const INTEL_PCI: SimPciFunction[] = [
  {
    address: "0000:00:00.0",
    className: "Host bridge",
    classCode: "0600",
    sysfsClass: "0x060000",
    name: "Intel Corporation 8th Gen Core Processor Host Bridge/DRAM Registers",
    vendorId: "8086",
    deviceId: "3ec2",
    revision: "07",
    subsystem: { vendorId: "1043", deviceId: "8694", name: "ASUSTeK Computer Inc. PRIME Z390-A" },
    driver: "skl_uncore",
    modules: [],
  },
  {
    address: "0000:00:01.0",
    className: "PCI bridge",
    classCode: "0604",
    sysfsClass: "0x060400",
    name: "Intel Corporation 6th-10th Gen Core Processor PCIe Controller (x16)",
    vendorId: "8086",
    deviceId: "1901",
    revision: "07",
    subsystem: null,
    driver: "pcieport",
    modules: [],
  },
  {
    address: "0000:00:02.0",
    className: "VGA compatible controller",
    classCode: "0300",
    sysfsClass: "0x030000",
    name: "Intel Corporation CoffeeLake-S GT2 [UHD Graphics 630]",
    vendorId: "8086",
    deviceId: "3e92",
    revision: null,
    subsystem: {
      vendorId: "1043",
      deviceId: "8694",
      name: "ASUSTeK Computer Inc. CoffeeLake-S GT2 [UHD Graphics 630]",
    },
    driver: "i915",
    modules: ["i915"],
  },
  {
    address: "0000:00:17.0",
    className: "SATA controller",
    classCode: "0106",
    sysfsClass: "0x010601",
    name: "Intel Corporation Cannon Lake PCH SATA AHCI Controller",
    vendorId: "8086",
    deviceId: "a352",
    revision: "10",
    subsystem: {
      vendorId: "1043",
      deviceId: "8694",
      name: "ASUSTeK Computer Inc. Cannon Lake PCH SATA AHCI Controller",
    },
    driver: "ahci",
    modules: ["ahci"],
  },
  {
    address: "0000:00:1f.6",
    className: "Ethernet controller",
    classCode: "0200",
    sysfsClass: "0x020000",
    name: "Intel Corporation Ethernet Connection (7) I219-V",
    vendorId: "8086",
    deviceId: "15bc",
    revision: "10",
    subsystem: {
      vendorId: "1043",
      deviceId: "8672",
      name: "ASUSTeK Computer Inc. Ethernet Connection (7) I219-V",
    },
    driver: "e1000e",
    modules: ["e1000e"],
  },
];

const AMD_PCI: SimPciFunction[] = [
  {
    address: "0000:00:00.0",
    className: "Host bridge",
    classCode: "0600",
    sysfsClass: "0x060000",
    name: "Advanced Micro Devices, Inc. [AMD] Starship/Matisse Root Complex",
    vendorId: "1022",
    deviceId: "1480",
    revision: null,
    subsystem: {
      vendorId: "1849",
      deviceId: "1480",
      name: "ASRock Incorporation Starship/Matisse Root Complex",
    },
    driver: null,
    modules: [],
  },
  {
    address: "0000:00:00.2",
    className: "IOMMU",
    classCode: "0806",
    sysfsClass: "0x080600",
    name: "Advanced Micro Devices, Inc. [AMD] Starship/Matisse IOMMU",
    vendorId: "1022",
    deviceId: "1481",
    revision: null,
    subsystem: { vendorId: "1849", deviceId: "1481", name: "ASRock Incorporation Starship/Matisse IOMMU" },
    driver: null,
    modules: [],
  },
  {
    address: "0000:00:01.1",
    className: "PCI bridge",
    classCode: "0604",
    sysfsClass: "0x060400",
    name: "Advanced Micro Devices, Inc. [AMD] Starship/Matisse GPP Bridge",
    vendorId: "1022",
    deviceId: "1483",
    revision: null,
    subsystem: null,
    driver: "pcieport",
    modules: [],
  },
  {
    address: "0000:05:00.0",
    className: "Ethernet controller",
    classCode: "0200",
    sysfsClass: "0x020000",
    name: "Intel Corporation I211 Gigabit Network Connection",
    vendorId: "8086",
    deviceId: "1539",
    revision: "03",
    subsystem: {
      vendorId: "1849",
      deviceId: "1539",
      name: "ASRock Incorporation I211 Gigabit Network Connection",
    },
    driver: "igb",
    modules: ["igb"],
  },
];

const INTEL_FLAGS =
  "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl vmx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb invpcid_single ssbd ibrs ibpb stibp tpr_shadow vnmi flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid mpx rdseed adx smap clflushopt intel_pt xsaveopt xsavec xgetbv1 xsaves dtherm ida arat pln pts hwp hwp_notify hwp_act_window hwp_epp md_clear flush_l1d arch_capabilities";
const AMD_FLAGS =
  "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba ibrs ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local user_shstk clzero irperf xsaveerptr rdpru wbnoinvd arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif v_spec_ctrl umip pku ospke vaes vpclmulqdq rdpid overflow_recov succor smca fsrm debug_swap";

export function rtx2080ti(): SimGpu {
  return {
    address: "0000:01:00.0",
    deviceId: "1e07",
    subsystemVendorId: "10de",
    subsystemDeviceId: "12fa",
    lspciName: "TU102 [GeForce RTX 2080 Ti Rev. A]",
    subsystemVendorName: "NVIDIA Corporation",
    productName: "NVIDIA GeForce RTX 2080 Ti",
    productBrand: "GeForce",
    architecture: "Turing",
    chipset: "TU102 (162000a1)",
    vramMiB: 11264,
    vbios: "90.02.17.00.58",
    powerCapW: 260,
    sysfsClass: "0x030000",
    linkSpeed: "8.0 GT/s PCIe",
    revision: "a1",
    driver: "nouveau",
    functions: [
      {
        fn: "1",
        className: "Audio device",
        classCode: "0403",
        sysfsClass: "0x040300",
        name: "TU102 High Definition Audio Controller",
        deviceId: "10f7",
        driver: "snd_hda_intel",
        modules: ["snd_hda_intel"],
      },
      {
        fn: "2",
        className: "USB controller",
        classCode: "0c03",
        sysfsClass: "0x0c0330",
        name: "TU102 USB 3.1 Host Controller",
        deviceId: "1ad6",
        driver: "xhci_hcd",
        modules: ["xhci_pci"],
      },
      {
        fn: "3",
        className: "Serial bus controller",
        classCode: "0c80",
        sysfsClass: "0x0c8000",
        name: "TU102 USB Type-C UCSI Controller",
        deviceId: "1ad7",
        driver: "nvidia-gpu",
        modules: ["i2c_nvidia_gpu"],
      },
    ],
  };
}

export function teslaP4(): SimGpu {
  return {
    address: "0000:01:00.0",
    deviceId: "1bb3",
    subsystemVendorId: "10de",
    subsystemDeviceId: "11d8",
    lspciName: "GP104GL [Tesla P4]",
    subsystemVendorName: "NVIDIA Corporation",
    productName: "Tesla P4",
    productBrand: "Tesla",
    architecture: "Pascal",
    chipset: "GP104 (134000a1)",
    vramMiB: 7680,
    vbios: "86.04.55.00.01",
    powerCapW: 75,
    sysfsClass: "0x030200",
    linkSpeed: "8.0 GT/s PCIe",
    revision: "a1",
    driver: "nouveau",
    functions: [],
  };
}

export function rtx3080(): SimGpu {
  return {
    address: "0000:01:00.0",
    deviceId: "2206",
    subsystemVendorId: "10de",
    subsystemDeviceId: "1467",
    lspciName: "GA102 [GeForce RTX 3080]",
    subsystemVendorName: "NVIDIA Corporation",
    productName: "NVIDIA GeForce RTX 3080",
    productBrand: "GeForce",
    architecture: "Ampere",
    chipset: "GA102 (172000a1)",
    vramMiB: 10240,
    vbios: "94.02.42.00.a9",
    powerCapW: 320,
    sysfsClass: "0x030000",
    linkSpeed: "16.0 GT/s PCIe",
    revision: "a1",
    driver: "nouveau",
    functions: [
      {
        fn: "1",
        className: "Audio device",
        classCode: "0403",
        sysfsClass: "0x040300",
        name: "GA102 High Definition Audio Controller",
        deviceId: "1aef",
        driver: "snd_hda_intel",
        modules: ["snd_hda_intel"],
      },
    ],
  };
}

/**
 * NVIDIA L40S (Ada, SR-IOV: 32 VFs, nvidia-data.ts). `lspci -Dnnk`: "3D controller [0302]: NVIDIA Corporation
 * AD102GL [L40S] [10de:26b9] (rev a1)", "Subsystem: NVIDIA Corporation AD102GL [L40S] [10de:1851]" (OpenNebula
 * docs, Scaleway L40S deployment). 46068 MiB as nvidia-smi reports a 48 GB board (same as the A40's).
 */
export function l40s(address = "0000:41:00.0"): SimGpu {
  return {
    address,
    deviceId: "26b9",
    subsystemVendorId: "10de",
    subsystemDeviceId: "1851",
    lspciName: "AD102GL [L40S]",
    subsystemVendorName: "NVIDIA Corporation",
    productName: "NVIDIA L40S",
    productBrand: "NVIDIA",
    architecture: "Ada Lovelace",
    chipset: "AD102 (192000a1)",
    vramMiB: 46068,
    vbios: "95.02.66.00.02",
    powerCapW: 350,
    sysfsClass: "0x030200",
    linkSpeed: "16.0 GT/s PCIe",
    revision: "a1",
    driver: "nouveau",
    functions: [],
    sriov: { totalVfs: 32, numVfs: 0 },
  };
}

/**
 * One of the four GPUs of an NVIDIA A16 board (Ampere GA107, 16 GB each, SR-IOV: 16 VFs per GPU,
 * nvidia-data.ts): 10de:25b6 subsystem 10de:14a9, lspci name "GA107GL [A2 / A16]" (pci.ids).
 */
export function a16Gpu(address: string): SimGpu {
  return {
    address,
    deviceId: "25b6",
    subsystemVendorId: "10de",
    subsystemDeviceId: "14a9",
    lspciName: "GA107GL [A2 / A16]",
    subsystemVendorName: "NVIDIA Corporation",
    productName: "NVIDIA A16",
    productBrand: "NVIDIA",
    architecture: "Ampere",
    chipset: "GA107 (177000a1)",
    vramMiB: 15356,
    vbios: "94.07.5B.00.92",
    powerCapW: 62,
    sysfsClass: "0x030200",
    linkSpeed: "16.0 GT/s PCIe",
    revision: "a1",
    driver: "nouveau",
    functions: [],
    sriov: { totalVfs: 16, numVfs: 0 },
  };
}

/** The board's BMC graphics (ASPEED AST2500/2600), driving the console of a headless server. */
export const ASPEED_VGA: SimPciFunction = {
  address: "0000:c2:00.0",
  className: "VGA compatible controller",
  classCode: "0300",
  sysfsClass: "0x030000",
  name: "ASPEED Technology, Inc. ASPEED Graphics Family",
  vendorId: "1a03",
  deviceId: "2000",
  revision: "52",
  subsystem: { vendorId: "15d9", deviceId: "1b95", name: "Super Micro Computer Inc ASPEED Graphics Family" },
  driver: "ast",
  modules: ["ast"],
};

export interface PlatformOpts {
  scenario: string;
  pve: 7 | 8 | 9;
  /** "epyc": an AMD EPYC server board with ASPEED BMC graphics */
  cpu: "intel" | "amd" | "epyc";
  bootloader: "grub" | "systemd-boot";
  efi: boolean;
  gpus: SimGpu[];
  hostname?: string;
}

/** A freshly installed Proxmox VE host (enterprise repo, stock files, nothing for vGPU). */
/** What a fresh install of each Proxmox VE major brings (versions, kernels, clock, package set). */
const RELEASES = {
  7: {
    kernel: "5.15.102-1-pve",
    installed: ["5.15.102-1-pve"],
    debian: "bullseye",
    clock: "2023-04-11T18:02:00.000Z",
    pve: { proxmoxVe: "7.4-1", manager: "7.4-3", managerHash: "9002ab8a", debianVersion: "11.6" },
    packages: PKGS_74,
  },
  8: {
    kernel: "6.8.12-4-pve",
    installed: ["6.8.12-4-pve", "6.8.4-2-pve"],
    debian: "bookworm",
    clock: "2024-11-20T09:30:00.000Z",
    pve: { proxmoxVe: "8.2.0", manager: "8.2.7", managerHash: "3e0176e6bb2ade3b", debianVersion: "12.8" },
    packages: PKGS_82,
  },
  9: {
    kernel: "6.17.2-1-pve",
    installed: ["6.17.2-1-pve"],
    debian: "trixie",
    clock: "2025-12-01T09:30:00.000Z",
    pve: { proxmoxVe: "9.1.0", manager: "9.1.1", managerHash: "42db4a6cf33dac83", debianVersion: "13.2" },
    packages: PKGS_91,
  },
} as const;

/** `uname -v` of each kernel the scenarios use (real builds; 6.17.2-1: a PVE 9.1.1 `uname -a` paste). */
const KERNEL_BUILDS: Record<string, string> = {
  "5.15.102-1-pve": "#1 SMP PVE 5.15.102-1 (2023-03-14T13:48Z)",
  "6.8.12-4-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)",
  "6.8.4-2-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.8.4-2 (2024-04-10T17:36Z)",
  "6.17.2-1-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)",
};

/** Repository files of a fresh install: one-line lists up to PVE 8, deb822 .sources on PVE 9. */
function freshSources(pve: 7 | 8 | 9, debian: string): Record<string, string> {
  if (pve === 9) return { ...PVE9_SOURCES };
  return {
    "/etc/apt/sources.list": `deb http://ftp.debian.org/debian ${debian} main contrib\n\ndeb http://ftp.debian.org/debian ${debian}-updates main contrib\n\n# security updates\ndeb http://security.debian.org ${debian}-security main contrib\n`,
    "/etc/apt/sources.list.d/pve-enterprise.list": `deb https://enterprise.proxmox.com/debian/pve ${debian} pve-enterprise\n`,
  };
}

/** A freshly installed Proxmox VE host (enterprise repo, stock files, nothing for vGPU). */
export function freshHost(o: PlatformOpts): SimState {
  const rel = RELEASES[o.pve];
  const { kernel, debian } = rel;
  const hostname = o.hostname ?? "pve";
  const zfs = o.bootloader === "systemd-boot";
  const espUuids = zfs ? ["4A2B-1C3D"] : [];
  const files: Record<string, string> = {
    "/etc/hostname": `${hostname}\n`,
    "/etc/default/grub": stockGrub(),
    "/etc/default/grub.d/proxmox-ve.cfg": 'GRUB_DISTRIBUTOR="Proxmox VE"\n',
    "/etc/modules": stockModules(),
    "/etc/modprobe.d/pve-blacklist.conf": PVE_BLACKLIST,
    ...freshSources(o.pve, debian),
    "/root/.bashrc": "# ~/.bashrc: executed by bash(1) for non-login shells.\n",
    // Debian's /usr/share/base-files/dot.profile, which base-files installs as /root/.profile
    "/root/.profile":
      '# ~/.profile: executed by Bourne-compatible login shells.\n\nif [ "$BASH" ]; then\n  if [ -f ~/.bashrc ]; then\n    . ~/.bashrc\n  fi\nfi\n\nmesg n 2> /dev/null || true\n',
  };
  if (zfs) {
    files["/etc/kernel/cmdline"] = "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n";
    files["/etc/kernel/proxmox-boot-uuids"] = `${espUuids.join("\n")}\n`;
  }
  const s: SimState = {
    version: SIM_STATE_VERSION,
    scenario: o.scenario,
    clock: rel.clock,
    bootCount: 1,
    hostname,
    pve: { ...rel.pve, debian },
    kernel: {
      installed: [...rel.installed],
      running: kernel,
      buildInfo: Object.fromEntries(
        Object.entries(KERNEL_BUILDS).filter(([k]) => (o.pve === 9) === k.startsWith("6.17")),
      ),
    },
    boot: {
      bootloader: o.bootloader,
      efi: o.efi,
      secureBoot: false,
      espUuids,
      rootArgs: zfs ? "root=ZFS=rpool/ROOT/pve-1 boot=zfs" : "root=/dev/mapper/pve-root ro",
      nextCmdline: "",
      initramfsUpdated: false,
    },
    cmdline: "",
    cpu:
      o.cpu === "intel"
        ? {
            vendor: "intel",
            modelName: "Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz",
            family: 6,
            model: 158,
            stepping: 10,
            cores: 6,
            threadsPerCore: 2,
            addressSizes: "39 bits physical, 48 bits virtual",
            flags: INTEL_FLAGS,
          }
        : o.cpu === "epyc"
          ? {
              vendor: "amd",
              modelName: "AMD EPYC 9124 16-Core Processor",
              family: 25,
              model: 17,
              stepping: 1,
              cores: 16,
              threadsPerCore: 2,
              addressSizes: "52 bits physical, 57 bits virtual",
              flags: AMD_FLAGS,
            }
          : {
              vendor: "amd",
              modelName: "AMD Ryzen 9 5900X 12-Core Processor",
              family: 25,
              model: 33,
              stepping: 0,
              cores: 12,
              threadsPerCore: 2,
              addressSizes: "48 bits physical, 48 bits virtual",
              flags: AMD_FLAGS,
            },
    firmwareIommu: true,
    packages: { ...rel.packages },
    files,
    dirs: [],
    modules: [],
    baseModules: [
      ...(o.cpu === "intel" ? ["kvm_intel", "i915", "e1000e"] : ["kvm_amd", "igb"]),
      "kvm",
      "ahci",
      "zfs",
      "vhost_net",
      "snd_hda_intel",
      "xhci_pci",
    ],
    pci: o.cpu === "intel" ? INTEL_PCI : o.cpu === "epyc" ? [...AMD_PCI, ASPEED_VGA] : AMD_PCI,
    gpus: o.gpus,
    driver: null,
    driverLoaded: false,
    unlock: null,
    mdevs: [],
    vms: [],
    extraDmesg: [],
  };
  if (o.gpus.some((g) => g.functions.some((f) => f.deviceId === "1ad7")))
    s.baseModules.push("i2c_nvidia_gpu");
  if (o.cpu === "epyc") {
    s.baseModules.push("ast");
    s.consoleFb = "astdrmfb";
  }
  s.boot.nextCmdline = configuredCmdline(s);
  s.cmdline = s.boot.nextCmdline;
  settleDrivers(s);
  return s;
}

export function vm(vmid: number, config: Record<string, string>): SimVm {
  return { vmid, running: false, config, pending: {}, pendingDelete: [] };
}

export function seedVms(): SimVm[] {
  return [
    vm(100, {
      bios: "ovmf",
      boot: "order=scsi0;ide2;net0",
      cores: "4",
      cpu: "host",
      efidisk0: "local-lvm:vm-100-disk-0,efitype=4m,pre-enrolled-keys=1,size=4M",
      ide2: "local:iso/Win11_22H2_English_x64v1.iso,media=cdrom,size=5427180K",
      machine: "pc-q35-7.2",
      memory: "8192",
      meta: "creation-qemu=7.2.0,ctime=1681230000",
      name: "win11",
      net0: "virtio=BC:24:11:5E:3A:10,bridge=vmbr0,firewall=1",
      numa: "0",
      ostype: "win11",
      scsi0: "local-lvm:vm-100-disk-1,iothread=1,size=64G",
      scsihw: "virtio-scsi-single",
      smbios1: "uuid=6f1c2a4e-9b1d-4d5e-8a3f-2c7b9e0d4a11",
      sockets: "1",
      tpmstate0: "local-lvm:vm-100-disk-2,size=4M,version=v2.0",
      vmgenid: "2e4b6c8d-1f3a-4b5c-9d7e-0a1b2c3d4e5f",
    }),
    vm(101, {
      boot: "order=scsi0;ide2;net0",
      cores: "2",
      ide2: "local:iso/ubuntu-22.04.2-live-server-amd64.iso,media=cdrom,size=1929660K",
      memory: "4096",
      meta: "creation-qemu=7.2.0,ctime=1681230300",
      name: "ubuntu",
      net0: "virtio=BC:24:11:7A:91:C2,bridge=vmbr0,firewall=1",
      numa: "0",
      ostype: "l26",
      scsi0: "local-lvm:vm-101-disk-0,iothread=1,size=32G",
      scsihw: "virtio-scsi-single",
      smbios1: "uuid=0b8e5d3c-7a2f-4e61-9c4d-5f1a2b3c4d5e",
      sockets: "1",
      vmgenid: "7c9d1e2f-3a4b-4c5d-8e6f-a1b2c3d4e5f6",
    }),
  ];
}

/** Apply the seed guide's host preparation: packages, IOMMU params, vfio modules, nouveau blacklist. */
export function prepareHost(s: SimState, o: { vfioVirqfd: boolean }): void {
  const pve7 = s.pve.debian === "bullseye";
  Object.assign(
    s.packages,
    pve7
      ? {
          git: "1:2.30.2-1+deb11u2",
          "build-essential": "12.9",
          // build-essential → dpkg-dev → patch (Debian's dependencies; the guide's driver patch needs it)
          patch: "2.7.6-7",
          gcc: "4:10.2.1-1",
          make: "4.3-4.1",
          dkms: "2.8.4-3",
          "pve-headers": "7.4-1",
          "pve-headers-5.15.102-1-pve": "5.15.102-1",
          mdevctl: "0.81-1",
        }
      : {
          git: "1:2.39.5-0+deb12u1",
          "build-essential": "12.9",
          patch: "2.7.6-7",
          gcc: "4:12.2.0-3",
          make: "4.3-4.1",
          dkms: "3.0.10-8+deb12u1",
          "proxmox-default-headers": "1.1.0",
          "proxmox-headers-6.8.12-4-pve": "6.8.12-4",
          mdevctl: "1.2.0-3",
        },
  );
  s.files[FRAMEWORK_CONF] = STOCK_FRAMEWORK_CONF; // installed by the dkms package
  delete s.files["/etc/apt/sources.list.d/pve-enterprise.list"];
  s.files["/etc/apt/sources.list"] +=
    `deb http://download.proxmox.com/debian/pve ${s.pve.debian} pve-no-subscription\n`;
  const iommu = s.cpu.vendor === "intel" ? "intel_iommu=on iommu=pt" : "amd_iommu=on iommu=pt";
  if (s.boot.bootloader === "grub") s.files["/etc/default/grub"] = stockGrub(`quiet ${iommu}`);
  else s.files["/etc/kernel/cmdline"] = `root=ZFS=rpool/ROOT/pve-1 boot=zfs ${iommu}\n`;
  s.files["/etc/modules"] = stockModules([
    "vfio",
    "vfio_iommu_type1",
    "vfio_pci",
    ...(o.vfioVirqfd ? ["vfio_virqfd"] : []),
  ]);
  s.files["/etc/modprobe.d/blacklist.conf"] = "blacklist nouveau\n";
  s.boot.nextCmdline = configuredCmdline(s);
  s.cmdline = s.boot.nextCmdline;
  s.boot.initramfsUpdated = true;
}

/** Build vgpu_unlock-rs and preload it into both services, as in the seed guide. */
export function installUnlock(s: SimState, o: { disable?: boolean } = {}): void {
  s.unlock = { repo: UNLOCK_REPO, built: true };
  s.files[`${UNLOCK_REPO}/Cargo.toml`] =
    '[package]\nname = "vgpu_unlock-rs"\nversion = "2.0.0"\nedition = "2018"\n';
  s.files[UNLOCK_SO] = ELF;
  s.files[`${UNLOCK_REPO}/target/release/libvgpu_unlock_rs.d`] =
    `${UNLOCK_REPO}/target/release/libvgpu_unlock_rs.so: ${UNLOCK_REPO}/src/lib.rs\n`;
  for (const d of ["build", "deps", "examples", "incremental"])
    s.dirs.push(`${UNLOCK_REPO}/target/release/${d}`);
  s.files["/root/.cargo/bin/cargo"] = ELF;
  s.files["/etc/vgpu_unlock/profile_override.toml"] = "";
  const dropIn = `[Service]\nEnvironment=LD_PRELOAD=${UNLOCK_SO}\n`;
  s.files["/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf"] = dropIn;
  s.files["/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf"] = dropIn;
  if (o.disable) s.files["/etc/vgpu_unlock/config.toml"] = "unlock = false\n";
}

export function installDriver(
  s: SimState,
  d: {
    version: string;
    vgpuRelease: string;
    buildDate: string;
    patched: boolean;
    flavour?: "proprietary" | "open";
  },
): void {
  s.driver = {
    version: d.version,
    vgpuRelease: d.vgpuRelease,
    flavour: d.flavour ?? "proprietary",
    patched: d.patched,
    dkmsKernels: [s.kernel.running],
    buildDate: d.buildDate,
    signed: false,
  };
  s.files["/usr/share/nvidia/vgpu/vgpuConfig.xml"] =
    `<?xml version="1.0" encoding="UTF-8"?>\n<vgpuconfig/>\n`;
  // installed with --dkms (the guide's and vgpuctl's way): the module source is in the DKMS tree
  s.files[`/usr/src/nvidia-${d.version}/dkms.conf`] =
    `PACKAGE_NAME="nvidia"\nPACKAGE_VERSION="${d.version}"\nAUTOINSTALL="yes"\n`;
  // the vgpu-kvm package ships NVIDIA's SR-IOV script with every driver (as the simulated installer does)
  s.files["/usr/lib/nvidia/sriov-manage"] = SRIOV_MANAGE_SCRIPT;
  s.files["/etc/systemd/system/multi-user.target.wants/nvidia-vgpud.service"] = "";
  s.files["/etc/systemd/system/multi-user.target.wants/nvidia-vgpu-mgr.service"] = "";
  settleDrivers(s);
}

/** A VM as the Proxmox VE 8/9 GUI creates it with machine q35 and OVMF (UEFI), no PCI devices. */
export function q35OvmfVm(vmid: number, name: string, ostype: "win11" | "l26"): SimVm {
  const mac = `BC:24:11:${(0x40 + (vmid % 64)).toString(16).toUpperCase()}:2A:${(vmid % 256).toString(16).toUpperCase().padStart(2, "0")}`;
  return vm(vmid, {
    bios: "ovmf",
    boot: "order=scsi0;ide2;net0",
    cores: "4",
    cpu: "host",
    efidisk0: `local-zfs:vm-${vmid}-disk-0,efitype=4m,pre-enrolled-keys=1,size=1M`,
    machine: ostype === "win11" ? "pc-q35-9.0" : "q35",
    memory: "8192",
    meta: `creation-qemu=9.0.2,ctime=${1740000000 + vmid}`,
    name,
    net0: `virtio=${mac},bridge=vmbr0,firewall=1`,
    numa: "0",
    ostype,
    scsi0: `local-zfs:vm-${vmid}-disk-1,iothread=1,size=64G`,
    scsihw: "virtio-scsi-single",
    smbios1: `uuid=${vmid.toString(16).padStart(8, "0")}-5b1d-4c3e-9a2f-6e7d8c9b0a1f`,
    sockets: "1",
    vmgenid: `${vmid.toString(16).padStart(8, "0")}-7c2e-4d1f-8b3a-2f1e0d9c8b7a`,
  });
}

/**
 * Prepare a host the Proxmox way (wiki "NVIDIA vGPU on Proxmox VE", research/proxmox.md §2): no-subscription
 * repository, pve-nvidia-vgpu-helper installed and its `setup` run (nouveau blacklisted, headers + DKMS).
 * No IOMMU parameters (AMD, and Intel on kernel ≥ 6.8, have it on: pve-docs qm-pci-passthrough.adoc).
 */
export function prepareProxmoxWay(s: SimState): void {
  const k = s.kernel.running;
  Object.assign(s.packages, {
    "build-essential": "12.9",
    gcc: "4:12.2.0-3",
    make: "4.3-4.1",
    patch: "2.7.6-7",
    dkms: "3.0.10-8+deb12u1",
    "proxmox-default-headers": "1.1.0",
    [`proxmox-headers-${k}`]: k.replace(/-pve$/, ""),
    "pve-nvidia-vgpu-helper": "8.3.3",
  });
  delete s.files["/etc/apt/sources.list.d/pve-enterprise.list"];
  s.files["/etc/apt/sources.list"] +=
    `deb http://download.proxmox.com/debian/pve ${s.pve.debian} pve-no-subscription\n`;
  s.files[FRAMEWORK_CONF] = STOCK_FRAMEWORK_CONF; // installed by the dkms package
  s.files["/usr/bin/pve-nvidia-vgpu-helper"] = "#!/usr/bin/perl\n";
  s.files["/lib/systemd/system/pve-nvidia-sriov@.service"] = SRIOV_UNIT_TEXT;
  s.files[HELPER_BLACKLIST] = "blacklist nouveau\n";
  s.boot.initramfsUpdated = true;
}
