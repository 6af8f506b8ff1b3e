/**
 * apply / uninstall on one host: plan → refuse on blockers (before anything is written) → lock →
 * resume an interrupted step → run the steps → reboot (with --reboot) → verify. Only needs a Host
 * and a `gather` function (capture + parseFacts + probes), so tests run it on an in-memory host.
 */
import { randomUUID } from "node:crypto";
import type { HostEntry } from "../desired/schema.ts";
import type { Facts } from "../facts/types.ts";
import type { Host } from "../hosts/host.ts";
import { buildPlan, STATE_DIR } from "../plan/build.ts";
import { doctorBlockers } from "../plan/doctor-blockers.ts";
import type { Blocker, FileProbe, Plan, Step } from "../plan/types.ts";
import { ReadOnlyHostError, UserError } from "../util/errors.ts";
import { type ExecContext, executeStep, readFiles } from "./executor.ts";
import {
  BACKUP_DIR,
  type BackupRecord,
  BOOT_ID_PATH,
  JOURNAL_PATH,
  type Journal,
  LOCK_PATH,
  loadJournal,
  pendingFrom,
  readBootId,
  saveJournal,
  sha256,
} from "./journal.ts";
import { acquireLock, type LockHandle, type LockOptions } from "./lock.ts";
import { type Brought, DPKG_LIST, installedNames, newlyInstalled, packagesPlanNotes } from "./packages.ts";
import { rollBackIfNotLoaded, withDriverRollback } from "./rollback.ts";
import { buildUninstallPlan } from "./uninstall.ts";
import { removeVmVgpusStep, VM_BACKUP_DIR, vmBackupPath, vmVgpuLeftovers } from "./uninstall-vms.ts";
import { type DoctorFn, type Verification, verifyHost } from "./verify.ts";

export interface Gathered {
  facts: Facts;
  file: (path: string) => string | null | undefined;
  probes: Record<string, FileProbe>;
}

/** Capture + parseFacts + probes for one host entry (commands/plan.ts gatherForPlan). */
export type GatherFn = (host: Host, entry: HostEntry) => Promise<Gathered>;

/** What apply / uninstall run with. Uninstall works from the journal alone and gathers nothing. */
export interface RunDeps {
  host: Host;
  gather?: GatherFn;
  now?: () => Date;
  lock?: Omit<LockOptions, "command" | "now">;
  doctor?: DoctorFn;
  log?: (line: string) => void;
  /** apply --stop-vms (PlanInput.stopVms) */
  stopVms?: boolean;
  /** Secrets for this apply (the MOK password): memory only, never journaled or logged. */
  secrets?: import("./executor.ts").Secrets;
}

export interface ApplyResult {
  host: string;
  applied: string[];
  /** reboots this apply needed (and did not perform) or performed */
  reboots: number;
  rebooted: boolean;
  verified: boolean;
  verification: Verification | null;
  /** the plan as first computed */
  plan: Plan;
  /** what to do next when not verified */
  next: string | null;
}

export class BlockedError extends UserError {
  constructor(
    readonly host: string,
    readonly blockers: Blocker[],
  ) {
    super(
      `${host}: cannot apply — ${blockers.length} problem(s) the plan cannot fix:\n${blockers
        .map(
          (b) =>
            `  [${b.code}] ${b.title}${b.evidence.length ? `\n      ${b.evidence.join("\n      ")}` : ""}`,
        )
        .join("\n")}`,
      blockers.flatMap((b) => b.fix).join("; "),
    );
    this.name = "BlockedError";
  }
}

/** Planning (and so apply) gathers the host's facts. */
export interface PlanDeps extends RunDeps {
  gather: GatherFn;
}

/**
 * Plan for one host, including what the journal knows (pending initramfs/reboot). Read-only.
 * With `deps.doctor`, doctor errors that stop the setup and that no step fixes become blockers
 * (not on the re-plans during an apply: `opts.doctor = false`).
 */
