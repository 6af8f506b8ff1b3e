/**
 * sim-shell: the command interpreter of an SSH account whose "machine" is a simulated Proxmox VE host,
 * so that `--host ssh://…` drives a sim through a real OpenSSH server (test/e2e/apply-ssh.test.ts,
 * bench/apply.ts). sshd runs it for every session channel, e.g. from authorized_keys:
 *
 *   command="VGPUCTL_SIM_DIR=/tmp/x VGPUCTL_SIM_SCENARIO=seed-fresh exec node /tmp/x/sim-shell.cjs" ssh-ed25519 AAAA…
 *
 * It takes the client's command line from $SSH_ORIGINAL_COMMAND (or `sim-shell -c LINE`), runs it with
 * `sh -c` semantics against the persisted sim state (SimHost.shell: the simulated dash, whose programs are
 * the simulated host's), writes stdout/stderr and exits with the command's status. Concurrent channels
 * are serialised by a lock directory next to the state file. A reboot (`systemctl reboot`) drops the
 * connection shortly after answering, as a real host does; VGPUCTL_SIM_FAULT=drop-connection:N drops
 * it on the Nth command.
 *
 * Every command a session runs is counted on this, the server's, side in <dir>/<scenario>.ops (across
 * sessions, under the lock): the round trips a client made as the host saw them (serverExecCount),
 * which the ssh tests and the bench take instead of the client's own count.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SimConnectionLost, SimHost } from "./sim-host.ts";

export interface SimShellIO {
  env: NodeJS.ProcessEnv;
  argv: string[];
  stdin: () => string;
  stdout: (s: string) => Promise<void>;
  stderr: (s: string) => Promise<void>;
  /** Drop the SSH connection: now (a lost connection) or after answering (a reboot). */
  dropConnection: (when: "now" | "soon") => void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // kill(2): ESRCH = no such process; EPERM = it exists but is not ours. Anything else is not an answer.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    if (code === "EPERM") return true;
    throw e;
  }
}

/** A lock directory (atomic mkdir) with the owner's pid; a dead owner's lock is taken over. */
async function lock(dir: string): Promise<() => void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, "pid"), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let owner = 0;
      try {
        owner = Number(readFileSync(join(dir, "pid"), "utf8"));
      } catch (e2) {
        // the pid file is being created or the lock removed right now (ENOENT): wait and look again
        if ((e2 as NodeJS.ErrnoException).code !== "ENOENT") throw e2;
      }
      if (owner > 0 && !alive(owner)) rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`sim-shell: ${dir} stays locked by pid ${owner}`);
      else await sleep(3);
    }
  }
}

/** Where sim-shell counts the commands it ran for a scenario (one per ssh exec channel). */
export function execCountPath(stateDir: string, scenario: string): string {
  return join(stateDir, `${scenario}.ops`);
}

/** Commands sim-shell has run for a scenario so far (0 before the first). */
export function serverExecCount(stateDir: string, scenario: string): number {
  try {
    return Number(readFileSync(execCountPath(stateDir, scenario), "utf8")) || 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw e;
  }
}

/** Run one session command; returns the exit status. */
export async function runSimShell(io: SimShellIO): Promise<number> {
  const line = io.env.SSH_ORIGINAL_COMMAND ?? (io.argv[0] === "-c" ? io.argv[1] : undefined);
  if (line === undefined) {
    await io.stderr("sim-shell: interactive sessions are not simulated; run a command (ssh host CMD)\n");
    return 1;
  }
  const stateDir = io.env.VGPUCTL_SIM_DIR;
  const scenario = io.env.VGPUCTL_SIM_SCENARIO ?? "seed-fresh";
  if (!stateDir) {
    await io.stderr("sim-shell: VGPUCTL_SIM_DIR is not set\n");
    return 1;
  }
  const input = io.stdin();
  mkdirSync(stateDir, { recursive: true });
  const unlock = await lock(join(stateDir, `${scenario}.lock.d`));
  // every command is one operation (a round trip): counted across sessions for drop-connection:N
  const op = serverExecCount(stateDir, scenario) + 1;
  writeFileSync(execCountPath(stateDir, scenario), String(op));
  let result: Awaited<ReturnType<SimHost["shell"]>>;
  try {
    const host = await SimHost.open(scenario, {
      stateDir,
      spec: `sim:${scenario}`,
      faults: (io.env.VGPUCTL_SIM_FAULT ?? "").split(/[\s,]+/).filter(Boolean),
      nextOp: () => op,
    });
    result = await host.shell(line, input);
  } catch (e) {
    unlock();
    if (e instanceof SimConnectionLost) {
      io.dropConnection("now");
      return 255;
    }
    throw e;
  }
  unlock();
  await io.stdout(result.stdout);
  await io.stderr(result.stderr);
  if (result.rebooted) io.dropConnection("soon");
  return result.exitCode;
}

/** The sshd process serving this session (our parent), when it is one. */
function sshdParent(env: NodeJS.ProcessEnv): number | null {
  if (!env.SSH_CONNECTION && !env.SSH_ORIGINAL_COMMAND) return null;
  try {
    const comm = readFileSync(`/proc/${process.ppid}/comm`, "utf8").trim();
    return /^sshd/.test(comm) ? process.ppid : null;
  } catch {
    return null;
  }
}

/** Entry point (sim-shell-main.ts): process I/O, and dropping the connection by ending our sshd. */
export async function simShellMain(): Promise<void> {
  const write = (stream: NodeJS.WriteStream) => (s: string) =>
    new Promise<void>((resolve) => (s === "" ? resolve() : stream.write(s, () => resolve())));
  const code = await runSimShell({
    env: process.env,
    argv: process.argv.slice(2),
    stdin: () => {
      try {
        return readFileSync(0, "utf8");
      } catch (e) {
        // no stdin at all (closed descriptor: EBADF; a terminal with nothing to read: EAGAIN) is empty input
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EBADF" || code === "EAGAIN" || code === "EOF") return "";
        throw e;
      }
    },
    stdout: write(process.stdout),
    stderr: write(process.stderr),
    dropConnection: (when) => {
      const pid = sshdParent(process.env);
      if (pid === null) return;
      if (when === "now") process.kill(pid, "SIGKILL");
      else spawn("sh", ["-c", `sleep 0.3; kill -TERM ${pid}`], { detached: true, stdio: "ignore" }).unref();
    },
  });
  process.exitCode = code;
}
