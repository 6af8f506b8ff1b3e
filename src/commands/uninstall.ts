/**
 * `vgpuctl uninstall`: revert everything vgpuctl recorded in the host's journal — files restored
 * byte-for-byte, packages it installed removed, driver uninstalled — with the same lock and reboot.
 */
import type { Faults } from "../apply/executor.ts";
import { planUninstall, type UninstallResult, uninstallHost } from "../apply/run.ts";
import type { Host } from "../hosts/host.ts";
import type { Plan } from "../plan/types.ts";

export interface UninstallOptions {
  reboot: boolean;
  breakLock?: boolean;
  faults?: Faults;
  /** only show what would be undone */
  dryRun?: boolean;
}

export async function runUninstall(
  opts: UninstallOptions,
  deps: {
    host: Host;
    confirm?: (host: string, plan: Plan) => Promise<boolean>;
    log?: (line: string) => void;
  },
): Promise<UninstallResult> {
  const { plan } = await planUninstall(deps.host);
  const none: UninstallResult = {
    host: deps.host.name,
    undone: [],
    reboots: 0,
    rebooted: false,
    nothingToDo: plan.steps.length === 0,
    plan,
    next: null,
  };
  if (opts.dryRun) return { ...none, reboots: plan.reboots };
  if (plan.steps.length > 0 && deps.confirm && !(await deps.confirm(deps.host.name, plan)))
    return { ...none, next: "not confirmed" };
  return uninstallHost(
    {
      host: deps.host,
      gather: async () => Promise.reject(new Error("uninstall does not gather")),
      faults: opts.faults,
      lock: { breakLock: opts.breakLock },
      log: deps.log,
    },
    { reboot: opts.reboot },
  );
}
