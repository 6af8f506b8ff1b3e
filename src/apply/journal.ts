/**
 * The journal: what vgpuctl did on a host (/var/lib/vgpuctl/journal.json), written after every
 * step, so that a killed apply resumes and `uninstall` knows exactly what to revert.
 */
import { createHash } from "node:crypto";
import type { Host } from "../hosts/host.ts";
import { STATE_DIR } from "../plan/build.ts";
import type { JournalPending, Step, Undo } from "../plan/types.ts";
import { NotCapturedError, UserError } from "../util/errors.ts";

export const JOURNAL_PATH = `${STATE_DIR}/journal.json`;
export const BACKUP_DIR = `${STATE_DIR}/backups`;
export const LOCK_PATH = `${STATE_DIR}/lock`;
export const BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id";
export const JOURNAL_FORMAT = "vgpuctl-journal/1";

export interface JournalEntry {
  id: string;
  title: string;
  completedAt: string;
  reboot: boolean;
  undo: Undo;
  /** Packages this step installed that were not installed before (removed again by uninstall). */
  installedPackages: string[];
  /**
   * Of installedPackages, those the step asked for by name (apt marks them manually installed); absent in
   * journals written before it was recorded, whose installedPackages were the names asked for.
   */
  requestedPackages?: string[];
  /** Files this step changed. */
  files: string[];
  /** Doctor codes the step fixes (Step.fixes), effective at the next boot when it needs a reboot. */
  fixes?: string[];
  /** The boot it completed in (/proc/sys/kernel/random/boot_id). */
  bootId?: string | null;
  /** The apply run it completed in (a resumed run keeps the interrupted run's id) */
  run?: string;
}

export interface BackupRecord {
  /** false: vgpuctl created the file (uninstall deletes it) */
  existed: boolean;
  /** SHA-256 of the original content (null when it did not exist) */
  sha256: string | null;
  /** Where the original content is kept on the host */
  backup: string | null;
  mode: number | null;
  /** SHA-256 of what vgpuctl last wrote, to tell later edits by someone else */
  writtenSha256: string | null;
  /** Step that first touched the file */
  step: string;
}

export interface Journal {
  format: typeof JOURNAL_FORMAT;
  createdAt: string;
  updatedAt: string;
  /** Completed steps in the order they ran (over all applies) */
  entries: JournalEntry[];
  /** Original content of every file vgpuctl changed: first touch wins, never overwritten */
  backups: Record<string, BackupRecord>;
  /** The step that was running when the journal was last written (a crash leaves it here) */
  inProgress: { step: Step; mode: "apply" | "undo"; startedAt: string; run?: string } | null;
  reboot: { required: boolean; bootId: string | null };
  /**
   * Installed package names (dpkg-query -W) just before a step's first install, by step id: kept until that
   * step completes, so a step killed after apt ran and resumed later still knows what it brought in.
   */
  packagesBefore?: Record<string, string[]>;
  /** An uninstall in progress: regeneration commands still owed, reboot owed */
  uninstall: { regenerate: string[][]; reboot: boolean } | null;
}

export function emptyJournal(now: Date): Journal {
  const t = now.toISOString();
  return {
    format: JOURNAL_FORMAT,
    createdAt: t,
    updatedAt: t,
    entries: [],
    backups: {},
    inProgress: null,
    reboot: { required: false, bootId: null },
    uninstall: null,
  };
}

/**
 * The journal on the host. `text`: its content when already read (e.g. by the gather capture; null =
 * absent); undefined reads it from the host.
 */
export async function loadJournal(host: Host, now: Date, text?: string | null): Promise<Journal> {
  if (text === undefined) text = await host.readFile(JOURNAL_PATH);
  if (text === null) return emptyJournal(now);
  const hint = `repair it (or restore it from a copy) and re-run; the original files are under ${BACKUP_DIR}`;
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    // JSON.parse throws only SyntaxError for a string; anything else is a bug and propagates
    if (!(e instanceof SyntaxError)) throw e;
    const { line, reason } = jsonSyntaxError(e, text);
    throw new UserError(
      `${JOURNAL_PATH}${line !== null ? `:${line}` : ""} on ${host.name} is not valid JSON (${reason})`,
      hint,
    );
  }
  const format = j !== null && typeof j === "object" && !Array.isArray(j) ? (j as Journal).format : undefined;
  if (format !== JOURNAL_FORMAT)
    throw new UserError(
      `${JOURNAL_PATH} on ${host.name} is not a vgpuctl journal (format ${JSON.stringify(format ?? null)}, expected ${JOURNAL_FORMAT})`,
      hint,
    );
  return j as Journal;
}

