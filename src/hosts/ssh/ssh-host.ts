import { readFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import ssh2, {
  type AnyAuthMethod,
  type Client,
  type ClientChannel,
  type ConnectConfig,
  type ServerHostKeyAlgorithm,
} from "ssh2";
import { type Capture, type CaptureSpec, formatCommand } from "../../facts/capture.ts";
import { UserError } from "../../util/errors.ts";
import { gatherScript, newBoundary, parseGatherOutput } from "../gather-script.ts";
import type { ExecOptions, ExecResult, FileStat, Host } from "../host.ts";
import {
  fingerprint,
  type HostKeyVerdict,
  keyBlobType,
  knownHostsName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  verifyHostKey,
} from "./known-hosts.ts";

export interface SshTarget {
  user: string | null;
  hostname: string;
  port: number;
}

export interface SshConnectOptions {
  env: NodeJS.ProcessEnv;
  spec: string;
  /** Connection (TCP + handshake + auth) timeout. Default 15 s. */
  readyTimeoutMs?: number;
}

/** The transport error that ended a connection after it was up (see openConnection). */
const transportErrors = new WeakMap<Client, Error>();

/** Exit code the helper snippets use for "no such file or directory". */
const ABSENT = 44;
/** Exit code of createExclusive's snippet for "the path already exists". */
const EXISTS = 45;
/** OpenSSH allows 10 sessions per connection (MaxSessions); stay below it. */
const MAX_CHANNELS = 8;
/** ssh2's host key algorithms, in its default order of preference. */
const HOST_KEY_ALGS: ServerHostKeyAlgorithm[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

interface Credentials {
  auth: AnyAuthMethod[];
  tried: string[];
}

/**
 * A Proxmox host over SSH (ssh2, pure JS). One connection per run; every exec is a channel on it
 * and counts as one round trip. Host keys are checked against known_hosts; nothing is accepted blindly.
 */
export class SshHost implements Host {
  readonly kind = "ssh" as const;
  readonly readOnly = false;
  /** Every exec is a channel, i.e. a round trip: batch commands and file reads (Host.batches). */
  readonly batches = true;
  readonly name: string;
  /** Channels opened (one per exec): capture() costs exactly one. */
  roundTrips = 0;
  /** What reboot() runs on the host (tests replace it). */
  rebootCommand: string[] = ["systemctl", "reboot"];
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private closed = false;

  private constructor(
    private client: Client,
    readonly spec: string,
    private readonly target: SshTarget & { user: string },
    private readonly opts: SshConnectOptions,
  ) {
    this.name = target.hostname;
  }

  static async connect(target: SshTarget, opts: SshConnectOptions): Promise<SshHost> {
    const user = target.user ?? opts.env.USER ?? safeUserName() ?? "root";
    const full = { ...target, user };
    const client = await openConnection(full, opts);
    return new SshHost(client, opts.spec, full, opts);
  }

  private async acquire(): Promise<void> {
    if (this.active < MAX_CHANNELS) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private where(): string {
    return `${this.target.hostname}:${this.target.port}`;
  }

  private lostMessage(): string {
    const e = transportErrors.get(this.client);
    return `the ssh connection to ${this.where()} was lost before the command finished${e ? ` (${e.message})` : ""}`;
  }

  /** Run one command line (already quoted) on a new channel, as raw bytes. */
  private async run(
    command: string,
    opts: ExecOptions = {},
  ): Promise<{ stdout: Buffer; stderr: string; exitCode: number; lost: boolean }> {
    if (this.closed) throw new UserError(`the ssh connection to ${this.where()} is closed`);
    await this.acquire();
    this.roundTrips++;
    try {
      return await new Promise((resolve, reject) => {
        this.client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
          if (err) {
            reject(new UserError(`ssh to ${this.where()}: could not run a command: ${err.message}`));
            return;
          }
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let exitCode: number | null = null;
          let signal: string | null = null;
          let timedOut = false;
          const timer =
            opts.timeoutMs !== undefined
              ? setTimeout(() => {
                  timedOut = true;
                  stream.signal("KILL");
                  stream.close();
                }, opts.timeoutMs)
              : undefined;
          stream.on("data", (b: Buffer) => out.push(b));
          stream.stderr.on("data", (b: Buffer) => errOut.push(b));
          stream.on("exit", (code: number | null, sig?: string) => {
            exitCode = code;
            signal = sig ?? null;
          });
          stream.on("close", () => {
            if (timer) clearTimeout(timer);
            let stderr = Buffer.concat(errOut).toString("utf8");
            // no exit status and no signal: the connection went away under the command (255 as ssh(1))
            const lost = !timedOut && exitCode === null && signal === null;
            if (timedOut) stderr += `timed out after ${opts.timeoutMs} ms\n`;
            if (lost) stderr += `${this.lostMessage()}\n`;
            resolve({
              stdout: Buffer.concat(out),
              stderr,
              exitCode: timedOut ? 124 : (exitCode ?? (signal ? 128 + signalNumber(signal) : 255)),
              lost,
            });
          });
          stream.end(opts.input ?? "");
        });
      });
    } finally {
      this.release();
    }
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.run(formatCommand(argv), opts);
    return { stdout: r.stdout.toString("utf8"), stderr: r.stderr, exitCode: r.exitCode };
  }

  /** Run a small sh snippet with positional arguments ($1, $2, ...). */
  private sh(script: string, args: string[], input?: string): Promise<ExecResult> {
    return this.exec(["sh", "-c", script, "sh", ...args], input === undefined ? {} : { input });
  }

  private fail(what: string, path: string, r: ExecResult): never {
    const detail = r.stderr.trim().split("\n").pop() || `exit code ${r.exitCode}`;
    throw new UserError(`cannot ${what} ${path} on ${this.target.hostname}: ${detail}`);
  }

  async readFile(path: string): Promise<string | null> {
    const r = await this.run(
      formatCommand(["sh", "-c", `[ -e "$1" ] || exit ${ABSENT}; exec cat -- "$1"`, "sh", path]),
    );
    if (r.exitCode === ABSENT) return null;
    if (r.exitCode !== 0) this.fail("read", path, { stdout: "", stderr: r.stderr, exitCode: r.exitCode });
    return r.stdout.toString("utf8");
  }

  async writeFile(path: string, content: string, opts: { mode?: number } = {}): Promise<void> {
    const script = [
      'p=$1; d=$(dirname -- "$p") && mkdir -p -- "$d" || exit 1',
      't="$d/.$(basename -- "$p").vgpuctl-$$.tmp"',
      "trap 'rm -f -- \"$t\"' EXIT",
      "umask 022",
      'cat > "$t" || exit 1',
      'if [ -n "$2" ]; then chmod "$2" "$t" || exit 1; elif [ -e "$p" ]; then chmod --reference="$p" -- "$t" 2>/dev/null || true; fi',
      'sync -- "$t" 2>/dev/null || true',
      'mv -f -- "$t" "$p" || exit 1',
      "trap - EXIT",
    ].join("\n");
    const mode = opts.mode === undefined ? "" : opts.mode.toString(8);
    const r = await this.sh(script, [path, mode], content);
    if (r.exitCode !== 0) this.fail("write", path, r);
  }

  /**
   * One round trip. The content goes to a temporary file, which is hard-linked to `path`: `ln`
   * (link(2)) fails when `path` exists, atomically, and the file appears complete. A host without
   * `ln` falls back to the shell's noclobber (`set -C`: `>` opens with O_EXCL in dash and bash).
   */
  async createExclusive(path: string, content: string, opts: { mode?: number } = {}): Promise<boolean> {
    const script = [
      'p=$1; d=$(dirname -- "$p") && mkdir -p -- "$d" || exit 1',
      `[ -e "$p" ] && exit ${EXISTS}`,
      't="$d/.$(basename -- "$p").vgpuctl-$$.tmp"',
      "trap 'rm -f -- \"$t\"' EXIT",
      "umask 077",
      'cat > "$t" || exit 1',
      'if [ -n "$2" ]; then chmod "$2" "$t" || exit 1; fi',
      "if command -v ln >/dev/null 2>&1; then",
      '  ln -- "$t" "$p" 2>/dev/null && exit 0',
      "else",
      '  (set -C; cat -- "$t" > "$p") 2>/dev/null && exit 0',
      "fi",
      `[ -e "$p" ] && exit ${EXISTS}`,
      "exit 1",
    ].join("\n");
    const mode = (opts.mode ?? 0o644).toString(8);
    const r = await this.sh(script, [path, mode], content);
    if (r.exitCode === EXISTS) return false;
    if (r.exitCode !== 0) this.fail("create", path, r);
    return true;
  }

  async list(path: string): Promise<string[] | null> {
    const r = await this.sh(`[ -d "$1" ] || exit ${ABSENT}; LC_ALL=C ls -1A -- "$1"`, [path]);
    if (r.exitCode === ABSENT) return null;
    if (r.exitCode !== 0) this.fail("list", path, r);
    return r.stdout.split("\n").filter((n) => n !== "");
  }

  async stat(path: string): Promise<FileStat | null> {
    const r = await this.sh(
      `if [ -e "$1" ]; then stat -L -c '%f %s' -- "$1"; elif [ -L "$1" ]; then echo symlink; else exit ${ABSENT}; fi`,
      [path],
    );
    if (r.exitCode === ABSENT) return null;
    if (r.exitCode !== 0) this.fail("stat", path, r);
    const out = r.stdout.trim();
    if (out === "symlink") return { type: "symlink", size: 0, mode: 0o777 };
    const [rawMode, size] = out.split(" ");
    const mode = Number.parseInt(rawMode ?? "", 16);
    if (Number.isNaN(mode))
      this.fail("stat", path, { stdout: "", stderr: `unexpected stat output ${out}`, exitCode: 1 });
    const fmt = mode & 0o170000;
    const type = fmt === 0o100000 ? "file" : fmt === 0o040000 ? "dir" : "other";
    return { type, size: Number(size) || 0, mode: mode & 0o7777 };
  }

  async remove(path: string): Promise<void> {
    if (path === "/" || path.trim() === "") throw new UserError(`refusing to remove ${JSON.stringify(path)}`);
    const r = await this.sh('rm -rf -- "$1"', [path]);
    if (r.exitCode !== 0) this.fail("remove", path, r);
  }

  /** Issue a reboot, wait for the port to close and answer again, then reconnect. */
  async reboot(): Promise<void> {
    const { hostname, port } = this.target;
    const total =
      Number(this.opts.env.VGPUCTL_REBOOT_TIMEOUT_S) > 0
        ? Number(this.opts.env.VGPUCTL_REBOOT_TIMEOUT_S)
        : 600;
    const deadline = Date.now() + total * 1000;
    const gone = new Promise<void>((r) => this.client.once("close", () => r()));
    // the connection usually drops before the command returns; a command that could not even be sent
    // (a UserError of run()) is kept for the report should the host not go down
    let notSent: UserError | null = null;
    const issued = await Promise.race([
      this.run(formatCommand(this.rebootCommand), { timeoutMs: 15_000 }).catch((e: unknown) => {
        if (!(e instanceof UserError)) throw e;
        notSent = e;
        return null;
      }),
      gone.then(() => null),
    ]);
    // the connection lost under the command is the reboot taking effect, not a failure
    if (issued && issued.exitCode !== 0 && !issued.lost)
      throw new UserError(
        `${formatCommand(this.rebootCommand)} failed on ${this.target.hostname} (exit ${issued.exitCode}): ${issued.stderr.trim()}`,
        "reboot the host yourself, then re-run the same command",
      );
    // down: our connection closed, or the port refuses connections (at most 3 minutes)
    const downBy = Math.min(deadline, Date.now() + 180_000);
    let down = false;
    while (!down && Date.now() < downBy) {
      down = await Promise.race([gone.then(() => true), sleep(1000).then(() => false)]);
      if (!down) down = !(await portOpen(hostname, port, 2000));
    }
    if (!down)
      throw new UserError(
        `${this.where()} did not go down after ${formatCommand(this.rebootCommand)}${notSent ? ` (it was not run: ${(notSent as UserError).message})` : ""}`,
        "reboot the host yourself, then re-run the same command",
      );
    this.closed = true;
    this.client.end();
    // up again: the port answers and the handshake + auth succeed
    let lastErr: unknown = null;
    while (Date.now() < deadline) {
      if (await portOpen(hostname, port, 3000)) {
        try {
          this.client = await openConnection(this.target, this.opts);
          this.closed = false;
          return;
        } catch (e) {
          if (e instanceof UserError && /host key/.test(e.message)) throw e; // never retry past a key problem
          lastErr = e;
        }
      }
      await sleep(2000);
    }
    throw new UserError(
      `${this.where()} did not come back within ${total} s after the reboot${lastErr ? ` (${(lastErr as Error).message})` : ""}`,
      "check the host's console; once it is up, re-run the same command (it continues where it stopped)",
    );
  }

  /** Everything in `spec` in ONE round trip: a gather script fed to `sh -s`. */
  async capture(spec: CaptureSpec): Promise<Capture> {
    const boundary = newBoundary();
    const r = await this.run("sh -s", { input: gatherScript(spec, boundary) });
    return parseGatherOutput(r.stdout.toString("utf8"), spec, boundary, this.name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      this.client.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      this.client.end();
    });
  }
}

