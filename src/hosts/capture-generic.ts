import {
  type Capture,
  type CaptureSpec,
  emptyCapture,
  finishUnreadable,
  formatCommand,
  GATHER_COMMAND_TIMEOUT_S,
  MAX_CAPTURE_DEPTH,
  MAX_FILE_BYTES,
  MDEV_TYPE_FILES,
  NOT_INSTALLED_EXIT,
  NVIDIA_FUNCTION_FILES,
  notInstalledNote,
  SYS_PCI_DEVICES,
} from "../facts/capture.ts";
import { UserError } from "../util/errors.ts";
import type { Host } from "./host.ts";

export interface CaptureOptions {
  /** Per-command time limit (default GATHER_COMMAND_TIMEOUT_S, like the gather script's `timeout`). */
  commandTimeoutMs?: number;
}

/**
 * Capture through a host's primitives (exec/readFile/list/stat). Right for hosts where each call is
 * cheap (local, sim); the ssh host uses one gather script instead, and both give the same Capture:
 * the same folder depth (MAX_CAPTURE_DEPTH), the same per-command time limit, a program that is not
 * installed left out with a note, and a path that exists but cannot be read recorded in `unreadable`
 * (unknown, never absent). Never throws for what one path or command does: a capture is partial,
 * not aborted.
 */
export async function captureViaPrimitives(
  host: Host,
  spec: CaptureSpec,
  hostName: string,
  opts: CaptureOptions = {},
): Promise<Capture> {
  const cap = emptyCapture(hostName, new Date().toISOString());
  const timeoutMs = opts.commandTimeoutMs ?? GATHER_COMMAND_TIMEOUT_S * 1000;
  for (const argv of spec.commands) {
    const cmd = formatCommand(argv);
    let r: Awaited<ReturnType<Host["exec"]>>;
    try {
      r = await host.exec(argv, { timeoutMs });
    } catch (e) {
      // kept broad on purpose: whatever stopped the command is named in the capture's notes
      cap.notes.push(`could not run ${cmd}: ${(e as Error).message}`);
      continue;
    }
    if (r.exitCode === NOT_INSTALLED_EXIT) {
      // program absent (or not runnable here): nothing to show, the fact stays unknown
      cap.notes.push(
        isNotFound(r.stderr) ? notInstalledNote(cmd) : `not run: ${cmd} (${firstLine(r.stderr)})`,
      );
      continue;
    }
    cap.commands.push({ cmd, stdout: r.stdout, exitCode: r.exitCode });
    if (r.exitCode === 124)
      cap.notes.push(
        `${cmd} timed out after ${timeoutMs % 1000 === 0 ? `${timeoutMs / 1000}s` : `${timeoutMs} ms`}`,
      );
  }
  const unreadable: string[] = [];
  const w: Walk = { host, cap, unreadable };
  for (const p of spec.paths) await capturePath(w, p);
  if (spec.nvidiaSysfs) await captureNvidiaSysfs(w);
  finishUnreadable(cap, unreadable);
  return cap;
}

interface Walk {
  host: Host;
  cap: Capture;
  unreadable: string[];
}

/** Empty stderr, or the shell's / LocalHost's "command not found" / "No such file". */
function isNotFound(stderr: string): boolean {
  return stderr.trim() === "" || /not found|no such file/i.test(stderr);
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}

/** A host call that fails (EACCES, EIO, …) marks `path` unreadable instead of aborting the capture. */
async function attempt<T>(
  w: Walk,
  path: string,
  f: () => Promise<T>,
): Promise<{ ok: true; v: T } | { ok: false }> {
  try {
    return { ok: true, v: await f() };
  } catch (e) {
    if (!isHostFailure(e)) throw e;
    w.unreadable.push(path);
    return { ok: false };
  }
}

/**
 * What a host reports for one path or command: a UserError (LocalHost: "cannot read PATH: EACCES") or
 * a raw errno error (E… code, e.g. LocalHost.stat's). Anything else (TypeError, …) is a bug: thrown.
 */
function isHostFailure(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return e instanceof UserError || (typeof code === "string" && /^E[A-Z0-9]+$/.test(code));
}

/**
 * At most this many matches of a path with `*` are captured: the newest by globSortKey (task logs: the
 * newest qmstart tasks; DKMS: the highest version folders). The gather script keeps the same ones.
 */
export const GLOB_MAX_MATCHES = 5;

/**
 * The order in which a glob's matches count as newer: a Proxmox VE task log by the start time its UPID
 * name encodes (pve-common src/PVE/UPID.pm: "UPID:$node:%08X pid:%08X pstart:%08X starttime:$type:$id:$user:"),
 * else by the path (C collation, as `sort` with LC_ALL=C in the gather script).
 */
