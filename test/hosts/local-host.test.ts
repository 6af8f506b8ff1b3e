import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Evidence } from "../../src/facts/capture.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { LocalHost } from "../../src/hosts/local-host.ts";
import { UserError } from "../../src/util/errors.ts";
import { TREE, writeTree } from "./fake-tree.ts";

let root: string;
let host: LocalHost;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "vgpuctl-local-"));
  writeTree(root);
  writeFileSync(join(root, "etc/hostname"), "pve1\n");
  host = new LocalHost({ root, spec: "local" });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("LocalHost with --root", () => {
  it("is named after the root's /etc/hostname", () => {
    expect(host.name).toBe("pve1");
    expect(host.kind).toBe("local");
    expect(host.readOnly).toBe(false);
  });

  it("reads files below the root; absent is null", async () => {
    expect(await host.readFile("/etc/modprobe.d/blacklist.conf")).toBe("blacklist nouveau\n");
    expect(await host.readFile("/etc/absent.conf")).toBeNull();
    expect(await host.readFile("/etc/modules/not-a-dir")).toBeNull();
  });

  it("refuses paths that climb out of the root", async () => {
    await expect(host.readFile("/../../etc/passwd")).rejects.toBeInstanceOf(UserError);
    await expect(host.writeFile("/etc/../../escape", "x")).rejects.toBeInstanceOf(UserError);
  });

  it("writes atomically: parents created, no temp file left, mode kept or set", async () => {
    await host.writeFile("/etc/new/deep/file.conf", "a=1\n");
    expect(readFileSync(join(root, "etc/new/deep/file.conf"), "utf8")).toBe("a=1\n");
    expect(statSync(join(root, "etc/new/deep/file.conf")).mode & 0o777).toBe(0o644);

    writeFileSync(join(root, "etc/secret.cfg"), "old\n", { mode: 0o600 });
    await host.writeFile("/etc/secret.cfg", "new\n");
    expect(readFileSync(join(root, "etc/secret.cfg"), "utf8")).toBe("new\n");
    expect(statSync(join(root, "etc/secret.cfg")).mode & 0o777).toBe(0o600);

    await host.writeFile("/etc/script.sh", "#!/bin/sh\n", { mode: 0o755 });
    expect(statSync(join(root, "etc/script.sh")).mode & 0o777).toBe(0o755);
    expect(readdirSync(join(root, "etc")).filter((n) => n.includes(".tmp"))).toEqual([]);
  });

  it("lists, stats and removes", async () => {
    expect(await host.list("/etc/modprobe.d")).toEqual([
      "binary.bin",
      "blacklist.conf",
      "nvidia.conf",
      "pve-blacklist.conf",
    ]);
    expect(await host.list("/etc/absent.d")).toBeNull();
    expect(await host.stat("/etc/modules")).toMatchObject({
      type: "file",
      size: TREE["/etc/modules"]!.length,
    });
    expect(await host.stat("/etc/modprobe.d")).toMatchObject({ type: "dir" });
    expect(await host.stat("/etc/modprobe.d/nvidia.conf")).toMatchObject({ type: "file" }); // follows the symlink
    symlinkSync("/nonexistent-target", join(root, "etc/dangling"));
    expect(await host.stat("/etc/dangling")).toMatchObject({ type: "symlink" });
    expect(await host.stat("/etc/absent")).toBeNull();
    await host.remove("/etc/vgpu_unlock");
    expect(existsSync(join(root, "etc/vgpu_unlock"))).toBe(false);
    await host.remove("/etc/absent"); // no error
    await expect(host.remove("/")).rejects.toBeInstanceOf(UserError);
  });

  it("runs no command at all: exit 127, 'commands do not run under --root (files only)'", async () => {
    const outside = mkdtempSync(join(tmpdir(), "vgpuctl-local-outside-"));
    try {
      const marker = join(outside, "ran");
      expect(await host.exec(["touch", marker])).toEqual({
        stdout: "",
        stderr: "touch: commands do not run under --root (files only)",
        exitCode: 127,
      });
      expect(await host.exec(["sh", "-c", `echo x > ${marker}`], { input: "y" })).toMatchObject({
        exitCode: 127,
      });
      expect(existsSync(marker)).toBe(false); // nothing ran on this machine
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("captures leave commands out (not captured, with a note) instead of mixing in this machine", async () => {
    const cap = await host.capture({
      commands: [["uname", "-r"], ["hostname"]],
      paths: [],
      nvidiaSysfs: false,
    });
    expect(cap.commands).toEqual([]);
    expect(new Evidence(cap).command("uname -r")).toBeUndefined();
    expect(cap.notes).toEqual([
      "not run: uname -r (uname: commands do not run under --root (files only))",
      "not run: hostname (hostname: commands do not run under --root (files only))",
    ]);
  });

  it("captures GATHER_SPEC paths below the root, NVIDIA sysfs included", async () => {
    const cap = await host.capture({ ...GATHER_SPEC, commands: [] });
    const ev = new Evidence(cap);
    expect(cap.host).toBe("pve1");
    expect(ev.file("/proc/cmdline")).toBe(TREE["/proc/cmdline"]);
    expect(ev.file("/etc/modprobe.d/blacklist.conf")).toBe("blacklist nouveau\n");
    expect(ev.file("/etc/modprobe.d/binary.bin")).toBeNull(); // binary: left out
    expect(ev.file("/etc/kernel/cmdline")).toBeNull();
    expect(ev.file("/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-259/name")).toBe(
      "GRID RTX6000-4Q\n",
    );
    expect(ev.file("/sys/bus/pci/devices/0000:00:02.0/vendor")).toBeUndefined(); // not NVIDIA: not captured
  });

  it("will not reboot the machine it runs on", async () => {
    await expect(host.reboot()).rejects.toThrow(/reboot/);
  });
});

describe("LocalHost without --root", () => {
  const here = new LocalHost({ root: null, spec: "local" });

  it("execs without a shell; a missing program is exit 127", async () => {
    const r = await here.exec(["sh", "-c", 'printf "%s|" "$@"; echo; exit 4', "sh", "a b", "$HOME", "it's"]);
    expect(r).toEqual({ stdout: "a b|$HOME|it's|\n", stderr: "", exitCode: 4 });
    expect(await here.exec(["vgpuctl-no-such-program", "x"])).toEqual({
      stdout: "",
      stderr: "vgpuctl-no-such-program: command not found",
      exitCode: 127,
    });
    expect((await here.exec(["cat"], { input: "piped\n" })).stdout).toBe("piped\n");
    const slow = await here.exec(["sleep", "5"], { timeoutMs: 100 });
    expect(slow.exitCode).toBe(124);
  });

  it("captures a missing program as a note, not as a command", async () => {
    const cap = await here.capture({
      commands: [["vgpuctl-no-such-program"], ["echo", "hi"]],
      paths: [],
      nvidiaSysfs: false,
    });
    expect(cap.commands).toEqual([{ cmd: "echo hi", stdout: "hi\n", exitCode: 0 }]);
    expect(cap.notes).toEqual(["not installed on the host: vgpuctl-no-such-program"]);
  });
});
