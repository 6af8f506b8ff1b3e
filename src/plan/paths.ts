/** Paths and commands the plan steps name (shared by the passes, apply and uninstall). */

export const STATE_DIR = "/var/lib/vgpuctl";
export const NOUVEAU_BLACKLIST = "/etc/modprobe.d/vgpuctl-blacklist-nouveau.conf";
export const UNLOCK_CONFIG = "/etc/vgpu_unlock/config.toml";
export const PROFILE_OVERRIDE = "/etc/vgpu_unlock/profile_override.toml";
export const DEFAULT_UNLOCK_SOURCE = "/opt/vgpu_unlock-rs";
export const CARGO = "/root/.cargo/bin/cargo";
export const RUSTUP = "/root/.cargo/bin/rustup";
export const INITRAMFS: string[] = ["update-initramfs", "-u", "-k", "all"];
export const DAEMON_RELOAD = ["systemctl", "daemon-reload"];
export const VGPU_SERVICES = ["nvidia-vgpud.service", "nvidia-vgpu-mgr.service"];
export const GRUB_DEFAULT = "/etc/default/grub";
export const KERNEL_CMDLINE = "/etc/kernel/cmdline";
