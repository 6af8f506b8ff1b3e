/**
 * The finding-code reference: every code `vgpuctl doctor` can report (checks/types.ts FINDING_CODES) and
 * every code a plan can refuse with (plan/passes/*, plan/vms.ts, plan/doctor-blockers.ts), with what it
 * means and which outputs prove it. One table; docs/finding-codes.md is generated from it
 * (`npm run gen:docs`, kept fresh by test/report/finding-codes-doc.test.ts).
 */
import { FINDING_CODES, type FindingCode, type Severity } from "../checks/types.ts";
import { SETUP_BLOCKERS } from "../plan/doctor-blockers.ts";

export interface FindingDoc {
  /** the severities the checks give it (the worst first) */
  severity: Severity[];
  meaning: string;
  /** the outputs and files its evidence quotes */
  proof: string;
}

const E: Severity[] = ["error"];
const W: Severity[] = ["warning"];
const EW: Severity[] = ["error", "warning"];

const LSPCI = "`lspci -Dnnk`";
const SMI = "`nvidia-smi`, `nvidia-smi -q`";
const JOURNAL = "`journalctl -b 0 -u nvidia-vgpu-mgr.service` / `-u nvidia-vgpud.service`";
const BUILD_LOGS = "/var/log/nvidia-installer.log, DKMS make.log, the installer's output";
const VM_CONF = "/etc/pve/qemu-server/*.conf";

