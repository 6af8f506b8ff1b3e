/**
 * The outputs a paste may hold, each recognised by its shape: the line that starts it and the lines
 * that may follow. A shape names the command line (as gather-spec.ts spells it) or the host file its
 * text is the output of, so a recognised output lands where a support bundle would keep it.
 * Sources of the formats: the parsers in src/facts (each cites real outputs) and the fixtures in
 * test/fixtures/real-bundles.
 */

export interface Shape {
  /** what the recognition report calls it */
  label: string;
  /** the command line it is the output of, or `file:<path>` for a file's content */
  target: string;
  /** this line (and the ones after it, when needed) starts the output */
  starts: (line: string, next: readonly string[]) => boolean;
  /** this line may belong to the output once it has started */
  continues: (line: string) => boolean;
  /** a blank line may sit inside the output (the output goes on when the next text line continues it) */
  blankInside: boolean;
}

const PCI = String.raw`(?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]`;
const SMI_DATE = /^\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}\s*$/;
const SMI_TABLE = /^[|+]/;
/** "Key      : value" of nvidia-smi -q (top level or indented), "GPU 00000000:01:00.0" headers */
const SMI_Q = new RegExp(String.raw`^(?:\s+\S|\S[^:]*?\s+:(?:\s|$)|GPU ${PCI}\s*$|vGPU Driver Capability)`);
const SYSLOG =
  /^(?:\p{L}{2,5}\.? {1,2}\d{1,2} \d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T[\d:.+-]+Z?) \S+ [^\s:[\]]+(?:\[\d+\])?: /u;
const JOURNAL_MARK = /^-- (?:Logs begin at|Journal begins at|Boot [0-9a-f]+|No entries|Reboot) ?.*--?$/;
const DMESG =
  /^(?:<\d>)?(?:[a-z]+\s*:[a-z]+\s*:\s*)?\[\s*(?:\d+\.\d+|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d [\d:]{8} \d{4})\]/;
const LSPCI_DEVICE = new RegExp(String.raw`^${PCI} [^:]+(?: \[[0-9a-f]{4}\])?: \S`);
const MDEV_PARENT = new RegExp(String.raw`^${PCI}\s*$`);
const MDEVCTL_LIST = new RegExp(
  String.raw`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} ${PCI} \S+`,
);
const DKMS = /^[\w.-]+(?:, |\/)[\w.~+-]+(?:, [\w.~+-]+)*(?:, \w+)?: (?:installed|built|added)/;
const KEY_VALUE = /^[\w.+-]+:\s/;

const oneLine = () => false;