export async function planHost(
  entry: HostEntry,
  deps: PlanDeps,
  opts: { doctor?: boolean } = {},
): Promise<{ plan: Plan; gathered: Gathered; journal: Journal; bootId: string | null }> {
  const now = deps.now ?? (() => new Date());
  const gathered = await deps.gather(deps.host, entry);
  // the gather capture reads the journal and the boot id too (undefined: not captured, read them now)
  const journal = await loadJournal(deps.host, now(), gathered.file(JOURNAL_PATH));
  const bootId = await readBootId(deps.host, gathered.file(BOOT_ID_PATH));
  const pending = pendingFrom(journal, bootId);
  // The host rebooted since a reboot became due (someone ran `reboot`): nothing is owed any more.
  if (journal.reboot.required && !pending.reboot) journal.reboot = { required: false, bootId: null };
  const mokPassword = deps.secrets
    ? Boolean(deps.secrets.mokPassword || deps.secrets.askMokPassword)
    : undefined;
  const plan = buildPlan(entry, { ...gathered, pending, stopVms: deps.stopVms, mokPassword });
  if (journal.inProgress?.mode === "apply" && !plan.steps.some((s) => s.id === journal.inProgress!.step.id))
    plan.steps.unshift(journal.inProgress.step);
  if (journal.inProgress)
    plan.notes.push(`resuming the interrupted step "${journal.inProgress.step.id}" from the journal`);
  plan.reboots = plan.steps.some((s) => s.reboot) ? 1 : 0;
  if (deps.doctor && opts.doctor !== false)
    plan.blockers.push(...doctorBlockers(plan, deps.doctor(gathered.facts)));
  return { plan, gathered, journal, bootId };
}

export async function applyHost(
  entry: HostEntry,
  deps: PlanDeps,
  opts: { reboot: boolean },
): Promise<ApplyResult> {
  const { host } = deps;
  const now = deps.now ?? (() => new Date());
  if (host.readOnly) throw new ReadOnlyHostError(host.spec);
  let { plan, gathered, journal, bootId } = await planHost(entry, deps);
  const firstPlan = plan;
  if (plan.blockers.length > 0) throw new BlockedError(plan.host, plan.blockers);
  if (journal.uninstall)
    throw new UserError(
      `an uninstall on ${host.name} did not finish`,
      "run `vgpuctl uninstall` again to complete it before applying",
    );
  // Nothing to change (and nothing interrupted or owed): verify from the facts just gathered, without
  // taking the lock — the whole run is the one gather round trip.
  if (plan.steps.length === 0 && !journal.inProgress && !journal.reboot.required) {
    const verification = verifyHost(entry, gathered.facts, deps.doctor);
    return {
      host: plan.host,
      applied: [],
      reboots: 0,
      rebooted: false,
      verified: verification.ok,
      verification,
      plan: firstPlan,
      next: verification.ok ? null : "run `vgpuctl doctor` to see why",
    };
  }

  return underLock(deps, "apply", now, async (lock) => {
    const ctx: ExecContext = {
      host,
      journal,
      now,
      mode: "apply",
      afterStep: () => lock.heartbeat(),
      log: deps.log,
      completed: [],
      bootId,
      secrets: deps.secrets,
      // a resumed run keeps the interrupted run's id: what that run completed is not done again
      run: journal.inProgress?.run ?? randomUUID(),
    };
    plan = { ...plan, steps: plan.steps.filter((s) => !doneInThisRun(journal, ctx.run!, s)) };
    // An interrupted step the current plan no longer has resumes first (it may be invisible to facts:
    // e.g. update-grub after the edit). One the plan still has runs as planned now, in plan order: the
    // plan comes from the host and the current vgpu.yaml (issue 13 #1: a fixed file takes effect).
    if (journal.inProgress?.mode === "apply" && resumesAlone(plan, journal.inProgress.step)) {
      const resumed = journal.inProgress.step;
      plan = { ...plan, steps: plan.steps.filter((s) => s.id !== resumed.id) };
      await executeStep(ctx, resumed);
      ({ plan, gathered, journal } = await replan(entry, deps, ctx));
      if (plan.blockers.length > 0) throw new BlockedError(plan.host, plan.blockers);
    }
    // Steps marked afterReboot (VMs on a host being set up) are re-planned and run after the reboot.
    for (const step of plan.steps) {
      if (step.afterReboot) continue;
      if (step.id === "reboot") {
        // Only a reboot is owed (changes made earlier, a driver not loaded yet): nothing to run or journal.
        if (!ctx.journal.reboot.required) ctx.journal.reboot = { required: true, bootId: ctx.bootId ?? null };
        continue;
      }
      await withDriverRollback(ctx, step, () => executeStep(ctx, step));
    }

    let rebooted = false;
    let reboots = 0;
    if (ctx.journal.reboot.required) {
      reboots = 1;
      if (!opts.reboot) {
        return {
          host: plan.host,
          applied: ctx.completed,
          reboots,
          rebooted,
          verified: false,
          verification: null,
          plan: firstPlan,
          next: `reboot ${host.name} to finish (or re-run with --reboot); then run \`vgpuctl apply\` again to verify`,
        };
      }
      deps.log?.(`↻ rebooting ${host.name}`);
      await host.reboot();
      rebooted = true;
      // The new boot id comes with the re-plan's gather (a crash before the journal below is written is
      // harmless: the boot id differs from the one recorded, so the reboot counts as done).
      ({ plan, gathered, journal } = await replan(entry, deps, ctx));
      ctx.journal.reboot = { required: false, bootId: ctx.bootId ?? null };
      await saveJournal(host, ctx.journal, now());
      await lock.heartbeat();
      if (plan.blockers.length > 0) throw new BlockedError(plan.host, plan.blockers);
      const left = plan.steps.filter((s) => s.id !== "reboot");
      for (const step of left) await executeStep(ctx, step);
      if (left.length > 0) ({ gathered } = await replan(entry, deps, ctx));
    } else if (ctx.completed.length > 0) ({ gathered } = await replan(entry, deps, ctx));
    if (rebooted) await rollBackIfNotLoaded(ctx, gathered.facts);
    const verification = verifyHost(entry, gathered.facts, deps.doctor);
    return {
      host: plan.host,
      applied: ctx.completed,
      reboots,
      rebooted,
      verified: verification.ok,
      verification,
      plan: firstPlan,
      next: verification.ok ? null : "run `vgpuctl doctor` to see why",
    };
  });
}

