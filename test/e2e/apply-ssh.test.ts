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
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_CLI, tempSimDir } from "../helpers/cli.ts";
import { type SimOverSsh, startSimOverSsh } from "./sim-over-ssh.ts";

let remote: SimOverSsh;

function cli(args: string[]) {
  // up to ~200 ssh round trips, each a new sim-shell process: allow minutes, not runCli's 60 s
  const r = spawnSync(process.execPath, [BUNDLED_CLI, ...args], {
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
    const r = cli(["inspect", "--host", remote.spec, "--json"]);
    expect(r.code, r.stderr).toBe(0);
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
    remote.configure({ simDir: dir, scenario: "seed-fresh", fault: "drop-connection:60" });
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