/** The local user's name, or null when the system has no passwd entry for the uid (e.g. a container). */
function safeUserName(): string | null {
  try {
    return userInfo().username;
  } catch (e) {
    // Node: "Throws a SystemError if a user has no username or homedir" (uv_os_get_passwd failed)
    if ((e as NodeJS.ErrnoException).code === "ERR_SYSTEM_ERROR") return null;
    throw e;
  }
}

function signalNumber(sig: string): number {
  const n: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, PIPE: 13, TERM: 15 };
  return n[sig.replace(/^SIG/, "")] ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function portOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir();
}

export function knownHostsPath(env: NodeJS.ProcessEnv): string {
  return env.VGPUCTL_KNOWN_HOSTS || join(homeOf(env), ".ssh", "known_hosts");
}

/** ssh-agent first (when $SSH_AUTH_SOCK is set), then identity files that exist and parse. */
export function loadCredentials(env: NodeJS.ProcessEnv, user: string): Credentials {
  const auth: AnyAuthMethod[] = [];
  const tried: string[] = [];
  if (env.SSH_AUTH_SOCK) {
    auth.push({ type: "agent", username: user, agent: env.SSH_AUTH_SOCK });
    tried.push(`ssh-agent (${env.SSH_AUTH_SOCK})`);
  }
  const files = [
    ...(env.VGPUCTL_SSH_IDENTITY ? [env.VGPUCTL_SSH_IDENTITY] : []),
    ...["id_ed25519", "id_ecdsa", "id_rsa"].map((n) => join(homeOf(env), ".ssh", n)),
  ];
  for (const f of files) {
    let data: Buffer;
    try {
      data = readFileSync(f);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (typeof code !== "string") throw e;
      // a default key file that does not exist is not worth a word; one that exists but cannot be read
      // (EACCES, EISDIR, …) and the key named by VGPUCTL_SSH_IDENTITY are reported with the reason
      const absent = code === "ENOENT" || code === "ENOTDIR";
      if (!absent || f === env.VGPUCTL_SSH_IDENTITY) tried.push(`${f} (cannot be read: ${code})`);
      continue;
    }
    const key = ssh2.utils.parseKey(data);
    if (key instanceof Error) {
      tried.push(
        `${f} (skipped: ${/encrypt|passphrase/i.test(key.message) ? "passphrase-protected; load it into ssh-agent" : key.message})`,
      );
      continue;
    }
    auth.push({ type: "publickey", username: user, key: data });
    tried.push(f);
  }
  return { auth, tried };
}

