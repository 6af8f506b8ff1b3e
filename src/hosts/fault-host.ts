/**
 * Fault injection at the Host boundary: a decorator around any Host that makes the client process
 * die, or an operation fail, at a chosen point. The one fault mechanism for apply/uninstall tests and
 * for `vgpuctl sim fault NAME SPEC` / $VGPUCTL_SIM_FAULT (src/hosts/open.ts wraps simulated hosts in
 * it); production code (src/apply) has no fault hooks. What a *host* does wrong (a program failing, a
 * dropped connection) is the simulator's (src/hosts/sim/inject.ts); what happens to the *client*
 * lives here.
 *
 * Specs (separated by "," or spaces):
 *   crash-after:N         die right after the Nth plan step is journaled complete: the Nth write of
 *                         vgpuctl's journal (/var/lib/vgpuctl/journal.json, src/apply/journal.ts) that
 *                         ends a step (its `inProgress` turns null) — the host-visible step boundary
 *   crash-before:PROG     die when PROG is about to be run (exec), in the middle of a step
 *   crash-after-write:N   die right after the Nth write (writeFile, createExclusive, remove)
 *   crash-after-exec:N    die right after the Nth exec has run on the host
 *   fail-write:N          the Nth write fails (throws as a full disk would), nothing written
 *   fail-exec:N           the Nth exec does not run and reports failure (exit 1)
 *
 * "Die" models `kill -9`: by default the process SIGKILLs itself (the host keeps what it did so far;
 * nothing of vgpuctl runs after — no catch, no finally, no lock release). In-process tests choose
 * `die: "throw"`: the operation throws HostDied and every later operation on this host throws it too,
 * so nothing the dead run's unwinding tries reaches the host.
 */
import type { Capture, CaptureSpec } from "../facts/capture.ts";
import type { ExecOptions, ExecResult, FileStat, Host, HostKind } from "./host.ts";

/** What vgpuctl writes when a step's state changes (src/apply/journal.ts JOURNAL_PATH). */
const JOURNAL = "/var/lib/vgpuctl/journal.json";

export type HostOp =
  | { kind: "exec"; argv: readonly string[] }
  | { kind: "write"; path: string; content: string | null };

/** Where a fault strikes: before the operation (it never happens) or after it (it happened). */
export interface FaultTrigger {
  /** Before `op` runs: "die", "fail", or null to let it run. */
  before?: (op: HostOp) => "die" | "fail" | null;
  /** After `op` ran: "die" or null. */
  after?: (op: HostOp) => "die" | null;
}

export interface ClientFaults {
  crashAfterStep: number | null;
  crashBefore: string[];
  crashAfterWrite: number | null;
  crashAfterExec: number | null;
  failWrite: number | null;
  failExec: number | null;
}

const CLIENT_KINDS = [
  "crash-after",
  "crash-before",
  "crash-after-write",
  "crash-after-exec",
  "fail-write",
  "fail-exec",
];

/** Split specs into the client faults (this module's) and the rest (for the simulated host). */
export function parseClientFaults(specs: readonly string[]): { faults: ClientFaults; rest: string[] } {
  const faults: ClientFaults = {
    crashAfterStep: null,
    crashBefore: [],
    crashAfterWrite: null,
    crashAfterExec: null,
    failWrite: null,
    failExec: null,
  };
  const rest: string[] = [];
  for (const spec of specs.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean)) {
    const [kind, a, extra] = spec.split(":");
    const n = a !== undefined && /^\d+$/.test(a) && Number(a) > 0 ? Number(a) : null;
    if (!CLIENT_KINDS.includes(kind!) || extra !== undefined || (kind === "crash-before" ? !a : n === null)) {
      rest.push(spec);
      continue;
    }
    if (kind === "crash-before") faults.crashBefore.push(a!);
    else if (kind === "crash-after") faults.crashAfterStep = n;
    else if (kind === "crash-after-write") faults.crashAfterWrite = n;
    else if (kind === "crash-after-exec") faults.crashAfterExec = n;
    else if (kind === "fail-write") faults.failWrite = n;
    else faults.failExec = n;
  }
  return { faults, rest };
}

export function hasClientFaults(f: ClientFaults): boolean {
  return Object.values(f).some((v) => (Array.isArray(v) ? v.length > 0 : v !== null));
}

/**
 * The program name a fault spec's PROG matches for this argv (crash-before:PROG here, fail:PROG in the
 * simulator): the base name ("/usr/sbin/update-grub" → "update-grub"), through `env VAR=… PROG`;
 * "nvidia-installer" names `sh <driver>.run` (not --apply-patch).
 */
export function faultProgram(argv: readonly string[]): string {
  const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
  const prog = base(argv[0] ?? "");
  if ((prog === "sh" || prog === "bash") && /\.run$/.test(argv[1] ?? "") && !argv.includes("--apply-patch"))
    return "nvidia-installer";
  if (prog === "env") {
    let i = 1;
    while (i < argv.length && (argv[i]!.startsWith("-") || argv[i]!.includes("=")))
      i += argv[i] === "-C" ? 2 : 1;
    return i < argv.length ? faultProgram(argv.slice(i)) : prog;
  }
  return prog;
}

