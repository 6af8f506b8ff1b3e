/**
 * What the simulated host does wrong, from $VGPUCTL_SIM_FAULT and/or the state's `faults` list.
 * Specs (separated by "," or spaces):
 *   fail:PROG          every run of PROG fails the way it really fails (apt-get: dpkg lock held, exit 100)
 *   fail:PROG:N        only the Nth run of PROG (1-based, counted per process)
 *   drop-connection:N  the Nth host operation finds the connection gone (and every later one)
 * PROG is a program's base name; "nvidia-installer" names `sh <driver>.run` (not --apply-patch).
 * Faults of the *client* (the process dying: crash-after:N, crash-before:PROG, …) are not the host's:
 * they live at the Host boundary (src/hosts/fault-host.ts; src/hosts/open.ts applies both).
 */
import { faultProgram } from "../fault-host.ts";
import type { CmdResult } from "./render/types.ts";

export interface FaultPlan {
  fail: Array<{ prog: string; nth: number | null }>;
  dropAt: number | null;
  /** Specs that could not be read (reported, otherwise ignored). */
  unknown: string[];
}

export function parseFaults(specs: readonly string[]): FaultPlan {
  const plan: FaultPlan = { fail: [], dropAt: null, unknown: [] };
  for (const spec of specs.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean)) {
    const [kind, a, b] = spec.split(":");
    const num = (x: string | undefined) => (x !== undefined && /^\d+$/.test(x) ? Number(x) : null);
    if (kind === "fail" && a) plan.fail.push({ prog: a, nth: num(b) });
    else if (kind === "drop-connection") plan.dropAt = num(a) ?? 1;
    else plan.unknown.push(spec);
  }
  return plan;
}

/** How a program fails when a fault says so: its real-world failure for the common ones. */
export function injectedFailure(argv: readonly string[]): CmdResult {
  const prog = faultProgram(argv);
  if (prog === "apt-get" || prog === "apt") {
    const update = argv.includes("update");
    return {
      stdout: update ? "" : "Reading package lists...\n",
      stderr: update
        ? "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 2741 (apt-get)\nE: Unable to lock directory /var/lib/apt/lists/\n"
        : "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 2741 (apt-get)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n",
      exitCode: 100,
    };
  }
  if (prog === "nvidia-installer")
    return {
      stdout: "",
      stderr:
        "\nERROR: An error occurred while performing the step: \"Building kernel modules\". See /var/log/nvidia-installer.log for details.\n\nERROR: Installation has failed.  Please see the file '/var/log/nvidia-installer.log' for details.  You may find suggestions on fixing installation problems in the README available on the Linux driver download page at www.nvidia.com.\n",
      exitCode: 1,
    };
  if (prog === "cargo")
    return {
      stdout: "",
      stderr:
        "    Updating crates.io index\nwarning: spurious network error (3 tries remaining): [6] Couldn't resolve host name (Could not resolve host: index.crates.io)\nerror: failed to get `ctor` as a dependency of package `vgpu_unlock-rs v2.5.0`\n",
      exitCode: 101,
    };
  if (prog === "git")
    return {
      stdout: "",
      stderr: `fatal: unable to access '${argv.find((a) => /^https?:/.test(a)) ?? "https://github.com/"}': Could not resolve host: github.com\n`,
      exitCode: 128,
    };
  return { stdout: "", stderr: `${prog}: failed (injected by VGPUCTL_SIM_FAULT)\n`, exitCode: 1 };
}

export class FaultState {
  private readonly runs = new Map<string, number>();
  private ops = 0;

  constructor(
    readonly plan: FaultPlan,
    /** Host operations counter (per process by default; the ssh sim-shell persists it). */
    private readonly nextOp: () => number = () => ++this.ops,
  ) {}

  get active(): boolean {
    const p = this.plan;
    return p.fail.length > 0 || p.dropAt !== null;
  }

  /** Before a program runs: a failure to return instead, or null to run it. */
  beforeExec(argv: readonly string[]): CmdResult | null {
    const prog = faultProgram(argv);
    const n = (this.runs.get(prog) ?? 0) + 1;
    this.runs.set(prog, n);
    if (this.plan.fail.some((f) => f.prog === prog && (f.nth === null || f.nth === n)))
      return injectedFailure(argv);
    return null;
  }

  /** Before any host operation: true when the connection is (now) gone. */
  dropped(): boolean {
    if (this.plan.dropAt === null) return false;
    return this.nextOp() >= this.plan.dropAt;
  }
}