export const FINDING_DOCS: Record<FindingCode, FindingDoc> = {
  "gpu-unsupported": {
    severity: EW,
    meaning:
      "the card cannot do vGPU (e.g. GeForce Ampere/Ada, GTX 970, Kepler), and why; a warning when another GPU can",
    proof: `${LSPCI} (device and subsystem ids)`,
  },
  "kernel-unsupported": {
    severity: EW,
    meaning:
      "the running kernel is outside the installed or chosen driver's range (an error when the range is documented)",
    proof: `\`uname -r\`, \`pveversion -v\`, ${SMI}, ${BUILD_LOGS}`,
  },
  "headers-missing": {
    severity: EW,
    meaning:
      "no headers/build directory for the running kernel (a warning when the module is already built for it)",
    proof: `\`dpkg-query -W\`, \`uname -r\`, ${BUILD_LOGS}`,
  },
  "secure-boot": {
    severity: EW,
    meaning:
      "Secure Boot is on and the NVIDIA modules are unsigned or signed with a key the firmware does not trust",
    proof: `\`mokutil --sb-state\`, \`mokutil --test-key\`, \`dmesg\`, ${BUILD_LOGS}`,
  },
  "iommu-disabled": {
    severity: EW,
    meaning:
      "the IOMMU is not active (command line and/or firmware); an error for SR-IOV GPUs, which need it",
    proof: "/proc/cmdline, `dmesg` (DMAR/AMD-Vi lines), /sys/kernel/iommu_groups",
  },
  "iommu-cmdline-wrong-bootloader": {
    severity: E,
    meaning: "the IOMMU parameters were written to GRUB on a systemd-boot host (or the reverse)",
    proof: "`proxmox-boot-tool status`, /etc/default/grub, /etc/kernel/cmdline, /proc/cmdline",
  },
  "vfio-module-missing": {
    severity: W,
    meaning: "`vfio_virqfd` listed on a ≥ 6.2 kernel, or needed vfio modules missing",
    proof: "/etc/modules, /etc/modules-load.d/*, `lsmod`, `uname -r`",
  },
  "nouveau-loaded": {
    severity: E,
    meaning: "nouveau is loaded or bound to the GPU (or stopped the driver installer)",
    proof: `\`lsmod\`, ${LSPCI} (Kernel driver in use), ${BUILD_LOGS}`,
  },
  "vfio-bound": {
    severity: E,
    meaning: "the GPU is bound to vfio-pci by leftover passthrough configuration",
    proof: `${LSPCI}, /etc/modprobe.d/*, ${JOURNAL}`,
  },
  "driver-missing": {
    severity: E,
    meaning: "no NVIDIA vGPU host driver is installed",
    proof: `${SMI}, \`dkms status\`, \`lsmod\``,
  },
  "driver-not-loaded": {
    severity: E,
    meaning: "a driver is installed but not talking to the GPU",
    proof: `${SMI}, \`lsmod\`, \`dmesg\`, ${LSPCI}`,
  },
  "driver-open-flavour": {
    severity: E,
    meaning: "the open kernel modules are installed; vGPU needs the proprietary ones",
    proof: "`modinfo nvidia` (license), `dpkg-query -W`, `dkms status`",
  },
  "driver-branch-drops-gpu": {
    severity: E,
    meaning: "the installed branch no longer supports this GPU (e.g. Pascal on vGPU 17 and newer)",
    proof: `${SMI} (driver version), ${LSPCI}`,
  },
  "unlock-missing": {
    severity: EW,
    meaning: "a consumer GPU, but vgpu_unlock is not preloaded into both services or its library is absent",
    proof: "systemd drop-ins of nvidia-vgpud/nvidia-vgpu-mgr, `ls /opt/vgpu_unlock-rs/target/release`",
  },
  "unlock-disabled-consumer": {
    severity: E,
    meaning: "`unlock = false` on a GPU that needs vgpu_unlock",
    proof: "/etc/vgpu_unlock/config.toml, systemd drop-ins",
  },
  "unlock-enabled-native": {
    severity: W,
    meaning: "vgpu_unlock is on for a natively supported GPU",
    proof: `/etc/vgpu_unlock/config.toml, ${LSPCI}`,
  },
  "unlock-version-mismatch": {
    severity: EW,
    meaning:
      "vgpu_unlock struct-size errors, or overrides ignored for this driver (an error when overrides are in use)",
    proof: `${JOURNAL}, /etc/vgpu_unlock/profile_override.toml`,
  },
  "mdev-types-empty": {
    severity: E,
    meaning: "the driver offers no vGPU types",
    proof: "`mdevctl types`, /sys/bus/pci/devices/*/mdev_supported_types, nvidia/creatable_vgpu_types",
  },
  "sriov-vfs-missing": {
    severity: E,
    meaning: "an SR-IOV (Ampere and newer) GPU without virtual functions",
    proof: `${LSPCI}, /sys/bus/pci/devices/<PF>/sriov_numvfs`,
  },
  "vgpud-rejected-gpu": {
    severity: E,
    meaning: 'nvidia-vgpud said "GPU not supported by vGPU"',
    proof: JOURNAL,
  },
  "mixed-types": {
    severity: W,
    meaning: "different vGPU types on one GPU where the driver needs them of equal size",
    proof: `${VM_CONF} (hostpciN … mdev=), \`nvidia-smi -q\` (vGPU Heterogeneous Mode)`,
  },
  "vram-overcommit": {
    severity: EW,
    meaning:
      "the VMs on one GPU ask for more VRAM than it has; an error when a VM will fail to start (the one rule attach, override and doctor share)",
    proof: `${VM_CONF}, /etc/vgpu_unlock/profile_override.toml, ${SMI} (FB memory)`,
  },
  "override-invalid": {
    severity: EW,
    meaning:
      "profile_override.toml unparsable, wrong types (true vs 1), unknown keys, framebuffer + reservation mismatch",
    proof: `/etc/vgpu_unlock/profile_override.toml, ${JOURNAL}`,
  },
  "duplicate-mdev-uuid": {
    severity: E,
    meaning: "two VMs would use the same mdev UUID",
    proof: `${VM_CONF} (hostpci, args), \`mdevctl list\``,
  },
  "vm-start-failed": {
    severity: EW,
    meaning: "a VM failed to start on its vGPU (a warning when it runs now)",
    proof: `${JOURNAL}, \`qm list\`, Proxmox VE task logs`,
  },
  "gpu-missing": {
    severity: E,
    meaning: "no NVIDIA GPU on the PCI bus",
    proof: LSPCI,
  },
  "cmdline-not-applied": {
    severity: W,
    meaning:
      "parameters in the bootloader configuration are not on the running kernel's command line (a reboot or a boot-tool refresh is owed)",
    proof: "/proc/cmdline, /etc/default/grub, /etc/kernel/cmdline, `proxmox-boot-tool status`",
  },
  "dkms-not-built": {
    severity: E,
    meaning: "the NVIDIA DKMS module is not built and installed for the running kernel",
    proof: "`dkms status`, `uname -r`",
  },
  "next-kernel-unsupported": {
    severity: E,
    meaning: "the kernel the host boots next is outside the installed driver's range",
    proof: `\`pveversion -v\`, \`dpkg-query -W\`, \`proxmox-boot-tool status\` (pinned kernel), ${SMI}`,
  },
  "next-kernel-dkms-missing": {
    severity: E,
    meaning: "the kernel the host boots next has no DKMS build of the driver: it would come up without it",
    proof: "`dkms status`, `dpkg-query -W`, `proxmox-boot-tool status`",
  },
  "vfio-config-leftover": {
    severity: W,
    meaning: "leftover PCI-passthrough configuration would take the GPU away from the NVIDIA driver",
    proof: `/etc/modprobe.d/*, /etc/modules, /proc/cmdline, ${LSPCI}`,
  },
  "driver-not-vgpu": {
    severity: W,
    meaning:
      "the loaded NVIDIA driver is not the vGPU host (vgpu-kvm) driver, or nvidia_vgpu_vfio is not loaded",
    proof: `${SMI}, \`lsmod\`, \`modinfo nvidia\``,
  },
  "vgpu-mgr-inactive": {
    severity: E,
    meaning: "nvidia-vgpud / nvidia-vgpu-mgr are not running",
    proof: `\`systemctl is-active nvidia-vgpud.service nvidia-vgpu-mgr.service\`, ${JOURNAL}`,
  },
  "unlock-config-invalid": {
    severity: E,
    meaning: "vgpu_unlock-rs could not decode /etc/vgpu_unlock/config.toml: it aborts both vGPU services",
    proof: `/etc/vgpu_unlock/config.toml, ${JOURNAL}`,
  },
  "vm-mdev-type-unavailable": {
    severity: E,
    meaning: "a VM asks for a vGPU type its GPU does not offer",
    proof: `${VM_CONF}, \`mdevctl types\`, nvidia/creatable_vgpu_types`,
  },
  "vm-full-passthrough": {
    severity: W,
    meaning: "a VM passes the whole GPU through: it takes the GPU away from vGPU",
    proof: `${VM_CONF} (hostpciN without mdev=)`,
  },
  "vm-uses-physical-function": {
    severity: E,
    meaning: "a VM's vGPU is on the physical function of an SR-IOV GPU; it must name a virtual function",
    proof: `${VM_CONF}, ${LSPCI}`,
  },
  "duplicate-smbios-uuid": {
    severity: W,
    meaning: "vGPU VMs share an SMBIOS UUID (cloned without a new one)",
    proof: `${VM_CONF} (smbios1: uuid=)`,
  },
  "stale-mdev": {
    severity: W,
    meaning: "a VM's mdev still exists although the VM is stopped: its next start may fail",
    proof: "`mdevctl list`, `qm list`",
  },
  "driver-build-failed": {
    severity: E,
    meaning: "the driver's kernel module did not build; the first error line says why",
    proof: BUILD_LOGS,
  },
  "override-unread": {
    severity: W,
    meaning: "profile_override.toml holds overrides but nothing reads them (vgpu_unlock-rs is not preloaded)",
    proof: "/etc/vgpu_unlock/profile_override.toml, systemd drop-ins of the vGPU services",
  },
  "apt-enterprise-only": {
    severity: W,
    meaning:
      "only the enterprise repository is configured and there is no subscription: apt will refuse (401)",
    proof: "/etc/apt/sources.list, /etc/apt/sources.list.d/*.list|*.sources, `pveversion -v`",
  },
  "evidence-conflict": {
    severity: W,
    meaning:
      "two outputs disagree about the same fact (GPU ids, driver version/kind/flavour); says which it believed",
    proof: "the two outputs named in the evidence",
  },
  "check-failed": {
    severity: ["info"],
    meaning:
      "a group of checks could not run on these facts (an internal error: please report it); the others still ran",
    proof: "the checks' name and the error",
  },
};