/** known_hosts; "" when it does not exist yet. Unreadable is an error: every host key would look unknown. */
function readKnownHosts(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "";
    if (typeof code !== "string") throw e;
    throw new UserError(
      `cannot read the known hosts file ${path}: ${code}`,
      "fix its permissions, or point VGPUCTL_KNOWN_HOSTS at a readable known_hosts file",
    );
  }
}

function openConnection(target: SshTarget & { user: string }, opts: SshConnectOptions): Promise<Client> {
  const { hostname, port, user } = target;
  const where = `${hostname}:${port}`;
  const khPath = knownHostsPath(opts.env);
  const entries = parseKnownHosts(readKnownHosts(khPath));
  const creds = loadCredentials(opts.env, user);
  // Without credentials still connect: reachability and the host key are checked (and reported) first.
  const noCreds =
    creds.auth.length === 0
      ? new UserError(
          `no SSH credentials to log in to ${user}@${where}${creds.tried.length ? ` (${creds.tried.join(", ")})` : ""}`,
          "start ssh-agent and `ssh-add` your key, or set VGPUCTL_SSH_IDENTITY=/path/to/private_key",
        )
      : null;
  // ask first for the key types known_hosts has for this host (as OpenSSH does)
  const prefer = preferredHostKeyAlgorithms(entries, hostname, port).filter(
    (a): a is ServerHostKeyAlgorithm => HOST_KEY_ALGS.includes(a as ServerHostKeyAlgorithm),
  );
  const hostKeyAlgs = [...prefer, ...HOST_KEY_ALGS.filter((a) => !prefer.includes(a))];
  let verdict: HostKeyVerdict | null = null;
  let offered: Buffer | null = null;
  const config: ConnectConfig = {
    host: hostname,
    port,
    username: user,
    readyTimeout: opts.readyTimeoutMs ?? 15_000,
    keepaliveInterval: 15_000,
    authHandler: noCreds ? ["none"] : creds.auth,
    hostVerifier: (key: Buffer) => {
      offered = Buffer.from(key);
      verdict = verifyHostKey(entries, hostname, port, offered);
      return verdict.kind === "known";
    },
    algorithms: { serverHostKey: hostKeyAlgs },
  };
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let settled = false;
    client.once("ready", () => {
      settled = true;
      client.removeAllListeners("error");
      // a later transport error closes the connection and with it every open channel: run() names it
      client.on("error", (e: Error) => transportErrors.set(client, e));
      resolve(client);
    });
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      const v = verdict as HostKeyVerdict | null;
      if (v && v.kind !== "known" && offered) {
        reject(hostKeyError(v, offered, hostname, port, khPath));
        return;
      }
      if (err.level === "client-authentication") {
        if (noCreds) {
          reject(noCreds);
          return;
        }
        reject(
          new UserError(
            `ssh authentication as ${user}@${where} failed (tried ${creds.tried.join(", ")})`,
            `add your public key to ~${user === "root" ? "root" : user}/.ssh/authorized_keys on ${hostname} (ssh-copy-id -p ${port} ${user}@${hostname}), or set VGPUCTL_SSH_IDENTITY`,
          ),
        );
        return;
      }
      if (err.level === "client-timeout") {
        reject(
          new UserError(
            `cannot reach ${where}: timed out after ${(opts.readyTimeoutMs ?? 15_000) / 1000} s`,
            `check that ${hostname} is up and port ${port} is open to you (try: ssh -p ${port} ${user}@${hostname})`,
          ),
        );
        return;
      }
      const code = err.code ? `${err.code}` : err.message;
      reject(
        new UserError(
          `cannot reach ${where}: ${code}${err.code && err.message && !err.message.includes(String(err.code)) ? ` (${err.message})` : ""}`,
          err.code === "ECONNREFUSED"
            ? `nothing listens on port ${port} of ${hostname}: check that sshd runs there and the port is right (ssh://host:PORT)`
            : err.code === "ENOTFOUND" || err.code === "EAI_AGAIN"
              ? `check the host name ${hostname} (DNS), or use its IP address`
              : `check that ${hostname} is up and port ${port} is open to you (try: ssh -p ${port} ${user}@${hostname})`,
        ),
      );
    });
    try {
      client.connect(config);
    } catch (e) {
      settled = true;
      reject(new UserError(`cannot connect to ${where}: ${(e as Error).message}`));
    }
  });
}

