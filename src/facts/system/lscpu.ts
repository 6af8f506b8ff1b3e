import { lines } from "./text.ts";

/**
 * CPU vendor from `lscpu` ("Vendor ID: GenuineIntel") or /proc/cpuinfo ("vendor_id : AuthenticAMD").
 * Hygon (an AMD licensee with AMD-Vi) counts as "amd". Anything else → null.
 */
export function cpuVendorFromLscpu(text: string): "intel" | "amd" | null {
  for (const raw of lines(text)) {
    const m = /^\s*(?:Vendor ID|vendor_id)\s*:\s*(\S+)/.exec(raw);
    if (!m) continue;
    const v = m[1]!;
    if (v === "GenuineIntel") return "intel";
    if (v === "AuthenticAMD" || v === "HygonGenuine") return "amd";
    return null;
  }
  return null;
}
