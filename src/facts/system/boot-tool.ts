import type { BootToolStatus } from "../types.ts";
import { lines } from "./text.ts";

/**
 * `proxmox-boot-tool status`, e.g.
 *   System currently booted with uefi
 *   A1B2-C3D4 is configured with: uefi (versions: 6.8.12-4-pve, 6.8.12-8-pve)
 * or, when no ESP is managed: "E: /etc/kernel/proxmox-boot-uuids does not exist."
 * "uefi" in the per-ESP line means systemd-boot; "grub" means GRUB.
 */
export function parseProxmoxBootToolStatus(text: string): BootToolStatus | null {
  let mode: BootToolStatus["mode"] = null;
  let unconfigured = false;
  let recognised = false;
  const esps: BootToolStatus["esps"] = [];
  for (const raw of lines(text)) {
    const line = raw.trim();
    // each regex runs only on a line holding the text it needs (start-up cost, issue 16)
    const booted =
      line.slice(0, 29).toLowerCase() === "system currently booted with "
        ? /^System currently booted with (uefi|legacy bios|legacy)/i.exec(line)
        : null;
    if (booted) {
      mode = booted[1]!.toLowerCase() === "uefi" ? "uefi" : "legacy";
      recognised = true;
      continue;
    }
    if (
      line.includes("proxmox-boot-uuids does not exist") ||
      (line.slice(0, 3).toLowerCase() === "e: " &&
        line.toLowerCase().includes("not ") &&
        /^E: .*not (set up|configured)/i.test(line))
    ) {
      unconfigured = true;
      recognised = true;
      continue;
    }
    const esp = line.includes(" is configured with: ") ? /^(\S+) is configured with: (.*)$/.exec(line) : null;
    if (esp) {
      recognised = true;
      let bootloader: "grub" | "systemd-boot" | null = null;
      const kernels: string[] = [];
      for (const part of esp[2]!.matchAll(/(uefi|grub|systemd-boot)\s*(?:\(versions:\s*([^)]*)\))?/gi)) {
        const kind = part[1]!.toLowerCase();
        bootloader ??= kind === "grub" ? "grub" : "systemd-boot";
        for (const k of (part[2] ?? "").split(",")) {
          const kt = k.trim();
          if (kt && !kernels.includes(kt)) kernels.push(kt);
        }
      }
      esps.push({ uuid: esp[1]!, bootloader, kernels });
    }
  }
  if (!recognised) return null;
  return { configured: !unconfigured && esps.length > 0, mode, esps };
}
