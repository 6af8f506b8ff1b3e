import { compareNatural } from "../../util/compare.ts";
import { lines } from "./text.ts";

/** A Proxmox kernel image package the repositories offer, and the kernel (`uname -r`) it installs. */
export interface RepoKernel {
  kernel: string;
  package: string;
}

/**
 * Kernel image package names: `proxmox-kernel-6.8.12-4-pve-signed` (Proxmox VE 8.1+, Secure Boot signed),
 * `proxmox-kernel-6.2.16-3-pve` (8.0, and the unsigned variant later), `pve-kernel-5.15.102-1-pve` (≤ 7.x).
 * The name carries the kernel release `uname -r` reports (proxmox-kernel-helper's proxmox-auto-removal keeps
 * `^proxmox-kernel-X$` / `^proxmox-kernel-X-signed$` / `^pve-kernel-X$` for the running kernel X).
 * Meta packages (`proxmox-kernel-6.8`, `pve-kernel-5.15`) and `proxmox-kernel-helper` do not match.
 */
const KERNEL_PACKAGE = /^(?:pve|proxmox)-kernel-(\d+\.\d+\.\d+-\d+-pve)(-signed)?$/;

/**
 * `apt-cache pkgnames PREFIX` (apt-cache(8): "prints the name of each package APT knows … the optional
 * argument is a prefix match", one name per line, unsorted, only packages with an available version): the
 * kernel image packages among them, one per kernel — the `-signed` variant when both are offered — sorted by
 * name. Lines that are not kernel image packages are skipped.
 */
export function parseKernelPkgnames(text: string): RepoKernel[] {
  const byKernel = new Map<string, RepoKernel>();
  for (const line of lines(text)) {
    const name = line.trim();
    const m = KERNEL_PACKAGE.exec(name);
    if (!m) continue;
    const prior = byKernel.get(m[1]!);
    if (!prior || (m[2] && !prior.package.endsWith("-signed")))
      byKernel.set(m[1]!, { kernel: m[1]!, package: name });
  }
  return [...byKernel.values()].sort((a, b) => compareNatural(a.package, b.package));
}

/** The headers package of a kernel image package: proxmox-kernel-X(-signed) → proxmox-headers-X, pve-kernel-X → pve-headers-X. */
export function headersOf(k: RepoKernel): string {
  return `${k.package.startsWith("proxmox-") ? "proxmox" : "pve"}-headers-${k.kernel}`;
}
