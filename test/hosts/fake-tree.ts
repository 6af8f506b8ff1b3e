import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * A small host file tree (the files a configured vGPU host has, after the seed guide).
 * source: /work/shared/seed/vgpu-split-passthrough-guide.txt — modprobe.d blacklist line 153,
 * /etc/modules line 149, systemd drop-ins lines 98-100, vgpu_unlock config line 108,
 * profile_override.toml lines 382-386, mdev type names/descriptions lines 308-319,
 * GRUB_CMDLINE_LINUX_DEFAULT line 130; drop-in content from research/installers.md line 52;
 * PCI id from research/unlock.md line 528 (0x1e07 = RTX 2080 Ti); the Proxmox pve-blacklist.conf
 * header and the nvidia.conf option are illustrative.
 */
export const TREE: Record<string, string> = {
  "/proc/cmdline":
    "BOOT_IMAGE=/boot/vmlinuz-5.15.107-2-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on iommu=pt",
  "/etc/modules": "vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n",
  "/etc/modprobe.d/blacklist.conf": "blacklist nouveau\n",
  "/etc/modprobe.d/pve-blacklist.conf":
    "# This file contains a list of modules which are not supported by Proxmox VE\n\nblacklist nvidiafb\n",
  "/etc/vgpu_unlock/config.toml": "unlock = false\n",
  "/etc/vgpu_unlock/profile_override.toml":
    "[profile.nvidia-259] # choose the profile you want here\nnum_displays = 1\ndisplay_width = 1920\ndisplay_height = 1080\nmax_pixels = 2073600\n",
  "/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf":
    "[Service]\nEnvironment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so\n",
  "/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf":
    "[Service]\nEnvironment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so\n",
  "/etc/default/grub":
    'GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"\nGRUB_CMDLINE_LINUX=""\n',
  "/sys/bus/pci/devices/0000:01:00.0/vendor": "0x10de\n",
  "/sys/bus/pci/devices/0000:01:00.0/device": "0x1e07\n",
  "/sys/bus/pci/devices/0000:01:00.0/class": "0x030000\n",
  "/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-256/name": "GRID RTX6000-1Q\n",
  "/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-256/description":
    "num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24\n",
  "/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-256/available_instances": "24\n",
  "/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-256/device_api": "vfio-pci\n",
  "/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-259/name": "GRID RTX6000-4Q\n",
  "/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-259/available_instances": "6\n",
  "/sys/bus/pci/devices/0000:00:02.0/vendor": "0x8086\n",
  "/sys/bus/pci/devices/0000:00:02.0/device": "0x3e92\n",
};

/** Write TREE under `root`, plus a symlinked conf, a binary file and a file over MAX_FILE_BYTES. */
export function writeTree(root: string, extra: { bigBytes?: number } = {}): void {
  for (const [p, content] of Object.entries(TREE)) {
    const real = join(root, p);
    mkdirSync(dirname(real), { recursive: true });
    writeFileSync(real, content);
  }
  // /etc/modprobe.d/nvidia.conf -> ../nvidia-real.conf (symlinks are followed, like cat would)
  writeFileSync(join(root, "etc/nvidia-real.conf"), "options nvidia NVreg_EnableGpuFirmware=0\n");
  symlinkSync("../nvidia-real.conf", join(root, "etc/modprobe.d/nvidia.conf"));
  // binary files are not evidence: left out
  writeFileSync(join(root, "etc/modprobe.d/binary.bin"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0]));
  if (extra.bigBytes) writeFileSync(join(root, "etc/vgpu_unlock/big.toml"), "x".repeat(extra.bigBytes));
}