/**
 * Run `body` holding the host's lock; the lock is released however it ends (unless `body` already
 * released it), then `afterRelease` runs. A run killed in between (kill -9) leaves the lock behind —
 * the next run finds its owner dead (lock.ts).
 */
async function underLock<T>(
  deps: RunDeps,
  command: string,
  now: () => Date,
  body: (lock: LockHandle) => Promise<T>,
  afterRelease?: () => Promise<void>,
): Promise<T> {
  const lock = await acquireLock(deps.host, { ...deps.lock, command, now });
  try {
    return await body(lock);
  } finally {
    if (!lock.released) {
      await lock.release();
      await afterRelease?.();
    }
  }
}

/**
 * A step the interrupted run already completed, unchanged (same id and title: the title names what it
 * installs or writes): not done again. A step the current plan changed runs.
 */
function doneInThisRun(journal: Journal, run: string, step: Step): boolean {
  if (!journal.inProgress) return false;
  return journal.entries.some((e) => e.run === run && e.id === step.id && e.title === step.title);
}

/** The journal's interrupted step is not one the plan has (planHost put that very step first). */
function resumesAlone(plan: Plan, step: Step): boolean {
  return plan.steps[0] === step;
}

async function replan(
  entry: HostEntry,
  deps: PlanDeps,
  ctx: ExecContext,
): Promise<{ plan: Plan; gathered: Gathered; journal: Journal }> {
  const r = await planHost(entry, deps, { doctor: false });
  ctx.journal = r.journal;
  ctx.bootId = r.bootId;
  return r;
}

export interface UninstallResult {
  host: string;
  undone: string[];
  reboots: number;
  rebooted: boolean;
  /** nothing was recorded: vgpuctl never changed this host */
  nothingToDo: boolean;
  plan: Plan;
  next: string | null;
}

