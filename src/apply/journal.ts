/**
 * The journal: what vgpuctl did on a host (/var/lib/vgpuctl/journal.json), written after every
 * step, so that a killed apply resumes and `uninstall` knows exactly what to revert.
 */
import { createHash } from "node:crypto";
import type { Host } from "../hosts/host.ts";
import { STATE_DIR } from "../plan/build.ts";
import type { JournalPending, Step, Undo } from "../plan/types.ts";
import { UserError } from "../util/errors.ts";

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
  try {
    const j = JSON.parse(text) as Journal;
    if (j.format !== JOURNAL_FORMAT) throw new Error(`unknown format ${String(j.format)}`);
    return j;
  } catch (e) {
    throw new UserError(
      `${JOURNAL_PATH} on ${host.name} is unreadable (${(e as Error).message})`,
      `inspect it; the original files are under ${BACKUP_DIR}`,
    );
  }
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
  } catch {
    return null;
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
