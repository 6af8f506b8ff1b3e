// node:fs's synchronous calls, not node:fs/promises: loading that module (its FileHandle, readline and
// stream parts, each function compiled at first use) costs more than a simulated inspection's own file
// work (callgrind: ~6 M instructions of `inspect --host demo`, issue 16); the state files are small.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Capture, CaptureSpec } from "../../facts/capture.ts";
import { UserError } from "../../util/errors.ts";
import { captureViaPrimitives } from "../capture-generic.ts";
import { parseClientFaults } from "../fault-host.ts";
import type { ExecOptions, ExecResult, FileStat, Host, HostKind } from "../host.ts";
import { nameClusterNode, SharedPve } from "./cluster.ts";
import { type CmdContext, runCommand } from "./commands.ts";
import {
  contentOf,
  isVirtualPath,
  listDir,
  mkdirPath,
  normalisePath,
  removePath,
  statPath,
  writePath,
} from "./fs.ts";
import { FaultState, parseFaults } from "./inject.ts";
import { noiseOn, noisyExec, noisyFile } from "./noise.ts";
import { type ReadViews, servingReads } from "./read-scope.ts";
import { findScenario, listScenarios, type ScenarioInfo } from "./scenarios/index.ts";
import { SIM_STATE_VERSION, type SimState } from "./state.ts";
import { reboot as rebootTransition } from "./transitions.ts";

export { listScenarios, type ScenarioInfo };

/** `<scenario>.json`, or `<scenario>@<copy>.json` for sim:SCENARIO@N (each copy its own state). */
function statePath(stateDir: string, scenario: string, copy?: number): string {
  return join(stateDir, copy === undefined ? `${scenario}.json` : `${scenario}@${copy}.json`);
}

function unknownScenario(name: string): UserError {
  const names = listScenarios().map((s) => s.name);
  return new UserError(
    `unknown simulated scenario "${name}"; scenarios: ${names.join(", ")}`,
    "run `vgpuctl sim list` to see them, e.g. --host sim:seed-fresh",
  );
}

/** Fresh state of a scenario (not persisted). Throws UserError for unknown names. */
export function buildScenarioState(name: string): SimState {
  const sc = findScenario(name);
  if (!sc) throw unknownScenario(name);
  return sc.build();
}

let tmpCounter = 0;

/**
 * A temp name no other write uses: process, a per-process counter and 32 random bits. Math.random
 * serves (nothing here is secret): node:crypto would be loaded at every start only for this (issue 16).
 */
function tmpName(path: string): string {
  const random = Math.floor(Math.random() * 2 ** 32)
    .toString(16)
    .padStart(8, "0");
  return `${path}.${process.pid}.${++tmpCounter}.${random}.tmp`;
}

