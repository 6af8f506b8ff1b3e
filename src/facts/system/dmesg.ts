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
  const rest = line.includes(" kernel: ") ? line.replace(JOURNAL_PREFIX, "") : line;
  const stamp = rest[0] === "[" ? SECONDS_STAMP.exec(rest) : null;
  return (stamp ? rest.slice(stamp[0].length) : rest.replace(PREFIX, "")).trimEnd();
}

/**
 * The "[    1.234567] " plain dmesg starts every line with: PREFIX matches the same text on such a line
 * (its level and facility parts cannot match a "["), and compiling this small pattern costs less than
 * PREFIX (each regex compiled is start-up cost, issue 16). JOURNAL_PREFIX needs " kernel: ".
 */
const SECONDS_STAMP = /^\[\s*\d+\.\d+\]\s?/;

// "DMAR: IOMMU enabled" is NOT here: the kernel prints it while parsing intel_iommu=on, even when
// firmware VT-d is off. Only the driver's own start-up line proves DMA remapping is active.
const DMAR_ENABLED: Gated[] = [
  [
    "DMAR: Intel(R) Virtualization Technology for Directed I/O",
    /\bDMAR: Intel\(R\) Virtualization Technology for Directed I\/O\b/,
  ],
  ["DMAR: Intel-IOMMU force enabled", /\bDMAR: Intel-IOMMU force enabled\b/],
];
/** Devices placed in IOMMU groups: the IOMMU is active whatever the vendor. */
const GROUPS = /\bAdding to iommu group \d+/;
const AMD_ENABLED: Gated[] = [
  ["AMD-Vi: AMD IOMMUv2 loaded and initialized", /\bAMD-Vi: AMD IOMMUv2 loaded and initialized\b/],
  ["AMD-Vi: Interrupt remapping enabled", /\bAMD-Vi: Interrupt remapping enabled\b/],
  ["AMD-Vi: Found IOMMU", /\bAMD-Vi: Found IOMMU\b/],
  ["AMD-Vi: Lazy IO/TLB flushing enabled", /\bAMD-Vi: Lazy IO\/TLB flushing enabled\b/],
  ["perf/amd_iommu: Detected AMD IOMMU", /\bperf\/amd_iommu: Detected AMD IOMMU\b/],
];
// Not here: "AMD-Vi: AMD IOMMUv2 functionality not available on this system - This is not a bug." — the
// amd_iommu_v2 module prints it on every Intel host (kubevirt-gpu-device-plugin#45 shows it next to VT-d).
/** Lower-case needles are looked for in the lower-cased line (case-insensitive patterns). */
const DISABLED: Gated[] = [
  ["DMAR: IOMMU disabled", /\bDMAR: IOMMU disabled\b/],
  ["Intel-IOMMU: disabled", /\bIntel-IOMMU: disabled\b/],
  ["DMAR: Intel-IOMMU not enabled", /\bDMAR: Intel-IOMMU not enabled\b/],
  ["AMD-Vi: IOMMU ", /\bAMD-Vi: IOMMU (?:is )?disabled\b/],
  ["AMD-Vi: Disabling IOMMU", /\bAMD-Vi: Disabling IOMMU\b/],
  ["no iommu found", /\bNo IOMMU found\b/i],
];
const SIGNATURE: Gated[] = [
  ["Lockdown:", /\bLockdown:/],
  ["lockdown", /\blockdown\b.*\b(?:integrity|confidentiality)\b/i],
  ["module verification failed", /module verification failed/],
  ["loading of unsigned module is ", /Loading of unsigned module is (?:rejected|disallowed)/i],
  ["secureboot: secure boot ", /\bsecureboot: Secure boot (?:enabled|disabled|could not be determined)/i],
  ["Key was rejected by service", /\bKey was rejected by service\b/],
  ["module: x86/modules:", /\bmodule: x86\/modules:/],
  ["PKCS#7 signature not signed", /\bPKCS#7 signature not signed\b/],
];

/**
 * A pattern with text every match of it holds (lower case for a case-insensitive pattern): the regex
 * runs, and is compiled, only on a line holding that text — most kernel lines match no pattern, and
 * each regex compiled costs ~0.1–0.8 M instructions of a cold start (callgrind, issue 16).
 */
type Gated = readonly [needle: string, pattern: RegExp];

/** Some pattern matches `line` (`lower`: the line in lower case, for case-insensitive patterns). */
function anyMatch(list: readonly Gated[], line: string, lower: string): boolean {
  return list.some(([needle, re]) => (re.ignoreCase ? lower : line).includes(needle) && re.test(line));
}

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
    ((line.startsWith("vfio") && (/^vfio[-_]pci\b/.test(line) || /^vfio\b/.test(line))) ||
      (line.startsWith("VFIO") && /^VFIO\b/.test(line)) ||
      (line.includes("vfio-pci ") && /\bvfio-pci [0-9a-f]{4}:/.test(line)))
  )
    out.vfio.push(line);
  if (anyMatch(SIGNATURE, line, lower)) out.moduleSignature.push(line);
}

function readIommuLine(line: string, lower: string, out: DmesgFacts): void {
  if (line.includes("DMAR: ") && anyMatch(DMAR_ENABLED, line, lower)) {
    out.dmarEnabled = true;
    out.iommuEnabledLines.push(line);
  } else if (line.includes("AMD") && anyMatch(AMD_ENABLED, line, lower)) {
    out.amdViEnabled = true;
    out.iommuEnabledLines.push(line);
  } else if (line.includes("iommu group") && GROUPS.test(line)) {
    if (out.iommuEnabledLines.length < 5) out.iommuEnabledLines.push(line);
  } else if (lower.includes("iommu") && anyMatch(DISABLED, line, lower)) {
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
