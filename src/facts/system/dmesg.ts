import type { DmesgFacts } from "../types.ts";
import { lines } from "./text.ts";

/** "[    1.234567] ", "[Tue Jan 31 12:00:00 2023] ", optional "<6>" level and "kern  :info  : " facility prefixes. */
const PREFIX =
  /^(?:<\d+>)?(?:[a-z]+\s*:[a-z]+\s*:\s*)?(?:\[\s*\d+\.\d+\]\s?|\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}\]\s?)/;

/** Remove the timestamp prefix of one dmesg line. */
/** `journalctl -k` prefix: "Jan 31 12:00:00 pve1 kernel: " (ISO timestamps with -o short-iso too). */
const JOURNAL_PREFIX =
  /^(?:[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T[\d:.+-]+) \S+ kernel: /;

export function stripDmesgPrefix(line: string): string {
  return line.replace(JOURNAL_PREFIX, "").replace(PREFIX, "").trimEnd();
}

// "DMAR: IOMMU enabled" is NOT here: the kernel prints it while parsing intel_iommu=on, even when
// firmware VT-d is off. Only the driver's own start-up line proves DMA remapping is active.
const DMAR_ENABLED = [
  /\bDMAR: Intel\(R\) Virtualization Technology for Directed I\/O\b/,
  /\bDMAR: Intel-IOMMU force enabled\b/,
];
/** Devices placed in IOMMU groups: the IOMMU is active whatever the vendor. */
const GROUPS = /\bAdding to iommu group \d+/;
const AMD_ENABLED = [
  /\bAMD-Vi: AMD IOMMUv2 loaded and initialized\b/,
  /\bAMD-Vi: Interrupt remapping enabled\b/,
  /\bAMD-Vi: Found IOMMU\b/,
  /\bAMD-Vi: Lazy IO\/TLB flushing enabled\b/,
  /\bperf\/amd_iommu: Detected AMD IOMMU\b/,
];
// Not here: "AMD-Vi: AMD IOMMUv2 functionality not available on this system - This is not a bug." — the
// amd_iommu_v2 module prints it on every Intel host (kubevirt-gpu-device-plugin#45 shows it next to VT-d).
const DISABLED = [
  /\bDMAR: IOMMU disabled\b/,
  /\bIntel-IOMMU: disabled\b/,
  /\bDMAR: Intel-IOMMU not enabled\b/,
  /\bAMD-Vi: IOMMU (?:is )?disabled\b/,
  /\bAMD-Vi: Disabling IOMMU\b/,
  /\bNo IOMMU found\b/i,
];
const SIGNATURE = [
  /\bLockdown:/,
  /\blockdown\b.*\b(?:integrity|confidentiality)\b/i,
  /module verification failed/,
  /Loading of unsigned module is (?:rejected|disallowed)/i,
  /\bsecureboot: Secure boot (?:enabled|disabled|could not be determined)/i,
  /\bKey was rejected by service\b/,
  /\bmodule: x86\/modules:/,
  /\bPKCS#7 signature not signed\b/,
];

/**
 * What one line says. Each group of patterns runs only on lines holding the text every pattern of the
 * group needs (the lower-case line for the case-insensitive ones): the same answers, but a regex is
 * compiled only when a line could match it — most kernel lines match none (start-up cost, issue 16).
 */
function readLine(line: string, out: DmesgFacts): void {
  const lower = line.toLowerCase();
  const iommu = lower.includes("iommu") || line.includes("DMAR: ") || line.includes("AMD");
  if (iommu) readIommuLine(line, lower, out);
  if (line.includes("NVRM:") && /\bNVRM:/.test(line)) out.nvrm.push(line);
  if (
    line.includes("nouveau") &&
    (/^nouveau\b/.test(line) || /\bnouveau [0-9a-f]{4}:[0-9a-f]{2}:/.test(line))
  )
    out.nouveau.push(line);
  if (
    lower.includes("vfio") &&
    (/^vfio[-_]pci\b/.test(line) ||
      /^VFIO\b/.test(line) ||
      /^vfio\b/.test(line) ||
      /\bvfio-pci [0-9a-f]{4}:/.test(line))
  )
    out.vfio.push(line);
  if (SIGNATURE_TEXT.some((t) => lower.includes(t)) && SIGNATURE.some((r) => r.test(line)))
    out.moduleSignature.push(line);
}

/** Every SIGNATURE pattern needs one of these (lower case). */
const SIGNATURE_TEXT = ["lockdown", "module", "secureboot", "key was rejected", "pkcs#7"];

function readIommuLine(line: string, lower: string, out: DmesgFacts): void {
  if (line.includes("DMAR: ") && DMAR_ENABLED.some((r) => r.test(line))) {
    out.dmarEnabled = true;
    out.iommuEnabledLines.push(line);
  } else if (line.includes("AMD") && AMD_ENABLED.some((r) => r.test(line))) {
    out.amdViEnabled = true;
    out.iommuEnabledLines.push(line);
  } else if (line.includes("iommu group") && GROUPS.test(line)) {
    if (out.iommuEnabledLines.length < 5) out.iommuEnabledLines.push(line);
  } else if (lower.includes("iommu") && DISABLED.some((r) => r.test(line))) {
    out.iommuDisabledLines.push(line);
  }
}

/** Facts from `dmesg` (plain, `-T` or with level prefixes). Never throws. */
export function parseDmesg(text: string): DmesgFacts {
  const out: DmesgFacts = {
    dmarEnabled: false,
    amdViEnabled: false,
    iommuDisabledLines: [],
    iommuEnabledLines: [],
    nvrm: [],
    nouveau: [],
    vfio: [],
    moduleSignature: [],
    lines: [],
  };
  for (const raw of lines(text)) {
    const line = stripDmesgPrefix(raw);
    if (line === "") continue;
    out.lines.push(line);
    readLine(line, out);
  }
  return out;
}
