import type { CaptureSpec } from "../facts/capture.ts";

/**
 * Everything `inspect`, `doctor` and `support-bundle` look at (DESIGN.md "Capture at least",
 * plus a few extras that make facts certain instead of guessed).
 */
export const GATHER_COMMANDS: string[][] = [
  ["uname", "-a"],
  ["uname", "-r"],
  ["hostname"],
  ["pveversion", "-v"],
  ["dmesg"],
  ["lspci", "-Dnnk"],
  ["lsmod"],
  ["lscpu"],
  ["dkms", "status"],
  ["mokutil", "--sb-state"],
  // is DKMS's module signing certificate enrolled as a MOK? (plan/passes/secure-boot.ts)
  ["mokutil", "--test-key", "/var/lib/dkms/mok.pub"],
  // ZFS pool features: a root pool with features newer than a kernel's ZFS cannot boot it (passes/kernel.ts)
  ["zpool", "get", "-H", "-o", "name,property,value", "all"],
  // kernel image packages the repositories offer: one in the driver's range is installed and pinned (passes/kernel.ts)
  ["apt-cache", "pkgnames", "proxmox-kernel-"],
  ["apt-cache", "pkgnames", "pve-kernel-"],
  ["nvidia-smi"],
  ["nvidia-smi", "-q"],
  ["nvidia-smi", "vgpu"],
  ["nvidia-smi", "vgpu", "-q"],
  ["mdevctl", "types"],
  ["mdevctl", "list"],
  ["mdevctl", "list", "--dumpjson"],
  ["journalctl", "--no-pager", "-b", "0", "-u", "nvidia-vgpu-mgr.service"],
  ["journalctl", "--no-pager", "-b", "0", "-u", "nvidia-vgpud.service"],
  ["systemctl", "is-active", "nvidia-vgpud.service", "nvidia-vgpu-mgr.service"],
  ["proxmox-boot-tool", "status"],
  ["dpkg-query", "-W"],
  ["qm", "list"],
  ["ls", "-1", "/opt/vgpu_unlock-rs/target/release"],
  // SR-IOV GPUs: is the unit that enables the VFs at boot on (pve-nvidia-vgpu-helper's template unit)?
  ["systemctl", "is-enabled", "pve-nvidia-sriov@ALL.service"],
  // GNU patch 2.8 (Debian 13) refuses the NUL bytes of the driver patches (research/installers.md §5 #12)
  ["patch", "--version"],
];

export const GATHER_PATHS: string[] = [
  "/proc/cmdline",
  // which framebuffer the console runs on ("0 astdrmfb" = BMC graphics; "nouveaudrmfb" keeps nouveau in use)
  "/proc/fb",
  "/proc/driver/nvidia/version",
  "/etc/hostname",
  "/etc/os-release",
  "/etc/default/grub",
  "/etc/default/grub.d",
  "/etc/kernel/cmdline",
  "/etc/kernel/proxmox-boot-uuids",
  // `proxmox-boot-tool kernel pin X` writes X here (proxmox-kernel-helper proxmox-boot/functions PINNED_KERNEL_CONF)
  "/etc/kernel/proxmox-boot-pin",
  // DKMS module signing: mok_signing_key / mok_certificate (plan/passes/secure-boot.ts)
  "/etc/dkms/framework.conf",
  "/etc/modules",
  "/etc/modules-load.d",
  "/etc/modprobe.d",
  "/etc/udev/rules.d",
  "/etc/vgpu_unlock",
  "/etc/systemd/system/nvidia-vgpud.service.d",
  "/etc/systemd/system/nvidia-vgpu-mgr.service.d",
  "/etc/apt/sources.list",
  "/etc/apt/sources.list.d",
  "/etc/pve/qemu-server",
  "/etc/pve/mapping/pci.cfg",
  "/sys/firmware/efi/fw_platform_size",
  // vgpuctl's own state (src/apply/journal.ts JOURNAL_PATH, LOCK_PATH): what it did, and whether a
  // run holds the host. Both are mode 0600: a non-root capture records them as unreadable (unknown).
  "/var/lib/vgpuctl/journal.json",
  "/var/lib/vgpuctl/lock",
  // the last driver install's log: headers / compiler / kernel API errors (checks/log-signatures-build.ts)
  "/var/log/nvidia-installer.log",
  // DKMS build logs of every installed nvidia version (checks/log-signatures-build.ts), the newest GLOB_MAX_MATCHES
  "/var/lib/dkms/nvidia/*/build/make.log",
  // the newest VM-start task logs (pve-common src/PVE/UPID.pm names them; checks/log-signatures.ts vm-start-failed)
  "/var/log/pve/tasks/*/UPID:*:qmstart:*",
];

export const GATHER_SPEC: CaptureSpec = { commands: GATHER_COMMANDS, paths: GATHER_PATHS, nvidiaSysfs: true };
