/** uname, hostname, pveversion -v, lscpu, dpkg-query -W, /proc files. */

import { compareNatural } from "../../../util/compare.ts";
import { kernelAtLeast, pveMajor } from "../logic.ts";
import type { SimState } from "../state.ts";

export function unameVersion(s: SimState, kernel = s.kernel.running): string {
  const known = s.kernel.buildInfo[kernel];
  if (known) return known;
  const base = kernel.replace(/-pve$/, "");
  return kernelAtLeast(kernel, 6, 2)
    ? `#1 SMP PREEMPT_DYNAMIC PMX ${base} (2024-11-06T15:04Z)`
    : `#1 SMP PVE ${base} (2023-03-14T13:48Z)`;
}

export function renderUnameA(s: SimState): string {
  return `Linux ${s.hostname} ${s.kernel.running} ${unameVersion(s)} x86_64 GNU/Linux\n`;
}

export function renderUnameR(s: SimState): string {
  return `${s.kernel.running}\n`;
}

const PVEVERSION_7 = [
  "ceph-fuse",
  "corosync",
  "criu",
  "glusterfs-client",
  "ifupdown2",
  "ksm-control-daemon",
  "libjs-extjs",
  "libknet1",
  "libproxmox-acme-perl",
  "libproxmox-backup-qemu0",
  "libproxmox-rs-perl",
  "libpve-access-control",
  "libpve-apiclient-perl",
  "libpve-common-perl",
  "libpve-guest-common-perl",
  "libpve-http-server-perl",
  "libpve-rs-perl",
  "libpve-storage-perl",
  "libspice-server1",
  "lvm2",
  "lxc-pve",
  "lxcfs",
  "novnc-pve",
  "proxmox-backup-client",
  "proxmox-backup-file-restore",
  "proxmox-kernel-helper",
  "proxmox-mail-forward",
  "proxmox-mini-journalreader",
  "proxmox-widget-toolkit",
  "pve-cluster",
  "pve-container",
  "pve-docs",
  "pve-edk2-firmware",
  "pve-firewall",
  "pve-firmware",
  "pve-ha-manager",
  "pve-i18n",
  "pve-qemu-kvm",
  "pve-xtermjs",
  "qemu-server",
  "smartmontools",
  "spiceterm",
  "swtpm",
  "vncterm",
  "zfsutils-linux",
];

const PVEVERSION_8 = [
  "ceph-fuse",
  "corosync",
  "criu",
  "glusterfs-client",
  "ifupdown2",
  "ksm-control-daemon",
  "libjs-extjs",
  "libknet1",
  "libproxmox-acme-perl",
  "libproxmox-backup-qemu0",
  "libproxmox-rs-perl",
  "libpve-access-control",
  "libpve-apiclient-perl",
  "libpve-cluster-api-perl",
  "libpve-cluster-perl",
  "libpve-common-perl",
  "libpve-guest-common-perl",
  "libpve-http-server-perl",
  "libpve-network-perl",
  "libpve-rs-perl",
  "libpve-storage-perl",
  "libspice-server1",
  "lvm2",
  "lxc-pve",
  "lxcfs",
  "novnc-pve",
  "proxmox-backup-client",
  "proxmox-backup-file-restore",
  "proxmox-firewall",
  "proxmox-kernel-helper",
  "proxmox-mail-forward",
  "proxmox-mini-journalreader",
  "proxmox-offline-mirror-helper",
  "proxmox-widget-toolkit",
  "pve-cluster",
  "pve-container",
  "pve-docs",
  "pve-edk2-firmware",
  "pve-esxi-import-tools",
  "pve-firewall",
  "pve-firmware",
  "pve-ha-manager",
  "pve-i18n",
  "pve-qemu-kvm",
  "pve-xtermjs",
  "qemu-server",
  "smartmontools",
  "spiceterm",
  "swtpm",
  "vncterm",
  "zfsutils-linux",
];

/** `pveversion -v`: 7.x lists pve-kernel-* packages, 8.x proxmox-kernel-*. */
export function renderPveversion(s: SimState): string {
  const lines = [
    `proxmox-ve: ${s.pve.proxmoxVe} (running kernel: ${s.kernel.running})`,
    `pve-manager: ${s.pve.manager} (running version: ${s.pve.manager}/${s.pve.managerHash})`,
  ];
  const major = pveMajor(s);
  const kernelPkgs = Object.keys(s.packages)
    .filter((p) => /^(pve-kernel|proxmox-kernel)-\d/.test(p))
    .sort((a, b) => compareNatural(b, a));
  if (major >= 8 && s.packages["proxmox-kernel-helper"])
    lines.push(`proxmox-kernel-helper: ${s.packages["proxmox-kernel-helper"]}`);
  if (major < 8 && s.packages["pve-kernel-helper"])
    lines.push(`pve-kernel-helper: ${s.packages["pve-kernel-helper"]}`);
  for (const p of kernelPkgs) lines.push(`${p}: ${s.packages[p]}`);
  for (const p of major >= 8 ? PVEVERSION_8 : PVEVERSION_7) {
    const v = s.packages[p];
    if (v !== undefined) lines.push(`${p}: ${v}`);
  }
  return `${lines.join("\n")}\n`;
}

/** `dpkg-query -W`: "name\tversion" for every installed package, sorted. */
export function renderDpkgQuery(s: SimState): string {
  return Object.keys(s.packages)
    .sort()
    .map((p) => `${p}\t${s.packages[p]}\n`)
    .join("");
}

