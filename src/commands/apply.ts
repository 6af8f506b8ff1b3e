/**
 * `vgpuctl apply -f vgpu.yaml [--reboot]`: plan, refuse on blockers, run the steps through the
 * host (journal, backups, lock), reboot once when asked, verify. Hosts run in parallel.
 *
 * With several hosts (or a confirmation to ask) every host is planned first: when one of them is
 * blocked or cannot be reached, nothing is changed on any host. Then the hosts are applied in
 * parallel, each independently: one failing does not stop (nor hide) the others.
 */

import {
  type ApplyResult,
  applyHost,
  BlockedError,
  type GatherFn,
  type PlanDeps,
  planHost,
} from "../apply/run.ts";
import { runChecks } from "../checks/index.ts";
import type { Desired, HostEntry } from "../desired/schema.ts";
import { formatCommand } from "../facts/capture.ts";
import type { Host } from "../hosts/host.ts";
import { preloadSolver } from "../place/opt/highs.ts";
import type { Blocker, Plan } from "../plan/types.ts";
import { type FleetOptions, settleFleet } from "./fleet.ts";
import { mayMap, placeOnGathered, topLevelVms } from "./place.ts";
import {
  type DesiredDeps,
  gatherEntries,
  gatherForPlan,
  gatherOnce,
  loadDesired,
  selectEntries,
} from "./plan.ts";

export interface ApplyOptions extends FleetOptions {
  file: string;
  hostSpec: string | null;
  reboot: boolean;
  breakLock?: boolean;
  /** --stop-vms: VMs running on vGPUs may be shut down to replace the driver (plan/passes/driver-upgrade.ts) */
  stopVms?: boolean;
  /** Secure Boot: the one-time MOK password (memory only: plan/passes/secure-boot.ts) */
  mokPassword?: string;
  /** …or a hidden terminal prompt for it, asked when a step first needs it (cli/secret-prompt.ts) */
  askMokPassword?: () => Promise<string>;
}

export interface HostPlanForConfirm {
  host: string;
  spec: string;
  plan: Plan;
}

export interface ApplyCommandDeps extends DesiredDeps {
  /**
   * Asked once, with the plans of every host that has something to do, before anything changes;
   * false = change nothing.
   */
  confirm?: (plans: HostPlanForConfirm[]) => Promise<boolean>;
  log?: (host: string, line: string) => void;
}

export type ApplyOutcome =
  /** The apply ran (it may have stopped before the reboot: see result.next). */
  | { kind: "done"; spec: string; host: string; result: ApplyResult }
  /** The plan cannot fix these: nothing was changed on this host. */
  | { kind: "blocked"; spec: string; host: string; blockers: Blocker[] }
  /** Not applied: not confirmed, or another host of the file is blocked / unreachable. */
  | { kind: "held"; spec: string; host: string; reason: string }
  /** The apply (or reaching the host) failed; what was done is in the host's journal. */
  | { kind: "failed"; spec: string; host: string; error: Error };

export async function runApply(opts: ApplyOptions, deps: ApplyCommandDeps): Promise<ApplyOutcome[]> {
  const desired = await loadDesired(opts.file, deps);
  const solverNote = await preloadSolver([...selectEntries(desired, opts.hostSpec), desired]);
  if (solverNote) deps.log?.("vgpu.yaml", solverNote);
  const quiet = { parallel: opts.parallel, timeoutSec: opts.timeoutSec };
  // top-level vms: placement picks each VM's host; its entry gets the VM, as plan shows it (place.ts)
  const slots = await openSlots(desired, selectEntries(desired, opts.hostSpec), deps, quiet);
  const specs = slots.map((s) => s.entry.host);
  const runDeps = (s: Slot & { host: Host }): PlanDeps => ({
    host: s.host,
    gather: s.gather,
    lock: { breakLock: opts.breakLock },
    doctor: (f) => runChecks(f),
    stopVms: opts.stopVms,
    secrets: { mokPassword: opts.mokPassword, askMokPassword: opts.askMokPassword },
    log: deps.log ? (l: string) => deps.log!(s.host.name, l) : undefined,
  });
  try {
    // Phase 1: plan every host first when there are several (or a question to ask).
    if (slots.length > 1 || deps.confirm) {
      const planned = await settleFleet(
        specs,
        (_, i) => {
          const s = slots[i]!;
          return s.host ? planHost(s.entry, runDeps({ ...s, host: s.host })) : Promise.reject(s.error);
        },
        quiet,
      );
      const early: Array<ApplyOutcome | null> = planned.map((p, i) => {
        const s = slots[i]!;
        const name = s.host?.name ?? s.entry.host;
        if (p.status === "rejected")
          return { kind: "failed", spec: s.entry.host, host: name, error: p.reason as Error };
        if (p.value.plan.blockers.length > 0)
          return {
            kind: "blocked",
            spec: s.entry.host,
            host: p.value.plan.host,
            blockers: p.value.plan.blockers,
          };
        return null;
      });
      const stopped = early.filter((o): o is ApplyOutcome => o !== null);
      if (stopped.length > 0) {
        const names = stopped.map((o) => o.host).join(", ");
        return early.map((o, i) => {
          if (o) return o;
          const s = slots[i]!;
          return {
            kind: "held",
            spec: s.entry.host,
            host: s.host?.name ?? s.entry.host,
            reason: `nothing changed: ${names} cannot be applied (see above), so no host of ${opts.file} was touched; to apply this host alone: ${formatCommand(["vgpuctl", "apply", "-f", opts.file, "--host", s.entry.host])}`,
          };
        });
      }
      if (deps.confirm) {
        const withSteps = planned.flatMap((p, i) =>
          p.status === "fulfilled" && p.value.plan.steps.length > 0
            ? [{ host: p.value.plan.host, spec: slots[i]!.entry.host, plan: p.value.plan }]
            : [],
        );
        if (withSteps.length > 0 && !(await deps.confirm(withSteps)))
          return slots.map((s) => ({
            kind: "held",
            spec: s.entry.host,
            host: s.host?.name ?? s.entry.host,
            reason: "not confirmed: nothing changed",
          }));
      }
    }
    // Phase 2: apply every host in parallel, each on its own.
    const applied = await settleFleet(
      specs,
      (_, i) => {
        const s = slots[i]!;
        return s.host
          ? applyHost(s.entry, runDeps({ ...s, host: s.host }), { reboot: opts.reboot })
          : Promise.reject(s.error);
      },
      opts,
    );
    return applied.map((a, i): ApplyOutcome => {
      const s = slots[i]!;
      const name = s.host?.name ?? s.entry.host;
      if (a.status === "fulfilled")
        return {
          kind: "done",
          spec: s.entry.host,
          host: a.value.host,
          result: withNext(a.value, s.entry, opts),
        };
      if (a.reason instanceof BlockedError)
        return { kind: "blocked", spec: s.entry.host, host: a.reason.host, blockers: a.reason.blockers };
      return { kind: "failed", spec: s.entry.host, host: name, error: a.reason as Error };
    });
  } finally {
    await Promise.allSettled(slots.map((s) => s.host?.close()));
  }
}

