import { randomBytes } from "node:crypto";
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
import { GLOB_MAX_MATCHES } from "./capture-generic.ts";

export { GATHER_COMMAND_TIMEOUT_S };

/**
 * One POSIX sh script that gathers a whole CaptureSpec, so a remote host costs one round trip.
 *
 * Output stream (B = the boundary, random per run so it never occurs in captured text):
 *   `B C <i>\n<stdout of command i>\nB E <exit code>\n`      one per command of spec.commands
 *   `B F <path>\n<content, at most MAX_FILE_BYTES+1 bytes>\nB E <exit code of head>\n`
 *   `B N <dir>\n`                                              an NVIDIA PCI function directory
 *   `B U <path>\n`                                             a file or folder that exists but cannot be
 *                                                              read (no permission; a folder above it
 *                                                              cannot be searched)
 *   `B Z\n`                                                    the script reached its end
 * A payload is everything between its header line and the `\nB E` line (the newline before
 * `B E` is the script's, not the payload's), so output without a final newline stays exact.
 */

/** A fresh boundary marker: letters and digits only, so it needs no quoting. */
export function newBoundary(): string {
  return `VGPUCTL${randomBytes(12).toString("hex")}`;
}

/** Quote a path for sh, leaving `*` unquoted so the shell expands it. */
function globWord(path: string): string {
  return path
    .split("*")
    .map((part) => (part === "" ? "" : `'${part.replaceAll("'", `'\\''`)}'`))
    .join("*");
}

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export interface GatherScriptOptions {
  /** Where the PCI functions are listed (tests point this into a temp dir). */
  sysPciDevices?: string;
  /**
   * A shell variable whose value prefixes every file path read (the standalone gather-script's
   * VGPUCTL_GATHER_ROOT); records then name the prefixed paths. Commands are not affected.
   */
  rootVar?: string;
}

export function gatherScript(spec: CaptureSpec, boundary: string, opts: GatherScriptOptions = {}): string {
  if (!/^[A-Za-z0-9_]{8,}$/.test(boundary))
    throw new Error(`bad gather boundary ${JSON.stringify(boundary)}`);
  const sysPci = opts.sysPciDevices ?? SYS_PCI_DEVICES;
  const rooted = (word: string) => (opts.rootVar ? `"$${opts.rootVar}"${word}` : word);
  const lines: string[] = [
    "#!/bin/sh",
    "# vgpuctl gather script: read-only; prints every captured command and file between boundary markers.",
    "LC_ALL=C; export LC_ALL",
    `B=${boundary}`,
    // a newline: names holding one are left out (read line by line, `dir/x<NL>/etc/shadow` would be
    // two paths, the second outside every captured folder; a header line would be cut in two)
    "NL='\n'",
    `T=; if command -v timeout >/dev/null 2>&1; then T="timeout ${GATHER_COMMAND_TIMEOUT_S}"; fi`,
    // u PATH: PATH exists but cannot be read (everything below it is unknown, not absent)
    `u() { printf '%s U %s\\n' "$B" "$1"; }`,
    // f PATH: emit one file (absent files are skipped; a failing head - no permission, I/O error,
    // a folder where a file was expected - is reported by its non-zero code)
    "f() {",
    '  [ -e "$1" ] || return 0',
    '  case $1 in *"$NL"*) return 0 ;; esac',
    `  printf '%s F %s\\n' "$B" "$1"`,
    `  head -c ${MAX_FILE_BYTES + 1} -- "$1" 2>/dev/null`,
    `  printf '\\n%s E %s\\n' "$B" "$?"`,
    "}",
    // s DIR: DIR can be listed and searched (a subshell cd tests the search permission)
    's() { [ -r "$1" ] && ( cd "$1" ) 2>/dev/null; }',
    // d DIR: every folder below DIR that cannot be read, then every regular file below DIR
    // (following symlinks, depth-limited), sorted
    "d() {",
    `  find -L "$1" -maxdepth ${MAX_CAPTURE_DEPTH} -type d ! -path "*$NL*" 2>/dev/null | sort | while IFS= read -r x; do s "$x" || u "$x"; done`,
    `  find -L "$1" -maxdepth ${MAX_CAPTURE_DEPTH} -type f ! -path "*$NL*" 2>/dev/null | sort | while IFS= read -r x; do f "$x"; done`,
    "}",
    // a PATH: PATH is not there. Absent, unless the nearest folder above it that exists cannot be
    // searched: then nobody can tell, and PATH is unreadable.
    "a() {",
    "  y=$1",
    '  while [ "$y" != / ] && [ -n "$y" ]; do',
    '    y=$(dirname "$y")',
    '    if [ -e "$y" ]; then s "$y" || u "$1"; return 0; fi',
    "  done",
    "}",
    'p() { if [ -d "$1" ]; then d "$1"; elif [ -f "$1" ]; then f "$1"; elif [ ! -e "$1" ]; then a "$1"; fi; }',
    // g DIR: the folder of a glob: when it cannot be read, nothing it holds is known
    'g() { if [ -d "$1" ]; then s "$1" || u "$1"; elif [ ! -e "$1" ]; then a "$1"; fi; }',
    "c() {",
    `  printf '%s C %s\\n' "$B" "$1"`,
    "}",
    "e() {",
    `  printf '\\n%s E %s\\n' "$B" "$1"`,
    "}",
  ];
  spec.commands.forEach((argv, i) => {
    lines.push(`c ${i}; $T ${formatCommand(argv)} </dev/null 2>/dev/null; e $?`);
  });
  for (const path of spec.paths) {
    if (path.includes("*")) lines.push(globLine(path, rooted));
    else lines.push(`p ${rooted(shQuote(path))}`);
  }
  if (spec.nvidiaSysfs) {
    lines.push(
      `for dev in ${rooted(globWord(`${sysPci}/*`))}; do`,
      '  [ -r "$dev/vendor" ] || continue',
      '  v=$(cat "$dev/vendor" 2>/dev/null)',
      '  [ "$v" = 0x10de ] || continue',
      `  printf '%s N %s\\n' "$B" "$dev"`,
      `  for n in ${NVIDIA_FUNCTION_FILES.join(" ")}; do f "$dev/$n"; done`,
      '  for t in "$dev"/mdev_supported_types/*; do',
      '    [ -d "$t" ] || continue',
      `    for n in ${MDEV_TYPE_FILES.join(" ")}; do f "$t/$n"; done`,
      "  done",
      "done",
    );
  }
  lines.push(`printf '%s Z\\n' "$B"`, "exit 0", "");
  return lines.join("\n");
}

/**
 * A path with `*` in any segment: the folder above the first `*` is checked (unreadable = unknown), the
 * shell expands the pattern, and the newest GLOB_MAX_MATCHES matches (capture-generic.ts globSortKey: a
 * task log's UPID start time, else the path; `sort` in LC_ALL=C) are captured like paths of their own.
 */
function globLine(path: string, rooted: (word: string) => string): string {
  const star = path.indexOf("*");
  const dir = path.slice(0, path.lastIndexOf("/", star)) || "/";
  const key = `awk '{n=$0; sub(/.*\\//, "", n); split(n, a, ":"); print (a[1] == "UPID" ? a[5] : "") "\\t" $0}'`;
  return [
    `g ${rooted(shQuote(dir))}; for x in ${rooted(globWord(path))}; do [ -e "$x" ] && printf '%s\\n' "$x"; done`,
    `| ${key} | sort | tail -n ${GLOB_MAX_MATCHES} | cut -f2- | while IFS= read -r x; do p "$x"; done`,
  ].join(" ");
}

/**
 * Turn the gather script's output back into a Capture. Never throws: a stream cut short
 * (connection lost) yields what arrived plus a note.
 */
export function parseGatherOutput(
  stdout: string,
  spec: CaptureSpec,
  boundary: string,
  hostName: string,
): Capture {
  const cap = emptyCapture(hostName, new Date().toISOString());
  cap.capturedPaths.push(...spec.paths);
  const unreadable: string[] = [];
  const header = `${boundary} `;
  const endMarker = `\n${boundary} E `;
  let pos = 0;
  let complete = false;
  while (pos < stdout.length) {
    const nl = stdout.indexOf("\n", pos);
    if (nl < 0) break;
    const line = stdout.slice(pos, nl);
    if (!line.startsWith(header)) {
      // Not at a record (should not happen): resync on the next header.
      const next = stdout.indexOf(`\n${header}`, pos);
      if (next < 0) break;
      pos = next + 1;
      continue;
    }
    const kind = line.slice(header.length, header.length + 1);
    const arg = line.slice(header.length + 2);
    pos = nl + 1;
    if (kind === "Z") {
      complete = true;
      break;
    }
    if (kind === "N") {
      cap.capturedPaths.push(arg);
      continue;
    }
    if (kind === "U") {
      unreadable.push(arg);
      continue;
    }
    if (kind !== "C" && kind !== "F") continue;
    const end = stdout.indexOf(endMarker, pos);
    if (end < 0) {
      cap.notes.push(`gather output cut short while reading ${kind === "C" ? "a command" : arg}`);
      break;
    }
    const payload = stdout.slice(pos, end);
    const endNl = stdout.indexOf("\n", end + endMarker.length);
    const code = Number.parseInt(stdout.slice(end + endMarker.length, endNl < 0 ? undefined : endNl), 10);
    pos = endNl < 0 ? stdout.length : endNl + 1;
    if (kind === "C") {
      const argv = spec.commands[Number(arg)];
      if (!argv) continue;
      if (code === NOT_INSTALLED_EXIT) {
        // program absent on the host: left out (the fact stays unknown), named in a note
        cap.notes.push(notInstalledNote(formatCommand(argv)));
        continue;
      }
      cap.commands.push({
        cmd: formatCommand(argv),
        stdout: payload,
        exitCode: Number.isNaN(code) ? -1 : code,
      });
      if (code === 124) cap.notes.push(`${formatCommand(argv)} timed out after ${GATHER_COMMAND_TIMEOUT_S}s`);
    } else {
      if (code !== 0) {
        unreadable.push(arg); // exists, but head failed: unknown, not absent
        continue;
      }
      if (payload.includes("\u0000")) continue; // binary: not evidence we can read
      let content = payload;
      if (Buffer.byteLength(content) > MAX_FILE_BYTES) {
        cap.notes.push(`${arg} truncated to ${MAX_FILE_BYTES} bytes`);
        content = content.slice(0, MAX_FILE_BYTES);
      }
      cap.files[arg] = content;
    }
  }
  finishUnreadable(cap, unreadable);
  if (!complete)
    cap.notes.push("gather output incomplete: the connection ended before the gather script finished");
  return cap;
}
