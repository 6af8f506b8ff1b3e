/**
 * The noise layer of the simulated host: the same facts, rendered the way real systems and real users
 * produce them. Off by default; on with the state flag `noise: true` or VGPUCTL_SIM_NOISE=1 in the
 * environment the host is opened from. Every choice is a pure function of the scenario name and the
 * command or file, so a noisy run is reproducible.
 *
 * Variants (issue 18, from real pastes — see test/fixtures/conformance/SOURCES.md and the comments):
 * - systems: `dmesg -T` wall-clock stamps; journal headers and a `-- Boot <id> --` separator, an FQDN
 *   host name, lowercase month names (a localised `LC_TIME`), systemd's "Consumed … CPU time" lines,
 *   lines cut by the pager at 160 columns with ">"; an all-zero `vGPU UUID` in `nvidia-smi vgpu -q`;
 *   GRUB defaults with commented-out earlier command lines; VM configs with `#` description lines, `args:` and a
 *   `[snapshot]` section holding an older copy of the config (qemu-server keeps snapshots in the same
 *   file); `nvidia-smi -q` in the user's elided form (`...` instead of the ECC/clock blocks).
 * - users: CRLF line ends, the shell prompt and command pasted above the output.
 */
import { unlockActiveIn } from "./logic.ts";
import { ctime } from "./render/nvidia-smi.ts";
import type { SimState } from "./state.ts";

export interface NoisyResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Noise is on for this host (state flag, or VGPUCTL_SIM_NOISE=1 where the host was opened). */
export function noiseOn(s: SimState, env?: NodeJS.ProcessEnv): boolean {
  return s.noise === true || env?.VGPUCTL_SIM_NOISE === "1";
}

/** A stable small number for (scenario, key): which variant this scenario gets for this output. */
export function variant(s: SimState, key: string, choices: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${s.scenario}|${key}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h % choices;
}

const crlf = (t: string) => t.replace(/\r?\n/g, "\r\n");

/** `root@pve:~# nvidia-smi -q` pasted above the output (the prompt of the host's own name). */
function withPrompt(s: SimState, cmd: string, text: string): string {
  return `root@${s.hostname}:~# ${cmd}\n${text}`;
}

