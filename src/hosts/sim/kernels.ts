/**
 * Kernel image packages on the simulated host: which ones the Proxmox repository offers, `apt-cache pkgnames`,
 * and what installing one does.
 *
 * Names (the sim's own data): Proxmox VE ≤ 7 ships `pve-kernel-X-pve` with `pve-headers-X-pve`; 8.0 renamed them
 * `proxmox-kernel-X-pve` / `proxmox-headers-X-pve`, and from 8.1 the installable image is the Secure Boot signed
 * `proxmox-kernel-X-pve-signed` (proxmox-kernel-helper proxmox-auto-removal protects `^pve-kernel-X$`,
 * `^proxmox-kernel-X$`, `^proxmox-kernel-X-signed$`; Proxmox VE roadmap 8.1 "Secure Boot"). The releases below are
 * representative of each suite's pve-no-subscription index over its life (not copied from one Packages file):
 * bullseye 5.11 → 5.15 and the opt-in 6.1 / 6.2, bookworm 6.2 → 6.8 and the opt-in 6.11 / 6.14, trixie 6.14 / 6.17.
 *
 * Installing an image (kernel postinst, /etc/kernel/postinst.d/): the kernel becomes installed — GRUB menu entries and
 * the ESPs get it, the newest one becomes the default unless a kernel is pinned (kernel-pin.ts); the next boot's
 * command line here stays what the bootloader tools last wrote — and DKMS builds its modules for it when its headers
 * are there (the headers' own hook, packages.ts, does it when the headers come after the image).
 */
import { pveMajor } from "./logic.ts";
import type { SimState } from "./state.ts";

/** Kernel releases in each Proxmox VE major's repository, with the build line `uname -v` reports. */
const REPO_KERNELS: Record<number, Record<string, string>> = {
  7: {
    "5.11.22-7-pve": "#1 SMP PVE 5.11.22-12 (Sun, 07 Nov 2021 21:46:36 +0100)",
    "5.13.19-6-pve": "#1 SMP PVE 5.13.19-15 (Tue, 29 Mar 2022 15:59:50 +0200)",
    "5.15.102-1-pve": "#1 SMP PVE 5.15.102-1 (2023-03-14T13:48Z)",
    "5.15.158-2-pve": "#1 SMP PVE 5.15.158-2 (2024-07-26T14:33Z)",
    "6.1.15-1-pve": "#1 SMP PREEMPT_DYNAMIC PVE 6.1.15-1 (2023-03-08T08:53Z)",
    "6.2.16-3-pve": "#1 SMP PREEMPT_DYNAMIC PVE 6.2.16-3 (2023-06-17T05:58Z)",
  },
  8: {
    "6.2.16-20-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.2.16-20 (2023-12-01T13:17Z)",
    "6.5.13-6-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.5.13-6 (2024-07-26T12:45Z)",
    "6.8.12-4-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)",
    "6.8.12-9-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9 (2025-03-16T19:18Z)",
    "6.11.11-2-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.11.11-2 (2025-02-04T12:09Z)",
    "6.14.0-2-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.14.0-2 (2025-04-10T17:57Z)",
  },
  9: {
    "6.14.11-4-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)",
    "6.17.2-1-pve": "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)",
  },
};

/** The image package name of `kernel` on this host's Proxmox VE major. */
export function kernelPackage(s: SimState, kernel: string): string {
  const major = pveMajor(s);
  return major >= 8
    ? `proxmox-kernel-${kernel}${major === 8 && kernel.startsWith("6.2.") ? "" : "-signed"}`
    : `pve-kernel-${kernel}`;
}

/** Kernel images the repository offers: its own list plus the kernels installed. */
export function repoKernels(s: SimState): string[] {
  const own = Object.keys(REPO_KERNELS[Math.min(pveMajor(s), 9)] ?? {});
  return [...new Set([...own, ...s.kernel.installed])];
}

/** Kernels the repository has headers for: the images it offers and every kernel the host knows a build of. */
export function repoHeaderKernels(s: SimState): string[] {
  return [...new Set([...repoKernels(s), ...Object.keys(s.kernel.buildInfo)])];
}

/** The kernel an image package name installs when the repository offers it under that name, else null. */
export function kernelOfPackage(s: SimState, name: string): string | null {
  const k = /^(?:pve|proxmox)-kernel-(\d+\.\d+\.\d+-\d+-pve)(?:-signed)?$/.exec(name)?.[1];
  return k && repoKernels(s).includes(k) && kernelPackage(s, k) === name ? k : null;
}

/** `apt-cache pkgnames PREFIX`: known package names starting with PREFIX, one a line (here: kernel images only). */
export function aptCachePkgnames(s: SimState, prefix: string, lists: string[]): string {
  const names = lists.includes("pve") ? repoKernels(s).map((k) => kernelPackage(s, k)) : [];
  for (const p of Object.keys(s.packages)) if (!names.includes(p)) names.push(p);
  return names
    .filter((n) => n.startsWith(prefix))
    .map((n) => `${n}\n`)
    .join("");
}

/** The image's postinst: the kernel is installed (bootable, listed by proxmox-boot-tool / update-grub). */
export function installKernelImage(s: SimState, kernel: string): void {
  if (!s.kernel.installed.includes(kernel)) s.kernel.installed.push(kernel);
  const build = REPO_KERNELS[Math.min(pveMajor(s), 9)]?.[kernel];
  if (build && !s.kernel.buildInfo[kernel]) s.kernel.buildInfo[kernel] = build;
}