export interface BlockerDoc {
  meaning: string;
}

/** Codes only plans refuse with (plan codes shared with doctor are the findings above). */
export const BLOCKER_DOCS: Record<string, BlockerDoc> = {
  "not-captured": { meaning: "an output or file the plan needs could not be read from the host" },
  "not-proxmox": { meaning: "the host is not a Proxmox VE host" },
  "kernel-unknown": { meaning: "the running kernel is unknown" },
  "cpu-unknown": { meaning: "the CPU vendor is unknown, so the IOMMU parameters are too" },
  "bootloader-unknown": { meaning: "cannot tell whether the host boots with GRUB or systemd-boot" },
  "gpu-not-found": {
    meaning: "a GPU `address` in vgpu.yaml is not on the host, or several GPUs and none named",
  },
  "type-unknown": { meaning: "`gpus[].type` is not a vGPU type of that GPU" },
  "type-not-offered": { meaning: "the GPU does not offer `gpus[].type` with the installed driver" },
  "driver-version-unknown": { meaning: "the driver version cannot be read from the installer's name" },
  "driver-file-missing": { meaning: "the driver installer named in vgpu.yaml is not on the host" },
  "driver-not-installer": { meaning: "the driver file is not an NVIDIA .run installer" },
  "driver-checksum-unverified": {
    meaning: "the installer's sha256 could not be computed: it would run unverified",
  },
  "driver-checksum-mismatch": { meaning: "the installer does not match the sha256 in vgpu.yaml" },
  "patch-missing": {
    meaning: "consumer GPUs need the driver patched for vgpu_unlock, and no patch is named",
  },
  "patch-file-missing": { meaning: "the patch named in vgpu.yaml is not on the host" },
  "patch-checksum-unverified": { meaning: "the patch's sha256 could not be computed" },
  "patch-checksum-mismatch": { meaning: "the patch does not match the sha256 in vgpu.yaml" },
  "patch-version-mismatch": { meaning: "the patch is for another driver version" },
  "patch-nul-byte": { meaning: "the host's GNU patch (2.8 and newer) refuses the driver patch's NUL bytes" },
  "driver-no-unlock-patch": { meaning: "this vGPU release has no unlock patch: consumer GPUs cannot use it" },
  "pascal-unlock-pve9": { meaning: "consumer Maxwell/Pascal cards cannot do vGPU on Proxmox VE 9" },
  "driver-vms-running": {
    meaning: "VMs run on vGPUs of the installed driver: it cannot be replaced under them",
  },
  "mok-password-missing": { meaning: "Secure Boot: enrolling the signing key needs a one-time MOK password" },
  "unlock-library-missing": { meaning: "the vgpu_unlock library named in vgpu.yaml does not exist" },
  "unlock-library-path": {
    meaning: "the vgpu_unlock library path cannot be preloaded (LD_PRELOAD splits it)",
  },
  "unlock-source-missing": { meaning: "no vgpu_unlock-rs checkout at `vgpuUnlock.source`" },
  "override-needs-unlock": { meaning: "a VM needs a per-VM override but vgpu_unlock-rs is not preloaded" },
  "zfs-pool-too-new": { meaning: "the target kernel's ZFS cannot import the root pool (features too new)" },
  "mixed-size-busy": { meaning: "the GPU's mixed-size mode can change only while no vGPU runs on it" },
  "mixed-size-unsupported": { meaning: "mixed-size mode needs vGPU 17 or newer and a GPU that supports it" },
  "apt-sources-malformed": { meaning: "an apt .sources file is not valid deb822" },
  "vram-invalid": { meaning: "a VM's `vram` in vgpu.yaml cannot be read or is out of bounds" },
  "pcie-non-q35": { meaning: "pcie=1 on a VM that is not q35: Proxmox VE would refuse to start it" },
  "slot-in-use": { meaning: "the VM uses every hostpci slot" },
  "resolution-too-large": { meaning: "a VM's resolution is more than its vGPU type can drive" },
};

