/**
 * `vgpuctl uninstall`: revert everything vgpuctl recorded in the host's journal — files restored
 * byte-for-byte, packages it installed removed, driver uninstalled — with the same lock and reboot.
 */

import { planUninstall, type UninstallResult, uninstallHost } from "../apply/run.ts";
import type { Host } from "../hosts/host.ts";
import type { Plan } from "../plan/types.ts";
import { type FleetOptions, settleFleet } from "./fleet.ts";

export interface UninstallOptions {
  reboot: boolean;
  breakLock?: boolean;
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
      lock: { breakLock: opts.breakLock },
      log: deps.log,
    },
    { reboot: opts.reboot },
  );
}

export type UninstallOutcome =
  | { kind: "done"; spec: string; host: string; result: UninstallResult }
  | { kind: "held"; spec: string; host: string; reason: string }
  | { kind: "failed"; spec: string; host: string; error: Error };

/**
 * Uninstall on several hosts (the hosts of a vgpu.yaml, or one --host) in parallel. With a question to
 * ask, every host's undo plan is shown first and one answer covers them all.
 */
export async function runUninstallHosts(
  specs: string[],
  opts: UninstallOptions & FleetOptions,
  deps: {
    openHost: (spec: string) => Promise<Host>;
    confirm?: (plans: Array<{ host: string; plan: Plan }>) => Promise<boolean>;
    log?: (host: string, line: string) => void;
  },
): Promise<UninstallOutcome[]> {
  const quiet = { parallel: opts.parallel, timeoutSec: opts.timeoutSec };
  const opened = await settleFleet(specs, (s) => deps.openHost(s), quiet);
  const hosts = opened.map((o) => (o.status === "fulfilled" ? o.value : null));
  const failed = (i: number, e: unknown): UninstallOutcome => ({
    kind: "failed",
    spec: specs[i]!,
    host: hosts[i]?.name ?? specs[i]!,
    error: e as Error,
  });
  try {
    if (deps.confirm && !opts.dryRun) {
      const dry = await settleFleet(
        specs,
        (_, i) => {
          const o = opened[i]!;
          return o.status === "fulfilled"
            ? runUninstall({ ...opts, dryRun: true }, { host: o.value })
            : Promise.reject(o.reason);
        },
        quiet,
      );
      const bad = dry.flatMap((d, i) => (d.status === "rejected" ? [failed(i, d.reason)] : []));
      if (bad.length > 0)
        return dry.map((d, i) =>
          d.status === "rejected"
            ? failed(i, d.reason)
            : {
                kind: "held",
                spec: specs[i]!,
                host: d.value.host,
                reason: "nothing undone: another host failed",
              },
        );
      const withSteps = dry.flatMap((d) =>
        d.status === "fulfilled" && d.value.plan.steps.length > 0
          ? [{ host: d.value.host, plan: d.value.plan }]
          : [],
      );
      if (withSteps.length > 0 && !(await deps.confirm(withSteps)))
        return dry.map((d, i) => ({
          kind: "held",
          spec: specs[i]!,
          host: d.status === "fulfilled" ? d.value.host : specs[i]!,
          reason: "not confirmed: nothing undone",
        }));
    }
    const done = await settleFleet(
      specs,
      (_, i) => {
        const o = opened[i]!;
        return o.status === "fulfilled"
          ? runUninstall(opts, {
              host: o.value,
              log: deps.log ? (l) => deps.log!(o.value.name, l) : undefined,
            })
          : Promise.reject(o.reason);
      },
      opts,
    );
    return done.map((d, i) =>
      d.status === "fulfilled"
        ? { kind: "done", spec: specs[i]!, host: d.value.host, result: d.value }
        : failed(i, d.reason),
    );
  } finally {
    await Promise.allSettled(hosts.map((h) => h?.close()));
  }
}
