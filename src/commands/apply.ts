/**
 * `vgpuctl apply -f vgpu.yaml [--reboot]`: plan, refuse on blockers, run the steps through the
 * host (journal, backups, lock), reboot once when asked, verify. Hosts run in parallel.
 */

import type { Faults } from "../apply/executor.ts";
import { type ApplyResult, applyHost, planHost } from "../apply/run.ts";
import { runChecks } from "../checks/index.ts";
import type { HostEntry } from "../desired/schema.ts";
import type { Plan } from "../plan/types.ts";
import { type DesiredDeps, gatherForPlan, loadDesired, selectEntries } from "./plan.ts";

export interface ApplyOptions {
  file: string;
  hostSpec: string | null;
  reboot: boolean;
  breakLock?: boolean;
  faults?: Faults;
}

export interface ApplyCommandDeps extends DesiredDeps {
  /** Asked once per host with its plan before anything changes; false = skip the host. */
  confirm?: (host: string, plan: Plan) => Promise<boolean>;
  log?: (host: string, line: string) => void;
}

export async function runApply(opts: ApplyOptions, deps: ApplyCommandDeps): Promise<ApplyResult[]> {
  const desired = await loadDesired(opts.file, deps.cwd);
  const entries = selectEntries(desired, opts.hostSpec);
  return Promise.all(entries.map((entry) => applyOne(entry, opts, deps)));
}

async function applyOne(entry: HostEntry, opts: ApplyOptions, deps: ApplyCommandDeps): Promise<ApplyResult> {
  const host = await deps.openHost(entry.host);
  try {
    const runDeps = {
      host,
      gather: gatherForPlan,
      faults: opts.faults,
      lock: { breakLock: opts.breakLock },
      doctor: (f: Parameters<typeof runChecks>[0]) => runChecks(f),
      log: deps.log ? (l: string) => deps.log!(host.name, l) : undefined,
    };
    if (deps.confirm) {
      const { plan } = await planHost(entry, runDeps);
      if (plan.blockers.length === 0 && plan.steps.length > 0 && !(await deps.confirm(host.name, plan)))
        return {
          host: plan.host,
          applied: [],
          reboots: 0,
          rebooted: false,
          verified: false,
          verification: null,
          plan,
          next: "not confirmed",
        };
    }
    return await applyHost(entry, runDeps, { reboot: opts.reboot });
  } finally {
    await host.close();
  }
}

/** DESIGN.md `vgpuctl apply --json`: { host, applied, reboots, verified } (+ details). */
export function applyJson(r: ApplyResult) {
  return {
    host: r.host,
    applied: r.applied,
    reboots: r.reboots,
    verified: r.verified,
    rebooted: r.rebooted,
    gpus: r.verification?.gpus ?? [],
    problems: r.verification?.problems ?? [],
    next: r.next,
  };
}
