import { splitLines } from "./common.ts";

/** `modinfo nvidia`: the NVIDIA kernel module installed for the running kernel. */
export interface ModinfoNvidia {
  /** "/lib/modules/6.8.12-4-pve/updates/dkms/nvidia.ko" */
  filename: string | null;
  /** "535.104.06" */
  version: string | null;
  /** "NVIDIA" (proprietary) or "Dual MIT/GPL" (the open kernel modules, MODULE_LICENSE in open-gpu-kernel-modules) */
  license: string | null;
  flavour: "proprietary" | "open" | null;
  /** "6.8.12-4-pve SMP preempt mod_unload modversions" */
  vermagic: string | null;
}

/**
 * `modinfo nvidia` ("key:  value" lines; `parm:` lines repeat and are ignored). null when the text holds
 * no `filename:` or `version:` line of an nvidia module (e.g. "modinfo: ERROR: Module nvidia not found.").
 * Never throws.
 */
export function parseModinfoNvidia(text: string): ModinfoNvidia | null {
  if (typeof text !== "string") return null;
  const field: Record<string, string> = {};
  for (const line of splitLines(text)) {
    const m = /^([a-z_]+):\s+(.*?)\s*$/.exec(line);
    if (m && !(m[1]! in field)) field[m[1]!] = m[2]!;
  }
  const filename = field.filename ?? null;
  if (filename !== null && !/\/nvidia(?:-vgpu-vfio)?\.ko(?:\.[gx]z|\.zst)?$/.test(filename)) return null;
  if (!filename && !field.version) return null;
  const license = field.license ?? null;
  const flavour =
    license === null
      ? null
      : /MIT\/GPL/i.test(license)
        ? "open"
        : /^NVIDIA$/i.test(license)
          ? "proprietary"
          : null;
  return { filename, version: field.version ?? null, license, flavour, vermagic: field.vermagic ?? null };
}