/** Build the uninstall plan from the journal and the backups on the host. Read-only. */
export async function planUninstall(
  host: Host,
  now: () => Date = () => new Date(),
): Promise<{ plan: Plan; journal: Journal }> {
  const journal = await loadJournal(host, now());
  const originals: Record<string, string | null> = {};
  const current: Record<string, string | null> = {};
  // every backed-up file and its backup in one round trip (a backup's checksum is in the journal)
  const recs = Object.entries(journal.backups);
  const read = await readFiles(host, [
    ...recs.map(([p]) => p),
    ...recs.flatMap(([, r]) => (r.existed && r.backup ? [r.backup] : [])),
  ]);
  const backupOk = (rec: BackupRecord, c: string | null) =>
    c !== null && (rec.sha256 === null || sha256(c) === rec.sha256);
  for (const [path, rec] of recs) {
    current[path] = read.get(path) ?? null;
    if (rec.existed) {
      let content = rec.backup ? (read.get(rec.backup) ?? null) : null;
      // not what was backed up (as the capture saw it): read it again, plainly
      if (rec.backup && !backupOk(rec, content)) content = await host.readFile(rec.backup);
      if (content === null)
        throw new UserError(
          `the backup of ${path} (${rec.backup}) is missing on ${host.name}`,
          "restore it by hand; nothing was changed",
        );
      originals[path] = content;
    } else originals[path] = null;
  }
  const pending = await pendingPackages(host, journal);
  const plan = buildUninstallPlan(host.name, journal, originals, current, pending);
  await withVmVgpuLines(host, journal, plan);
  plan.notes.push(...(await packageNotes(host, broughtBy(journal, pending))));
  return { plan, journal };
}

/** Packages an apply step that died after apt ran brought in: dpkg's list now minus the journalled baseline. */
async function pendingPackages(host: Host, journal: Journal): Promise<string[]> {
  const step = journal.inProgress?.mode === "apply" ? journal.inProgress.step : null;
  const before = step ? journal.packagesBefore?.[step.id] : undefined;
  if (!before) return [];
  const r = await host.exec(DPKG_LIST);
  if (r.exitCode !== 0)
    throw new UserError(
      `\`dpkg-query -W\` failed on ${host.name} (exit ${r.exitCode})`,
      r.stderr.trim() || "run it by hand to see why",
    );
  return newlyInstalled(new Set(before), installedNames(r.stdout));
}

/** Everything the journal says apply brought in (completed steps and the interrupted one). */
function broughtBy(journal: Journal, pending: string[]): Brought {
  const step = journal.inProgress?.mode === "apply" ? journal.inProgress.step : null;
  const asked = step?.changes.flatMap((c) => (c.kind === "package" && "install" in c ? c.install : [])) ?? [];
  const installed = [...journal.entries.flatMap((e) => e.installedPackages), ...pending];
  const requested = [
    ...journal.entries.flatMap((e) => e.requestedPackages ?? e.installedPackages),
    ...pending.filter((p) => asked.includes(p)),
  ];
  return { installed: [...new Set(installed)], requested: [...new Set(requested)] };
}

/**
 * The plan's words on packages, from dpkg's list and apt's manual marks now (read-only). A host that cannot
 * answer (a bundle) gets the general rule and the reason.
 */
async function packageNotes(host: Host, b: Brought): Promise<string[]> {
  if (b.installed.length === 0) return [];
  const dpkg = await host.exec(DPKG_LIST);
  const marks = dpkg.exitCode === 0 ? await host.exec(["apt-mark", "showmanual", ...b.installed]) : dpkg;
  if (marks.exitCode !== 0)
    return [
      `packages apply brought in (${b.installed.join(", ")}) are removed except those something still needs or someone marked manually installed since; which ones could not be read now (\`${dpkg.exitCode !== 0 ? "dpkg-query -W" : "apt-mark showmanual"}\` exited with ${marks.exitCode})`,
    ];
  const manual = new Set(
    marks.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean),
  );
  return packagesPlanNotes(b, installedNames(dpkg.stdout), manual);
}

/** VMs left with lines for vGPUs the uninstall takes away: named, and their lines removed first. */
async function withVmVgpuLines(host: Host, journal: Journal, plan: Plan): Promise<void> {
  const leftovers = await vmVgpuLeftovers(host, journal);
  if (leftovers.length === 0) return;
  const backups = await readFiles(
    host,
    leftovers.map((l) => vmBackupPath(l.vmid)),
  );
  plan.steps.unshift(removeVmVgpusStep(leftovers, backups));
  plan.notes.push(
    `${leftovers.length === 1 ? "VM" : "VMs"} ${leftovers.map((l) => l.vmid).join(", ")} ${leftovers.length === 1 ? "uses" : "use"} vGPUs that no longer exist once the driver is removed (${leftovers
      .flatMap((l) => l.lines.map((h) => `${l.vmid}: hostpci${h.index}: ${h.raw}`))
      .join(
        "; ",
      )}): uninstall removes those lines after copying each config to ${VM_BACKUP_DIR}/; answer no (or leave out --yes) to keep them`,
  );
}

