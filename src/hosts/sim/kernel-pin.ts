/**
 * `proxmox-boot-tool kernel pin|unpin` on the simulated host, and which kernel a reboot boots.
 *
 * Real tool (proxmox-kernel-helper, proxmox-boot/functions: PINNED_KERNEL_CONF="/etc/kernel/proxmox-boot-pin",
 * GRUB_PIN_SNIPPET="/etc/default/grub.d/proxmox-kernel-pin.cfg"; Proxmox VE admin guide "Host Bootloader",
 * https://pve.proxmox.com/wiki/Host_Bootloader#sysboot_kernel_pin): `kernel pin <version>` writes the version
 * to /etc/kernel/proxmox-boot-pin — on GRUB hosts also a GRUB_DEFAULT snippet — and refreshes the boot
 * configuration, so every later boot uses that kernel even when newer ones are installed; `kernel unpin`
 * removes both. A version that is not installed is refused.
 *
 * Boot: the kernel booted is the one the bootloader's next command line names (BOOT_IMAGE=/boot/vmlinuz-X
 * for GRUB, initrd=\EFI\proxmox\X\… for systemd-boot), which update-grub / proxmox-boot-tool refresh
 * write for the pinned kernel, else the running one (logic.ts configuredCmdline).
 */
import { configuredCmdline } from "./logic.ts";
import { type CmdResult, fail, ok } from "./render/types.ts";
import type { SimState } from "./state.ts";

export const PIN_FILE = "/etc/kernel/proxmox-boot-pin";
export const GRUB_PIN_SNIPPET = "/etc/default/grub.d/proxmox-kernel-pin.cfg";

/** `proxmox-boot-tool kernel pin|unpin|list …`; null for other `kernel` subcommands. */
export function bootToolKernel(s: SimState, args: string[]): CmdResult | null {
  const [sub, version] = args;
  if (sub === "pin") {
    if (!version) return fail("E: no kernel version given\n", 2);
    if (!s.kernel.installed.includes(version))
      return fail(`E: no kernel version '${version}' found in the list of installed kernels\n`, 1);
    s.files[PIN_FILE] = `${version}\n`;
    let out = `Set kernel '${version}' in ${PIN_FILE}.\n`;
    if (s.boot.bootloader === "grub") {
      if (!s.dirs.includes("/etc/default/grub.d")) s.dirs.push("/etc/default/grub.d");
      s.files[GRUB_PIN_SNIPPET] =
        `GRUB_DEFAULT="gnulinux-advanced-${s.hostname}>gnulinux-${version}-advanced-${s.hostname}"\n`;
      out += `Setting '${version}' as grub default entry and running update-grub.\n`;
    }
    s.boot.nextCmdline = configuredCmdline(s, version);
    return ok(out);
  }
  if (sub === "unpin") {
    delete s.files[PIN_FILE];
    delete s.files[GRUB_PIN_SNIPPET];
    s.boot.nextCmdline = configuredCmdline(s, newestKernel(s));
    return ok("Removing pinned version from the configuration.\n");
  }
  if (sub === "list") {
    const pin = pinnedKernel(s);
    const auto = s.kernel.installed.join("\n");
    return ok(
      `Manually selected kernels:\nNone.\n\nAutomatically selected kernels:\n${auto}\n${pin ? `\nPinned kernel:\n${pin}\n` : ""}`,
    );
  }
  return null;
}

export function pinnedKernel(s: SimState): string | null {
  const v = s.files[PIN_FILE]?.trim();
  return v && s.kernel.installed.includes(v) ? v : null;
}

/** The kernel the next boot's command line names (what a reboot boots). */
export function kernelOfCmdline(s: SimState, cmdline: string): string {
  const m =
    /BOOT_IMAGE=\/boot\/vmlinuz-(\S+)/.exec(cmdline) ?? /initrd=\\EFI\\proxmox\\([^\\\s]+)\\/.exec(cmdline);
  return m && s.kernel.installed.includes(m[1]!) ? m[1]! : s.kernel.running;
}

function newestKernel(s: SimState): string {
  const parts = (k: string) => (/^(\d+)\.(\d+)\.(\d+)-(\d+)/.exec(k) ?? []).slice(1).map(Number);
  return [...s.kernel.installed].sort((a, b) => {
    const x = parts(a);
    const y = parts(b);
    for (let i = 0; i < 4; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  })[s.kernel.installed.length - 1]!;
}
