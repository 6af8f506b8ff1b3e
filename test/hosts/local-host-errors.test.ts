// LocalHost: writeFile's folder fsync after the rename, the stat that keeps an existing file's mode,
// and stat's lstat of a dangling symlink used to ignore every error. Only "this filesystem cannot" (EINVAL from fsync on a folder, …) and
// "no such file yet" are expected; an I/O error is a failed write. Disk errors cannot be made for real
// in a test: node:fs/promises is wrapped so that, for one marked path, fsync / stat fail as the kernel
// reports them (an Error with an errno `code`); every other call is the real one.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LocalHost } from "../../src/hosts/local-host.ts";

const fault = vi.hoisted(() => ({
  dirSync: null as string | null,
  stat: null as string | null,
  lstat: null as string | null,
  path: "",
}));

vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>();
  const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });
  const open: typeof fs.open = async (...args) => {
    const fh = await fs.open(...args);
    if (fault.dirSync && String(args[0]) === fault.path) {
      const code = fault.dirSync;
      return Object.assign(Object.create(Object.getPrototypeOf(fh)), fh, {
        sync: async () => Promise.reject(errno(code)),
        close: () => fh.close(),
      });
    }
    return fh;
  };
  const stat = (async (p: Parameters<typeof fs.stat>[0], o?: Parameters<typeof fs.stat>[1]) => {
    if (fault.stat && String(p) === fault.path) throw errno(fault.stat);
    return fs.stat(p, o);
  }) as typeof fs.stat;
  const lstat = (async (p: Parameters<typeof fs.lstat>[0], o?: Parameters<typeof fs.lstat>[1]) => {
    if (fault.lstat && String(p) === fault.path) throw errno(fault.lstat);
    return fs.lstat(p, o);
  }) as typeof fs.lstat;
  return { ...fs, default: { ...fs, open, stat, lstat }, open, stat, lstat };
});

const roots: string[] = [];
afterEach(() => {
  fault.dirSync = null;
  fault.stat = null;
  fault.lstat = null;
  while (roots.length) rmSync(roots.pop()!, { recursive: true, force: true });
});

function root(): string {
  const r = mkdtempSync(join(tmpdir(), "vgpuctl-lw-"));
  roots.push(r);
  return r;
}

describe("LocalHost.writeFile", () => {
  it("EIO from fsync of the folder is a failed write", async () => {
    const r = root();
    fault.dirSync = "EIO";
    fault.path = r;
    const host = new LocalHost({ root: r, spec: "local" });
    await expect(host.writeFile("/x.conf", "a\n")).rejects.toThrow("cannot write /x.conf: EIO");
  });

  it("EINVAL from fsync of the folder (a filesystem that cannot) is not", async () => {
    const r = root();
    fault.dirSync = "EINVAL";
    fault.path = r;
    await new LocalHost({ root: r, spec: "local" }).writeFile("/x.conf", "a\n");
    expect(readFileSync(join(r, "x.conf"), "utf8")).toBe("a\n");
  });

  it("an existing file whose mode cannot be read is not rewritten with a guessed mode", async () => {
    const r = root();
    writeFileSync(join(r, "secret.conf"), "old\n", { mode: 0o600 });
    fault.stat = "EIO";
    fault.path = join(r, "secret.conf");
    const host = new LocalHost({ root: r, spec: "local" });
    await expect(host.writeFile("/secret.conf", "new\n")).rejects.toThrow("cannot write /secret.conf: EIO");
    expect(readFileSync(join(r, "secret.conf"), "utf8")).toBe("old\n");
    expect(statSync(join(r, "secret.conf")).mode & 0o777).toBe(0o600);
  });
});

describe("LocalHost.stat", () => {
  it("a path that is absent is null", async () => {
    expect(await new LocalHost({ root: root(), spec: "local" }).stat("/none")).toBeNull();
  });

  it("when the lstat after an absent stat fails with EIO, that is thrown, not 'absent'", async () => {
    const r = root();
    fault.lstat = "EIO";
    fault.path = join(r, "none");
    await expect(new LocalHost({ root: r, spec: "local" }).stat("/none")).rejects.toThrow("EIO: injected");
  });
});
