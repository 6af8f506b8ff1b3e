import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { gunzip as gunzipCb, gzip as gzipCb } from "node:zlib";
import * as tar from "tar-stream";
import { BUNDLE_FORMAT, type Capture, type CapturedCommand } from "../../facts/capture.ts";
import { UserError } from "../../util/errors.ts";

const gunzip = promisify(gunzipCb);
const gzip = promisify(gzipCb);

/** Largest bundle file (.tar.gz) read. */
export const MAX_BUNDLE_FILE_BYTES = 256 * 1024 * 1024;
/** Largest total of all entries (unpacked) read from one bundle. */
export const MAX_BUNDLE_UNPACKED_BYTES = 512 * 1024 * 1024;
/** Largest single entry read from a bundle. */
export const MAX_BUNDLE_ENTRY_BYTES = 64 * 1024 * 1024;

/**
 * Most entries (files, folders, anything) one bundle may hold. A real capture has a few hundred to
 * a few thousand (an A16 with 64 VFs included); a bomb of empty entries is refused before it costs
 * time and memory, as the byte caps refuse a large one.
 */
export const MAX_BUNDLE_ENTRIES = 20_000;

function tooManyEntries(bundle: string): UserError {
  return new UserError(
    `refusing bundle ${bundle}: more than ${MAX_BUNDLE_ENTRIES} entries`,
    "a vgpuctl support bundle holds a few thousand files at most; re-capture it with `vgpuctl support-bundle`",
  );
}

/** The bundle's entries by relative path ("bundle.json", "files/proc/cmdline", ...). */
type Entries = Map<string, Buffer>;

const HINT_MAKE =
  "a bundle is a folder or .tar.gz written by `vgpuctl support-bundle` (bundle.json, files/, commands/)";

/** Read a bundle (directory or .tar.gz) into a Capture. Throws UserError for anything unusable. */
export async function readBundle(path: string): Promise<Capture> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    throw new UserError(
      `cannot read bundle ${path}: ${errCode(e)}`,
      "check the path after bundle: (a directory or a .tar.gz)",
    );
  }
  const entries = st.isDirectory() ? await readDirEntries(path) : await readTarEntries(path, st.size);
  return entriesToCapture(entries, path);
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Relative entry name → normalised, or a UserError for names that could escape the bundle. */
function safeEntryName(name: string, bundle: string): string {
  const n = name.replace(/^(\.\/)+/, "");
  if (n.startsWith("/") || /^[A-Za-z]:[\\/]/.test(n))
    throw new UserError(
      `refusing bundle ${bundle}: entry ${JSON.stringify(name)} has an absolute path`,
      HINT_MAKE,
    );
  if (n.split(/[\\/]/).some((seg) => seg === ".."))
    throw new UserError(`refusing bundle ${bundle}: entry ${JSON.stringify(name)} contains ".."`, HINT_MAKE);
  return n.replace(/\/+$/, "");
}