/** dmesg's `[    4.284387] ` stamps as `dmesg -T` prints them: `[Tue Apr 11 18:02:04 2023] `. */
export function dmesgWallClock(s: SimState, text: string): string {
  // the simulated clock is this boot's start (the journal's times count from it too)
  // continuation lines of a multi-line record stay indented under the text, now under the wider stamp
  const out: string[] = [];
  let width = 0;
  for (const line of text.split("\n")) {
    const m = /^\[\s*(\d+)\.\d+\] /.exec(line);
    if (m) {
      const stamp = `[${ctime(s, Number(m[1]))}] `;
      width = stamp.length;
      out.push(stamp + line.slice(m[0].length));
    } else out.push(width > 0 && /^ +\S/.test(line) ? " ".repeat(width) + line.trimStart() : line);
  }
  return out.join("\n");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_DE = ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"];

/**
 * The unlock library announcing itself, as the original vgpu_unlock wrapper (DualCoder/vgpu_unlock, started
 * through bash) logs it when the daemon starts: `bash[992]: vgpu_unlock loaded.` then the same line under
 * the daemon's own name and pid (DualCoder/vgpu_unlock#93, #70). Only where the unlock is active.
 */
export function unlockLoadedLines(s: SimState, unit: string, text: string): string {
  const service = unit.replace(/\.service$/, "");
  if (service !== "nvidia-vgpu-mgr" && service !== "nvidia-vgpud") return text;
  if (!unlockActiveIn(s, service)) return text;
  const pid = new RegExp(`^(\\S+ +\\d+ \\S+) (\\S+) ${service}\\[(\\d+)\\]: `, "m").exec(text);
  if (!pid) return text;
  const [, time, host, p] = pid;
  const loaded = `${time} ${host} bash[${p}]: vgpu_unlock loaded.\n${time} ${host} ${service}[${p}]: vgpu_unlock loaded.\n`;
  return text.slice(0, pid.index) + loaded + text.slice(pid.index);
}

/** A journal as hosts with an FQDN host name, a lowercase-month locale and systemd accounting print it. */
export function noisyJournal(s: SimState, unit: string, input: string): string {
  // a third of the unlock scenarios: the wrapper's "vgpu_unlock loaded." lines
  const text = variant(s, "unlock-loaded", 3) === 0 ? unlockLoadedLines(s, unit, input) : input;
  const fqdn = `${s.hostname}.home.arpa`;
  // 0: C locale; 1: lowercase month names; 2: a German LC_TIME ("Mär", "Mai", "Okt", "Dez")
  const months = variant(s, "journal-months", 3);
  const lines = text.split("\n").map((l) => {
    let out = l.replace(new RegExp(`^(\\S+ +\\d+ \\S+) ${s.hostname} `), `$1 ${fqdn} `);
    out = out.replace(new RegExp(`^(${MONTHS.join("|")}) `), (m) => {
      if (months === 1) return m.toLowerCase();
      if (months === 2) return `${MONTHS_DE[MONTHS.indexOf(m.trim())]} `;
      return m;
    });
    return out;
  });
  const body = lines.join("\n");
  const last = /^(\S+ +\d+ \S+) \S+ /m.exec([...lines].reverse().find((l) => /^\S+ +\d+ \d/.test(l)) ?? "");
  const consumed = last ? `${last[1]} ${fqdn} systemd[1]: ${unit}: Consumed 1.337s CPU time.\n` : "";
  const boot = "-- Boot 5f0c2a9e4b7d4e13a8c1d2e3f4a5b6c7 --\n";
  // journalctl prints its "-- Journal begins/Logs begin …" header first, then the boot separator
  // a third of the scenarios: pasted from the pager, long lines cut at the terminal's edge with ">"
  const cut = variant(s, "journal-pager", 3) === 0;
  const paged = (t: string) => (cut ? t.replace(/^(.{159}).+$/gm, "$1>") : t);
  const [head, ...rest] = paged(body).split("\n");
  const hasHeader = /^-- (Journal begins|Logs begin)/.test(head ?? "");
  const joined = hasHeader ? `${head}\n${boot}${rest.join("\n")}` : `${boot}${paged(body)}`;
  return /-- No entries --/.test(body) ? body : `${joined.replace(/\n$/, "")}\n${consumed}`;
}

/** /etc/default/grub as hosts keep it: the stock line commented out above the edited one. */
export function noisyGrub(text: string): string {
  return text.replace(
    /^GRUB_CMDLINE_LINUX_DEFAULT=/m,
    '#GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n# vGPU: IOMMU on (seed guide)\nGRUB_CMDLINE_LINUX_DEFAULT=',
  );
}

/**
 * A VM config as Proxmox VE stores it after a description was typed in the GUI (`#` lines on top) and a
 * snapshot was taken (a `[name]` section at the end with the config of that time plus `snaptime:`).
 */
export function noisyVmConf(text: string): string {
  const main = text.split(/^\[/m)[0]!;
  const snapshot = main
    .split("\n")
    .filter((l) => l && !/^(hostpci\d+|parent):/.test(l))
    .join("\n");
  const tail = text.slice(main.length);
  // `args:` passes raw QEMU options (a common one: the PIT timer fix for Windows guests)
  const args = "args: -global kvm-pit.lost_tick_policy=discard\n";
  return `#Windows VM for vGPU tests%3A%0A#created by the seed guide\n${args}${main.replace(/\n*$/, "\n")}parent: before-vgpu\n${tail}\n[before-vgpu]\n${snapshot}\nsnaptime: 1681230000\n`;
}

/** `nvidia-smi -q` as users paste it: the ECC, clock and power blocks replaced by "...". */
export function elidedSmiQuery(text: string): string {
  return text.replace(/^ {4}ECC Errors\n[\s\S]*?(?=^ {4}Retired Pages)/gm, "    ...\n");
}

/** The noisy form of one command's result (only stdout changes). */
export function noisyExec(s: SimState, argv: readonly string[], r: NoisyResult): NoisyResult {
  const cmd = argv.join(" ");
  let out = r.stdout;
  if (argv[0] === "dmesg") out = dmesgWallClock(s, out);
  if (argv[0] === "journalctl") {
    const u = argv.indexOf("-u");
    out = noisyJournal(s, argv[u + 1] ?? "", out);
  }
  if (cmd === "nvidia-smi -q") out = elidedSmiQuery(out);
  // some 15.x hosts print an all-zero vGPU UUID instead of an empty one (issue 18's real pastes)
  if (cmd === "nvidia-smi vgpu -q")
    out = out.replace(/^( {8}vGPU UUID {2,}: )$/gm, "$100000000-0000-0000-0000-000000000000");
  // pasted prompt and CRLF on a per-scenario subset of the commands
  if (out !== "" && variant(s, `prompt:${cmd}`, 3) === 0) out = withPrompt(s, cmd, out);
  if (variant(s, `crlf:${cmd}`, 3) === 0) out = crlf(out);
  return { ...r, stdout: out };
}

/** The noisy form of a file's content. */
export function noisyFile(s: SimState, path: string, text: string | null): string | null {
  if (text === null) return null;
  let out = text;
  if (path === "/etc/default/grub") out = noisyGrub(out);
  if (/^\/etc\/pve\/(nodes\/[^/]+\/)?qemu-server\/\d+\.conf$/.test(path)) out = noisyVmConf(out);
  if (/^\/etc\//.test(path) && variant(s, `crlf:${path}`, 4) === 0) out = crlf(out);
  return out;
}