/** Plan blocker codes that are also finding codes: those doctor-blockers.ts adds, and those passes use. */
export const SHARED_BLOCKER_CODES: FindingCode[] = [
  ...new Set([
    ...(Object.keys(SETUP_BLOCKERS) as FindingCode[]),
    "driver-missing",
    "gpu-missing",
    "gpu-unsupported",
    "unlock-missing",
    "driver-open-flavour",
    "kernel-unsupported",
    "driver-branch-drops-gpu",
    "vfio-bound",
    "mixed-types",
    "duplicate-mdev-uuid",
    "override-invalid",
  ] as FindingCode[]),
].sort();

const cell = (s: string) => s.replace(/\|/g, "\\|");

/** docs/finding-codes.md */
export function findingCodesMarkdown(): string {
  const L: string[] = [
    "# Finding codes",
    "",
    "<!-- generated by `npm run gen:docs` from src/report/finding-codes.ts; do not edit -->",
    "",
    "Codes are stable: tests and users key on them; new ones are added, none is renamed.",
    "`vgpuctl doctor` reports findings; `vgpuctl plan` / `apply` refuse with blockers.",
    "",
    "## Findings (`vgpuctl doctor`)",
    "",
    "| code | severity | meaning | proved by |",
    "|---|---|---|---|",
  ];
  for (const code of FINDING_CODES) {
    const d = FINDING_DOCS[code];
    L.push(`| \`${code}\` | ${d.severity.join(", ")} | ${cell(d.meaning)} | ${cell(d.proof)} |`);
  }
  L.push(
    "",
    "## Plan blockers (`vgpuctl plan`, `vgpuctl apply`)",
    "",
    "A blocker is something the plan cannot fix: apply does not start. These finding codes are also plan",
    `blockers when the plan cannot fix them: ${SHARED_BLOCKER_CODES.map((c) => `\`${c}\``).join(", ")}.`,
    "Codes only plans use:",
    "",
    "| code | meaning |",
    "|---|---|",
  );
  for (const [code, d] of Object.entries(BLOCKER_DOCS).sort(([a], [b]) => a.localeCompare(b)))
    L.push(`| \`${code}\` | ${cell(d.meaning)} |`);
  return `${L.join("\n")}\n`;
}
