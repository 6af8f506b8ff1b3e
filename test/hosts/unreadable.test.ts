/**
 * Paths that exist but cannot be read are "unknown", never "absent" (DESIGN.md: unknown is null,
 * never a guess): the gather script (run for real with `sh`), captureViaPrimitives, Evidence, facts.
 *
 * How a path is made unreadable for real:
 *  - chmod 000 files and folders, read by an unprivileged user: when the tests run as root (where
 *    chmod 000 is still readable), the gather script runs as `nobody` through setpriv(1), exactly like
 *    a non-root SSH user would run it;
 *  - a symlink to /proc/self/mem: reading it at offset 0 fails with EIO, for root too;
 *  - a folder where sysfs has a file (`sriov_totalvfs`): head/readFile fail with EISDIR.
 * source of the file contents: VM config line `hostpci0: …,mdev=nvidia-259` after research/proxmox.md
 * line 148 with the seed guide's type (seed guide line 345, GRID RTX6000-4Q = nvidia-259);
 * `blacklist nouveau` seed guide line 153; PCI id 0x1e07 research/unlock.md line 528.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Capture,
  type CaptureSpec,
  Evidence,
  emptyCapture,
  GATHER_COMMAND_TIMEOUT_S,
  MAX_CAPTURE_DEPTH,
} from "../../src/facts/capture.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { captureViaPrimitives } from "../../src/hosts/capture-generic.ts";
import { gatherScript, parseGatherOutput } from "../../src/hosts/gather-script.ts";
import type { ExecOptions, FileStat, Host } from "../../src/hosts/host.ts";
import { LocalHost } from "../../src/hosts/local-host.ts";
import { UserError } from "../../src/util/errors.ts";

const B = "VGPUCTLtestboundary0123";
const VM_100 = "hostpci0: 0000:01:00.0,mdev=nvidia-259\nmemory: 4096\n";

const asRoot = process.getuid?.() === 0;
const hasSetpriv = asRoot && spawnSync("setpriv", ["--version"]).status === 0;
/** chmod 000 really denies access to the shell the test runs (false only as root without setpriv). */
const canDeny = !asRoot || hasSetpriv;

