import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatCommand } from "../../src/facts/capture.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { SshHost } from "../../src/hosts/ssh/ssh-host.ts";
import { UserError } from "../../src/util/errors.ts";
import { makeKeyPair, startSshd, type TestSshd } from "../helpers/sshd.ts";

// A real OpenSSH server (test/helpers/sshd.ts) on 127.0.0.1; the "remote" host is this machine.

let sshd: TestSshd;
let host: SshHost;
const REPO = resolve(import.meta.dirname, "../..");

function envFor(s: TestSshd, knownHosts = s.knownHostsPath): NodeJS.ProcessEnv {
  // HOME points into the temp dir so ~/.ssh of whoever runs the tests is never used
  return { HOME: s.dir, USER: s.user, VGPUCTL_KNOWN_HOSTS: knownHosts, VGPUCTL_SSH_IDENTITY: s.identityPath };
}

function target(s: TestSshd) {
  return { user: s.user, hostname: "127.0.0.1", port: s.port };
}

async function connectError(env: NodeJS.ProcessEnv, port = sshd.port): Promise<UserError> {
  const err = await SshHost.connect({ ...target(sshd), port }, { env, spec: "ssh://x" }).then(
    async (h) => {
      await h.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

beforeAll(async () => {
  sshd = await startSshd();
  host = await SshHost.connect(target(sshd), { env: envFor(sshd), spec: `ssh://127.0.0.1:${sshd.port}` });
});
afterAll(async () => {
  await host?.close();
  await sshd?.stop();
});

describe("SshHost against a real sshd", () => {
  it("execs argv with every argument quoted, on one connection", async () => {
    const before = host.roundTrips;
    const r = await host.exec(["printf", "%s|", "a b", "$HOME", "it's", "`id`", ""]);
    expect(r).toEqual({ stdout: "a b|$HOME|it's|`id`||", stderr: "", exitCode: 0 });
    expect((await host.exec(["sh", "-c", "exit 7"])).exitCode).toBe(7);
    expect((await host.exec(["vgpuctl-no-such-program"])).exitCode).toBe(127);
    expect((await host.exec(["cat"], { input: "from stdin\n" })).stdout).toBe("from stdin\n");
    expect(host.roundTrips - before).toBe(4);
  });

  it("runs many commands at once on the one connection", async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => host.exec(["echo", String(i)])));
    expect(rs.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it("reads files: present → content, absent → null", async () => {
    const p = join(sshd.dir, "present.txt");
    writeFileSync(p, "blacklist nouveau\n");
    expect(await host.readFile(p)).toBe("blacklist nouveau\n");
    expect(await host.readFile(join(sshd.dir, "absent.txt"))).toBeNull();
  });

  it("writes files atomically, creating parents and keeping the mode", async () => {
    const p = join(sshd.dir, "etc", "modprobe.d", "vgpu's.conf");
    await host.writeFile(p, "options nvidia NVreg_EnableGpuFirmware=0\n");
    expect(readFileSync(p, "utf8")).toBe("options nvidia NVreg_EnableGpuFirmware=0\n");
    await host.writeFile(p, "x\n", { mode: 0o600 });
    expect(statSync(p).mode & 0o777).toBe(0o600);
    await host.writeFile(p, "y\n");
    expect(readFileSync(p, "utf8")).toBe("y\n");
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(sshd.dir, "etc", "modprobe.d"))).toEqual(["vgpu's.conf"]);
    expect(await host.stat(p)).toEqual({ type: "file", size: 2, mode: 0o600 });
    expect(await host.list(join(sshd.dir, "etc"))).toEqual(["modprobe.d"]);
    await host.remove(join(sshd.dir, "etc"));
    expect(await host.stat(join(sshd.dir, "etc"))).toBeNull();
    expect(await host.list(join(sshd.dir, "etc"))).toBeNull();
  });

  it("captures GATHER_SPEC in exactly one round trip", async () => {
    const before = host.roundTrips;
    const cap = await host.capture(GATHER_SPEC);
    expect(host.roundTrips - before).toBe(1);
    expect(cap.notes.filter((n) => n.includes("incomplete"))).toEqual([]);
    const uname = cap.commands.find((c) => c.cmd === "uname -r");
    expect(uname).toEqual({
      cmd: "uname -r",
      stdout: `${execFileSync("uname", ["-r"], { encoding: "utf8" })}`,
      exitCode: 0,
    });
    expect(cap.files["/proc/cmdline"]).toBe(readFileSync("/proc/cmdline", "utf8"));
    // programs a non-Proxmox machine lacks are left out, never recorded as failures
    expect(cap.commands.some((c) => c.cmd === formatCommand(["qm", "list"]))).toBe(false);
  });

  it("refuses a host whose key is not in known_hosts, naming the fix and the fingerprint", async () => {
    const empty = join(sshd.dir, "known_hosts.empty");
    writeFileSync(empty, "");
    const err = await connectError(envFor(sshd, empty));
    expect(err.message).toContain(`host key of 127.0.0.1:${sshd.port} is not in known_hosts`);
    expect(err.message).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(err.hint).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${empty}`);
  });

  it("accepts a hashed known_hosts entry (ssh-keygen -H)", async () => {
    const hashed = join(sshd.dir, "known_hosts.hashed");
    writeFileSync(hashed, `[127.0.0.1]:${sshd.port} ${sshd.hostKeys.ecdsa}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", hashed], { stdio: "ignore" });
    expect(readFileSync(hashed, "utf8")).toMatch(/^\|1\|/);
    const h = await SshHost.connect(target(sshd), { env: envFor(sshd, hashed), spec: "ssh://x" });
    expect((await h.exec(["echo", "ok"])).stdout).toBe("ok\n");
    await h.close();
  });

  it("warns about a changed host key (possible man-in-the-middle)", async () => {
    const other = makeKeyPair(sshd.dir, "impostor_host_key");
    const wrong = join(sshd.dir, "known_hosts.wrong");
    writeFileSync(wrong, `[127.0.0.1]:${sshd.port} ${other.pub}\n`);
    const err = await connectError(envFor(sshd, wrong));
    expect(err.message).toMatch(/host key of 127\.0\.0\.1:\d+ has CHANGED/);
    expect(err.message).toMatch(/man-in-the-middle/);
    expect(err.hint).toContain(`ssh-keygen -R '[127.0.0.1]:${sshd.port}'`);
  });

  it("reports a refused connection with host:port and the OS error", async () => {
    const port = sshd.port === 1 ? 2 : 1; // nothing listens on tcp/1 on a test machine
    const err = await connectError(envFor(sshd), port);
    expect(err.message).toBe(`cannot reach 127.0.0.1:${port}: ECONNREFUSED`);
    expect(err.hint).toMatch(/sshd/);
  });

  it("without any credentials, an unreachable host is still reported as unreachable", async () => {
    const port = sshd.port === 1 ? 2 : 1;
    const bare = {
      HOME: join(sshd.dir, "empty-home"),
      USER: sshd.user,
      VGPUCTL_KNOWN_HOSTS: envFor(sshd).VGPUCTL_KNOWN_HOSTS,
    };
    const err = await connectError(bare, port);
    expect(err.message).toBe(`cannot reach 127.0.0.1:${port}: ECONNREFUSED`);
  });

  it("without any credentials, a reachable known host says so after checking its key", async () => {
    const bare = {
      HOME: join(sshd.dir, "empty-home"),
      USER: sshd.user,
      VGPUCTL_KNOWN_HOSTS: envFor(sshd).VGPUCTL_KNOWN_HOSTS,
    };
    const err = await connectError(bare);
    expect(err.message).toMatch(/^no SSH credentials to log in to /);
    expect(err.hint).toMatch(/ssh-add|VGPUCTL_SSH_IDENTITY/);
  });

  it("reports a rejected key as an authentication failure", async () => {
    const stranger = makeKeyPair(sshd.dir, "stranger");
    const err = await connectError({ ...envFor(sshd), VGPUCTL_SSH_IDENTITY: stranger.path });
    expect(err.message).toMatch(/authentication .* failed/);
  });

  it("reboot(): waits for the host to go down and come back, then reconnects", async () => {
    const h = await SshHost.connect(target(sshd), { env: envFor(sshd), spec: "ssh://x" });
    h.rebootCommand = ["true"]; // the "reboot" itself is sshd.restart(): connections drop, port closed 1.5 s
    const rebooting = h.reboot();
    await sshd.restart(1500);
    await rebooting;
    expect((await h.exec(["echo", "back"])).stdout).toBe("back\n");
    await h.close();
    // the suite's shared connection was dropped by the "reboot": open a new one
    await host.close();
    host = await SshHost.connect(target(sshd), { env: envFor(sshd), spec: "ssh://x" });
  });

  it("reboot(): a reboot command that fails is reported, not waited on", async () => {
    host.rebootCommand = ["sh", "-c", "echo 'Failed to reboot: Access denied' >&2; exit 1"];
    await expect(host.reboot()).rejects.toThrow(/exit 1.*Access denied/);
    expect((await host.exec(["echo", "still here"])).stdout).toBe("still here\n");
  });

  // bin/vgpuctl.js runs the sources (tsx); dist/vgpuctl.cjs is the esbuild bundle (`npm test` builds it)
  for (const cli of ["bin/vgpuctl.js", "dist/vgpuctl.cjs"]) {
    it(`the CLI (${cli}) inspects over ssh://`, () => {
      const r = spawnSync(
        process.execPath,
        [join(REPO, cli), "inspect", "--host", `ssh://${sshd.user}@127.0.0.1:${sshd.port}`, "--json"],
        {
          encoding: "utf8",
          cwd: REPO,
          timeout: 60_000,
          env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...envFor(sshd) } as NodeJS.ProcessEnv,
        },
      );
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.kernel.release).toBe(release());
    });
  }

  it("the CLI names an unknown host key and exits 2", () => {
    const empty = join(sshd.dir, "known_hosts.cli-empty");
    writeFileSync(empty, "");
    const r = spawnSync(
      process.execPath,
      [
        join(REPO, "bin/vgpuctl.js"),
        "inspect",
        "--host",
        `ssh://${sshd.user}@127.0.0.1:${sshd.port}`,
        "--json",
      ],
      {
        encoding: "utf8",
        cwd: REPO,
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...envFor(sshd, empty) } as NodeJS.ProcessEnv,
      },
    );
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`host key of 127.0.0.1:${sshd.port} is not in known_hosts`);
    expect(r.stderr).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${empty}`);
  });
});
