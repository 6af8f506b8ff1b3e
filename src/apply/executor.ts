/**
 * Runs plan steps through a Host: atomic file writes with the original backed up (content +
 * sha256) first, the journal written after every step, packages recorded when vgpuctl installed them.
 * Faults are injected at the Host boundary (src/hosts/fault-host.ts), never here.
 */
import { randomBytes } from "node:crypto";
import { formatCommand } from "../facts/capture.ts";
import type { ExecResult, Host } from "../hosts/host.ts";
import type { Change, Step } from "../plan/types.ts";
import { UserError } from "../util/errors.ts";
import { backupPathFor, type Journal, readBootId, saveJournal, sha256 } from "./journal.ts";
import { DPKG_LIST, installedNames, newlyInstalled, removeUnneeded } from "./packages.ts";

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
  /** called after each completed step (lock heartbeat, progress output) */
  afterStep?: (step: Step) => Promise<void>;
  log?: (line: string) => void;
  /** Step ids completed by this run, for error messages */
  completed: string[];
  /**
   * The current boot's id when known (read once per boot, e.g. by the gather capture); undefined =
   * read it from the host when a step needs it.
   */
  bootId?: string | null;
  /** Secrets the user gave for this run (Change.stdinSecret); kept in memory only. */
  secrets?: Secrets;
  /** Called when a step completed, before the journal saying so is written (may edit the journal). */
  beforeComplete?: (step: Step) => void;
  /** The apply run (journal entries and the step in progress carry it, so a resume knows what it did) */
  run?: string;
}

/**
 * Current content of several files. On a host that batches (Host.batches: ssh) in ONE round trip: Host.capture of just
 * these paths, plus their permission bits (`stat -c %a`) into `modes` when asked. Content the capture
 * could not read exactly (unreadable, truncated, binary) is read again with Host.readFile, and so is
 * a path whose captured content is none of `expect(path)` (the plan's before/after): a surprise is
 * always confirmed by a plain read before anything depends on it. Other hosts read file by file.
 */
export async function readFiles(
  host: Host,
  paths: readonly string[],
  expect: (path: string) => Array<string | null> = () => [],
  modes?: Map<string, number>,
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  const unique = [...new Set(paths)];
  if (!host.batches || unique.length === 0 || (unique.length === 1 && !modes)) {
    for (const p of unique) out.set(p, await host.readFile(p));
    return out;
  }
  const statOf = (p: string) => ["stat", "-L", "-c", "%a", p];
  const cap = await host.capture({
    commands: modes ? unique.map(statOf) : [],
    paths: unique,
    nvidiaSysfs: false,
  });
  const incomplete = cap.notes.some((n) => /incomplete|cut short/.test(n));
  for (const p of unique) {
    const doubtful = incomplete || cap.notes.some((n) => n.includes(p));
    const got = p in cap.files ? cap.files[p]! : null;
    const expected = expect(p);
    out.set(p, !doubtful && (expected.length === 0 || expected.includes(got)) ? got : await host.readFile(p));
    const st = cap.commands.find((c) => c.cmd === formatCommand(statOf(p)));
    if (modes && st?.exitCode === 0 && /^[0-7]{3,4}$/.test(st.stdout.trim()))
      modes.set(p, Number.parseInt(st.stdout.trim(), 8));
  }
  return out;
}

type FileChange = Extract<Change, { kind: "file" }>;

/**
 * Run one step to completion (idempotent: a re-run after a crash converges).
 *
 * Order, per step: the files it changes are read (one round trip for all of them) and checked
 * against the plan; the originals are backed up (written, then read back and checksummed); the
 * journal is written naming the step as in progress together with those backups, before any
 * original is touched; then the changes run in order (files written atomically by Host.writeFile);
 * last the journal records the step as completed.
 */
