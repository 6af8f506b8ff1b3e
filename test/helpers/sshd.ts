import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export const SSHD = "/usr/sbin/sshd";

export interface TestSshd {
  port: number;
  /** known_hosts with the server's ed25519 and ecdsa keys for [127.0.0.1]:port. */
  knownHostsPath: string;
  /** Private key (ed25519, no passphrase) the server accepts. */
  identityPath: string;
  /** The user sshd logs you in as (the current user). */
  user: string;
  /** The temp folder everything lives in (removed by stop()). */
  dir: string;
  /** "ssh-ed25519 AAAA..." of the server's host keys. */
  hostKeys: { ed25519: string; ecdsa: string };
  /** Like a reboot: drop every connection, stay down for `downMs`, come back on the same port. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function keygen(path: string, type: "ed25519" | "ecdsa"): string {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "vgpuctl-test", "-f", path], {
    stdio: "ignore",
  });
  return readFileSync(`${path}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

/** Generate a throwaway key pair; returns the private key path and "type base64" of the public key. */
export function makeKeyPair(dir: string, name: string, type: "ed25519" | "ecdsa" = "ed25519") {
  const path = join(dir, name);
  const pub = keygen(path, type);
  return { path, pub };
}

interface Daemon {
  proc: ChildProcess;
  exited: () => boolean;
  stderr: () => string;
}

/** Run sshd in the foreground with `config`; resolves once the port answers (or sshd exited). */
async function launch(config: string, port: number): Promise<Daemon> {
  const proc: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  let exited = false;
  proc.once("exit", () => {
    exited = true;
  });
  const deadline = Date.now() + 10_000;
  while (!exited && Date.now() < deadline && !(await portAnswers(port)))
    await new Promise((r) => setTimeout(r, 50));
  return { proc, exited: () => exited, stderr: () => stderr };
}

/** Stop sshd and every connection it serves (its per-connection children), by process id. */
async function kill(d: Daemon): Promise<void> {
  if (d.exited() || d.proc.pid === undefined) return;
  let children: number[] = [];
  try {
    children = execFileSync("ps", ["-o", "pid=", "--ppid", String(d.proc.pid)], { encoding: "utf8" })
      .split("\n")
      .map((x) => Number(x.trim()))
      .filter((x) => x > 0);
  } catch {
    // no children (ps exits 1)
  }
  const gone = new Promise((r) => d.proc.once("exit", r));
  d.proc.kill("SIGTERM");
  for (const pid of children) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
}

/**
 * Start a real OpenSSH server on 127.0.0.1 (random free port) as the current user, with
 * generated host and client keys, in a temp folder. Needs /usr/sbin/sshd (openssh-server).
 */
export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found: install openssh-server to run the ssh tests`);
  const dir = mkdtempSync(join(tmpdir(), "vgpuctl-sshd-"));
  const user = userInfo().username;
  const ed25519 = keygen(join(dir, "host_ed25519"), "ed25519");
  const ecdsa = keygen(join(dir, "host_ecdsa"), "ecdsa");
  const client = makeKeyPair(dir, "client_ed25519");
  writeFileSync(join(dir, "authorized_keys"), `${client.pub}\n`, { mode: 0o600 });
  // root runs sshd with privilege separation, which needs this folder
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  let lastErr = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = join(dir, "sshd_config");
    writeFileSync(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${join(dir, "host_ed25519")}`,
        `HostKey ${join(dir, "host_ecdsa")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "StrictModes no",
        "UsePAM no",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "MaxStartups 50",
        "LogLevel ERROR",
        "",
      ].join("\n"),
    );
    const knownHostsPath = join(dir, "known_hosts");
    writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${ed25519}\n[127.0.0.1]:${port} ${ecdsa}\n`);
    let daemon = await launch(config, port);
    if (!daemon.exited() && (await portAnswers(port))) {
      return {
        port,
        knownHostsPath,
        identityPath: client.path,
        user,
        dir,
        hostKeys: { ed25519, ecdsa },
        restart: async (downMs: number) => {
          await kill(daemon);
          await new Promise((r) => setTimeout(r, downMs));
          daemon = await launch(config, port);
          if (daemon.exited()) throw new Error(`sshd did not restart: ${daemon.stderr()}`);
        },
        stop: async () => {
          await kill(daemon);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (!daemon.exited()) daemon.proc.kill("SIGKILL");
    lastErr = daemon.stderr();
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`sshd did not start: ${lastErr}`);
}