/** Does this journal text record no step in progress? (null: not a journal vgpuctl wrote) */
function noStepInProgress(text: string | null): boolean | null {
  if (text === null) return null;
  try {
    const j = JSON.parse(text) as { inProgress?: unknown };
    return j && typeof j === "object" ? j.inProgress == null : null;
  } catch (e) {
    if (e instanceof SyntaxError) return null; // not JSON: not a journal write at a step boundary
    throw e;
  }
}

/** The trigger the parsed specs describe (counts are per FaultHost, i.e. per process). */
export function triggerFor(f: ClientFaults): FaultTrigger {
  let writes = 0;
  let execs = 0;
  let stepOpen = false;
  let stepsDone = 0;
  return {
    before(op) {
      if (op.kind === "exec") {
        if (f.crashBefore.includes(faultProgram(op.argv))) return "die";
        return ++execs === f.failExec ? "fail" : null;
      }
      return ++writes === f.failWrite ? "fail" : null;
    },
    after(op) {
      if (op.kind === "exec") return execs === f.crashAfterExec ? "die" : null;
      if (writes === f.crashAfterWrite) return "die";
      if (op.path !== JOURNAL) return null;
      const idle = noStepInProgress(op.content);
      if (idle === null) return null;
      const finished = stepOpen && idle;
      stepOpen = !idle;
      return finished && ++stepsDone === f.crashAfterStep ? "die" : null;
    },
  };
}

/** The client process "died" here (FaultHost with die: "throw"). */
export class HostDied extends Error {
  constructor(readonly where: string) {
    super(`the client died (injected fault) ${where}`);
    this.name = "HostDied";
  }
}

/** An operation that an injected fault made fail. */
export class InjectedFailure extends Error {
  constructor(where: string) {
    super(`injected failure: ${where}`);
    this.name = "InjectedFailure";
  }
}

export interface FaultHostOptions {
  /** "kill" (default): SIGKILL this process, like kill -9. "throw": HostDied, host unusable after. */
  die?: "kill" | "throw";
}

function describeOp(op: HostOp): string {
  return op.kind === "exec" ? `exec ${op.argv.join(" ")}` : `write ${op.path}`;
}

/** Any Host, with faults injected at its writes and execs (see the header). */
export class FaultHost implements Host {
  readonly kind: HostKind;
  readonly spec: string;
  readonly name: string;
  readonly readOnly: boolean;
  readonly batches?: boolean;
  readonly createExclusive?: Host["createExclusive"];
  private dead: string | null = null;

  constructor(
    readonly inner: Host,
    private readonly trigger: FaultTrigger,
    private readonly opts: FaultHostOptions = {},
  ) {
    this.kind = inner.kind;
    this.spec = inner.spec;
    this.name = inner.name;
    this.readOnly = inner.readOnly;
    if (inner.batches !== undefined) this.batches = inner.batches;
    const create = inner.createExclusive?.bind(inner);
    if (create)
      this.createExclusive = (path, content, o) =>
        this.change({ kind: "write", path, content }, () => create(path, content, o));
  }

  private die(where: string): never {
    this.dead = where;
    if ((this.opts.die ?? "kill") === "kill") process.kill(process.pid, "SIGKILL");
    throw new HostDied(where);
  }

  private alive(): void {
    if (this.dead !== null) throw new HostDied(`(already dead: ${this.dead})`);
  }

  private async change<T>(op: HostOp, run: () => Promise<T>): Promise<T> {
    this.alive();
    const verdict = this.trigger.before?.(op) ?? null;
    if (verdict === "die") this.die(`before ${describeOp(op)}`);
    if (verdict === "fail") throw new InjectedFailure(describeOp(op));
    const r = await run();
    if (this.trigger.after?.(op) === "die") this.die(`after ${describeOp(op)}`);
    return r;
  }

  async exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const op: HostOp = { kind: "exec", argv };
    this.alive();
    const verdict = this.trigger.before?.(op) ?? null;
    if (verdict === "fail")
      return { stdout: "", stderr: `${faultProgram(argv)}: failed (injected fault)\n`, exitCode: 1 };
    if (verdict === "die") this.die(`before ${describeOp(op)}`);
    const r = await this.inner.exec(argv, opts);
    if (this.trigger.after?.(op) === "die") this.die(`after ${describeOp(op)}`);
    return r;
  }

  writeFile(path: string, content: string, opts?: { mode?: number }): Promise<void> {
    return this.change({ kind: "write", path, content }, () => this.inner.writeFile(path, content, opts));
  }

  remove(path: string): Promise<void> {
    return this.change({ kind: "write", path, content: null }, () => this.inner.remove(path));
  }

  async readFile(path: string): Promise<string | null> {
    this.alive();
    return this.inner.readFile(path);
  }

  async list(path: string): Promise<string[] | null> {
    this.alive();
    return this.inner.list(path);
  }

  async stat(path: string): Promise<FileStat | null> {
    this.alive();
    return this.inner.stat(path);
  }

  async reboot(): Promise<void> {
    this.alive();
    return this.inner.reboot();
  }

  async capture(spec: CaptureSpec): Promise<Capture> {
    this.alive();
    return this.inner.capture(spec);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
