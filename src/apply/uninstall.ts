/**
 * The uninstall plan: the journal replayed backwards. Files are restored byte-for-byte from their
 * backups (or deleted when vgpuctl created them), packages vgpuctl installed are removed, undo
 * commands run (nvidia-uninstall …), then each regeneration command once (update-grub, update-initramfs…).
 */
import { fileChange } from "../plan/build.ts";
import type { Change, Plan, Step } from "../plan/types.ts";
import type { Journal, JournalEntry } from "./journal.ts";
import { sha256 } from "./journal.ts";

/**
 * `originals`: content of each backup (null when vgpuctl created the file);
 * `current`: what each file holds now (null = absent).
 */
export function buildUninstallPlan(
  host: string,
  j: Journal,
  originals: Record<string, string | null>,
  current: Record<string, string | null>,
  /** packages the interrupted apply step brought in before it died (dpkg now minus its journalled baseline) */
  pendingPackages: string[] = [],
): Plan {
  const notes: string[] = [];
  const steps: Step[] = [];
  const restored = new Set<string>();
  const restore = (path: string): Change | null => {
    if (restored.has(path)) return null;
    restored.add(path);
    const rec = j.backups[path]!;
    const before = current[path] ?? null;
    const after = rec.existed ? (originals[path] ?? null) : null;
    if (rec.writtenSha256 !== null && before !== null && sha256(before) !== rec.writtenSha256)
      notes.push(`${path} was changed after vgpuctl wrote it; restoring the original discards those changes`);
    if (before === after) return null;
    return fileChange(path, before, after, rec.mode ?? undefined);
  };
  const regenerate: string[][] = [...(j.uninstall?.regenerate ?? [])];
  let reboot = j.uninstall?.reboot ?? false;
  const addRegen = (cmds: string[][]) => {
    for (const c of cmds) if (!regenerate.some((r) => r.join("\0") === c.join("\0"))) regenerate.push(c);
  };
  // A step that was interrupted: revert its files too, best effort.
  const pendingStep = j.inProgress?.mode === "apply" ? j.inProgress.step : null;
  const owner = (path: string) => j.backups[path]!.step;
  if (pendingStep) {
    const changes = Object.keys(j.backups)
      .filter((p) => owner(p) === pendingStep.id && !j.entries.some((e) => e.id === pendingStep.id))
      .map(restore)
      .filter((c): c is Change => c !== null);
    changes.push(
      ...packageUndo({
        installedPackages: pendingPackages,
        requestedPackages: requestedBy(pendingStep, pendingPackages),
      }),
    );
    steps.push({
      id: `revert-${pendingStep.id}`,
      title: `Revert the interrupted step: ${pendingStep.title}`,
      why: "it did not complete; its files are restored",
      changes,
      reboot: pendingStep.reboot,
      undo: { description: "", commands: [], regenerate: [] },
    });
    addRegen(pendingStep.undo.regenerate);
    reboot ||= pendingStep.reboot;
  }
  for (let i = j.entries.length - 1; i >= 0; i--) {
    const e = j.entries[i]!;
    // files are restored with the earliest entry that touched them (the last one undone)
    const mine = Object.keys(j.backups).filter(
      (p) => owner(p) === e.id && j.entries.findIndex((x) => x.id === e.id) === i,
    );
    const changes: Change[] = mine.map(restore).filter((c): c is Change => c !== null);
    for (const argv of e.undo.commands) changes.push({ kind: "command", argv });
    if (e.id === "driver-install")
      changes.push({ kind: "command", argv: ["rm", "-f", "--", ...INSTALLER_LOGS] });
    changes.push(...packageUndo(e));
    addRegen(e.undo.regenerate);
    reboot ||= e.reboot;
    steps.push({
      id: `undo-${e.id}`,
      title: `Undo: ${e.title}`,
      why: undoWhy(e),
      changes,
      reboot: e.reboot,
      undo: { description: "", commands: [], regenerate: [] },
    });
  }
  // backups not owned by any entry (e.g. from an aborted step already undone)
  const orphan = Object.keys(j.backups)
    .map(restore)
    .filter((c): c is Change => c !== null);
  if (orphan.length > 0)
    steps.push({
      id: "undo-files",
      title: "Restore remaining files",
      why: "backed up by vgpuctl",
      changes: orphan,
      reboot: false,
      undo: { description: "", commands: [], regenerate: [] },
    });
  if (regenerate.length > 0)
    steps.push({
      id: "regenerate",
      title: "Regenerate boot configuration",
      why: "the restored files are read from the bootloader configuration, the initramfs and systemd",
      changes: regenerate.map((argv) => ({ kind: "command", argv })),
      reboot,
      undo: { description: "", commands: [], regenerate: [] },
    });
  return { host, steps, reboots: reboot || steps.some((s) => s.reboot) ? 1 : 0, blockers: [], notes };
}

/**
 * The NVIDIA installer's logs: nvidia-installer (re)writes /var/log/nvidia-installer.log on every run and
 * nvidia-uninstall writes /var/log/nvidia-uninstall.log (NVIDIA driver README, "Installing the NVIDIA
 * Driver": "the installer log file, /var/log/nvidia-installer.log"), so after the uninstall they only
 * describe what vgpuctl did: removed with the driver.
 */
export const INSTALLER_LOGS = ["/var/log/nvidia-installer.log", "/var/log/nvidia-uninstall.log"];

/**
 * Packages this step brought onto the host (what it asked for and what apt pulled in with it, gcc, make, …):
 * removed when the undo runs, except those something else needs then (apply/packages.ts decides with apt).
 * A journal from before the dependencies were recorded names only what was asked for; its dependencies stay.
 */
function packageUndo(e: Pick<JournalEntry, "installedPackages" | "requestedPackages">): Change[] {
  if (e.installedPackages.length === 0) return [];
  const manual = e.requestedPackages ?? e.installedPackages;
  return [{ kind: "package", removeUnneeded: e.installedPackages, manual }];
}

/** Of `brought`, those `step` installs by name. */
function requestedBy(step: Step, brought: string[]): string[] {
  const asked = step.changes.flatMap((c) => (c.kind === "package" && "install" in c ? c.install : []));
  return brought.filter((p) => asked.includes(p));
}

/** Why an undo step runs: the step's own undo text, and for installed packages what uninstall does with them. */
function undoWhy(e: JournalEntry): string {
  if (e.installedPackages.length === 0) return e.undo.description || "revert what this step changed";
  const pkgs =
    "remove the packages this step brought in (asked for, and pulled in with them) except what something else needs then";
  return e.undo.commands.length > 0 && e.undo.description ? `${pkgs}; ${e.undo.description}` : pkgs;
}
