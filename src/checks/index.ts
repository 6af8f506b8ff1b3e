/**
 * runChecks: every doctor check over one host's Facts, errors first.
 * Each module is a pure `(facts, kb) => Finding[]`; missing evidence (null facts) never yields an error.
 */
import type { Facts } from "../facts/types.ts";
import { checkApt } from "./apt.ts";
import { checkBootloader } from "./bootloader.ts";
import { checkDriver } from "./driver.ts";
import { checkEvidenceConflict } from "./evidence-conflict.ts";
import { checkGpus } from "./gpu.ts";
import { checkIommu } from "./iommu.ts";
import { checkJournal } from "./journal.ts";
import { defaultKb } from "./kb.ts";
import { checkKernel } from "./kernel.ts";
import { checkLogSignatures } from "./log-signatures.ts";
import { checkMdev } from "./mdev.ts";
import { checkModules } from "./modules.ts";
import { checkOverrides } from "./overrides.ts";
import { checkSecureBoot } from "./secure-boot.ts";
import { checkSriov } from "./sriov.ts";
import { type Check, FINDING_CODES, type Finding, type Kb, SEVERITY_ORDER } from "./types.ts";
import { checkUnlock } from "./unlock.ts";
import { checkVms } from "./vms.ts";

export { FINDING_CODES, type Finding, type FindingCode, type Kb, type Severity } from "./types.ts";

/** In the order a person would fix things: hardware, boot, kernel, driver, unlock, types, VMs. */
export const CHECKS: ReadonlyArray<[name: string, check: Check]> = [
  ["gpu", checkGpus],
  ["iommu", checkIommu],
  ["bootloader", checkBootloader],
  ["secure-boot", checkSecureBoot],
  ["kernel", checkKernel],
  ["apt", checkApt],
  ["modules", checkModules],
  ["driver", checkDriver],
  ["unlock", checkUnlock],
  ["sriov", checkSriov],
  ["mdev", checkMdev],
  ["journal", checkJournal],
  ["overrides", checkOverrides],
  ["vms", checkVms],
  ["log-signatures", checkLogSignatures],
  ["evidence", checkEvidenceConflict],
];

export function runChecks(facts: Facts, kb: Kb = defaultKb): Finding[] {
  const out: Finding[] = [];
  for (const [name, check] of CHECKS) {
    try {
      out.push(...check(facts, kb));
    } catch (e) {
      // A bug in one check must not hide the others' findings.
      out.push({
        code: "check-failed",
        severity: "info",
        title: `The ${name} checks could not run on these facts (internal error)`,
        evidence: [String((e as Error)?.message ?? e)],
        fix: ["Please report this with the support bundle (vgpuctl support-bundle -o bundle.tar.gz)"],
      });
    }
  }
  return pointOnlyAtPresent(out)
    .map((f, i) => ({ f, i }))
    .sort((a, b) => SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || a.i - b.i)
    .map(({ f }) => f);
}

/** "(see a / b)" naming finding codes, in a finding's title, evidence or fix. */
const SEE = /\s*\(see ((?:[a-z0-9]+-)+[a-z0-9]+(?: \/ (?:[a-z0-9]+-)+[a-z0-9]+)*)\)/g;

/**
 * A finding points only at findings present on this host (issue 13 #7): codes in "(see …)" that the
 * host does not have are dropped, and the reference with them when none is left.
 */
export function pointOnlyAtPresent(findings: Finding[]): Finding[] {
  const present = new Set<string>(findings.map((f) => f.code));
  const known = new Set<string>(FINDING_CODES);
  const rewrite = (text: string) =>
    text.replace(SEE, (whole, list: string) => {
      const codes = list.split(" / ");
      if (codes.some((c) => !known.has(c))) return whole; // not (only) finding codes: leave it
      const kept = codes.filter((c) => present.has(c));
      if (kept.length === codes.length) return whole;
      return kept.length === 0 ? "" : ` (see ${kept.join(" / ")})`;
    });
  return findings.map((f) => ({
    ...f,
    title: rewrite(f.title),
    evidence: f.evidence.map(rewrite),
    fix: f.fix.map(rewrite),
  }));
}
