/**
 * Logs of a step that failed, as people paste them and as a capture may hold them:
 *  vm-start   `qm start <vmid>` output, a Proxmox VE task log (/var/log/pve/tasks/…/UPID:…:qmstart:<vmid>:…,
 *             the web UI's "Task viewer" text), QEMU's own error lines.
 *  installer  /var/log/nvidia-installer.log, or what nvidia-installer printed.
 *  dkms-make  /var/lib/dkms/<module>/<version>/build/make.log, or `dkms build|install|autoinstall` output.
 * Pure and never throws: unknown input gives null (not a log) or an empty line list.
 */
import { lines } from "./text.ts";

export type FailureLogKind = "vm-start" | "installer" | "dkms-make";

export interface FailureLog {
  /** the command line or the file path the text came from */
  source: string;
  kind: FailureLogKind;
  /** the VM the log is about, when its source names it (`qm start 100`, a qmstart task file) */
  vmid: number | null;
  /** non-empty lines, right-trimmed, CR removed */
  lines: string[];
}

const SUDO = /^(?:[#$] )?(?:sudo\s+(?:-\S+\s+)*)?/;

/** How every command failureLogOfCommand knows begins (after SUDO). */
const LOG_COMMAND_STARTS = [
  "qm start ",
  "pvenode task log",
  "pvesh get /nodes/",
  "sh ",
  "bash ",
  "./",
  "NVIDIA-Linux-",
  "nvidia-installer",
  "proxmox-installer.sh",
  "dkms ",
  "cat ",
  "tail ",
  "less ",
  "more ",
];

/**
 * Text every command of LOG_COMMAND_STARTS holds whatever its spacing and sudo: a command line holding
 * none is no log, found without normalising it (a regex per captured command, start-up cost).
 */
const LOG_COMMAND_WORDS = LOG_COMMAND_STARTS.map((s) => s.trim().split(" ")[0]!);

/** The kind of log a pasted command line prints, with the VM it names; null for other commands. */
export function failureLogOfCommand(cmd: string): { kind: FailureLogKind; vmid: number | null } | null {
  if (!LOG_COMMAND_WORDS.some((w) => cmd.includes(w))) return null;
  const c = cmd.trim().replace(/\s+/g, " ").replace(SUDO, "");
  if (!LOG_COMMAND_STARTS.some((s) => c.startsWith(s))) return null; // the regexes below run only then
  // each regex runs only on a command starting with the text it needs
  const qm = c.startsWith("qm start ") ? /^qm start (\d+)\b/.exec(c) : null;
  if (qm) return { kind: "vm-start", vmid: Number(qm[1]) };
  if (
    (c.startsWith("pvenode task log") || c.startsWith("pvesh get /nodes/")) &&
    /^(?:pvenode task log|pvesh get \/nodes\/\S+\/tasks\/\S+\/log)\b/.test(c)
  ) {
    const vm = /:qmstart:(\d+):/.exec(c);
    return { kind: "vm-start", vmid: vm ? Number(vm[1]) : null };
  }
  // the driver's .run installer, and the community installer scripts that run it (wvthoog / anomixer)
  if (
    INSTALLER_NAMES.some((n) => c.includes(n)) &&
    /^(?:(?:ba)?sh )?(?:\.\/)?(?:NVIDIA-Linux-\S+\.run|nvidia-installer|proxmox-installer\.sh)\b/.test(c)
  )
    return { kind: "installer", vmid: null };
  if (DKMS_MAKE.some((s) => c.startsWith(s)) && /^dkms (?:build|install|autoinstall)\b/.test(c))
    return { kind: "dkms-make", vmid: null };
  const cat = CAT_STARTS.some((s) => c.startsWith(s))
    ? /^(?:cat|tail(?: -n ?\d+| -\d+)*|less|more) (\S+)$/.exec(c)
    : null;
  if (cat) {
    const f = failureLogOfPath(cat[1]!);
    if (f) return f;
  }
  return null;
}

const INSTALLER_NAMES = ["NVIDIA-Linux-", "nvidia-installer", "proxmox-installer.sh"];
const DKMS_MAKE = ["dkms build", "dkms install", "dkms autoinstall"];
const CAT_STARTS = ["cat ", "tail ", "less ", "more "];

/** The kind of log a captured file is, with the VM a qmstart task file names; null for other files. */
export function failureLogOfPath(path: string): { kind: FailureLogKind; vmid: number | null } | null {
  if (path.startsWith("/var/log/pve/tasks/") && path.includes(":qmstart:")) {
    const vm = /:qmstart:(\d+):/.exec(path);
    return { kind: "vm-start", vmid: vm ? Number(vm[1]) : null };
  }
  if (path === "/var/log/nvidia-installer.log") return { kind: "installer", vmid: null };
  if (
    path.startsWith("/var/lib/dkms/") &&
    path.endsWith("/make.log") &&
    /^\/var\/lib\/dkms\/[^/]+\/[^/]+\/(?:build|[^/]+\/[^/]+\/log)\/make\.log$/.test(path)
  )
    return { kind: "dkms-make", vmid: null };
  return null;
}

/** The log's lines: CR and trailing blanks removed, empty lines dropped. */
export function failureLogLines(text: string): string[] {
  return lines(text)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "");
}
