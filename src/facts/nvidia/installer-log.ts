import { splitLines } from "./common.ts";

/** What /var/log/nvidia-installer.log says about the driver it installed (the last run it logs). */
export interface InstallerLog {
  /** "installer version: 535.104.06" */
  version: string | null;
  /** the vGPU host driver (installs nvidia-vgpud / nvidia-vgpu-mgr, or names a -vgpu-kvm package), the GRID guest driver, else unknown */
  kind: "vgpu-host" | "grid-guest" | null;
  /** built from kernel-open (the open kernel modules), when the log says which */
  flavour: "open" | "proprietary" | null;
  /** ERROR: lines, verbatim */
  errors: string[];
}

/**
 * nvidia-installer's log. null when the text is not one (no "nvidia-installer log file" header and no
 * "installer version:" line). Never throws.
 */
export function parseInstallerLog(text: string): InstallerLog | null {
  if (typeof text !== "string") return null;
  const lines = splitLines(text);
  if (!lines.some((l) => /^nvidia-installer log file|^installer version:/.test(l))) return null;
  let version: string | null = null;
  for (const l of lines) {
    const m =
      /^installer version:\s*(\d+\.\d+(?:\.\d+)?)/.exec(l) ??
      /Installing NVIDIA driver version (\d+\.\d+(?:\.\d+)?)/.exec(l);
    if (m) version = m[1]!;
  }
  const all = lines.join("\n");
  const kind = /-vgpu-kvm\b|nvidia-vgpud|nvidia-vgpu-mgr/.test(all)
    ? "vgpu-host"
    : /-grid\b|nvidia-gridd/.test(all)
      ? "grid-guest"
      : null;
  const flavour = /\bkernel-open\b|Kernel module type:\s*open/i.test(all)
    ? "open"
    : /Kernel module type:\s*proprietary/i.test(all)
      ? "proprietary"
      : null;
  return { version, kind, flavour, errors: lines.filter((l) => /^ERROR:/.test(l)) };
}
