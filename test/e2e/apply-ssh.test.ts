// issue #5 item 7: the same apply flow as apply.test.ts, but over ssh:// to a real OpenSSH server on
// 127.0.0.1 (test/helpers/sshd.ts), with a simulated Proxmox VE host behind it.
//
// Approach (test/e2e/sim-over-ssh.ts): the client key in sshd's authorized_keys is bound to a forced
// command, `VGPUCTL_SIM_DIR=… VGPUCTL_SIM_SCENARIO=seed-fresh exec node sim-shell.cjs` (the bundled
// src/hosts/sim/sim-shell-main.ts). sshd gives every session channel's command line to it in
// $SSH_ORIGINAL_COMMAND; it runs the line with `sh -c` semantics (the sim's small dash + simulated
// programs) on the sim state persisted in VGPUCTL_SIM_DIR. So the built CLI's SshHost does everything
// for real: key auth + known_hosts, its quoted helper snippets for read/write/stat/list/remove, the
// one-round-trip gather script (`sh -s`), apply's commands, and `systemctl reboot` — after which
// sim-shell ends its sshd session (the connection drops like a rebooting host's) and SshHost reconnects.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyHost, type PlanDeps, planHost, uninstallHost } from "../../src/apply/run.ts";
import { runChecks } from "../../src/checks/index.ts";
import { gatherForPlan, loadDesired, selectEntries } from "../../src/commands/plan.ts";
import { serverExecCount } from "../../src/hosts/sim/sim-shell.ts";
import { SshHost } from "../../src/hosts/ssh/ssh-host.ts";
import { currentBuild, REPO, tempSimDir } from "../helpers/cli.ts";
import { type SimOverSsh, startSimOverSsh } from "./sim-over-ssh.ts";

let remote: SimOverSsh;

function cli(args: string[]) {
  // up to ~200 ssh round trips, each a new sim-shell process: allow minutes, not runCli's 60 s
  const r = spawnSync(process.execPath, [currentBuild(), ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...remote.clientEnv },
    timeout: 240_000,
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    json: <T = any>() => JSON.parse(r.stdout) as T,
  };
}

/** The sim host's files without vgpuctl's own state and the logs tools append to (/var/log). */
function hostFiles(dir: string): Record<string, string> {
  const s = JSON.parse(readFileSync(join(dir, "seed-fresh.json"), "utf8")) as {
    files: Record<string, string>;
  };
  return Object.fromEntries(
    Object.entries(s.files).filter(([p]) => !p.startsWith("/var/log/") && !p.startsWith("/var/lib/vgpuctl/")),
  );
}

function bootCount(dir: string): number {
  return (JSON.parse(readFileSync(join(dir, "seed-fresh.json"), "utf8")) as { bootCount: number }).bootCount;
}

beforeAll(async () => {
  remote = await startSimOverSsh({ simDir: tempSimDir(), scenario: "seed-fresh" });
});
afterAll(async () => {
  await remote?.stop();
});