function cpuLines(s: SimState): Array<[string, string]> {
  const c = s.cpu;
  const cpus = c.cores * c.threadsPerCore;
  return [
    ["Architecture", "x86_64"],
    ["CPU op-mode(s)", "32-bit, 64-bit"],
    ["Address sizes", c.addressSizes],
    ["Byte Order", "Little Endian"],
    ["CPU(s)", String(cpus)],
    ["On-line CPU(s) list", `0-${cpus - 1}`],
    ["Vendor ID", c.vendor === "intel" ? "GenuineIntel" : "AuthenticAMD"],
    ["Model name", c.modelName],
    ["CPU family", String(c.family)],
    ["Model", String(c.model)],
    ["Thread(s) per core", String(c.threadsPerCore)],
    ["Core(s) per socket", String(c.cores)],
    ["Socket(s)", "1"],
    ["Stepping", String(c.stepping)],
    ["Flags", c.flags],
    ["Virtualization", c.vendor === "intel" ? "VT-x" : "AMD-V"],
    ["NUMA node(s)", "1"],
    ["NUMA node0 CPU(s)", `0-${cpus - 1}`],
  ];
}

/** `lscpu`: util-linux 2.36 (bullseye, PVE 7) prints a flat list, 2.38 (bookworm, PVE 8) a tree. */
export function renderLscpu(s: SimState): string {
  const kv = new Map(cpuLines(s));
  if (pveMajor(s) < 8) {
    const order = [
      "Architecture",
      "CPU op-mode(s)",
      "Byte Order",
      "Address sizes",
      "CPU(s)",
      "On-line CPU(s) list",
      "Thread(s) per core",
      "Core(s) per socket",
      "Socket(s)",
      "NUMA node(s)",
      "Vendor ID",
      "CPU family",
      "Model",
      "Model name",
      "Stepping",
      "Virtualization",
      "NUMA node0 CPU(s)",
      "Flags",
    ];
    return order.map((k) => `${`${k}:`.padEnd(33)}${kv.get(k)}\n`).join("");
  }
  const tree: Array<[number, string, string | undefined]> = [
    [0, "Architecture", kv.get("Architecture")],
    [1, "CPU op-mode(s)", kv.get("CPU op-mode(s)")],
    [1, "Address sizes", kv.get("Address sizes")],
    [1, "Byte Order", kv.get("Byte Order")],
    [0, "CPU(s)", kv.get("CPU(s)")],
    [1, "On-line CPU(s) list", kv.get("On-line CPU(s) list")],
    [0, "Vendor ID", kv.get("Vendor ID")],
    [1, "Model name", kv.get("Model name")],
    [2, "CPU family", kv.get("CPU family")],
    [2, "Model", kv.get("Model")],
    [2, "Thread(s) per core", kv.get("Thread(s) per core")],
    [2, "Core(s) per socket", kv.get("Core(s) per socket")],
    [2, "Socket(s)", kv.get("Socket(s)")],
    [2, "Stepping", kv.get("Stepping")],
    [2, "Flags", kv.get("Flags")],
    [0, "Virtualization features", ""],
    [1, "Virtualization", kv.get("Virtualization")],
    [0, "NUMA", ""],
    [1, "NUMA node(s)", kv.get("NUMA node(s)")],
    [1, "NUMA node0 CPU(s)", kv.get("NUMA node0 CPU(s)")],
  ];
  return tree
    .map(([lvl, k, v]) => {
      const key = `${"  ".repeat(lvl)}${k}:`;
      return v ? `${key.padEnd(25)}${v}\n` : `${key}\n`;
    })
    .join("");
}

export function renderProcCmdline(s: SimState): string {
  return `${s.cmdline}\n`;
}

const GCC_BY_DEBIAN: Record<string, string> = {
  bullseye: "gcc version 10.2.1 20210110 (Debian 10.2.1-6) ",
  bookworm: "gcc version 12.2.0 (Debian 12.2.0-14) ",
};

/** /proc/driver/nvidia/version, present only while the nvidia module is loaded. */
export function renderNvidiaProcVersion(s: SimState): string | null {
  if (!s.driver || !s.driverLoaded) return null;
  const flavour = s.driver.flavour === "open" ? "Open Kernel Module for x86_64" : "UNIX x86_64 Kernel Module";
  return `NVRM version: NVIDIA ${flavour}  ${s.driver.version}  ${s.driver.buildDate}\nGCC version:  ${GCC_BY_DEBIAN[s.pve.debian] ?? GCC_BY_DEBIAN.bookworm}\n`;
}

export function renderOsRelease(s: SimState): string {
  const v = s.pve.debianVersion.split(".")[0];
  return [
    `PRETTY_NAME="Debian GNU/Linux ${v} (${s.pve.debian})"`,
    `NAME="Debian GNU/Linux"`,
    `VERSION_ID="${v}"`,
    `VERSION="${v} (${s.pve.debian})"`,
    `VERSION_CODENAME=${s.pve.debian}`,
    // Debian 13's base-files adds the point release (trixie /etc/os-release)
    ...(s.pve.debian === "trixie" ? [`DEBIAN_VERSION_FULL=${s.pve.debianVersion}`] : []),
    "ID=debian",
    `HOME_URL="https://www.debian.org/"`,
    `SUPPORT_URL="https://www.debian.org/support"`,
    `BUG_REPORT_URL="https://bugs.debian.org/"`,
    "",
  ].join("\n");
}
