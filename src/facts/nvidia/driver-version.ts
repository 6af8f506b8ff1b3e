import { splitLines } from "./common.ts";

// "NVRM version: NVIDIA UNIX x86_64 Kernel Module  525.85.07  Sat Jan 21 …"
// "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  565.57.01  Release Build  (…)  …"
const NVRM = /NVRM version:.*?Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)/;

/**
 * Version of the loaded NVIDIA kernel module from /proc/driver/nvidia/version (proprietary and
 * open flavours, any architecture). null when the text holds no NVRM version line. Never throws.
 */
export function parseProcDriverVersion(text: string): string | null {
  if (typeof text !== "string") return null;
  for (const line of splitLines(text)) {
    const m = NVRM.exec(line);
    if (m) return m[1]!;
  }
  return null;
}

/** True when the loaded module is the open flavour ("NVIDIA UNIX Open Kernel Module …"), which vGPU cannot use. */
export function isOpenKernelModule(text: string): boolean {
  if (typeof text !== "string") return false;
  if (!text.includes("Open Kernel Module")) return false; // what the regex needs: most hosts run the other one
  return splitLines(text).some((l) => /NVRM version:.*\bOpen Kernel Module\b/.test(l));
}