async function readDirEntries(dir: string): Promise<Entries> {
  const root = await realpath(dir);
  const entries: Entries = new Map();
  let total = 0;
  let seen = 0;
  /** lstat + symlink check: the real path of an entry inside the bundle, or null when absent. */
  const resolveEntry = async (relPath: string): Promise<{ real: string; st: Stats } | null> => {
    const abs = join(root, relPath);
    let st = await lstat(abs).catch((e: NodeJS.ErrnoException) => {
      // absent (a command whose output file is missing: not captured); anything else is named
      if (e.code === "ENOENT" || e.code === "ENOTDIR") return null;
      throw new UserError(`cannot read ${join(dir, relPath)}: ${errCode(e)}`);
    });
    if (!st) return null;
    let real = abs;
    if (st.isSymbolicLink()) {
      try {
        real = await realpath(abs);
      } catch {
        throw new UserError(`refusing bundle ${dir}: ${relPath} is a broken symlink`, HINT_MAKE);
      }
      if (real !== root && !real.startsWith(root + sep))
        throw new UserError(
          `refusing bundle ${dir}: ${relPath} is a symlink pointing outside the bundle`,
          HINT_MAKE,
        );
      st = await stat(real);
    }
    return { real, st };
  };
  const readOne = async (relPath: string, real: string, size: number): Promise<void> => {
    if (size > MAX_BUNDLE_ENTRY_BYTES)
      throw new UserError(
        `refusing bundle ${dir}: ${relPath} is larger than ${MAX_BUNDLE_ENTRY_BYTES} bytes`,
      );
    total += size;
    if (total > MAX_BUNDLE_UNPACKED_BYTES)
      throw new UserError(`refusing bundle ${dir}: larger than ${MAX_BUNDLE_UNPACKED_BYTES} bytes`);
    try {
      entries.set(relPath, await readFile(real));
    } catch (e) {
      throw new UserError(`cannot read ${join(dir, relPath)}: ${errCode(e)}`);
    }
  };
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > 64) throw new UserError(`refusing bundle ${dir}: folders nested too deep`);
    let names: string[];
    try {
      names = await readdir(join(root, rel));
    } catch (e) {
      throw new UserError(`cannot read bundle folder ${join(dir, rel)}: ${errCode(e)}`);
    }
    seen += names.length;
    if (seen > MAX_BUNDLE_ENTRIES) throw tooManyEntries(dir);
    for (const name of names.sort()) {
      const relPath = `${rel}/${name}`;
      const e = await resolveEntry(relPath);
      if (!e) continue;
      if (e.st.isDirectory()) {
        // never follow symlinked folders (loops)
        if (e.real === join(root, relPath)) await walk(relPath, depth + 1);
      } else if (e.st.isFile()) await readOne(relPath, e.real, e.st.size);
    }
  };
  // bundle.json first: a folder that is not a bundle is refused before anything else is read
  const meta = await resolveEntry("bundle.json");
  if (!meta?.st.isFile())
    throw new UserError(`${dir} is not a vgpuctl bundle: it has no bundle.json`, HINT_MAKE);
  await readOne("bundle.json", meta.real, meta.st.size);
  const parsed = parseMeta(entries.get("bundle.json"), dir);
  const files = await resolveEntry("files");
  if (files?.st.isDirectory()) await walk("files", 1);
  for (const c of Array.isArray(parsed.commands) ? (parsed.commands as unknown[]) : []) {
    const out = (c as { stdout?: unknown } | null)?.stdout;
    if (typeof out !== "string") continue;
    const rel = safeEntryName(out, dir);
    if (entries.has(rel)) continue;
    const e = await resolveEntry(rel);
    if (e?.st.isFile()) await readOne(rel, e.real, e.st.size);
  }
  return entries;
}

async function readTarEntries(path: string, size: number): Promise<Entries> {
  if (size > MAX_BUNDLE_FILE_BYTES)
    throw new UserError(`refusing bundle ${path}: the file is larger than ${MAX_BUNDLE_FILE_BYTES} bytes`);
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (e) {
    throw new UserError(`cannot read bundle ${path}: ${errCode(e)}`);
  }
  let tarball = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      tarball = await gunzip(raw, { maxOutputLength: MAX_BUNDLE_UNPACKED_BYTES + 1024 * 1024 });
    } catch (e) {
      const msg =
        e instanceof RangeError
          ? `unpacks to more than ${MAX_BUNDLE_UNPACKED_BYTES} bytes`
          : `corrupt gzip data (${(e as Error).message})`;
      throw new UserError(`cannot read bundle ${path}: ${msg}`, HINT_MAKE);
    }
  }
  return await new Promise<Entries>((resolvePromise, reject) => {
    const entries: Entries = new Map();
    let total = 0;
    let count = 0;
    let failed = false;
    const extract = tar.extract();
    const fail = (err: UserError) => {
      if (failed) return;
      failed = true;
      extract.destroy();
      reject(err);
    };
    extract.on("entry", (header, stream, next) => {
      if (failed) return;
      if (++count > MAX_BUNDLE_ENTRIES) {
        fail(tooManyEntries(path));
        return;
      }
      let name: string;
      try {
        name = safeEntryName(header.name, path);
      } catch (e) {
        fail(e as UserError);
        return;
      }
      const type = header.type ?? "file";
      if (type === "symlink" || type === "link") {
        fail(
          new UserError(
            `refusing bundle ${path}: entry ${JSON.stringify(header.name)} is a ${type === "link" ? "hard link" : "symlink"}`,
            HINT_MAKE,
          ),
        );
        return;
      }
      const chunks: Buffer[] = [];
      let n = 0;
      stream.on("data", (chunk: unknown) => {
        const b = chunk as Buffer;
        n += b.length;
        total += b.length;
        if (n > MAX_BUNDLE_ENTRY_BYTES || total > MAX_BUNDLE_UNPACKED_BYTES) {
          fail(new UserError(`refusing bundle ${path}: too large (entry ${header.name})`));
          return;
        }
        if (type === "file" || type === "contiguous-file") chunks.push(b);
      });
      stream.on("end", () => {
        if (failed) return;
        if ((type === "file" || type === "contiguous-file") && name !== "")
          entries.set(name, Buffer.concat(chunks));
        next();
      });
      stream.on("error", (e: Error) =>
        fail(new UserError(`cannot read bundle ${path}: ${e.message}`, HINT_MAKE)),
      );
    });
    extract.on("finish", () => {
      if (!failed) resolvePromise(entries);
    });
    extract.on("error", (e: Error) =>
      fail(new UserError(`cannot read bundle ${path}: not a .tar.gz bundle (${e.message})`, HINT_MAKE)),
    );
    extract.end(tarball);
  });
}