export async function executeStep(ctx: ExecContext, step: Step): Promise<void> {
  const { host, journal } = ctx;
  // File changes before the step's first command, each path once: read up front (a command could
  // change a later file, so those are read when their turn comes).
  const lead: FileChange[] = [];
  for (const c of step.changes) {
    if (c.kind !== "file" || lead.some((l) => l.path === c.path)) break;
    lead.push(c);
  }
  const modes = new Map<string, number>();
  const current = await readFiles(
    host,
    lead.map((c) => c.path),
    (p) => {
      const c = lead.find((l) => l.path === p)!;
      return [c.before, c.after];
    },
    ctx.mode === "apply" ? modes : undefined,
  );
  for (const c of lead) checkCurrent(ctx, step, c, current.get(c.path) ?? null);
  if (ctx.mode === "apply")
    await backUp(
      ctx,
      step,
      lead
        .filter((c) => current.get(c.path) !== c.after)
        .map((c) => ({ path: c.path, content: current.get(c.path) ?? null })),
      modes,
    );
  journal.inProgress = {
    step,
    mode: ctx.mode,
    startedAt: ctx.now().toISOString(),
    ...(ctx.run ? { run: ctx.run } : {}),
  };
  await saveJournal(host, journal, ctx.now());
  ctx.log?.(`→ ${step.title}`);
  const installed: PackagesBrought = { installed: [], requested: [] };
  const files: string[] = [];
  for (let i = 0; i < step.changes.length; ) {
    const change = step.changes[i]!;
    const pre = lead.includes(change as FileChange) ? (change as FileChange) : null;
    // consecutive commands run in one round trip on a remote host (runBatch keeps each one's result)
    let run = 0;
    while (i + run < step.changes.length && batchable(step.changes[i + run]!)) run++;
    if (pre) await writeChange(ctx, pre, current.get(pre.path) ?? null, files);
    else if (run > 1 && host.batches) {
      const cmds = step.changes.slice(i, i + run) as BatchableChange[];
      const asked = cmds.flatMap((c) => (c.kind === "package" && "install" in c ? c.install : []));
      await tracking(ctx, step, asked, installed, () => runBatch(ctx, step, cmds.map(commandOf)));
    } else {
      run = 1;
      await applyChange(ctx, step, change, installed, files);
    }
    i += Math.max(run, 1);
  }
  const bootId = ctx.bootId !== undefined ? ctx.bootId : await readBootId(host);
  if (ctx.mode === "apply") {
    journal.entries.push({
      id: step.id,
      title: step.title,
      completedAt: ctx.now().toISOString(),
      reboot: step.reboot,
      undo: step.undo,
      installedPackages: installed.installed,
      requestedPackages: installed.requested,
      files,
      ...(step.fixes?.length ? { fixes: step.fixes } : {}),
      bootId,
      ...(ctx.run ? { run: ctx.run } : {}),
    });
  }
  if (journal.packagesBefore?.[step.id]) {
    const { [step.id]: _done, ...rest } = journal.packagesBefore;
    journal.packagesBefore = Object.keys(rest).length > 0 ? rest : undefined;
  }
  if (step.reboot) journal.reboot = { required: true, bootId };
  journal.inProgress = null;
  ctx.beforeComplete?.(step);
  await saveJournal(host, journal, ctx.now());
  ctx.completed.push(step.id);
  await ctx.afterStep?.(step);
}

/** The file must still be as the plan saw it (or already as the step leaves it: a resumed step). */
function checkCurrent(ctx: ExecContext, step: Step, change: FileChange, current: string | null): void {
  if (current === change.after || current === change.before) return;
  throw new StepFailedError(
    step,
    `${change.path} changed since the plan was made (expected ${describe(change.before)}, found ${describe(current)})`,
    ctx.completed,
  );
}

/**
 * Back up originals not backed up yet (first touch wins): each written, then all read back (one
 * round trip) and checksummed; recorded in the journal in memory (written by the caller before any
 * original is touched).
 */
async function backUp(
  ctx: ExecContext,
  step: Step,
  originals: Array<{ path: string; content: string | null }>,
  /** permission bits already known (read with the content), else stat'ed */
  modes: Map<string, number> = new Map(),
): Promise<void> {
  const { host, journal } = ctx;
  const todo = originals.filter((o) => !journal.backups[o.path]);
  const written: Array<{ path: string; backup: string; content: string; mode: number | null }> = [];
  for (const o of todo) {
    if (o.content === null) continue;
    let mode = modes.get(o.path) ?? null;
    if (mode === null) {
      const st = await host.stat(o.path);
      mode = st ? st.mode & 0o7777 : null;
    }
    const backup = backupPathFor(o.path);
    await host.writeFile(backup, o.content, { mode: 0o600 });
    written.push({ path: o.path, backup, content: o.content, mode });
  }
  const check = await readFiles(
    host,
    written.map((w) => w.backup),
    (b) => [written.find((w) => w.backup === b)!.content],
  );
  for (const w of written) {
    const got = check.get(w.backup) ?? null;
    if (got === null || sha256(got) !== sha256(w.content))
      throw new StepFailedError(
        step,
        `the backup of ${w.path} could not be verified (${w.backup})`,
        ctx.completed,
      );
  }
  for (const o of todo) {
    const w = written.find((x) => x.path === o.path);
    journal.backups[o.path] = {
      existed: o.content !== null,
      sha256: o.content === null ? null : sha256(o.content),
      backup: w?.backup ?? null,
      mode: w?.mode ?? null,
      writtenSha256: null,
      step: step.id,
    };
  }
}

