import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_FORMAT, type Capture, Evidence } from "../../src/facts/capture.ts";
import { BundleHost, readBundle, writeBundle } from "../../src/hosts/bundle/bundle-host.ts";
import { MAX_BUNDLE_ENTRIES } from "../../src/hosts/bundle/bundle-io.ts";
import { NotCapturedError, ReadOnlyHostError, UserError } from "../../src/util/errors.ts";

// source: command outputs from /work/shared/seed/vgpu-split-passthrough-guide.txt
// (mdevctl types lines 308-319, GRUB_CMDLINE_LINUX_DEFAULT line 130, blacklist line 153).
const CAPTURE: Capture = {
  format: BUNDLE_FORMAT,
  host: "pve1",
  capturedAt: "2026-01-31T12:00:00.000Z",
  commands: [
    { cmd: "uname -r", stdout: "5.15.107-2-pve\n", exitCode: 0 },
    {
      cmd: "mdevctl types",
      stdout:
        "0000:01:00.0\n  nvidia-256\n    Available instances: 24\n    Device API: vfio-pci\n    Name: GRID RTX6000-1Q\n    Description: num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24\n",
      exitCode: 0,
    },
    { cmd: "nvidia-smi vgpu -q", stdout: "", exitCode: 9 },
    {
      cmd: "journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service",
      stdout: "-- No entries --\n",
      exitCode: 0,
    },
  ],
  files: {
    "/proc/cmdline":
      "BOOT_IMAGE=/boot/vmlinuz-5.15.107-2-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on iommu=pt\n",
    "/etc/default/grub": 'GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"\n',
    "/etc/modprobe.d/blacklist.conf": "blacklist nouveau\n",
    "/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-256/name": "GRID RTX6000-1Q\n",
    "/sys/bus/pci/devices/0000:01:00.0/vendor": "0x10de\n",
  },
  capturedPaths: [
    "/proc/cmdline",
    "/etc/default/grub",
    "/etc/modprobe.d",
    "/etc/vgpu_unlock",
    "/sys/bus/pci/devices/0000:01:00.0",
  ],
  redacted: ["mac-address"],
  notes: ["dmesg truncated to 1048576 bytes"],
};

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "vgpuctl-bundle-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function tarGz(
  entries: Array<{ name: string; content?: string; type?: "file" | "symlink" | "link"; linkname?: string }>,
): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (b: unknown) => chunks.push(b as Buffer));
  const done = new Promise<void>((r) => pack.on("end", () => r()));
  for (const e of entries) {
    if (e.type === "symlink" || e.type === "link")
      pack.entry({ name: e.name, type: e.type, linkname: e.linkname ?? "/etc/passwd" });
    else pack.entry({ name: e.name }, e.content ?? "");
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

const META = JSON.stringify({
  format: BUNDLE_FORMAT,
  host: "x",
  capturedAt: "",
  commands: [],
  capturedPaths: ["/etc"],
});

async function writeTgz(name: string, entries: Parameters<typeof tarGz>[0]): Promise<string> {
  const p = join(tmp, name);
  writeFileSync(p, await tarGz(entries));
  return p;
}

describe("bundle round trip", () => {
  it("directory: writeBundle → BundleHost.open gives the same Capture", async () => {
    const dir = join(tmp, "rt-dir");
    await writeBundle(CAPTURE, dir);
    const meta = JSON.parse(readFileSync(join(dir, "bundle.json"), "utf8"));
    expect(meta.format).toBe("vgpuctl-bundle/1");
    expect(meta.commands[0]).toEqual({ cmd: "uname -r", stdout: "commands/uname-r.txt", exitCode: 0 });
    expect(readFileSync(join(dir, "files/etc/default/grub"), "utf8")).toBe(
      CAPTURE.files["/etc/default/grub"],
    );
    const host = await BundleHost.open(dir, `bundle:${dir}`);
    expect(await host.capture({ commands: [], paths: [], nvidiaSysfs: false })).toEqual(CAPTURE);
  });

  it(".tar.gz: writeBundle → BundleHost.open gives the same Capture, and system tar can list it", async () => {
    const p = join(tmp, "rt.tar.gz");
    await writeBundle(CAPTURE, p);
    expect(await readBundle(p)).toEqual(CAPTURE);
    const listing = execFileSync("tar", ["tzf", p], { encoding: "utf8" }).split("\n");
    expect(listing).toContain("bundle.json");
    expect(listing).toContain("files/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-256/name");
  });

  it("reads a bundle folder packed by system tar under a top folder", async () => {
    const parent = join(tmp, "packed");
    mkdirSync(parent);
    await writeBundle(CAPTURE, join(parent, "pve1"));
    const p = join(tmp, "packed.tgz");
    execFileSync("tar", ["czf", p, "-C", parent, "pve1"]);
    expect(await readBundle(p)).toEqual(CAPTURE);
  });

  it("keeps unreadable paths (an extra bundle.json field): they replay as not captured, never absent", async () => {
    const withUnreadable: Capture = {
      ...CAPTURE,
      capturedPaths: [...CAPTURE.capturedPaths, "/etc/pve/qemu-server"],
      unreadable: ["/etc/pve/qemu-server/101.conf", "/etc/vgpu_unlock"],
      notes: [
        ...CAPTURE.notes,
        "could not read /etc/pve/qemu-server/101.conf",
        "could not read /etc/vgpu_unlock",
      ],
    };
    const dir = join(tmp, "rt-unreadable");
    await writeBundle(withUnreadable, dir);
    expect(JSON.parse(readFileSync(join(dir, "bundle.json"), "utf8")).unreadable).toEqual(
      withUnreadable.unreadable,
    );
    const tgz = join(tmp, "rt-unreadable.tar.gz");
    await writeBundle(withUnreadable, tgz);
    for (const p of [dir, tgz]) {
      const back = await readBundle(p);
      expect(back).toEqual(withUnreadable);
      const host = await BundleHost.open(p, `bundle:${p}`);
      await expect(host.readFile("/etc/pve/qemu-server/101.conf")).rejects.toBeInstanceOf(NotCapturedError);
      await expect(host.readFile("/etc/vgpu_unlock/config.toml")).rejects.toBeInstanceOf(NotCapturedError);
      expect(await host.readFile("/etc/pve/qemu-server/102.conf")).toBeNull();
      expect(new Evidence(back).list("/etc/pve/qemu-server")).toEqual(["101.conf"]);
    }
    // bundles without the field (older ones) read as before
    expect((await readBundle(join(tmp, "rt-dir"))).unreadable).toBeUndefined();
  });

  it("a directory bundle is written whole or not at all (no partial bundle that replays files as absent)", async () => {
    // "/etc/modules" is a file and also a folder of another file: writing the second one fails midway
    const clash: Capture = {
      ...CAPTURE,
      files: { ...CAPTURE.files, "/etc/modules": "vfio\n", "/etc/modules/x.conf": "y\n" },
    };
    const parent = join(tmp, "atomic");
    mkdirSync(parent);
    await expect(writeBundle(clash, join(parent, "b"))).rejects.toBeInstanceOf(UserError);
    expect(readdirSync(parent)).toEqual([]); // neither a partial bundle nor a temp folder is left
    const empty = join(parent, "empty");
    mkdirSync(empty);
    await expect(writeBundle(clash, empty)).rejects.toBeInstanceOf(UserError);
    expect(readdirSync(empty)).toEqual([]);
    expect(readdirSync(parent)).toEqual(["empty"]);
    // and a good one lands complete in the empty folder, with no temp folder beside it
    await writeBundle(CAPTURE, empty);
    expect(await readBundle(empty)).toEqual(CAPTURE);
    expect(readdirSync(parent)).toEqual(["empty"]);
    expect(existsSync(join(empty, "files/etc/modprobe.d/blacklist.conf"))).toBe(true);
  });

  it("refuses to write into a non-empty folder", async () => {
    const dir = join(tmp, "nonempty");
    mkdirSync(dir);
    writeFileSync(join(dir, "keep.txt"), "mine");
    await expect(writeBundle(CAPTURE, dir)).rejects.toThrow(/not empty/);
    expect(readFileSync(join(dir, "keep.txt"), "utf8")).toBe("mine");
  });
});

describe("BundleHost replay", () => {
  let host: BundleHost;
  beforeAll(async () => {
    const p = join(tmp, "replay.tar.gz");
    await writeBundle(CAPTURE, p);
    host = await BundleHost.open(p, `bundle:${p}`);
  });

  it("execs captured commands (whitespace-normalised), refuses uncaptured ones", async () => {
    expect(host.name).toBe("pve1");
    expect(host.readOnly).toBe(true);
    expect(await host.exec(["uname", "-r"])).toEqual({ stdout: "5.15.107-2-pve\n", stderr: "", exitCode: 0 });
    expect((await host.exec(["nvidia-smi", "vgpu", "-q"])).exitCode).toBe(9);
    await expect(host.exec(["lspci", "-Dnnk"])).rejects.toBeInstanceOf(NotCapturedError);
  });

  it("reads files: captured → content, captured-but-absent → null, else not captured", async () => {
    expect(await host.readFile("/etc/modprobe.d/blacklist.conf")).toBe("blacklist nouveau\n");
    expect(await host.readFile("/etc/modprobe.d/vfio.conf")).toBeNull();
    expect(await host.readFile("/etc/vgpu_unlock/config.toml")).toBeNull();
    await expect(host.readFile("/etc/modules")).rejects.toBeInstanceOf(NotCapturedError);
    expect(await host.list("/etc/modprobe.d")).toEqual(["blacklist.conf"]);
    expect(await host.list("/etc/vgpu_unlock")).toBeNull();
    await expect(host.list("/etc/apt")).rejects.toBeInstanceOf(NotCapturedError);
    expect(await host.stat("/sys/bus/pci/devices/0000:01:00.0")).toMatchObject({ type: "dir" });
    expect(await host.stat("/proc/cmdline")).toMatchObject({ type: "file" });
  });

  it("is read-only", async () => {
    await expect(host.writeFile("/etc/modules", "vfio\n")).rejects.toBeInstanceOf(ReadOnlyHostError);
    await expect(host.remove("/etc/modules")).rejects.toBeInstanceOf(ReadOnlyHostError);
    await expect(host.reboot()).rejects.toBeInstanceOf(ReadOnlyHostError);
  });
});

describe("bad bundles are refused with a UserError", () => {
  const refuse = async (path: string, re: RegExp) => {
    const err = await BundleHost.open(path, `bundle:${path}`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(re);
  };

  it("corrupt gzip", async () => {
    const good = await tarGz([{ name: "bundle.json", content: META }]);
    const bad = Buffer.from(good);
    bad.fill(0x41, 12, bad.length - 4);
    const p = join(tmp, "corrupt.tar.gz");
    writeFileSync(p, bad);
    await refuse(p, /corrupt\.tar\.gz.*corrupt gzip/);
  });

  it("not a tarball at all", async () => {
    const p = join(tmp, "notes.tar.gz");
    writeFileSync(p, "just some text that is not a tar archive\n".repeat(40));
    await refuse(p, /notes\.tar\.gz/);
  });

  it("a foreign tarball without bundle.json", async () => {
    await refuse(
      await writeTgz("foreign.tar.gz", [{ name: "README.md", content: "# hello\n" }]),
      /no bundle\.json/,
    );
  });

  it("format vgpuctl-bundle/2", async () => {
    const meta = JSON.stringify({ format: "vgpuctl-bundle/2", host: "x", commands: [] });
    await refuse(
      await writeTgz("v2.tar.gz", [{ name: "bundle.json", content: meta }]),
      /"vgpuctl-bundle\/2".*reads vgpuctl-bundle\/1/,
    );
  });

  it("an entry named ../", async () => {
    await refuse(
      await writeTgz("dotdot.tar.gz", [
        { name: "bundle.json", content: META },
        { name: "files/../../evil", content: "x" },
      ]),
      /files\/\.\.\/\.\.\/evil.*"\.\."/,
    );
  });

  it("an absolute entry name", async () => {
    await refuse(
      await writeTgz("abs.tar.gz", [
        { name: "bundle.json", content: META },
        { name: "/etc/cron.d/evil", content: "x" },
      ]),
      /absolute path/,
    );
  });

  it("a symlink entry", async () => {
    await refuse(
      await writeTgz("symlink.tar.gz", [
        { name: "bundle.json", content: META },
        { name: "files/etc/passwd", type: "symlink", linkname: "/etc/passwd" },
      ]),
      /files\/etc\/passwd.*symlink/,
    );
  });

  it("a hard link entry", async () => {
    await refuse(
      await writeTgz("hardlink.tar.gz", [
        { name: "bundle.json", content: META },
        { name: "files/etc/shadow", type: "link", linkname: "/etc/shadow" },
      ]),
      /hard link/,
    );
  });

  it("a command stdout path that climbs out", async () => {
    const meta = JSON.stringify({
      format: BUNDLE_FORMAT,
      commands: [{ cmd: "id", stdout: "../../etc/passwd", exitCode: 0 }],
    });
    await refuse(await writeTgz("cmdpath.tar.gz", [{ name: "bundle.json", content: meta }]), /"\.\."/);
  });

  it("a directory bundle with a symlink to /etc/passwd", async () => {
    const dir = join(tmp, "dir-symlink");
    await writeBundle(CAPTURE, dir);
    symlinkSync("/etc/passwd", join(dir, "files/etc/passwd"));
    await refuse(dir, /files\/etc\/passwd is a symlink pointing outside the bundle/);
  });

  it("a folder that is not a bundle (nothing below it is read)", async () => {
    const dir = join(tmp, "not-a-bundle");
    mkdirSync(join(dir, "files"), { recursive: true });
    symlinkSync("/etc/passwd", join(dir, "files/passwd"));
    await refuse(dir, /not-a-bundle is not a vgpuctl bundle: it has no bundle\.json/);
  });

  it("a path that does not exist", async () => {
    await refuse(join(tmp, "nope.tar.gz"), /nope\.tar\.gz.*ENOENT/);
  });

  it('"format": 1 says what is wrong with the field, not "no format field" (issue 13 item 16)', async () => {
    const meta = JSON.stringify({ format: 1, host: "x", commands: [] });
    await refuse(
      await writeTgz("format-number.tar.gz", [{ name: "bundle.json", content: meta }]),
      /bundle\.json field "format" is 1 \(a number\), not a string like "vgpuctl-bundle\/1"/,
    );
    const none = JSON.stringify({ host: "x", commands: [] });
    await refuse(
      await writeTgz("format-none.tar.gz", [{ name: "bundle.json", content: none }]),
      /bundle\.json has no "format" field/,
    );
  });

  it("a tarball of more entries than MAX_BUNDLE_ENTRIES (empty ones) is refused early (issue 13 item 14)", async () => {
    const empties = Array.from({ length: MAX_BUNDLE_ENTRIES + 1 }, (_, i) => ({ name: `files/e${i}` }));
    const p = await writeTgz("entry-bomb.tar.gz", [{ name: "bundle.json", content: META }, ...empties]);
    await refuse(p, new RegExp(`entry-bomb\\.tar\\.gz: more than ${MAX_BUNDLE_ENTRIES} entries`));
  });

  it("bundle.json listing more commands than MAX_BUNDLE_ENTRIES (all naming one file) is refused", async () => {
    const commands = Array.from({ length: MAX_BUNDLE_ENTRIES + 1 }, (_, i) => ({
      cmd: `echo ${i}`,
      stdout: "commands/x.txt",
    }));
    const meta = JSON.stringify({ format: BUNDLE_FORMAT, host: "x", commands });
    const p = await writeTgz("command-bomb.tar.gz", [
      { name: "bundle.json", content: meta },
      { name: "commands/x.txt", content: "x".repeat(1024) },
    ]);
    await refuse(p, /command-bomb\.tar\.gz: more than \d+ entries/);
  });

  it("a folder bundle of more entries than MAX_BUNDLE_ENTRIES is refused (issue 13 item 14)", async () => {
    const dir = join(tmp, "entry-bomb-dir");
    mkdirSync(join(dir, "files"), { recursive: true });
    writeFileSync(join(dir, "bundle.json"), META);
    for (let i = 0; i <= MAX_BUNDLE_ENTRIES; i++) mkdirSync(join(dir, "files", `d${i}`));
    await refuse(dir, /entry-bomb-dir: more than \d+ entries/);
  });

  it("bundle.json that is not JSON", async () => {
    await refuse(
      await writeTgz("badjson.tar.gz", [{ name: "bundle.json", content: "{ not json" }]),
      /not valid JSON/,
    );
  });
});

describe("hand-assembled bundles", () => {
  it("a symlink inside the bundle is followed; exitCode defaults to 0", async () => {
    const dir = join(tmp, "hand");
    mkdirSync(join(dir, "commands"), { recursive: true });
    mkdirSync(join(dir, "files/proc"), { recursive: true });
    writeFileSync(
      join(dir, "commands/uname.txt"),
      "Linux pve1 5.15.107-2-pve #1 SMP PVE 5.15.107-2 x86_64 GNU/Linux\n",
    );
    symlinkSync("../../commands/uname.txt", join(dir, "files/proc/version"));
    writeFileSync(
      join(dir, "bundle.json"),
      JSON.stringify({
        format: BUNDLE_FORMAT,
        host: "pve1",
        commands: [{ cmd: "uname  -a", stdout: "commands/uname.txt" }],
      }),
    );
    const host = await BundleHost.open(dir, `bundle:${dir}`);
    expect((await host.exec(["uname", "-a"])).exitCode).toBe(0);
    expect(await host.readFile("/proc/version")).toMatch(/^Linux pve1/);
    await expect(host.readFile("/proc/cmdline")).rejects.toBeInstanceOf(NotCapturedError);
  });
});
