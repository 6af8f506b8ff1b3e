// The ssh host's local reads — key files, known_hosts, the local user name — and its reboot: an expected
// absence (no such key file, no known_hosts yet, no passwd entry) is a default, any other failure is
// reported with its reason. A real OpenSSH server (test/helpers/sshd.ts) on 127.0.0.1 for the reboot;
// the rest never needs a server: nothing listens on 127.0.0.1:1, so a connection that gets past the local
// reads ends in ECONNREFUSED.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadCredentials, SshHost } from "../../src/hosts/ssh/ssh-host.ts";
import { startSshd, type TestSshd } from "../helpers/sshd.ts";

const osMock = vi.hoisted(() => ({ userInfoError: null as Error | null }));
vi.mock("node:os", async (importOriginal) => {
  const os = await importOriginal<typeof import("node:os")>();
  const userInfo = ((...a: Parameters<typeof os.userInfo>) => {
    if (osMock.userInfoError) throw osMock.userInfoError;
    return os.userInfo(...a);
  }) as typeof os.userInfo;
  return { ...os, default: { ...os, userInfo }, userInfo };
});

const dirs: string[] = [];
afterEach(() => {
  osMock.userInfoError = null;
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function home(): string {
  const d = mkdtempSync(join(tmpdir(), "vgpuctl-ssh-"));
  dirs.push(d);
  mkdirSync(join(d, ".ssh"));
  return d;
}

const CLOSED = { user: "root", hostname: "127.0.0.1", port: 1 };
const connect = (
  env: NodeJS.ProcessEnv,
  target: { user: string | null; hostname: string; port: number } = CLOSED,
) => SshHost.connect(target, { env, spec: "ssh://127.0.0.1:1" });

describe("loadCredentials: key files", () => {
  it("a default key that exists but cannot be read is named with the reason; absent ones are not", () => {
    const h = home();
    mkdirSync(join(h, ".ssh", "id_ed25519")); // read(2) of a folder: EISDIR (root reads any 0o000 file)
    const { auth, tried } = loadCredentials({ HOME: h }, "root");
    expect(auth).toEqual([]);
    expect(tried).toEqual([`${join(h, ".ssh", "id_ed25519")} (cannot be read: EISDIR)`]);
  });

  it("the key VGPUCTL_SSH_IDENTITY names is reported even when it does not exist", () => {
    const h = home();
    const key = join(h, "missing_key");
    expect(loadCredentials({ HOME: h, VGPUCTL_SSH_IDENTITY: key }, "root").tried).toEqual([
      `${key} (cannot be read: ENOENT)`,
    ]);
  });
});

describe("known_hosts", () => {
  it("one that cannot be read stops the connection with the file and the reason", async () => {
    const h = home();
    const kh = join(h, "known_hosts.d");
    mkdirSync(kh);
    await expect(connect({ HOME: h, VGPUCTL_KNOWN_HOSTS: kh })).rejects.toThrow(
      `cannot read the known hosts file ${kh}: EISDIR`,
    );
  });

  it("one that does not exist yet is empty (the connection goes on)", async () => {
    const h = home();
    await expect(connect({ HOME: h, VGPUCTL_KNOWN_HOSTS: join(h, "none") })).rejects.toThrow(
      "cannot reach 127.0.0.1:1: ECONNREFUSED",
    );
  });
});

describe("the local user name (no user in the spec, no $USER)", () => {
  const noUser = { ...CLOSED, user: null };

  // the real error, seen with `setpriv --reuid=54321 node -e 'require("os").userInfo()'` (Node 20):
  // SystemError [ERR_SYSTEM_ERROR]: A system error occurred: uv_os_get_passwd returned ENOENT
  it("no passwd entry for the uid (Node's SystemError): log in as root", async () => {
    osMock.userInfoError = Object.assign(
      new Error("A system error occurred: uv_os_get_passwd returned ENOENT (no such file or directory)"),
      {
        code: "ERR_SYSTEM_ERROR",
      },
    );
    await expect(connect({ HOME: home() }, noUser)).rejects.toThrow("cannot reach 127.0.0.1:1: ECONNREFUSED");
  });

  it("any other failure of userInfo() is thrown, not replaced by root", async () => {
    osMock.userInfoError = new TypeError("userInfo is broken");
    await expect(connect({ HOME: home() }, noUser)).rejects.toThrow("userInfo is broken");
  });
});

describe("against a real sshd: a dropped connection, reboot()", () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  const connectSshd = (extra: NodeJS.ProcessEnv = {}) =>
    SshHost.connect(
      { user: sshd.user, hostname: "127.0.0.1", port: sshd.port },
      {
        env: {
          HOME: sshd.dir,
          USER: sshd.user,
          VGPUCTL_KNOWN_HOSTS: sshd.knownHostsPath,
          VGPUCTL_SSH_IDENTITY: sshd.identityPath,
          ...extra,
        },
        spec: "ssh://x",
      },
    );

  it("a command whose connection is dropped under it says so in stderr (exit 255, as ssh(1))", async () => {
    const h = await connectSshd();
    const running = h.exec(["sleep", "30"]);
    await new Promise((r) => setTimeout(r, 300));
    await sshd.restart(100); // every connection drops
    const r = await running;
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toMatch(
      new RegExp(`the ssh connection to 127\\.0\\.0\\.1:${sshd.port} was lost before the command finished`),
    );
    await h.close();
  }, 20_000);

  it("reboot(): the connection dropped under the reboot command is the reboot taking effect", async () => {
    const h = await connectSshd();
    h.rebootCommand = ["sleep", "30"]; // a reboot that takes the connection down before it returns
    const rebooting = h.reboot();
    await new Promise((r) => setTimeout(r, 300));
    await sshd.restart(1000);
    await rebooting;
    expect((await h.exec(["echo", "back"])).stdout).toBe("back\n");
    await h.close();
  }, 30_000);

  it("a reboot command that could not be sent is named when the host does not go down", async () => {
    const h = await connectSshd({ VGPUCTL_REBOOT_TIMEOUT_S: "2" });
    await h.close(); // run() now refuses: "the ssh connection to … is closed"
    await expect(h.reboot()).rejects.toThrow(
      `127.0.0.1:${sshd.port} did not go down after systemctl reboot (it was not run: the ssh connection to 127.0.0.1:${sshd.port} is closed)`,
    );
  }, 20_000);
});