/** Write (or remove) one file whose original is already backed up and recorded. */
async function writeChange(
  ctx: ExecContext,
  change: FileChange,
  current: string | null,
  files: string[],
): Promise<void> {
  const { host, journal } = ctx;
  files.push(change.path);
  if (current === change.after) return; // already done (a resumed step)
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
  if (rec && ctx.mode === "apply") rec.writtenSha256 = change.after === null ? null : sha256(change.after);
}

async function applyChange(
  ctx: ExecContext,
  step: Step,
  change: Change,
  installed: PackagesBrought,
  files: string[],
): Promise<void> {
  const { host, journal } = ctx;
  switch (change.kind) {
    case "file": {
      const current = await host.readFile(change.path);
      checkCurrent(ctx, step, change, current);
      if (current !== change.after && ctx.mode === "apply" && !journal.backups[change.path]) {
        await backUp(ctx, step, [{ path: change.path, content: current }]);
        // The backup is recorded before the original is touched.
        await saveJournal(host, journal, ctx.now());
      }
      await writeChange(ctx, change, current, files);
      return;
    }
    case "package": {
      if ("removeUnneeded" in change) {
        const d = await removeUnneeded((argv) => run(ctx, step, argv), change.removeUnneeded, change.manual);
        if (d.keep.length > 0)
          ctx.log?.(
            `  kept ${d.keep.join(" ")}: another installed package needs them, or they were installed on purpose`,
          );
        return;
      }
      const asked = "install" in change ? change.install : [];
      await tracking(ctx, step, asked, installed, () => run(ctx, step, commandOf(change)));
      return;
    }
    case "command":
      await run(ctx, step, change.argv, change.stdinSecret);
      return;
  }
}

/** Changes that run as one plain command each (a batch can hold several). */
type BatchableChange = Exclude<Change, FileChange | { removeUnneeded: string[] }>;

function batchable(c: Change): c is BatchableChange {
  return c.kind === "command" || (c.kind === "package" && !("removeUnneeded" in c));
}

/** What an apply step's installs newly brought onto the host (dependencies too), and which of them it named. */
interface PackagesBrought {
  installed: string[];
  requested: string[];
}

/**
 * Run `work`; when it installs packages (`asked` not empty) in an apply, read the dpkg database before and
 * after on the host and record what is new (issue 13 #10: uninstall removes exactly these).
 */
async function tracking(
  ctx: ExecContext,
  step: Step,
  asked: string[],
  into: PackagesBrought,
  work: () => Promise<unknown>,
): Promise<void> {
  if (asked.length === 0 || ctx.mode !== "apply") {
    await work();
    return;
  }
  const before = await packagesBaseline(ctx, step);
  await work();
  const after = installedNames((await run(ctx, step, DPKG_LIST, undefined, true)).stdout);
  for (const p of newlyInstalled(before, after)) {
    if (into.installed.includes(p)) continue;
    into.installed.push(p);
    if (asked.includes(p)) into.requested.push(p);
  }
}

/** What dpkg listed before the step's first install: read once and journalled before apt runs. */
async function packagesBaseline(ctx: ExecContext, step: Step): Promise<Set<string>> {
  const { journal } = ctx;
  const known = journal.packagesBefore?.[step.id];
  if (known) return new Set(known);
  const now = installedNames((await run(ctx, step, DPKG_LIST, undefined, true)).stdout);
  journal.packagesBefore = { ...journal.packagesBefore, [step.id]: [...now] };
  await saveJournal(ctx.host, journal, ctx.now());
  return now;
}

