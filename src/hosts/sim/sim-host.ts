import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../../util/errors.ts";
import type { Capture, CaptureSpec } from "../capture.ts";
import { captureViaPrimitives } from "../capture-generic.ts";
import type { ExecOptions, ExecResult, FileStat, Host, HostKind } from "../host.ts";
import { runCommand } from "./commands.ts";
import {
  isVirtualPath,
  listDir,
  mkdirPath,
  normalisePath,
  readVirtual,
  removePath,
  statPath,
  writePath,
} from "./fs.ts";
import { findScenario, listScenarios, type ScenarioInfo } from "./scenarios/index.ts";
import { SIM_STATE_VERSION, type SimState } from "./state.ts";
import { reboot as rebootTransition } from "./transitions.ts";

export { listScenarios, type ScenarioInfo };

function statePath(stateDir: string, scenario: string): string {
  return join(stateDir, `${scenario}.json`);
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

async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
}

/** Throw away the stored state of a scenario so the next open starts fresh. */
export async function resetScenario(stateDir: string, name: string): Promise<void> {
  if (!findScenario(name)) throw unknownScenario(name);
  await rm(statePath(stateDir, name), { force: true });
}

/** The built-in simulated Proxmox VE host (DESIGN.md "Host specs": sim:SCENARIO, demo). */
export class SimHost implements Host {
  readonly kind: HostKind = "sim";
  readonly readOnly = false;
  readonly name: string;

  private constructor(
    readonly spec: string,
    private state: SimState,
    private readonly file: string | null,
  ) {
    this.name = state.scenario;
  }

  /** Load `<stateDir>/<scenario>.json`, or create it from the scenario definition. */
  static async open(scenario: string, opts: { stateDir: string; spec: string }): Promise<SimHost> {
    const sc = findScenario(scenario);
    if (!sc) throw unknownScenario(scenario);
    const file = statePath(opts.stateDir, scenario);
    let state: SimState | null = null;
    try {
      const parsed = JSON.parse(await readFile(file, "utf8")) as SimState;
      if (parsed && parsed.version === SIM_STATE_VERSION && parsed.scenario === scenario) state = parsed;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && !(e instanceof SyntaxError)) throw e;
    }
    const host = new SimHost(opts.spec, state ?? sc.build(), file);
    if (!state) {
      await mkdir(opts.stateDir, { recursive: true });
      await host.persist();
    }
    return host;
  }

  /** A host over an in-memory state that is never persisted (tests, previews). */
  static fromState(state: SimState, spec = `sim:${state.scenario}`): SimHost {
    return new SimHost(spec, state, null);
  }

  /** A copy of the current state (for tests and `sim` tooling). */
  snapshot(): SimState {
    return JSON.parse(JSON.stringify(this.state)) as SimState;
  }

  private async persist(): Promise<void> {
    if (this.file) await writeAtomic(this.file, `${JSON.stringify(this.state, null, 2)}\n`);
  }

  async exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const ctx = { state: this.state, changed: false, input: opts?.input };
    const r = runCommand(ctx, argv);
    if (ctx.changed) await this.persist();
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  }

  async readFile(path: string): Promise<string | null> {
    return readVirtual(this.state, normalisePath(path));
  }

  async writeFile(path: string, content: string, _opts?: { mode?: number }): Promise<void> {
    const p = normalisePath(path);
    if (!writePath(this.state, p, content))
      throw new Error(`EACCES: cannot write ${p} on the simulated host`);
    await this.persist();
  }

  async list(path: string): Promise<string[] | null> {
    return listDir(this.state, normalisePath(path));
  }

  async stat(path: string): Promise<FileStat | null> {
    return statPath(this.state, normalisePath(path));
  }

  async remove(path: string): Promise<void> {
    const p = normalisePath(path);
    if (isVirtualPath(p)) throw new Error(`EACCES: cannot remove ${p} on the simulated host`);
    removePath(this.state, p);
    await this.persist();
  }

  /** Create a directory (not part of Host; writeFile creates parents implicitly). */
  async mkdir(path: string): Promise<void> {
    mkdirPath(this.state, normalisePath(path));
    await this.persist();
  }

  async reboot(): Promise<void> {
    rebootTransition(this.state);
    await this.persist();
  }

  capture(spec: CaptureSpec): Promise<Capture> {
    return captureViaPrimitives(this, spec, this.name);
  }

  async close(): Promise<void> {
    await this.persist();
  }
}