function stripTopFolder(entries: Entries): Entries {
  if (entries.has("bundle.json")) return entries;
  // `tar czf x.tar.gz pve1/` puts everything under one folder: accept that.
  const jsons = [...entries.keys()].filter((k) => /^[^/]+\/bundle\.json$/.test(k));
  if (jsons.length !== 1) return entries;
  const prefix = jsons[0]!.slice(0, -"bundle.json".length);
  const out: Entries = new Map();
  for (const [k, v] of entries) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}

/** bundle.json → its object, checked for the one format this vgpuctl reads. */
function parseMeta(json: Buffer | undefined, path: string): Record<string, unknown> {
  if (!json) throw new UserError(`${path} is not a vgpuctl bundle: it has no bundle.json`, HINT_MAKE);
  let meta: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(json.toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not a JSON object");
    meta = parsed as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${path}: bundle.json is not valid JSON (${(e as Error).message})`, HINT_MAKE);
  }
  if (meta.format !== BUNDLE_FORMAT) {
    throw new UserError(
      `${path}: ${describeFormat(meta.format)}; this vgpuctl reads ${BUNDLE_FORMAT}`,
      typeof meta.format === "string"
        ? "use the vgpuctl version that wrote the bundle, or re-capture it with this one"
        : `${HINT_MAKE}; its "format" is the string "${BUNDLE_FORMAT}"`,
    );
  }
  return meta;
}

/** What is wrong with bundle.json's "format" value, in words (it is not BUNDLE_FORMAT). */
function describeFormat(format: unknown): string {
  if (typeof format === "string") return `unsupported bundle format ${JSON.stringify(format)}`;
  if (format === undefined) return `bundle.json has no "format" field`;
  const kind = format === null ? "null" : Array.isArray(format) ? "a list" : `a ${typeof format}`;
  const shown = JSON.stringify(format).slice(0, 40);
  return `bundle.json field "format" is ${shown} (${kind}), not a string like "${BUNDLE_FORMAT}"`;
}

function entriesToCapture(all: Entries, path: string): Capture {
  const entries = stripTopFolder(all);
  const meta = parseMeta(entries.get("bundle.json"), path);
  const strings = (v: unknown, field: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
      throw new UserError(`${path}: bundle.json field "${field}" must be a list of strings`);
    return v as string[];
  };
  const commands: CapturedCommand[] = [];
  const rawCommands = meta.commands ?? [];
  if (!Array.isArray(rawCommands))
    throw new UserError(`${path}: bundle.json field "commands" must be a list`);
  // each command's output is read into memory on its own: as many as the entries a bundle may hold
  if (rawCommands.length > MAX_BUNDLE_ENTRIES) throw tooManyEntries(path);
  for (const c of rawCommands as unknown[]) {
    const o = (typeof c === "object" && c !== null ? c : {}) as Record<string, unknown>;
    if (typeof o.cmd !== "string" || typeof o.stdout !== "string")
      throw new UserError(
        `${path}: bundle.json has a command without "cmd" and "stdout" strings: ${JSON.stringify(c)}`,
      );
    const file = safeEntryName(o.stdout, path);
    const out = entries.get(file);
    if (out === undefined)
      throw new UserError(
        `${path}: bundle.json names ${o.stdout} for "${o.cmd}", but the bundle has no such file`,
      );
    const exitCode = typeof o.exitCode === "number" && Number.isInteger(o.exitCode) ? o.exitCode : 0;
    commands.push({
      cmd: o.cmd,
      stdout: out.toString("utf8"),
      exitCode,
      ...(o.partial === true ? { partial: true } : {}),
    });
  }
  const files: Record<string, string> = {};
  for (const [name, data] of entries) {
    if (!name.startsWith("files/")) continue;
    const hostPath = `/${name.slice("files/".length)}`;
    if (hostPath === "/") continue;
    files[hostPath] = data.toString("utf8");
  }
  const capture: Capture = {
    format: BUNDLE_FORMAT,
    host:
      typeof meta.host === "string" && meta.host ? meta.host : basename(path).replace(/\.(tar\.gz|tgz)$/, ""),
    capturedAt: typeof meta.capturedAt === "string" ? meta.capturedAt : "",
    commands,
    files,
    capturedPaths: strings(meta.capturedPaths, "capturedPaths"),
    redacted: strings(meta.redacted, "redacted"),
    notes: strings(meta.notes, "notes"),
  };
  // an extra field of vgpuctl-bundle/1 (older bundles have none): paths that exist but were unreadable
  const unreadable = strings(meta.unreadable, "unreadable");
  if (unreadable.length > 0) capture.unreadable = unreadable;
  return capture;
}

/** A command line → a file name: "nvidia-smi vgpu -q" → "nvidia-smi-vgpu-q". */
export function commandSlug(cmd: string): string {
  const s = cmd
    .toLowerCase()
    .replace(/[^a-z0-9._]+/g, "-")
    .replace(/^[-.]+|-+$/g, "")
    .slice(0, 80)
    .replace(/-+$/, "");
  return s || "command";
}

function bundleEntries(capture: Capture): Array<{ name: string; data: Buffer }> {
  const out: Array<{ name: string; data: Buffer }> = [];
  const used = new Set<string>();
  const notes = [...capture.notes];
  const commands = capture.commands.map((c) => {
    const base = commandSlug(c.cmd);
    let name = `commands/${base}.txt`;
    for (let i = 2; used.has(name); i++) name = `commands/${base}-${i}.txt`;
    used.add(name);
    out.push({ name, data: Buffer.from(c.stdout, "utf8") });
    return { cmd: c.cmd, stdout: name, exitCode: c.exitCode, ...(c.partial ? { partial: true } : {}) };
  });
  for (const [path, content] of Object.entries(capture.files).sort(([a], [b]) => a.localeCompare(b))) {
    const rel = path.replace(/^\/+/, "");
    if (
      !path.startsWith("/") ||
      rel === "" ||
      rel.split("/").some((s) => s === ".." || s === "." || s === "")
    ) {
      notes.push(`not written to the bundle (unsafe path): ${JSON.stringify(path)}`);
      continue;
    }
    out.push({ name: `files/${rel}`, data: Buffer.from(content, "utf8") });
  }
  const meta = {
    format: BUNDLE_FORMAT,
    host: capture.host,
    capturedAt: capture.capturedAt,
    commands,
    capturedPaths: capture.capturedPaths,
    ...(capture.unreadable?.length ? { unreadable: capture.unreadable } : {}),
    redacted: capture.redacted,
    notes,
  };
  out.unshift({ name: "bundle.json", data: Buffer.from(`${JSON.stringify(meta, null, 2)}\n`, "utf8") });
  return out;
}

/**
 * Write a Capture as a bundle: a .tar.gz when `outPath` ends in .tar.gz/.tgz (replaced atomically),
 * else a new directory (which must not exist or be empty), written whole or not at all.
 */
export async function writeBundle(capture: Capture, outPath: string): Promise<void> {
  const entries = bundleEntries(capture);
  if (/\.(tar\.gz|tgz)$/i.test(outPath)) {
    const tarball = await packTar(entries, capture.capturedAt);
    const dir = dirname(resolve(outPath));
    const tmp = join(dir, `.${basename(outPath)}.${randomBytes(4).toString("hex")}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(tmp, await gzip(tarball), { mode: 0o600 });
      await rename(tmp, outPath);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new UserError(`cannot write bundle ${outPath}: ${errCode(e)}`);
    }
    return;
  }
  const existing = await readdir(outPath).catch((e: NodeJS.ErrnoException) =>
    e.code === "ENOENT" ? null : e,
  );
  if (existing instanceof Error) throw new UserError(`cannot write bundle ${outPath}: ${errCode(existing)}`);
  if (existing && existing.length > 0)
    throw new UserError(
      `cannot write bundle ${outPath}: the folder exists and is not empty`,
      "choose a new path, or end it in .tar.gz",
    );
  // Written into a sibling temp folder, renamed into place at the end: a failure never leaves a
  // partial bundle, whose missing files would replay as "absent".
  const parent = dirname(resolve(outPath));
  const tmp = join(parent, `.tmp-${basename(resolve(outPath))}-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(tmp);
    for (const { name, data } of entries) {
      const file = join(tmp, name);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, data, { mode: 0o600 });
    }
    // rename(2) replaces an empty folder
    await rename(tmp, outPath);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw new UserError(`cannot write bundle ${outPath}: ${errCode(e)}`);
  }
}

async function packTar(entries: Array<{ name: string; data: Buffer }>, capturedAt: string): Promise<Buffer> {
  const pack = tar.pack();
  const parsed = new Date(capturedAt);
  const mtime = Number.isNaN(parsed.getTime()) ? new Date() : parsed;
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((res, rej) => {
    pack.on("data", (b: unknown) => chunks.push(b as Buffer));
    pack.on("end", () => res(Buffer.concat(chunks)));
    pack.on("error", rej);
  });
  for (const { name, data } of entries) {
    await new Promise<void>((res, rej) =>
      pack.entry({ name, size: data.length, mode: 0o644, mtime, type: "file" }, data, (err) =>
        err ? rej(err) : res(),
      ),
    );
  }
  pack.finalize();
  return done;
}