export function globSortKey(path: string): string {
  const parts = (path.slice(path.lastIndexOf("/") + 1) || "").split(":");
  return `${parts[0] === "UPID" ? (parts[4] ?? "") : ""}\t${path}`;
}

const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function capturePath(w: Walk, path: string): Promise<void> {
  w.cap.capturedPaths.push(path);
  if (!path.includes("*")) {
    await captureTree(w, path, 0);
    return;
  }
  const matches = await expandGlob(w, path);
  const newest = matches
    .map((m) => ({ m, k: globSortKey(m) }))
    .sort((a, b) => byteOrder(a.k, b.k))
    .slice(-GLOB_MAX_MATCHES);
  // each match is captured like a path of its own (the gather script runs `p` on it)
  for (const { m } of newest) await captureTree(w, m, 0);
}

/** The paths matching a pattern with `*` in any segment(s), one folder level at a time. */
async function expandGlob(w: Walk, path: string): Promise<string[]> {
  const segs = path.split("/").filter((x) => x !== "");
  let found = [""];
  for (const [i, seg] of segs.entries()) {
    const last = i === segs.length - 1;
    const next: string[] = [];
    for (const dir of found) {
      if (!seg.includes("*")) {
        next.push(`${dir}/${seg}`);
        continue;
      }
      const names = await attempt(w, dir || "/", () => w.host.list(dir || "/"));
      if (!names.ok) continue;
      const re = new RegExp(`^${seg.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`);
      for (const name of names.v ?? []) if (re.test(name)) next.push(`${dir}/${name}`);
    }
    // a folder segment must exist to be walked into; the last one is checked by captureTree
    found = last ? next : await existingDirs(w, next, segs[i + 1]!.includes("*"));
  }
  return found;
}

/** Of candidate folders, those that exist (only checked where the next segment is listed; listing says it). */
async function existingDirs(w: Walk, dirs: string[], listedNext: boolean): Promise<string[]> {
  if (listedNext) return dirs;
  const out: string[] = [];
  for (const d of dirs) {
    const st = await attempt(w, d, () => w.host.stat(d));
    if (st.ok && st.v?.type === "dir") out.push(d);
  }
  return out;
}

/** A file, or a folder down to MAX_CAPTURE_DEPTH levels (files at depth ≤ MAX_CAPTURE_DEPTH). */
async function captureTree(w: Walk, path: string, depth: number): Promise<void> {
  const st = await attempt(w, path, () => w.host.stat(path));
  if (!st.ok || !st.v) return;
  if (st.v.type === "dir") {
    if (depth >= MAX_CAPTURE_DEPTH) return;
    const names = await attempt(w, path, () => w.host.list(path));
    if (!names.ok) return;
    for (const name of names.v ?? []) await captureTree(w, `${path}/${name}`, depth + 1);
    return;
  }
  if (st.v.type !== "file") return;
  await captureFile(w, path);
}

async function captureFile(w: Walk, path: string): Promise<void> {
  const read = await attempt(w, path, () => w.host.readFile(path));
  if (!read.ok) return;
  let content = read.v;
  if (content === null) return;
  if (content.includes("\u0000")) return; // binary: not evidence we can read
  if (content.length > MAX_FILE_BYTES) {
    w.cap.notes.push(`${path} truncated to ${MAX_FILE_BYTES} bytes`);
    content = content.slice(0, MAX_FILE_BYTES);
  }
  w.cap.files[path] = content;
}

async function captureNvidiaSysfs(w: Walk): Promise<void> {
  const addrs = await attempt(w, SYS_PCI_DEVICES, () => w.host.list(SYS_PCI_DEVICES));
  if (!addrs.ok || !addrs.v) return;
  for (const addr of addrs.v) {
    const dir = `${SYS_PCI_DEVICES}/${addr}`;
    // an unreadable vendor file: not known to be NVIDIA, skipped (as the gather script does)
    const vendor = await w.host.readFile(`${dir}/vendor`).catch((e: unknown) => {
      if (!isHostFailure(e)) throw e;
      return null;
    });
    if (vendor?.trim() !== "0x10de") continue;
    w.cap.capturedPaths.push(dir);
    for (const f of NVIDIA_FUNCTION_FILES) await captureFile(w, `${dir}/${f}`);
    const typesDir = `${dir}/mdev_supported_types`;
    const types = await attempt(w, typesDir, () => w.host.list(typesDir));
    if (!types.ok) continue;
    for (const t of types.v ?? [])
      for (const f of MDEV_TYPE_FILES) await captureFile(w, `${typesDir}/${t}/${f}`);
  }
}
