/**
 * Runs plan steps through a Host: atomic file writes with the original backed up (content +
 * sha256) first, the journal written after every step, packages recorded when vgpuctl installed them.
 * Faults can be injected (crash after step N, or in the middle of step N) to test resumption.
 */
import { formatCommand } from "../hosts/capture.ts";
import type { ExecResult, Host } from "../hosts/host.ts";
import type { Change, Step } from "../plan/types.ts";
import { UserError } from "../util/errors.ts";
import { backupPathFor, type Journal, readBootId, saveJournal, sha256 } from "./journal.ts";

export interface Faults {
  /** Simulate a kill right after the Nth step (1-based, counted per executor run) completed. */
  crashAfterStep?: number;
  /** Simulate a kill after the first change of the Nth step (the step stays "in progress"). */
  crashInStep?: number;
}

/** Thrown by an injected fault: the run "died"; its lock is deliberately left behind. */
export class InjectedCrash extends Error {
  constructor(where: string) {
    super(`injected crash ${where}`);
    this.name = "InjectedCrash";
  }
}

export class StepFailedError extends UserError {
  constructor(
    readonly step: Step,
    readonly detail: string,
    readonly completed: string[],
  ) {
    super(
      `step "${step.id}" (${step.title}) failed: ${detail}`,
      `${completed.length > 0 ? `completed before it: ${completed.join(", ")}. ` : ""}Everything done so far is recorded in the journal; fix the cause and re-run apply (it resumes with "${step.id}"), or run \`vgpuctl uninstall\` to revert.`,
    );
    this.name = "StepFailedError";
  }
}

export interface ExecContext {
  host: Host;
  journal: Journal;
  now: () => Date;
  /** apply: back up originals and append journal entries; undo: restore, no new backups */
  mode: "apply" | "undo";
  faults?: Faults;
  /** called after each completed step (lock heartbeat, progress output) */
  afterStep?: (step: Step) => Promise<void>;
  log?: (line: string) => void;
  /** Step ids completed by this run, for error messages */
  completed: string[];
  /** Counter for fault injection */
  stepCount: number;
}

/** Run one step to completion (idempotent: a re-run after a crash converges). */
export async function executeStep(ctx: ExecContext, step: Step): Promise<void> {
  const { host, journal } = ctx;
  const index = ++ctx.stepCount;
  journal.inProgress = { step, mode: ctx.mode, startedAt: ctx.now().toISOString() };
  await saveJournal(host, journal, ctx.now());
  ctx.log?.(`→ ${step.title}`);
  const installed: string[] = [];
  const files: string[] = [];
  let n = 0;
  for (const change of step.changes) {
    await applyChange(ctx, step, change, installed, files);
    n++;
    if (ctx.faults?.crashInStep === index && n === 1)
      throw new InjectedCrash(`in step ${index} (${step.id})`);
  }
  if (ctx.mode === "apply") {
    journal.entries.push({
      id: step.id,
      title: step.title,
      completedAt: ctx.now().toISOString(),
      reboot: step.reboot,
      undo: step.undo,
      installedPackages: installed,
      files,
    });
  }
  if (step.reboot) journal.reboot = { required: true, bootId: await readBootId(host) };
  journal.inProgress = null;
  await saveJournal(host, journal, ctx.now());
  ctx.completed.push(step.id);
  await ctx.afterStep?.(step);
  if (ctx.faults?.crashAfterStep === index) throw new InjectedCrash(`after step ${index} (${step.id})`);
}

async function applyChange(
  ctx: ExecContext,
  step: Step,
  change: Change,
  installed: string[],
  files: string[],
): Promise<void> {
  const { host, journal } = ctx;
  switch (change.kind) {
    case "file": {
      const current = await host.readFile(change.path);
      files.push(change.path);
      if (current === change.after) return; // already done (a resumed step)
      if (current !== change.before)
        throw new StepFailedError(
          step,
          `${change.path} changed since the plan was made (expected ${describe(change.before)}, found ${describe(current)})`,
          ctx.completed,
        );
      if (ctx.mode === "apply" && !journal.backups[change.path]) {
        const st = current === null ? null : await host.stat(change.path);
        const backup = current === null ? null : backupPathFor(change.path);
        if (backup !== null && current !== null) {
          await host.writeFile(backup, current, { mode: 0o600 });
          const check = await host.readFile(backup);
          if (check === null || sha256(check) !== sha256(current))
            throw new StepFailedError(
              step,
              `the backup of ${change.path} could not be verified (${backup})`,
              ctx.completed,
            );
        }
        journal.backups[change.path] = {
          existed: current !== null,
          sha256: current === null ? null : sha256(current),
          backup,
          mode: st ? st.mode & 0o7777 : null,
          writtenSha256: null,
          step: step.id,
        };
        // The backup is recorded before the original is touched.
        await saveJournal(host, journal, ctx.now());
      }
      if (change.after === null) await host.remove(change.path);
      else {
        const mode = change.mode ?? journal.backups[change.path]?.mode ?? undefined;
        await host.writeFile(
          change.path,
          change.after,
          mode !== undefined && mode !== null ? { mode } : undefined,
        );
      }
      const rec = journal.backups[change.path];
      if (rec && ctx.mode === "apply")
        rec.writtenSha256 = change.after === null ? null : sha256(change.after);
      return;
    }
    case "package": {
      if ("install" in change) {
        await run(ctx, step, ["apt-get", "install", "-y", ...change.install]);
        installed.push(...change.install);
      } else await run(ctx, step, ["apt-get", "remove", "-y", ...change.remove]);
      return;
    }
    case "command":
      await run(ctx, step, change.argv);
      return;
  }
}

async function run(ctx: ExecContext, step: Step, argv: string[]): Promise<ExecResult> {
  ctx.log?.(`  $ ${formatCommand(argv)}`);
  const r = await ctx.host.exec(argv);
  if (r.exitCode !== 0) {
    const tail = `${r.stderr || r.stdout}`.trim().split("\n").slice(-5).join("\n    ");
    throw new StepFailedError(
      step,
      `\`${formatCommand(argv)}\` exited with ${r.exitCode}${r.exitCode === 127 ? " (command not found)" : ""}${tail ? `:\n    ${tail}` : ""}`,
      ctx.completed,
    );
  }
  return r;
}

function describe(c: string | null): string {
  return c === null ? "no file" : `${c.length} bytes, sha256 ${sha256(c).slice(0, 12)}…`;
}
