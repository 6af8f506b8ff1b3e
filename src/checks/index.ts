/**
 * runChecks: every doctor check over one host's Facts, errors first.
 * Each module is a pure `(facts, kb) => Finding[]`; missing evidence (null facts) never yields an error.
 */
import type { Facts } from "../facts/types.ts";
import { checkBootloader } from "./bootloader.ts";
import { checkDriver } from "./driver.ts";
import { checkEvidenceConflict } from "./evidence-conflict.ts";
import { checkGpus } from "./gpu.ts";
import { checkIommu } from "./iommu.ts";
import { checkJournal } from "./journal.ts";
import { defaultKb } from "./kb.ts";
import { checkKernel } from "./kernel.ts";
import { checkMdev } from "./mdev.ts";
import { checkModules } from "./modules.ts";
import { checkOverrides } from "./overrides.ts";
import { checkSecureBoot } from "./secure-boot.ts";
import { checkSriov } from "./sriov.ts";
import { type Check, type Finding, type Kb, SEVERITY_ORDER } from "./types.ts";
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
  ["modules", checkModules],
  ["driver", checkDriver],
  ["unlock", checkUnlock],
  ["sriov", checkSriov],
  ["mdev", checkMdev],
  ["journal", checkJournal],
  ["overrides", checkOverrides],
  ["vms", checkVms],
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
  return out
    .map((f, i) => ({ f, i }))
    .sort((a, b) => SEVERITY_ORDER[a.f.severity] - SEVERITY_ORDER[b.f.severity] || a.i - b.i)
    .map(({ f }) => f);
}
