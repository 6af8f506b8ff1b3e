import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, link, lstat, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { hostname, constants as osConstants } from "node:os";
import { basename, dirname, isAbsolute, join, resolve, sep } from "node:path";
import type { Capture, CaptureSpec } from "../facts/capture.ts";
import { UserError } from "../util/errors.ts";
import { captureViaPrimitives } from "./capture-generic.ts";
import type { ExecOptions, ExecResult, FileStat, Host } from "./host.ts";

/**
 * This machine. With `--root DIR` the host is the files under DIR only, for offline editing and
 * tests: every *file* operation (readFile, writeFile, list, stat, remove, and so capture's file part)
 * is prefixed with DIR, and `exec` runs nothing at all — it answers exit 127 with
 * "<prog>: commands do not run under --root (files only)". Running commands on this machine would
 * mix two machines' facts (inspect/doctor/plan), and apply would install packages, rebuild the
 * initramfs or run the driver installer here while writing its files into DIR. Captures leave such
 * commands out (not captured: unknown).
 */
export class LocalHost implements Host {
  readonly kind = "local" as const;
  readonly spec: string;
  readonly name: string;
  readonly readOnly = false;
  private readonly root: string | null;

  constructor(opts: { root: string | null; spec: string }) {
    this.spec = opts.spec;
    this.root = opts.root === null ? null : resolve(opts.root);
    this.name = this.root === null ? hostname() : rootHostName(this.root);
  }