function commandOf(change: BatchableChange): string[] {
  if (change.kind === "command") return change.argv;
  return "install" in change
    ? ["apt-get", "install", "-y", ...change.install]
    : ["apt-get", "remove", "-y", ...change.remove];
}

/**
 * Several commands in ONE round trip: a `sh -c` script that runs them in order (stdin from
 * /dev/null, as a separate exec would get nothing either), stops at the first that fails and exits
 * with its code. A random marker line before each command on stdout and stderr splits the output
 * per command, so a failure is reported exactly as a separate exec would be: which command, its exit
 * code, its own last lines of output.
 */
async function runBatch(ctx: ExecContext, step: Step, argvs: string[][]): Promise<void> {
  const mark = `VGPUCTL${randomBytes(9).toString("hex")}`;
  const script = [
    `M=${mark}`,
    ...argvs.map(
      (argv, i) =>
        `printf '\\n%s %s\\n' "$M" ${i}; printf '\\n%s %s\\n' "$M" ${i} >&2; ${formatCommand(argv)} </dev/null; r=$?; [ "$r" -eq 0 ] || exit "$r"`,
    ),
    "exit 0",
  ].join("\n");
  for (const argv of argvs) ctx.log?.(`  $ ${formatCommand(argv)}`);
  const r = await ctx.host.exec(["sh", "-c", script]);
  if (r.exitCode === 0) return;
  const split = (text: string) => {
    const parts = new Map<number, string>();
    const re = new RegExp(`\\n${mark} (\\d+)\\n`, "g");
    let last: { i: number; from: number } | null = null;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (last) parts.set(last.i, text.slice(last.from, m.index));
      last = { i: Number(m[1]), from: m.index + m[0].length };
    }
    if (last) parts.set(last.i, text.slice(last.from));
    return parts;
  };
  const out = split(r.stdout);
  const err = split(r.stderr);
  // the failing command is the last one that started
  const failed = Math.max(-1, ...out.keys(), ...err.keys());
  if (failed < 0) fail(ctx, step, ["sh", "-c", "…"], r); // the shell itself did not run
  fail(ctx, step, argvs[failed]!, {
    stdout: out.get(failed) ?? "",
    stderr: err.get(failed) ?? "",
    exitCode: r.exitCode,
  });
}

function fail(ctx: ExecContext, step: Step, argv: string[], r: ExecResult): never {
  const tail = `${r.stderr || r.stdout}`.trim().split("\n").slice(-5).join("\n    ");
  throw new StepFailedError(
    step,
    `\`${formatCommand(argv)}\` exited with ${r.exitCode}${r.exitCode === 127 ? " (command not found)" : ""}${tail ? `:\n    ${tail}` : ""}`,
    ctx.completed,
  );
}

async function run(
  ctx: ExecContext,
  step: Step,
  argv: string[],
  secret?: "mok-password",
  quiet = false,
): Promise<ExecResult> {
  if (!quiet) ctx.log?.(`  $ ${formatCommand(argv)}`);
  const r = await ctx.host.exec(argv, secret ? { input: await secretInput(ctx, step, secret) } : undefined);
  if (r.exitCode !== 0) fail(ctx, step, argv, r);
  return r;
}

/**
 * Secrets for one run, memory only: the MOK password given up front (VGPUCTL_MOK_PASSWORD / --mok-password-file), or
 * asked on the terminal when a step first needs it (cli/secret-prompt.ts: hidden, never echoed or logged).
 */
export interface Secrets {
  mokPassword?: string;
  askMokPassword?: () => Promise<string>;
}

/** A secret the user gave for this run, as the command reads it (twice, as mokutil asks) — never logged. */
async function secretInput(ctx: ExecContext, step: Step, secret: "mok-password"): Promise<string> {
  const s = ctx.secrets;
  if (secret === "mok-password" && s && !s.mokPassword && s.askMokPassword)
    s.mokPassword = await s.askMokPassword();
  const pw = secret === "mok-password" ? s?.mokPassword : undefined;
  if (!pw)
    throw new StepFailedError(
      step,
      "no MOK password given (VGPUCTL_MOK_PASSWORD or --mok-password-file)",
      ctx.completed,
    );
  return `${pw}\n${pw}\n`;
}

function describe(c: string | null): string {
  return c === null ? "no file" : `${c.length} bytes, sha256 ${sha256(c).slice(0, 12)}…`;
}