export async function uninstallHost(deps: RunDeps, opts: { reboot: boolean }): Promise<UninstallResult> {
  const { host } = deps;
  const now = deps.now ?? (() => new Date());
  if (host.readOnly) throw new ReadOnlyHostError(host.spec);
  const { plan, journal } = await planUninstall(host, now);
  const nothing =
    plan.steps.length === 0 && Object.keys(journal.backups).length === 0 && journal.entries.length === 0;
  if (nothing && !(await host.readFile(JOURNAL_PATH)))
    return { host: plan.host, undone: [], reboots: 0, rebooted: false, nothingToDo: true, plan, next: null };
  return underLock(
    deps,
    "uninstall",
    now,
    (lock) => undoAll(deps, opts, plan, journal, now, lock),
    // a run that stopped with its journal gone leaves no empty state folder behind
    async () => {
      if (!(await host.readFile(JOURNAL_PATH))) await removeTree(host, STATE_DIR);
    },
  );
}

/** The uninstall proper, under the lock: undo steps, then vgpuctl's own state, then the reboot. */
async function undoAll(
  deps: RunDeps,
  opts: { reboot: boolean },
  plan: Plan,
  journal: Journal,
  now: () => Date,
  lock: LockHandle,
): Promise<UninstallResult> {
  const { host } = deps;
  journal.uninstall ??= { regenerate: [], reboot: false };
  if (journal.inProgress?.mode === "apply") {
    // an apply step that never completed: its files are restored below; its regeneration is owed too
    for (const c of journal.inProgress.step.undo.regenerate)
      if (!journal.uninstall.regenerate.some((r) => r.join("\0") === c.join("\0")))
        journal.uninstall.regenerate.push(c);
    journal.uninstall.reboot ||= journal.inProgress.step.reboot;
  }
  journal.inProgress = null; // undo steps are rebuilt from the journal on every run
  const ctx: ExecContext = {
    host,
    journal,
    now,
    mode: "undo",
    log: deps.log,
    completed: [],
    // the undone entry leaves the journal in the same write that completes its undo step
    beforeComplete: (step: Step) => {
      const j = ctx.journal;
      if (step.id.startsWith("undo-")) {
        const id = step.id.slice(5);
        if (j.inProgress === null && j.entries.length > 0 && j.entries[j.entries.length - 1]!.id === id) {
          const e = j.entries.pop()!;
          for (const c of e.undo.regenerate)
            if (!j.uninstall!.regenerate.some((r) => r.join("\0") === c.join("\0")))
              j.uninstall!.regenerate.push(c);
          j.uninstall!.reboot ||= e.reboot;
        }
      }
      if (step.id === "regenerate") j.uninstall!.regenerate = [];
    },
    afterStep: () => lock.heartbeat(),
  };
  await saveJournal(host, journal, now());
  for (const step of plan.steps) await executeStep(ctx, step);
  const rebootNeeded = plan.reboots > 0 || ctx.journal.uninstall?.reboot === true;
  // Everything is back: remove vgpuctl's own state (backups, journal; the lock last).
  for (const rec of Object.values(ctx.journal.backups)) if (rec.backup) await host.remove(rec.backup);
  await removeTree(host, BACKUP_DIR);
  await host.remove(JOURNAL_PATH);
  let rebooted = false;
  if (rebootNeeded && opts.reboot) {
    await lock.release();
    await removeTree(host, STATE_DIR);
    deps.log?.(`↻ rebooting ${host.name}`);
    await host.reboot();
    rebooted = true;
  }
  return {
    host: plan.host,
    undone: ctx.completed,
    reboots: rebootNeeded ? 1 : 0,
    rebooted,
    nothingToDo: false,
    plan,
    next: rebootNeeded && !rebooted ? `reboot ${host.name} to finish (or re-run with --reboot)` : null,
  };
}

/** Remove a directory vgpuctl owns, deepest entries first (Host.remove takes one path). */
async function removeTree(host: Host, dir: string): Promise<void> {
  const names = await host.list(dir);
  if (names === null) return;
  for (const n of names) {
    const p = `${dir}/${n}`;
    const st = await host.stat(p);
    if (st?.type === "dir") await removeTree(host, p);
    else if (p !== LOCK_PATH) await host.remove(p);
  }
  if (dir !== STATE_DIR || (await host.list(dir))?.length === 0) await host.remove(dir);
}