/** A host of the file as apply works on it: its (placed) entry, the open Host or why not, how to gather. */
interface Slot {
  entry: HostEntry;
  host: Host | null;
  error: Error | null;
  /** the first gather answers with the placement's facts when it read the host (gatherOnce) */
  gather: GatherFn;
}

/**
 * Open every host. With top-level `vms:` every host is gathered once, the placement uses those facts,
 * and the first plan of each host (plan.ts gatherOnce) too; the unplaced VMs and the hosts the
 * placement could not consider are logged.
 */
async function openSlots(
  desired: Desired,
  selected: HostEntry[],
  deps: ApplyCommandDeps,
  quiet: FleetOptions,
): Promise<Slot[]> {
  if (topLevelVms(desired, selected).length === 0) {
    const opened = await settleFleet(
      selected.map((e) => e.host),
      (spec) => deps.openHost(spec),
      quiet,
    );
    return selected.map((entry, i) => {
      const o = opened[i]!;
      return o.status === "fulfilled"
        ? { entry, host: o.value, error: null, gather: gatherForPlan }
        : { entry, host: null, error: o.reason as Error, gather: gatherForPlan };
    });
  }
  const gathered = await gatherEntries(selected, deps, { ...quiet, hardware: mayMap(desired) });
  const placed = await placeOnGathered(desired, selected, gathered);
  for (const n of placed.notes) deps.log?.("vgpu.yaml", n);
  for (const u of placed.unplaced)
    deps.log?.("vgpu.yaml", `VM ${u.vmid} (top-level vms:) not placed: ${u.reason}`);
  return placed.entries.map((entry, i) => {
    const g = gathered[i]!;
    return g.ok
      ? { entry, host: g.value.host, error: null, gather: gatherOnce(g.value.gathered) }
      : { entry, host: null, error: g.error, gather: gatherForPlan };
  });
}

/** "What to run next" with the exact command lines for this file and host. */
function withNext(r: ApplyResult, entry: HostEntry, opts: ApplyOptions): ApplyResult {
  const apply = (...extra: string[]) =>
    `\`${formatCommand(["vgpuctl", "apply", "-f", opts.file, "--host", entry.host, ...extra])}\``;
  if (r.reboots > 0 && !r.rebooted)
    return {
      ...r,
      next: `reboot ${r.host} to finish: run ${apply("--yes", "--reboot")} (it reboots the host, waits for it and verifies), or reboot it yourself and then run ${apply("--yes")} to verify`,
    };
  if (!r.verified && r.next)
    return { ...r, next: `run \`${formatCommand(["vgpuctl", "doctor", "--host", entry.host])}\` to see why` };
  return r;
}

/** DESIGN.md `vgpuctl apply --json`: { host, applied, reboots, verified } (+ details). */
export function applyJson(o: ApplyOutcome) {
  switch (o.kind) {
    case "done": {
      const r = o.result;
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
    case "blocked":
      return {
        host: o.host,
        applied: [],
        reboots: 0,
        verified: false,
        blockers: o.blockers,
        next: "fix the blockers, then run apply again (nothing was changed)",
      };
    case "held":
      return { host: o.host, applied: [], reboots: 0, verified: false, next: o.reason };
    case "failed":
      return {
        host: o.host,
        applied: [],
        reboots: 0,
        verified: false,
        error: o.error.message,
        next: (o.error as { hint?: string }).hint ?? null,
      };
  }
}