  /** The real path of a host path (prefixed by --root, never escaping it). */
  private p(path: string): string {
    if (this.root === null) return path;
    if (!isAbsolute(path))
      throw new UserError(`host path ${JSON.stringify(path)} must be absolute with --root`);
    const real = resolve(join(this.root, path));
    if (real !== this.root && !real.startsWith(this.root + sep))
      throw new UserError(`path ${JSON.stringify(path)} points outside --root ${this.root}`);
    return real;
  }

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const [prog, ...args] = argv;
    if (!prog) return Promise.resolve({ stdout: "", stderr: "exec: empty command", exitCode: 127 });
    if (this.root !== null)
      return Promise.resolve({
        stdout: "",
        stderr: `${prog}: commands do not run under --root (files only)`,
        exitCode: 127,
      });
    return new Promise((resolvePromise) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      let settled = false;
      const done = (r: ExecResult) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        resolvePromise(r);
      };
      const child = spawn(prog, args, { stdio: ["pipe", "pipe", "pipe"] });
      const timer =
        opts.timeoutMs !== undefined
          ? setTimeout(() => {
              timedOut = true;
              child.kill("SIGKILL");
            }, opts.timeoutMs)
          : undefined;
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.stdin.on("error", () => {}); // the program may exit without reading its input (EPIPE)
      child.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") done({ stdout: "", stderr: `${prog}: command not found`, exitCode: 127 });
        else done({ stdout: "", stderr: `${prog}: ${e.message}`, exitCode: 126 });
      });
      child.on("close", (code, signal) => {
        const stderr = Buffer.concat(err).toString("utf8");
        let exitCode = code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
        if (timedOut) exitCode = 124;
        done({
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: timedOut ? `${stderr}${prog}: timed out after ${opts.timeoutMs} ms\n` : stderr,
          exitCode,
        });
      });
      child.stdin.end(opts.input ?? "");
    });
  }

  async readFile(path: string): Promise<string | null> {
    try {
      return await readFile(this.p(path), "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw new UserError(`cannot read ${path}: ${code ?? (e as Error).message}`, hintFor(code));
    }
  }

  async writeFile(path: string, content: string, opts: { mode?: number } = {}): Promise<void> {
    const real = this.p(path);
    const dir = dirname(real);
    try {
      await mkdir(dir, { recursive: true });
      let mode = opts.mode;
      if (mode === undefined) {
        const existing = await stat(real).catch((e: NodeJS.ErrnoException) => {
          if (e.code === "ENOENT" || e.code === "ENOTDIR") return null; // a new file
          throw e; // never guess the mode of a file that is there
        });
        mode = existing ? existing.mode & 0o7777 : 0o644;
      }
      const tmp = await writeTempBeside(real, content, mode);
      try {
        await rename(tmp, real);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      await syncDir(dir);
    } catch (e) {
      if (e instanceof UserError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError(`cannot write ${path}: ${code ?? (e as Error).message}`, hintFor(code));
    }
  }

  /**
   * The content goes to a temporary file first, which is then hard-linked to `path`: link(2) fails
   * with EEXIST when `path` exists, atomically, and the file appears complete. Where hard links are
   * not supported, open(path, O_CREAT|O_EXCL) ("wx") is the exclusive step instead.
   */
  async createExclusive(path: string, content: string, opts: { mode?: number } = {}): Promise<boolean> {
    const real = this.p(path);
    const dir = dirname(real);
    const mode = opts.mode ?? 0o644;
    try {
      await mkdir(dir, { recursive: true });
      const tmp = await writeTempBeside(real, content, mode);
      try {
        await link(tmp, real);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EEXIST") return false;
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw e;
        return await createWx(real, content, mode);
      } finally {
        await rm(tmp, { force: true });
      }
      await syncDir(dir);
      return true;
    } catch (e) {
      if (e instanceof UserError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError(`cannot create ${path}: ${code ?? (e as Error).message}`, hintFor(code));
    }
  }

  async list(path: string): Promise<string[] | null> {
    try {
      return (await readdir(this.p(path))).sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw new UserError(`cannot list ${path}: ${code ?? (e as Error).message}`, hintFor(code));
    }
  }

  /** Follows symlinks (stat(2)); only a dangling symlink is reported as "symlink". */
  async stat(path: string): Promise<FileStat | null> {
    const real = this.p(path);
    try {
      const st = await stat(real);
      const type = st.isFile() ? "file" : st.isDirectory() ? "dir" : "other";
      return { type, size: st.size, mode: st.mode & 0o7777 };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR" && code !== "ELOOP") throw e;
      // stat found nothing to follow: a dangling symlink still has an lstat; absent is absent
      const l = await lstat(real).catch((e2: NodeJS.ErrnoException) => {
        if (e2.code === "ENOENT" || e2.code === "ENOTDIR") return null;
        throw e2;
      });
      return l?.isSymbolicLink() ? { type: "symlink", size: l.size, mode: l.mode & 0o7777 } : null;
    }
  }

  async remove(path: string): Promise<void> {
    const real = this.p(path);
    if (real === "/" || real === this.root) throw new UserError(`refusing to remove ${path}`);
    await rm(real, { recursive: true, force: true });
  }

  async reboot(): Promise<void> {
    throw new UserError(
      "cannot reboot the machine vgpuctl runs on and wait for it",
      "reboot this machine yourself, then re-run the same command",
    );
  }

  capture(spec: CaptureSpec): Promise<Capture> {
    return captureViaPrimitives(this, spec, this.name);
  }

  async close(): Promise<void> {}
}

function rootHostName(root: string): string {
  try {
    const h = readFileSync(join(root, "etc", "hostname"), "utf8").trim();
    if (h) return h;
  } catch {
    // only the display name: with no readable hostname file (absent or not) it is the folder's name;
    // a capture reads /etc/hostname itself and records an unreadable one as unreadable
  }
  return basename(root) || root;
}

/** open(O_CREAT|O_EXCL): exclusive, but the file is empty until the write lands. */
async function createWx(real: string, content: string, mode: number): Promise<boolean> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(real, "wx", mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    await fh.writeFile(content, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(real, mode);
  return true;
}

/** Errors of open(dir)/fsync(dir) that mean "this filesystem or platform cannot do it", not "it failed". */
const NO_DIR_SYNC = new Set(["EINVAL", "ENOTSUP", "EOPNOTSUPP", "EPERM", "EISDIR", "EACCES"]);

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    // some filesystems cannot fsync a directory (EINVAL), Windows cannot open one (EPERM/EISDIR), a
    // folder may be -wx: the rename is still atomic. EIO and the like are real failures.
    if (!NO_DIR_SYNC.has((e as NodeJS.ErrnoException).code ?? "")) throw e;
  }
}

function hintFor(code: string | undefined): string | undefined {
  if (code === "EACCES" || code === "EPERM") return "run vgpuctl as root (or with sudo) on this machine";
  if (code === "EROFS") return "the filesystem is read-only";
  return undefined;
}

/** A complete, synced temporary file next to `real` (same filesystem, so rename/link are atomic). */
async function writeTempBeside(real: string, content: string, mode: number): Promise<string> {
  const tmp = join(
    dirname(real),
    `.${basename(real)}.vgpuctl-${process.pid}-${randomBytes(4).toString("hex")}.tmp`,
  );
  const fh = await open(tmp, "wx", mode);
  try {
    try {
      await fh.writeFile(content, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, mode); // open()'s mode is filtered by the umask
    return tmp;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
