/** `proxmox-boot-tool status`, `mokutil --sb-state`, /sys/firmware/efi. */

import { compareNatural } from "../../../util/compare.ts";
import type { SimState } from "../state.ts";
import type { CmdResult } from "./types.ts";

const REEXEC = "Re-executing '/usr/sbin/proxmox-boot-tool' in new private mount namespace..\n";

export function renderBootToolStatus(s: SimState): CmdResult {
  if (s.boot.espUuids.length === 0) {
    return { stdout: REEXEC, stderr: "E: /etc/kernel/proxmox-boot-uuids does not exist.\n", exitCode: 2 };
  }
  let out = `${REEXEC}System currently booted with ${s.boot.efi ? "uefi" : "legacy"}\n`;
  const kernels = [...s.kernel.installed].sort((a, b) => compareNatural(b, a)).join(", ");
  for (const uuid of s.boot.espUuids) {
    out +=
      s.boot.bootloader === "systemd-boot"
        ? `${uuid} is configured with: uefi (versions: ${kernels})\n`
        : `${uuid} is configured with: grub (versions: ${kernels})\n`;
  }
  return { stdout: out, stderr: "", exitCode: 0 };
}

export function renderMokutilSbState(s: SimState): CmdResult {
  if (!s.boot.efi)
    return { stdout: "", stderr: "EFI variables are not supported on this system\n", exitCode: 1 };
  return { stdout: `SecureBoot ${s.boot.secureBoot ? "enabled" : "disabled"}\n`, stderr: "", exitCode: 0 };
}

export function renderFwPlatformSize(s: SimState): string | null {
  return s.boot.efi ? "64\n" : null;
}