describe("apply over ssh:// to a real sshd with a simulated host behind it", () => {
  it("inspect sees the sim through ssh (one round trip gather)", () => {
    const dir = tempSimDir();
    remote.configure({ simDir: dir, scenario: "seed-fresh" });
    expect(serverExecCount(dir, "seed-fresh")).toBe(0);
    const r = cli(["inspect", "--host", remote.spec, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    // counted on the server side: sim-shell ran exactly one command (the gather script) for this run
    expect(serverExecCount(dir, "seed-fresh")).toBe(1);
    expect(r.stdout).toContain("5.15.102-1-pve");
    expect(r.stdout).toContain("GeForce RTX 2080 Ti");
  });

  it("apply --reboot: one real connection drop and reconnect, verified; a second apply changes nothing", {
    timeout: 300_000,
  }, () => {
    const dir = tempSimDir();
    remote.configure({ simDir: dir, scenario: "seed-fresh" });
    const a = cli([
      "apply",
      "--host",
      remote.spec,
      "-f",
      "examples/seed-host.yaml",
      "--yes",
      "--reboot",
      "--json",
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({
      host: "127.0.0.1",
      reboots: 1,
      rebooted: true,
      verified: true,
      problems: [],
    });
    expect(a.json<{ applied: string[] }>().applied).toHaveLength(12);
    expect(bootCount(dir)).toBe(2);
    const again = cli([
      "apply",
      "--host",
      remote.spec,
      "-f",
      "examples/seed-host.yaml",
      "--yes",
      "--reboot",
      "--json",
    ]);
    expect(again.json()).toMatchObject({ applied: [], reboots: 0, verified: true });
    expect(bootCount(dir)).toBe(2);
  });

  it("a dropped connection mid-apply stops it; the re-run continues from the journal and converges", {
    timeout: 300_000,
  }, () => {
    const dir = tempSimDir();
    // the 30th round trip of the ~62 a full apply takes (bench/apply.ts): in the middle of the setup
    remote.configure({ simDir: dir, scenario: "seed-fresh", fault: "drop-connection:30" });
    const broken = cli([
      "apply",
      "--host",
      remote.spec,
      "-f",
      "examples/seed-host.yaml",
      "--yes",
      "--reboot",
    ]);
    expect(broken.code).not.toBe(0);
    const journal = JSON.parse(
      (JSON.parse(readFileSync(join(dir, "seed-fresh.json"), "utf8")) as { files: Record<string, string> })
        .files["/var/lib/vgpuctl/journal.json"]!,
    ) as { entries: Array<{ id: string }> };
    expect(journal.entries.length).toBeGreaterThan(0);
    expect(journal.entries.length).toBeLessThan(12);
    remote.configure({ simDir: dir, scenario: "seed-fresh" });
    const rerun = cli([
      "apply",
      "--host",
      remote.spec,
      "-f",
      "examples/seed-host.yaml",
      "--yes",
      "--reboot",
      "--json",
    ]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.json()).toMatchObject({ reboots: 1, verified: true });
    expect(bootCount(dir)).toBe(2);
  });
});

describe("remote round trips over the real sshd (counted by the server: sim-shell's commands; cross-checked with SshHost.roundTrips)", () => {
  async function connect(): Promise<SshHost> {
    const target = { user: remote.sshd.user, hostname: "127.0.0.1", port: remote.sshd.port };
    return SshHost.connect(target, { env: { ...process.env, ...remote.clientEnv }, spec: remote.spec });
  }
  const deps = (host: SshHost): PlanDeps => ({ host, gather: gatherForPlan, doctor: (f) => runChecks(f) });

  it("plan: 1 round trip; full apply of seed-fresh with its reboot: at most 64; apply with nothing to do: 1", {
    timeout: 300_000,
  }, async () => {
    const dir = tempSimDir();
    remote.configure({ simDir: dir, scenario: "seed-fresh" });
    const [entry] = selectEntries(
      await loadDesired("examples/seed-host.yaml", { cwd: REPO, readText: (p) => readFile(p, "utf8") }),
      remote.spec,
    );
    // round trips as the server saw them (one sim-shell command per ssh exec channel); the client's
    // own count (SshHost.roundTrips) must agree
    const counted = async <T>(f: (h: SshHost) => Promise<T>): Promise<[T, number]> => {
      const host = await connect();
      const before = serverExecCount(dir, "seed-fresh");
      try {
        const r = await f(host);
        const server = serverExecCount(dir, "seed-fresh") - before;
        expect(host.roundTrips, "client and server count the same round trips").toBe(server);
        return [r, server];
      } finally {
        await host.close();
      }
    };
    // the gather capture carries the file probes (sha256 / first bytes), the journal, the lock, the boot id
    const [planned, planTrips] = await counted((h) => planHost(entry!, deps(h)));
    expect(planned.plan.steps).toHaveLength(12);
    expect(planTrips).toBe(1);
    const initial = hostFiles(dir); // (the sim's state exists once something connected)
    const [full, fullTrips] = await counted((h) => applyHost(entry!, deps(h), { reboot: true }));
    expect(full).toMatchObject({ rebooted: true, verified: true });
    expect(full.applied).toHaveLength(12);
    expect(fullTrips).toBeLessThanOrEqual(64); // was 121 before the gather carried the probes and commands were batched
    const [noop, noopTrips] = await counted((h) => applyHost(entry!, deps(h), { reboot: true }));
    expect(noop).toMatchObject({ applied: [], reboots: 0, verified: true });
    expect(noopTrips).toBe(1); // was 17
    // uninstall over ssh (backed-up files and their backups read in one round trip): every file as before
    const [undone] = await counted((h) => uninstallHost(deps(h), { reboot: true }));
    expect(undone).toMatchObject({ rebooted: true, nothingToDo: false });
    expect(hostFiles(dir)).toEqual(initial);
  });

  it("commands batched into one round trip still report exactly which one failed, with its own output", {
    timeout: 120_000,
  }, () => {
    const dir = tempSimDir();
    // fail:PROG:N counts per sim process, i.e. per ssh channel: the unlock-source step's one channel runs
    // `rm -rf` (temporary checkout), `git clone` (1st git, which fails as an unreachable GitHub does), `sh -c`
    remote.configure({ simDir: dir, scenario: "seed-fresh", fault: "fail:git:1" });
    const r = cli(["apply", "--host", remote.spec, "-f", "examples/seed-host.yaml", "--yes", "--reboot"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "error: step \"unlock-source\" (Clone vgpu_unlock-rs into /opt/vgpu_unlock-rs) failed: `git clone -- https://github.com/mbilker/vgpu_unlock-rs /opt/.vgpu_unlock-rs.vgpuctl-tmp` exited with 128:\n    fatal: unable to access 'https://github.com/mbilker/vgpu_unlock-rs': Could not resolve host: github.com\n",
    );
    expect(r.stderr).not.toContain("`rm -rf");
    expect(r.stderr).toContain(
      "completed before it: repository, packages, rust-toolchain. Everything done so far is recorded in the journal",
    );
  });
});