/** Run a script with `sh -s`, as `nobody` when the tests run as root. */
function runShUnprivileged(script: string): string {
  const [cmd, args] =
    asRoot && hasSetpriv
      ? ["setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-s"]]
      : ["sh", ["-s"]];
  const r = spawnSync(cmd, args as string[], {
    input: script,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

function runSh(script: string): string {
  const r = spawnSync("sh", ["-s"], { input: script, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

function put(root: string, path: string, content: string, mode = 0o644): void {
  const real = join(root, path);
  mkdirSync(dirname(real), { recursive: true });
  writeFileSync(real, content);
  chmodSync(real, mode);
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "vgpuctl-unreadable-"));
  chmodSync(tmp, 0o755); // `nobody` must reach the trees below
});
afterAll(() => {
  // chmod 000 folders cannot be emptied by a non-root owner: open them up first
  spawnSync("chmod", ["-R", "u+rwx", tmp]);
  rmSync(tmp, { recursive: true, force: true });
});

describe("the gather script (real sh) records unreadable paths, never absent ones", () => {
  let R: string;
  let spec: CaptureSpec;
  beforeAll(() => {
    R = join(tmp, "host");
    mkdirSync(R, { mode: 0o755 });
    put(R, "etc/pve/qemu-server/100.conf", VM_100);
    put(R, "etc/pve/qemu-server/101.conf", VM_100, 0o000); // VM configs are root:www-data 0640 on PVE
    put(R, "etc/modprobe.d/blacklist.conf", "blacklist nouveau\n");
    symlinkSync("/proc/self/mem", join(R, "etc/modprobe.d/mem.conf")); // EIO, for root too
    put(R, "etc/locked.d/a.conf", "blacklist nouveau\n");
    chmodSync(join(R, "etc/locked.d"), 0o000);
    put(R, "etc/sealed/inner.conf", "x\n");
    chmodSync(join(R, "etc/sealed"), 0o000);
    put(R, "var/lib/vgpuctl/journal.json", '{"format":"vgpuctl-journal/1"}\n', 0o000);
    spec = {
      commands: [],
      paths: [
        `${R}/etc/pve/qemu-server`,
        `${R}/etc/modprobe.d`,
        `${R}/etc/locked.d`,
        `${R}/etc/sealed/inner.conf`,
        `${R}/etc/sealed/*.conf`,
        `${R}/var/lib/vgpuctl/journal.json`,
        `${R}/etc/absent.conf`,
      ],
      nvidiaSysfs: false,
    };
  });

  it("an unreadable file, folder, glob folder and a path below an unsearchable folder are unknown", () => {
    const cap = parseGatherOutput(runShUnprivileged(gatherScript(spec, B)), spec, B, "pve1");
    const ev = new Evidence(cap);
    // readable and absent paths are as before
    expect(ev.file(`${R}/etc/pve/qemu-server/100.conf`)).toBe(VM_100);
    expect(ev.file(`${R}/etc/modprobe.d/blacklist.conf`)).toBe("blacklist nouveau\n");
    expect(ev.file(`${R}/etc/absent.conf`)).toBeNull();
    expect(ev.file(`${R}/etc/pve/qemu-server/102.conf`)).toBeNull(); // the folder was listed
    // EIO even for root
    expect(ev.file(`${R}/etc/modprobe.d/mem.conf`)).toBeUndefined();
    expect(ev.isCaptured(`${R}/etc/modprobe.d`)).toBe(false);
    expect(cap.notes).toContain(`could not read ${R}/etc/modprobe.d/mem.conf`);
    if (!canDeny) {
      // Running as root without setpriv(1): chmod 000 cannot deny root anything, so only the
      // /proc/self/mem case above can be checked here.
      expect(cap.unreadable).toEqual([`${R}/etc/modprobe.d/mem.conf`]);
      return;
    }
    expect(cap.unreadable).toEqual([
      `${R}/etc/locked.d`,
      `${R}/etc/modprobe.d/mem.conf`,
      `${R}/etc/pve/qemu-server/101.conf`,
      `${R}/etc/sealed`,
      `${R}/etc/sealed/inner.conf`,
      `${R}/var/lib/vgpuctl/journal.json`,
    ]);
    expect(ev.file(`${R}/etc/pve/qemu-server/101.conf`)).toBeUndefined(); // not "absent"
    expect(ev.list(`${R}/etc/pve/qemu-server`)).toEqual(["100.conf", "101.conf"]);
    expect(ev.isCaptured(`${R}/etc/pve/qemu-server`)).toBe(false); // its VM list is incomplete
    expect(ev.file(`${R}/etc/locked.d/a.conf`)).toBeUndefined();
    expect(ev.list(`${R}/etc/locked.d`)).toBeUndefined();
    expect(ev.file(`${R}/etc/sealed/inner.conf`)).toBeUndefined();
    expect(ev.file(`${R}/etc/sealed/other.conf`)).toBeUndefined();
    expect(ev.file(`${R}/var/lib/vgpuctl/journal.json`)).toBeUndefined();
    expect(cap.notes).toEqual(cap.unreadable!.map((p) => `could not read ${p}`));
  });

  it("as root the same tree is readable except /proc/self/mem (nothing is reported that is not so)", () => {
    const cap = parseGatherOutput(runSh(gatherScript(spec, B)), spec, B, "pve1");
    if (asRoot) expect(cap.unreadable).toEqual([`${R}/etc/modprobe.d/mem.conf`]);
    else expect(cap.unreadable).toContain(`${R}/etc/pve/qemu-server/101.conf`);
  });
});

describe("captureViaPrimitives and the gather script agree", () => {
  it("on files nobody can read: EIO (/proc/self/mem) and a folder where sysfs has a file", async () => {
    const R = join(tmp, "sysfs");
    mkdirSync(R, { mode: 0o755 });
    const fn = "sys/bus/pci/devices/0000:01:00.0";
    put(R, `${fn}/vendor`, "0x10de\n");
    put(R, `${fn}/device`, "0x1e07\n");
    mkdirSync(join(R, fn, "sriov_totalvfs")); // a folder where a file is expected
    put(R, "etc/modprobe.d/blacklist.conf", "blacklist nouveau\n");
    symlinkSync("/proc/self/mem", join(R, "etc/modprobe.d/mem.conf"));

    const hostSpec: CaptureSpec = { commands: [], paths: ["/etc/modprobe.d"], nvidiaSysfs: true };
    const viaLocal = await new LocalHost({ root: R, spec: "local" }).capture(hostSpec);
    const scriptSpec: CaptureSpec = { ...hostSpec, paths: [`${R}/etc/modprobe.d`] };
    const out = runSh(gatherScript(scriptSpec, B, { sysPciDevices: `${R}/sys/bus/pci/devices` }));
    const viaScript = JSON.parse(
      JSON.stringify(parseGatherOutput(out, scriptSpec, B, "pve1")).replaceAll(R, ""),
    ) as Capture;

    const expected = ["/etc/modprobe.d/mem.conf", `/${fn}/sriov_totalvfs`];
    expect(viaLocal.unreadable).toEqual(expected);
    expect(viaScript.unreadable).toEqual(expected);
    expect(viaScript.files).toEqual(viaLocal.files);
    expect(viaScript.notes).toEqual(viaLocal.notes);
    expect(viaScript.capturedPaths).toEqual(viaLocal.capturedPaths);
    const ev = new Evidence(viaLocal);
    expect(ev.file(`/${fn}/sriov_totalvfs`)).toBeUndefined();
    expect(ev.file(`/${fn}/sriov_numvfs`)).toBeNull(); // simply absent
    expect(ev.file(`/${fn}/device`)).toBe("0x1e07\n");
  });

  it(`capture folders ${MAX_CAPTURE_DEPTH} levels deep, below a folder or a glob match alike`, async () => {
    const R = join(tmp, "deep");
    mkdirSync(R, { mode: 0o755 });
    put(R, "etc/deep/a/b/c/d/five.conf", "5\n"); // depth 5 below etc/deep
    put(R, "etc/deep/a/b/c/d/e/six.conf", "6\n"); // depth 6: too deep
    put(R, "etc/deep/one.conf", "1\n");
    for (const pattern of ["/etc/deep", "/etc/dee*"]) {
      const hostSpec: CaptureSpec = { commands: [], paths: [pattern], nvidiaSysfs: false };
      const viaLocal = await new LocalHost({ root: R, spec: "local" }).capture(hostSpec);
      const scriptSpec: CaptureSpec = { ...hostSpec, paths: [`${R}${pattern}`] };
      const viaScript = parseGatherOutput(runSh(gatherScript(scriptSpec, B)), scriptSpec, B, "pve1");
      const strip = (files: Record<string, string>) =>
        Object.keys(files)
          .map((p) => p.replace(R, ""))
          .sort();
      expect(strip(viaLocal.files), pattern).toEqual(["/etc/deep/a/b/c/d/five.conf", "/etc/deep/one.conf"]);
      expect(strip(viaScript.files), pattern).toEqual(strip(viaLocal.files));
    }
  });
});

/** A host whose file calls fail like a non-root user's would (LocalHost turns EACCES into UserError). */
class DeniedHost implements Host {
  readonly kind = "sim" as const;
  readonly spec = "test";
  readonly name = "pve1";
  readonly readOnly = true;
  readonly execOpts: Array<ExecOptions | undefined> = [];
  private readonly files: Record<string, string> = {
    "/etc/pve/qemu-server/100.conf": VM_100,
    "/etc/pve/qemu-server/101.conf": VM_100,
    "/etc/modprobe.d/blacklist.conf": "blacklist nouveau\n",
  };
  private readonly denied = new Set([
    "/etc/pve/qemu-server/101.conf",
    "/etc/locked.d",
    "/etc/sealed/x.conf",
    "/sys/bus/pci/devices",
  ]);
  private check(path: string): void {
    if (this.denied.has(path)) throw new UserError(`cannot read ${path}: EACCES`);
  }
  async exec(argv: readonly string[], opts?: ExecOptions) {
    this.execOpts.push(opts);
    if (argv[0] === "boom") throw new Error("connection reset");
    if (argv[0] === "absent")
      return { stdout: "", stderr: "bash: absent: command not found\n", exitCode: 127 };
    return { stdout: "ok\n", stderr: "", exitCode: 0 };
  }
  async readFile(path: string) {
    this.check(path);
    return this.files[path] ?? null;
  }
  async list(path: string) {
    this.check(path);
    const prefix = `${path}/`;
    const names = Object.keys(this.files)
      .filter((p) => p.startsWith(prefix))
      .map((p) => p.slice(prefix.length).split("/")[0]!);
    return names.length ? [...new Set(names)].sort() : null;
  }
  async stat(path: string): Promise<FileStat | null> {
    if (path === "/etc/sealed/x.conf") this.check(path); // a folder above cannot be searched
    if (path === "/etc/locked.d") return { type: "dir", size: 0, mode: 0 };
    if (path in this.files) return { type: "file", size: 1, mode: 0o644 };
    return (await this.list(path)) ? { type: "dir", size: 0, mode: 0o755 } : null;
  }
  async writeFile() {}
  async remove() {}
  async reboot() {}
  capture(spec: CaptureSpec) {
    return captureViaPrimitives(this, spec, this.name);
  }
  async close() {}
}

describe("captureViaPrimitives never aborts", () => {
  it("EACCES on stat, list or readFile: the path is unreadable (with a note), the capture goes on", async () => {
    const h = new DeniedHost();
    const cap = await h.capture({
      commands: [["uname", "-r"], ["boom"], ["absent"], ["hostname"]],
      paths: ["/etc/pve/qemu-server", "/etc/locked.d", "/etc/sealed/x.conf", "/etc/modprobe.d"],
      nvidiaSysfs: true,
    });
    expect(cap.commands.map((c) => c.cmd)).toEqual(["uname -r", "hostname"]);
    expect(cap.unreadable).toEqual([
      "/etc/locked.d",
      "/etc/pve/qemu-server/101.conf",
      "/etc/sealed/x.conf",
      "/sys/bus/pci/devices",
    ]);
    expect(cap.files["/etc/modprobe.d/blacklist.conf"]).toBe("blacklist nouveau\n");
    expect(cap.notes).toEqual([
      "could not run boom: connection reset",
      "not installed on the host: absent",
      "could not read /etc/locked.d",
      "could not read /etc/pve/qemu-server/101.conf",
      "could not read /etc/sealed/x.conf",
      "could not read /sys/bus/pci/devices",
    ]);
    // every command ran with the gather script's time limit
    expect(h.execOpts).toEqual(Array(4).fill({ timeoutMs: GATHER_COMMAND_TIMEOUT_S * 1000 }));
  });

  it("a hung command is killed after the time limit and noted; the next one still runs", async () => {
    const cap = await captureViaPrimitives(
      new LocalHost({ root: null, spec: "local" }),
      {
        commands: [
          ["sleep", "5"],
          ["echo", "after"],
        ],
        paths: [],
        nvidiaSysfs: false,
      },
      "h",
      { commandTimeoutMs: 200 },
    );
    expect(cap.commands).toEqual([
      { cmd: "sleep 5", stdout: "", exitCode: 124 },
      { cmd: "echo after", stdout: "after\n", exitCode: 0 },
    ]);
    expect(cap.notes).toEqual(["sleep 5 timed out after 200 ms"]);
  });
});

describe("facts from a capture with an unreadable VM config", () => {
  it("the VM list is unknown (null), not 'no VMs' and not just the readable ones", () => {
    const cap: Capture = {
      ...emptyCapture("pve1", "2026-01-31T12:00:00Z"),
      files: { "/etc/pve/qemu-server/100.conf": VM_100 },
      capturedPaths: ["/etc/pve/qemu-server"],
    };
    expect(parseFacts(cap).vms?.map((v) => v.vmid)).toEqual([100]);
    expect(parseFacts({ ...cap, unreadable: ["/etc/pve/qemu-server/101.conf"] }).vms).toBeNull();
    expect(parseFacts({ ...cap, files: {}, unreadable: ["/etc/pve/qemu-server"] }).vms).toBeNull();
  });
});
