import { normalisePciAddress } from "../pci.ts";
import type { PciFunction } from "../types.ts";
import { lines } from "./text.ts";

/**
 * Device line of `lspci -Dnnk` / `lspci -nnk`:
 * "0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A] [10de:1e07] (rev a1)"
 */
const DEVICE =
  /^((?:[0-9a-fA-F]{4,}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+(.+?)(?:\s+\[([0-9a-fA-F]{4})\])?:\s+(.*?)\s*\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\](?:\s+\(rev ([0-9a-fA-F]{2})\))?(?:\s+\(prog-if [^)]*\))?\s*$/;
const SUBSYSTEM = /^Subsystem:\s+(.*?)\s*\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]\s*$/;

/** `lspci -Dnnk` (also without -D: addresses get the "0000:" domain). Unknown lines are skipped. */
export function parseLspciDnnk(text: string): PciFunction[] {
  const out: PciFunction[] = [];
  let cur: PciFunction | null = null;
  for (const raw of lines(text)) {
    const indented = raw !== "" && raw[0]!.trim() === ""; // /^\s/: trim removes the same characters
    const line = raw.trim();
    if (line === "") continue;
    if (!indented) {
      const m = DEVICE.exec(line);
      if (m) {
        const address = normalisePciAddress(m[1]!);
        if (address) {
          cur = {
            address,
            className: m[2]!.trim(),
            classCode: (m[3] ?? "").toLowerCase(),
            description: m[4]!.trim(),
            vendorId: m[5]!.toLowerCase(),
            deviceId: m[6]!.toLowerCase(),
            revision: m[7]?.toLowerCase() ?? null,
            subsystemVendorId: null,
            subsystemDeviceId: null,
            subsystemName: null,
            driverInUse: null,
            kernelModules: [],
          };
          out.push(cur);
          continue;
        }
      }
    }
    if (!cur) continue;
    // each regex runs only on the lines it can match (start-up cost, issue 16)
    const sub = line.startsWith("Subsystem:") ? SUBSYSTEM.exec(line) : null;
    if (sub) {
      cur.subsystemName = sub[1]!.trim() || null;
      cur.subsystemVendorId = sub[2]!.toLowerCase();
      cur.subsystemDeviceId = sub[3]!.toLowerCase();
      continue;
    }
    const drv = line.startsWith("Kernel driver in use:") ? /^Kernel driver in use:\s*(\S+)/.exec(line) : null;
    if (drv) {
      cur.driverInUse = drv[1]!;
      continue;
    }
    const mods = line.startsWith("Kernel modules:") ? /^Kernel modules:\s*(.*)$/.exec(line) : null;
    if (mods) {
      cur.kernelModules = mods[1]!
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    }
  }
  return out;
}