/**
 * The 1-based line a JSON.parse SyntaxError points at, and its reason on one line. V8 says where in
 * three ways: "… in JSON at position N" (Node 20), "(line L column C)" (newer V8), or for an unexpected
 * token a quoted excerpt — `..."<10 chars before><token><10 after>"...`, or the whole text when short
 * (V8 src/json/json-parser.cc, kMaxContextCharacters = 10). "Unexpected end of JSON input": the last line.
 */
export function jsonSyntaxError(e: SyntaxError, text: string): { line: number | null; reason: string } {
  const lineOf = (pos: number) => text.slice(0, pos).split("\n").length;
  const token = /^(Unexpected token '([^']*)'), (\.\.\.)?"([\s\S]*?)"(?:\.\.\.)? is not valid JSON$/.exec(
    e.message,
  );
  if (token) {
    const [, reason, tok, cut, excerpt] = token as unknown as [
      string,
      string,
      string,
      string | undefined,
      string,
    ];
    const at = text.indexOf(excerpt);
    const pos = cut ? at + 10 : excerpt.indexOf(tok) === excerpt.lastIndexOf(tok) ? excerpt.indexOf(tok) : -1;
    return { line: at >= 0 && pos >= 0 ? lineOf(pos) : null, reason };
  }
  const byLine = /\(line (\d+) column \d+\)$/.exec(e.message);
  const byPos = /in JSON at position (\d+)/.exec(e.message);
  const line = byLine
    ? Number(byLine[1])
    : byPos
      ? lineOf(Number(byPos[1]))
      : e.message.startsWith("Unexpected end of JSON input")
        ? text.trimEnd().split("\n").length
        : null;
  return { line, reason: e.message.replace(/\s*\n\s*/g, " ") };
}

export async function saveJournal(host: Host, j: Journal, now: Date): Promise<void> {
  j.updatedAt = now.toISOString();
  await host.writeFile(JOURNAL_PATH, `${JSON.stringify(j, null, 2)}\n`, { mode: 0o600 });
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

export function backupPathFor(path: string): string {
  return `${BACKUP_DIR}${path.startsWith("/") ? path : `/${path}`}`;
}

/** The current boot's id. `text`: the file's content when already read (gather capture); undefined reads it. */
export async function readBootId(host: Host, text?: string | null): Promise<string | null> {
  if (text !== undefined) return text?.trim() || null;
  try {
    return (await host.readFile(BOOT_ID_PATH))?.trim() || null;
  } catch (e) {
    // a bundle that did not capture it: the boot is unknown. Anything else (EACCES, a dropped ssh
    // connection) must not pass for "no boot id", which reads as "not rebooted yet".
    if (e instanceof NotCapturedError) return null;
    throw e;
  }
}

const INITRAMFS_INPUTS = new Set(["vfio-modules", "nouveau-blacklist", "vfio-leftover", "driver-install"]);

/** Effects the journal knows are still owed (see JournalPending). */
export function pendingFrom(j: Journal, bootId: string | null): JournalPending {
  let initramfs = false;
  for (const e of j.entries) {
    if (e.id === "initramfs") initramfs = false;
    else if (INITRAMFS_INPUTS.has(e.id)) initramfs = true;
  }
  const rebooted = bootId !== null && j.reboot.bootId !== null && bootId !== j.reboot.bootId;
  const reboot = j.reboot.required && !rebooted;
  // what the steps completed in this boot fix once it is over
  const fixes = reboot
    ? [
        ...new Set(
          j.entries.filter((e) => e.reboot && e.bootId === j.reboot.bootId).flatMap((e) => e.fixes ?? []),
        ),
      ]
    : [];
  return { initramfs, reboot, ...(fixes.length > 0 ? { fixes } : {}) };
}
