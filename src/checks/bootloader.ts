/**
 * iommu-cmdline-wrong-bootloader: kernel parameters were written to the config of the bootloader this
 * host does NOT boot with (GRUB's /etc/default/grub on a systemd-boot host, or /etc/kernel/cmdline on a
 * GRUB host), so they never reach /proc/cmdline (research/installers.md §5 #14; wvthoog v1.1 is GRUB-only).
 * cmdline-not-applied (extra): parameters are in the right file but not on the running command line —
 * `update-grub` / `proxmox-boot-tool refresh` was not run, or the host was not rebooted since.
 */
import { IOMMU_PARAM } from "../facts/derive.ts";
import type { Facts } from "../facts/types.ts";
import { cmdlineFix, finding, hostView } from "./context.ts";
import type { Finding, Kb } from "./types.ts";

/** Parameters this tool cares about on the kernel command line. */
const RELEVANT = (t: string) =>
  IOMMU_PARAM.test(t) || /^(vfio-pci\.ids|vfio_pci\.ids|modprobe\.blacklist|nouveau\.modeset)=/.test(t);

export function checkBootloader(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  const cmd = f.cmdline;
  if (!cmd || !v.bootloader) return [];
  const grub = f.grub?.present ? f.grub : null;
  const grubTokens = grub ? [...grub.cmdlineLinux, ...grub.cmdlineLinuxDefault] : null;
  const kTokens = f.kernelCmdlineFile?.present ? f.kernelCmdlineFile.tokens : null;
  const out: Finding[] = [];
  const running = new Set(cmd);

  const [activeName, activeTokens, otherName, otherTokens, refresh] =
    v.bootloader === "systemd-boot"
      ? ([
          "/etc/kernel/cmdline",
          kTokens,
          "/etc/default/grub",
          grubTokens,
          "proxmox-boot-tool refresh",
        ] as const)
      : (["/etc/default/grub", grubTokens, "/etc/kernel/cmdline", kTokens, "update-grub"] as const);

  const misplaced = (otherTokens ?? []).filter(
    (t) => RELEVANT(t) && !running.has(t) && !(activeTokens ?? []).includes(t),
  );
  if (misplaced.length > 0) {
    const where =
      otherName === "/etc/default/grub" && grub?.cmdlineLinuxDefaultLine
        ? `/etc/default/grub:${grub.cmdlineLinuxDefaultLine}: GRUB_CMDLINE_LINUX_DEFAULT="${grub.cmdlineLinuxDefault.join(" ")}"`
        : `${otherName}: ${(otherTokens ?? []).join(" ")}`;
    out.push(
      finding(
        "iommu-cmdline-wrong-bootloader",
        "error",
        `${misplaced.join(" ")} ${misplaced.length === 1 ? "is" : "are"} in ${otherName}, but this host boots with ${v.bootloader}, which reads ${activeName}`,
        [where, `/proc/cmdline: ${cmd.join(" ")}`, bootEvidence(f) ?? `bootloader: ${v.bootloader}`],
        [
          ...cmdlineFix(v, misplaced),
          `Optionally remove ${misplaced.join(" ")} from ${otherName} to avoid confusion`,
        ],
      ),
    );
  }

  const pending = (activeTokens ?? []).filter((t) => RELEVANT(t) && !running.has(t));
  if (pending.length > 0) {
    const rebootOnly = "reboot";
    out.push(
      finding(
        "cmdline-not-applied",
        "warning",
        `${pending.join(" ")} ${pending.length === 1 ? "is" : "are"} in ${activeName} but not on the running kernel's command line`,
        [
          activeName === "/etc/default/grub" && grub?.cmdlineLinuxDefaultLine
            ? `/etc/default/grub:${grub.cmdlineLinuxDefaultLine}: GRUB_CMDLINE_LINUX_DEFAULT="${grub.cmdlineLinuxDefault.join(" ")}"`
            : `${activeName}: ${(activeTokens ?? []).join(" ")}`,
          `/proc/cmdline: ${cmd.join(" ")}`,
        ],
        [refresh, rebootOnly],
      ),
    );
  }
  return out;
}

function bootEvidence(f: Facts): string | null {
  const bt = f.bootTool;
  if (!bt) return null;
  if (!bt.configured)
    return "proxmox-boot-tool status: not configured (/etc/kernel/proxmox-boot-uuids does not exist) → GRUB";
  const esp = bt.esps.map((e) => `${e.uuid} is configured with: ${e.bootloader ?? "?"}`).join("; ");
  return `proxmox-boot-tool status: ${bt.mode ?? ""} ${esp}`.replace(/\s+/g, " ").trim();
}