function hostKeyError(
  v: HostKeyVerdict,
  key: Buffer,
  hostname: string,
  port: number,
  khPath: string,
): UserError {
  const fp = fingerprint(key);
  const type = keyTypeName(key);
  const where = `${hostname}:${port}`;
  const keyscan = `ssh-keyscan ${port === 22 ? "" : `-p ${port} `}${hostname} >> ${khPath}`;
  if (v.kind === "changed") {
    const lines = v.entries.map((e) => e.line).join(", ");
    return new UserError(
      `WARNING: the host key of ${where} has CHANGED (${type} ${fp} does not match ${khPath} line ${lines}); someone may be intercepting the connection (man-in-the-middle), or the host was reinstalled`,
      `verify the new fingerprint ${fp} on the host's console (ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-|-.*$/g, "")}_key.pub); only if it matches: ssh-keygen -R '${knownHostsName(hostname, port)}' -f ${khPath} && ${keyscan}`,
    );
  }
  if (v.kind === "revoked") {
    return new UserError(
      `the host key of ${where} (${type} ${fp}) is marked @revoked in ${khPath} line ${v.entry.line}`,
      "the host must get a new host key; do not connect to it with this key",
    );
  }
  return new UserError(
    `host key of ${where} is not in known_hosts (${khPath}); it offered ${type} ${fp}`,
    `verify that fingerprint on the host's console (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then: ${keyscan}`,
  );
}

function keyTypeName(blob: Buffer): string {
  const parsed = ssh2.utils.parseKey(blob);
  if (!(parsed instanceof Error)) return parsed.type;
  return keyBlobType(blob) ?? "unknown-type";
}