export const SHAPES: readonly Shape[] = [
  {
    label: "nvidia-smi",
    target: "nvidia-smi",
    starts: (l, next) =>
      /^\|\s*NVIDIA-SMI \d/.test(l) ||
      (/^\+-{3}/.test(l) && /^\|\s*NVIDIA-SMI/.test(next[0] ?? "")) ||
      (SMI_DATE.test(l) && /^\+-/.test(next[0] ?? "")),
    continues: (l) => SMI_TABLE.test(l),
    blankInside: true,
  },
  {
    label: "nvidia-smi (failed)",
    target: "nvidia-smi",
    starts: (l) => /^NVIDIA-SMI has failed\b|^No devices were found\s*$/.test(l),
    continues: (l) => /^(?:Make sure that|driver is installed and running)/.test(l),
    blankInside: false,
  },
  {
    label: "nvidia-smi -q",
    target: "nvidia-smi -q",
    starts: (l) => /^=+\s*NVSMI LOG\s*=+\s*$/.test(l),
    continues: (l) => SMI_Q.test(l) && !SYSLOG.test(l),
    blankInside: true,
  },
  {
    label: "nvidia-smi vgpu -q",
    target: "nvidia-smi vgpu -q",
    starts: (l, next) =>
      new RegExp(String.raw`^GPU ${PCI}\s*$`).test(l) && /^\s+Active vGPUs\s+:/.test(next[0] ?? ""),
    continues: (l) => SMI_Q.test(l) && !SYSLOG.test(l),
    blankInside: true,
  },
  {
    label: "nvidia-smi -L",
    target: "nvidia-smi -L",
    starts: (l) => /^GPU \d+: .+\(UUID: (?:GPU-|REDACTED)/.test(l),
    continues: (l) => /^GPU \d+: .+\(UUID: |^\s+MIG /.test(l),
    blankInside: false,
  },
  {
    label: "mdevctl types",
    target: "mdevctl types",
    starts: (l, next) => MDEV_PARENT.test(l) && /^\s+nvidia-\d+/.test(next[0] ?? ""),
    continues: (l) => MDEV_PARENT.test(l) || /^\s+\S/.test(l),
    blankInside: false,
  },
  {
    label: "mdevctl list",
    target: "mdevctl list",
    starts: (l) => MDEVCTL_LIST.test(l),
    continues: (l) => MDEVCTL_LIST.test(l),
    blankInside: false,
  },
  {
    label: "lspci",
    target: "lspci -Dnnk",
    starts: (l) => LSPCI_DEVICE.test(l),
    continues: (l) => LSPCI_DEVICE.test(l) || /^(?:\t|\s{2,})\S/.test(l),
    blankInside: true,
  },
  {
    label: "dmesg",
    target: "dmesg",
    starts: (l) => DMESG.test(l),
    // a message of several lines: `dmesg` indents the lines after the first (no timestamp)
    continues: (l) => DMESG.test(l) || /^\s{6,}\S/.test(l),
    blankInside: false,
  },
  {
    label: "journal",
    target: "journal",
    starts: (l) => SYSLOG.test(l) || JOURNAL_MARK.test(l),
    continues: (l) => SYSLOG.test(l) || JOURNAL_MARK.test(l) || /^\s{4,}\S/.test(l),
    blankInside: false,
  },
  {
    label: "systemctl status",
    target: "systemctl status",
    starts: (l) => /^[●○×*] [\w@.-]+\.service\b/.test(l),
    continues: (l) => /^\s+\S/.test(l) || SYSLOG.test(l),
    blankInside: true,
  },
  {
    label: "/proc/driver/nvidia/version",
    target: "file:/proc/driver/nvidia/version",
    starts: (l) => /^NVRM version: /.test(l),
    continues: (l) => /^GCC version:/.test(l),
    blankInside: false,
  },
  {
    label: "modinfo nvidia",
    target: "modinfo nvidia",
    starts: (l) => /^filename:\s+\S*\/nvidia(?:-vgpu-vfio)?\.ko/.test(l),
    continues: (l) => /^[\w.-]+:\s/.test(l) || /^\s+\S/.test(l),
    blankInside: false,
  },
  {
    label: "dkms status",
    target: "dkms status",
    starts: (l) => DKMS.test(l),
    continues: (l) => DKMS.test(l) || /^(?:Warning|Error)\b/i.test(l),
    blankInside: false,
  },
  {
    label: "uname -a",
    target: "uname -a",
    starts: (l) => /^Linux \S+ \d+\.\d+\.\d+\S* #\d+/.test(l),
    continues: oneLine,
    blankInside: false,
  },
  {
    label: "pveversion -v",
    target: "pveversion -v",
    starts: (l) =>
      /^proxmox-ve: \S+ \(running kernel: /.test(l) || /^pve-manager\/\d+\.\d+\S* \(running kernel: /.test(l),
    continues: (l) => KEY_VALUE.test(l) && !SYSLOG.test(l),
    blankInside: false,
  },
  {
    label: "lsmod",
    target: "lsmod",
    starts: (l) => /^Module\s+Size\s+Used by\s*$/.test(l),
    continues: (l) => /^\S+\s+\d+\s+\d+/.test(l),
    blankInside: false,
  },
  {
    label: "mokutil --sb-state",
    target: "mokutil --sb-state",
    starts: (l) => /^SecureBoot (?:enabled|disabled)\s*$/.test(l),
    continues: (l) => /^SecureBoot validation is disabled/.test(l),
    blankInside: false,
  },
  {
    label: "/proc/cmdline",
    target: "file:/proc/cmdline",
    starts: (l) => /^(?:BOOT_IMAGE=|initrd=)\S+(?: \S+)* root=\S+/.test(l),
    continues: oneLine,
    blankInside: false,
  },
  {
    label: "nvidia-installer log",
    target: "file:/var/log/nvidia-installer.log",
    starts: (l) => /^nvidia-installer log file '/.test(l),
    continues: (l) =>
      /^(?:->|ERROR:|WARNING:|\s+\S|nvidia-installer|creation time:|installer version:|PATH:|make\[|\S+\.[ch]:\d+)/.test(
        l,
      ),
    blankInside: true,
  },
];

/** The shape whose start this line (with the lines after it) is, or null. */
export function shapeStartingAt(line: string, next: readonly string[]): Shape | null {
  return SHAPES.find((s) => s.starts(line, next)) ?? null;
}
