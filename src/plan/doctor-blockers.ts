/**
 * Doctor errors the plan cannot fix become blockers (issue #5: apply "refuses to start when doctor finds
 * a blocker the plan cannot fix, saying why"). Pure: plan + findings → extra blockers.
 *
 * Only problems that stop the host setup itself are listed here; VM-level findings (duplicate UUIDs,
 * failed VM starts…) do not keep the host from being set up and are reported by the verification.
 */
import type { FindingCode } from "../checks/types.ts";
import type { Blocker, Plan } from "./types.ts";

export interface DoctorFinding {
  code: FindingCode;
  severity: "error" | "warning" | "info";
  title: string;
  evidence?: string[];
  fix?: string[];
}

type Fixed = (ids: Set<string>) => boolean;
const never: Fixed = () => false;
const anyOf =
  (...want: string[]): Fixed =>
  (ids) =>
    want.some((w) => ids.has(w));

/** Setup-stopping doctor codes → whether a plan with these step ids fixes them. */
export const SETUP_BLOCKERS: Partial<Record<FindingCode, Fixed>> = {
  "gpu-unsupported": never,
  "secure-boot": never,
  // Leftover passthrough config (vfio-pci ids=…) and parameters in the other bootloader's file: fixed by
  // the steps that say so (Step.fixes: vfio-leftover, vfio-cmdline, iommu-cmdline); a GPU bound by
  // something else (a running VM, a udev rule, driver_override) stays a blocker.
  "vfio-bound": never,
  "iommu-cmdline-wrong-bootloader": never,
  "kernel-unsupported": anyOf("driver-install"),
  "driver-open-flavour": anyOf("driver-install"),
  "driver-branch-drops-gpu": anyOf("driver-install"),
  "unlock-version-mismatch": anyOf("unlock-source", "unlock-build", "driver-install"),
  "unlock-config-invalid": anyOf("unlock-files"),
  "vgpu-mgr-inactive": anyOf("services", "driver-install", "reboot"),
};

/**
 * Blockers to add: error findings in SETUP_BLOCKERS that no step fixes (by its id, or by naming the
 * code in Step.fixes) and no blocker already names.
 */
export function doctorBlockers(plan: Plan, findings: readonly DoctorFinding[]): Blocker[] {
  const ids = new Set(plan.steps.map((s) => s.id));
  const fixedBySteps = new Set(plan.steps.flatMap((s) => s.fixes ?? []));
  const have = new Set<string>(plan.blockers.map((b) => b.code));
  const out: Blocker[] = [];
  for (const f of findings) {
    if (f.severity !== "error") continue;
    const fixed = SETUP_BLOCKERS[f.code];
    if (!fixed || fixed(ids) || fixedBySteps.has(f.code) || have.has(f.code)) continue;
    have.add(f.code);
    out.push({
      code: f.code,
      title: `${f.title} (doctor; the plan does not fix this)`,
      evidence: f.evidence ?? [],
      fix: f.fix ?? [],
    });
  }
  return out;
}