function writeAtomic(path: string, content: string): void {
  const tmp = tmpName(path);
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Throw away the stored state of a scenario so the next open starts fresh. */
export async function resetScenario(stateDir: string, name: string): Promise<void> {
  if (!findScenario(name)) throw unknownScenario(name);
  rmSync(statePath(stateDir, name), { force: true });
}

export interface SimHostOptions {
  /**
   * Fault specs (inject.ts: what the host does wrong; client faults such as crash-after:N are
   * ignored here — src/hosts/fault-host.ts). Default: VGPUCTL_SIM_FAULT of `env` (none without it);
   * the state's `faults` always apply too.
   */
  faults?: readonly string[];
  /** The environment the host is opened from (the CLI's): where VGPUCTL_SIM_FAULT is read. */
  env?: NodeJS.ProcessEnv;
  /** Counter of host operations for drop-connection:N (default: counted per SimHost). */
  nextOp?: () => number;
}

/** The simulated connection to the host is gone (VGPUCTL_SIM_FAULT drop-connection). */
export class SimConnectionLost extends UserError {
  constructor(host: string) {
    super(
      `the connection to ${host} was lost (simulated: VGPUCTL_SIM_FAULT drop-connection)`,
      "check that the host is up, then re-run the same command: it continues where it stopped",
    );
    this.name = "SimConnectionLost";
  }
}

/**
 * Set (or clear, with []) the faults kept in a scenario's state (`vgpuctl sim fault NAME SPEC…`):
 * every later run against it gets them, in addition to $VGPUCTL_SIM_FAULT. Returns the faults now set.
 */
export async function setScenarioFaults(
  stateDir: string,
  name: string,
  specs: readonly string[],
): Promise<string[]> {
  const host = await SimHost.open(name, { stateDir, spec: `sim:${name}`, faults: [] });
  const state = host.snapshot();
  const unknown = parseFaults(parseClientFaults(specs).rest).unknown;
  if (unknown.length > 0)
    throw new UserError(
      `unknown fault ${unknown.map((u) => JSON.stringify(u)).join(", ")}`,
      "faults: fail:PROG[:N], drop-connection[:N] (the host); crash-after:N, crash-before:PROG, crash-after-write:N, crash-after-exec:N, fail-write:N, fail-exec:N (the client)",
    );
  if (specs.length === 0) delete state.faults;
  else state.faults = [...specs];
  mkdirSync(stateDir, { recursive: true });
  writeAtomic(statePath(stateDir, name), `${JSON.stringify(state, null, 2)}\n`);
  return state.faults ?? [];
}

/** The built-in simulated Proxmox VE host (DESIGN.md "Host specs": sim:SCENARIO, demo). */
export class SimHost implements Host {
  readonly kind: HostKind = "sim";
  readonly readOnly = false;
  readonly name: string;
  private readonly faults: FaultState;
  private gone = false;

  private constructor(
    readonly spec: string,
    private state: SimState,
    private readonly file: string | null,
    private readonly opts: SimHostOptions = {},
  ) {
    this.name = state.scenario;
    const specs = [
      ...(opts.faults ?? (opts.env?.VGPUCTL_SIM_FAULT ?? "").split(/[\s,]+/)),
      ...(state.faults ?? []),
    ];
    this.faults = new FaultState(parseFaults(specs.filter(Boolean)), opts.nextOp);
  }

  /** Load `<stateDir>/<scenario>.json`, or create it from the scenario definition. */
  static async open(
    scenario: string,
    opts: { stateDir: string; spec: string; copy?: number } & SimHostOptions,
  ): Promise<SimHost> {
    const sc = findScenario(scenario);
    if (!sc) throw unknownScenario(scenario);
    const file = statePath(opts.stateDir, scenario, opts.copy);
    let state: SimState | null = null;
    let raw = "";
    try {
      raw = readFileSync(file, "utf8");
      const parsed = JSON.parse(raw) as SimState;
      if (parsed && parsed.version === SIM_STATE_VERSION && parsed.scenario === scenario) state = parsed;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && !(e instanceof SyntaxError)) throw e;
    }
    const fresh = state ?? sc.build();
    if (!state && sc.cluster && opts.copy !== undefined) nameClusterNode(fresh, opts.copy);
    const host = new SimHost(opts.spec, fresh, file, opts);
    if (sc.cluster) host.shared = SharedPve.at(opts.stateDir, scenario);
    // a host only read (plan, inspect) is not written back at close (a fleet of 32 wrote 32 files)
    if (state) host.written = raw;
    if (!state) {
      mkdirSync(opts.stateDir, { recursive: true });
      await host.persist();
    }
    return host;
  }

  /** A host over an in-memory state that is never persisted (tests, previews). */
  static fromState(state: SimState, spec = `sim:${state.scenario}`, opts: SimHostOptions = {}): SimHost {
    return new SimHost(spec, state, null, { faults: [], ...opts });
  }

  /** The fault specs kept in the state (`vgpuctl sim fault`), the client's ones included. */
  get storedFaults(): readonly string[] {
    return this.state.faults ?? [];
  }

  /** A copy of the current state (for tests and `sim` tooling). */
  snapshot(): SimState {
    return JSON.parse(JSON.stringify(this.state)) as SimState;
  }

  /** The state text last written (or read): an unchanged state is not written again. */
  private written: string | null = null;
  /** copies of a cluster scenario: the /etc/pve files all nodes share (cluster.ts) */
  private shared: SharedPve | null = null;

  private async persist(): Promise<void> {
    this.shared?.push(this.state);
    if (!this.file) return;
    const text = `${JSON.stringify(this.state, null, 2)}\n`;
    if (text === this.written) return;
    writeAtomic(this.file, text);
    this.written = text;
  }

  /** Every host operation first checks the (simulated) connection. */
  private connected(): void {
    if (this.gone || this.faults.dropped()) {
      this.gone = true;
      throw new SimConnectionLost(this.name);
    }
    if (this.shared?.pull(this.state)) this.dropViews();
  }

  /** Views derived from the state while a read scope is open (read-scope.ts), else null. */
  private views: ReadViews | null = null;

  /** The state may have changed: no later read may use a view computed before. */
  private dropViews(): void {
    this.views?.clear();
  }

  /**
   * Run `reads` (host calls, e.g. a capture) in a read scope: readFile/list/stat reuse the views derived
   * from the state (read-scope.ts) until any other operation drops them. Same answers, less work.
   */
  async readScope<T>(reads: () => Promise<T>): Promise<T> {
    const opened = this.views === null;
    if (opened) this.views = new Map();
    try {
      return await reads();
    } finally {
      if (opened) this.views = null;
    }
  }

  private run(
    argv: readonly string[],
    input: string | undefined,
    cwd?: string,
  ): { r: ExecResult; changed: boolean } {
    const ctx: CmdContext = {
      state: this.state,
      changed: false,
      input,
      cwd,
      before: (a) => this.faults.beforeExec(a),
    };
    // a command may change the state (ctx.changed or not); views are not served while it runs
    this.dropViews();
    const r = runCommand(ctx, argv);
    return { r: { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode }, changed: ctx.changed };
  }

  async exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    this.connected();
    const { r, changed } = this.run(argv, opts?.input);
    if (changed) await this.persist();
    return this.noisy() ? noisyExec(this.state, argv, r) : r;
  }

  /** Outputs go through the noise layer (noise.ts): state flag or VGPUCTL_SIM_NOISE=1. */
  private noisy(): boolean {
    return noiseOn(this.state, this.opts.env);
  }

  /**
   * Run a command line the way sshd does (`sh -c LINE` in root's home, stdin = `input`): what the
   * ssh sim-shell uses. `rebooted` tells the caller the host went down for a reboot.
   */
  async shell(line: string, input = ""): Promise<ExecResult & { rebooted: boolean }> {
    this.connected();
    const boots = this.state.bootCount;
    const { r, changed } = this.run(["sh", "-c", line], input, "/root");
    if (changed) await this.persist();
    return { ...r, rebooted: this.state.bootCount !== boots };
  }

  async readFile(path: string): Promise<string | null> {
    this.connected();
    const p = normalisePath(path);
    const text = servingReads(this.state, this.views, () => contentOf(this.state, p));
    return this.noisy() ? noisyFile(this.state, p, text) : text;
  }

  async writeFile(path: string, content: string, _opts?: { mode?: number }): Promise<void> {
    this.connected();
    const p = normalisePath(path);
    this.dropViews();
    if (!writePath(this.state, p, content))
      throw new Error(`EACCES: cannot write ${p} on the simulated host`);
    await this.persist();
  }

  /** Check and create in one synchronous step of the state: no other operation can come between. */
  async createExclusive(path: string, content: string, _opts?: { mode?: number }): Promise<boolean> {
    this.connected();
    const p = normalisePath(path);
    if (statPath(this.state, p) !== null) return false;
    this.dropViews();
    if (!writePath(this.state, p, content))
      throw new Error(`EACCES: cannot write ${p} on the simulated host`);
    await this.persist();
    return true;
  }

  async list(path: string): Promise<string[] | null> {
    this.connected();
    const p = normalisePath(path);
    return servingReads(this.state, this.views, () => listDir(this.state, p));
  }

  async stat(path: string): Promise<FileStat | null> {
    this.connected();
    const p = normalisePath(path);
    return servingReads(this.state, this.views, () => statPath(this.state, p));
  }

  async remove(path: string): Promise<void> {
    this.connected();
    const p = normalisePath(path);
    if (isVirtualPath(p)) throw new Error(`EACCES: cannot remove ${p} on the simulated host`);
    this.dropViews();
    removePath(this.state, p);
    await this.persist();
  }

  /** Create a directory (not part of Host; writeFile creates parents implicitly). */
  async mkdir(path: string): Promise<void> {
    this.dropViews();
    mkdirPath(this.state, normalisePath(path));
    await this.persist();
  }

  async reboot(): Promise<void> {
    this.connected();
    this.dropViews();
    rebootTransition(this.state);
    await this.persist();
  }

  capture(spec: CaptureSpec): Promise<Capture> {
    return this.readScope(() => captureViaPrimitives(this, spec, this.name));
  }

  async close(): Promise<void> {
    await this.persist();
  }
}
