/**
 * A Capture is an in-memory support bundle: the raw text of every command and file that
 * fact gathering looked at. Bundles on disk (DESIGN.md "Bundle format") are its serialised form;
 * every Host kind can produce one (ssh in a single round trip) and facts/ parses only this.
 */
import { compareText } from "../util/compare.ts";

export const BUNDLE_FORMAT = "vgpuctl-bundle/1";

export interface CapturedCommand {
  /** The command line exactly as a person would type it, e.g. "nvidia-smi vgpu -q". */
  cmd: string;
  stdout: string;
  exitCode: number;
  /**
   * Lines were left out of the output (a pasted excerpt, "…" marks): read like a filtered output
   * (`… | grep …`), so nothing is concluded from a line being absent. Absent = the whole output.
   */
  partial?: boolean;
}

export interface Capture {
  format: typeof BUNDLE_FORMAT;
  host: string;
  capturedAt: string;
  commands: CapturedCommand[];
  /** Absolute host path → text content. Only files that exist are here. */
  files: Record<string, string>;
  /** Files and folders that were looked at: a path under one of them but not in `files` is absent. */
  capturedPaths: string[];
  /**
   * Files and folders that exist but could not be read (permission denied, I/O error, a folder where
   * a file was expected): everything at or below them is unknown, never absent. Optional: bundles
   * written before this field existed have none.
   */
  unreadable?: string[];
  /** What was redacted (kinds of secrets, not their values). */
  redacted: string[];
  /** Things gathering noticed (unreadable paths, programs not installed, timeouts, truncated output). */
  notes: string[];
}

export interface CaptureSpec {
  /** Commands to run, as argv. The bundle key is formatCommand(argv). */
  commands: string[][];
  /**
   * Absolute paths of files or folders to capture. Folders are captured recursively
   * (text files only, size-limited). A `*` may appear in the last segment.
   */
  paths: string[];
  /** Also capture the sysfs files of every NVIDIA PCI function (ids, mdev types, SR-IOV). */
  nvidiaSysfs: boolean;
}

/** Max bytes kept per captured file; more is truncated with a note. */
export const MAX_FILE_BYTES = 1024 * 1024;

/**
 * Folders are captured this many levels deep: a file at most MAX_CAPTURE_DEPTH names below a captured
 * folder (or below a folder a glob matched) is captured (`find -maxdepth` in the gather script,
 * the recursion of captureViaPrimitives).
 */
export const MAX_CAPTURE_DEPTH = 5;

/** Seconds a single gathered command may run before it is killed (exit 124, with a note). */
export const GATHER_COMMAND_TIMEOUT_S = 60;

/** Exit code of a command whose program does not exist on the host (sh, LocalHost, ssh). */
export const NOT_INSTALLED_EXIT = 127;

/** The note a capture records for a command whose program is not installed on the host (exit 127). */
export function notInstalledNote(cmd: string): string {
  return `not installed on the host: ${cmd}`;
}

/** The command line of a notInstalledNote, else null. */
export function parseNotInstalledNote(note: string): string | null {
  const prefix = "not installed on the host: ";
  return note.startsWith(prefix) ? note.slice(prefix.length) : null;
}

/**
 * Finish the unreadable list of a capture: sorted, without duplicates, one note per path
 * (both capture implementations call this last, so they agree on order).
 */
export function finishUnreadable(cap: Capture, unreadable: Iterable<string>): void {
  const list = [...new Set(unreadable)].sort();
  if (list.length === 0) return;
  cap.unreadable = list;
  for (const p of list) cap.notes.push(`could not read ${p}`);
}

/** Files read below each NVIDIA function directory /sys/bus/pci/devices/<addr>/. */
export const NVIDIA_FUNCTION_FILES = [
  "vendor",
  "device",
  "subsystem_vendor",
  "subsystem_device",
  "class",
  "sriov_totalvfs",
  "sriov_numvfs",
  "physfn/uevent",
  "nvidia/creatable_vgpu_types",
  "nvidia/current_vgpu_type",
  "current_link_speed",
];
/** Files read below each /sys/bus/pci/devices/<addr>/mdev_supported_types/<type>/. */
export const MDEV_TYPE_FILES = ["name", "description", "available_instances", "device_api"];

export const SYS_PCI_DEVICES = "/sys/bus/pci/devices";

const SAFE_ARG = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** argv → the command line a person would type (single quotes only where needed). */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (a !== "" && SAFE_ARG.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}

/** Read access to a Capture that keeps "absent" (null) apart from "not captured" (undefined). */
export class Evidence {
  private readonly byCmd = new Map<string, CapturedCommand>();
  /** Commands pasted with `sudo` and/or piped through a filter, by the command line they filter. */
  private readonly byBase = new Map<string, { c: CapturedCommand; filtered: boolean }>();

  constructor(readonly capture: Capture) {
    for (const c of capture.commands) if (!c.partial) this.byCmd.set(normaliseCmd(c.cmd), c);
    for (const c of capture.commands) {
      const b = c.partial
        ? { base: baseCommand(c.cmd)?.base ?? normaliseCmd(c.cmd), filtered: true }
        : baseCommand(c.cmd);
      if (!b) continue;
      const seen = this.byBase.get(b.base);
      // an unfiltered paste beats a filtered one
      if (!seen || (seen.filtered && !b.filtered)) this.byBase.set(b.base, { c, filtered: b.filtered });
    }
  }

  get host(): string {
    return this.capture.host;
  }

  /**
   * undefined = the command was not captured (unknown). Hand-assembled bundles often hold a variant
   * of the command (`lspci -nnk`, `dmesg -T`, `journalctl -u nvidia-vgpud`): an equivalent whose
   * output the same parser reads is used when the exact command line is missing.
   */
  command(cmd: string): CapturedCommand | undefined {
    const key = normaliseCmd(cmd);
    const exact = this.byCmd.get(key);
    if (exact) return exact;
    const aliases = normalisedAliases(key);
    for (const alias of aliases) {
      const c = this.byCmd.get(alias);
      if (c) return c;
    }
    // `sudo dmesg`, `dmesg | grep -i nvrm`, `lspci -nn | grep -i nvidia`: same parser, but a filtered
    // output only counts for commands whose parsers never conclude from a line being absent.
    for (const k of [key, ...aliases]) {
      const b = this.byBase.get(k);
      if (b && (!b.filtered || FILTERABLE.has(key))) return b.c;
    }
    return undefined;
  }

  /** true when command(cmd) is answered by a filtered paste (`… | grep …`): lines may be missing. */
  isFiltered(cmd: string): boolean {
    const key = normaliseCmd(cmd);
    if (this.byCmd.has(key)) return false;
    const aliases = normalisedAliases(key);
    if (aliases.some((a) => this.byCmd.has(a))) return false;
    for (const k of [key, ...aliases]) {
      const b = this.byBase.get(k);
      if (b) return b.filtered;
    }
    return false;
  }

  /** stdout of a command that ran and succeeded (exit 0), else undefined. */
  stdout(cmd: string): string | undefined {
    const c = this.command(cmd);
    return c && c.exitCode === 0 ? c.stdout : undefined;
  }

  /**
   * Everything at and below `path` is known: it lies under a captured path (or is a captured file)
   * and neither it nor anything below it was unreadable. A folder with one unreadable file is not
   * fully captured: its listing of configs could be missing that one.
   */
  isCaptured(path: string): boolean {
    if (this.isUnreadable(path) || this.hasUnreadableBelow(path)) return false;
    return this.capture.capturedPaths.some((root) => isUnder(path, root)) || path in this.capture.files;
  }

  /** `path` is at or below a path that exists but could not be read: its content is unknown. */
  isUnreadable(path: string): boolean {
    return (this.capture.unreadable ?? []).some((u) => isUnder(path, u));
  }

  private hasUnreadableBelow(path: string): boolean {
    const prefix = path.endsWith("/") ? path : `${path}/`;
    return (this.capture.unreadable ?? []).some((u) => u.startsWith(prefix));
  }

  /** string = content; null = absent on the host; undefined = not captured or unreadable (unknown). */
  file(path: string): string | null | undefined {
    const content = this.capture.files[path];
    if (content !== undefined) return content;
    if (this.isUnreadable(path)) return undefined;
    if (this.isCaptured(path)) return null;
    // A pasted `cat /proc/cmdline` is as good as the file itself.
    const cat = this.byCmd.get(normaliseCmd(`cat ${path}`));
    if (cat)
      return cat.exitCode === 0
        ? cat.stdout
        : /No such file/.test(cat.stdout) || cat.exitCode === 1
          ? null
          : undefined;
    return undefined;
  }

  /**
   * Names of the direct children of `dir` that have captured (or unreadable) files below them:
   * an unreadable child is listed, and reading it gives undefined.
   * undefined when `dir` was not captured, or is at or below an unreadable folder.
   */
  list(dir: string): string[] | undefined {
    if (this.isUnreadable(dir)) return undefined;
    const prefix = dir.endsWith("/") ? dir : `${dir}/`;
    const names = new Set<string>();
    for (const p of [...Object.keys(this.capture.files), ...(this.capture.unreadable ?? [])]) {
      if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split("/")[0]!);
    }
    if (
      names.size === 0 &&
      !this.capture.capturedPaths.some((root) => isUnder(dir, root)) &&
      !(dir in this.capture.files)
    )
      return undefined;
    return [...names].sort();
  }

  /** Files whose path matches a glob with `*` segments, e.g. "/etc/modprobe.d/*.conf". */
  glob(pattern: string): Array<{ path: string; content: string }> {
    const slash = pattern.lastIndexOf("/");
    const dir = pattern.slice(0, slash);
    // `*` and `?` in the last segment match no "/": only files right in that folder can match
    const candidates =
      slash >= 0 && globLiteral(pattern).length > slash && !pattern.includes("**")
        ? (this.filesIn().get(dir) ?? [])
        : Object.keys(this.capture.files);
    return candidates
      .filter((p) => matchesGlob(pattern, p))
      .sort(compareText)
      .map((path) => ({ path, content: this.capture.files[path]! }));
  }

  private byDir: Map<string, string[]> | undefined;

  /**
   * Captured files by the folder that holds them, made once per Evidence: parseFacts globs a dozen
   * folders, and each glob walked every captured path.
   */
  private filesIn(): Map<string, string[]> {
    if (!this.byDir) {
      this.byDir = new Map();
      for (const p of Object.keys(this.capture.files)) {
        const dir = p.slice(0, p.lastIndexOf("/"));
        const list = this.byDir.get(dir);
        if (list) list.push(p);
        else this.byDir.set(dir, [p]);
      }
    }
    return this.byDir;
  }
}

export function isUnder(path: string, root: string): boolean {
  if (root === "/") return true;
  const r = root.endsWith("/") ? root.slice(0, -1) : root;
  if (r.includes("*")) return matchesGlob(r, path) || matchesGlob(`${r}/**`, path);
  return path === r || path.startsWith(`${r}/`);
}

/**
 * Each pattern's RegExp, made once: parsers and isUnder ask for the same few patterns hundreds of times
 * in one inspection, and a RegExp made anew is parsed (and compiled) anew. No `g`/`y` flag: `test`
 * keeps no state between calls, so one object serves every caller.
 */
const GLOB_REGEXPS = new Map<string, RegExp>();

export function globToRegExp(pattern: string): RegExp {
  let known = GLOB_REGEXPS.get(pattern);
  if (!known) {
    known = compileGlob(pattern);
    GLOB_REGEXPS.set(pattern, known);
  }
  return known;
}

/**
 * Does the path match the glob? The text before the first wildcard must begin the path; the RegExp runs
 * (and is compiled) only for paths that do — most captured paths are under other folders.
 */
export function matchesGlob(pattern: string, path: string): boolean {
  const literal = globLiteral(pattern);
  if (!path.startsWith(literal)) return false;
  const suffix = starSuffix(pattern, literal);
  if (suffix === null) return globToRegExp(pattern).test(path);
  // "/etc/modprobe.d/*.conf": ^literal[^/]*suffix$ by string, without compiling a regex per pattern
  const end = path.length - suffix.length;
  return end >= literal.length && path.endsWith(suffix) && !path.slice(literal.length, end).includes("/");
}

/** For a pattern `literal*suffix` (one `*`, no `?`, no "/" after it): the suffix; else null. */
function starSuffix(pattern: string, literal: string): string | null {
  const rest = pattern.slice(literal.length + 1);
  return pattern[literal.length] === "*" && !rest.includes("*") && !rest.includes("?") && !rest.includes("/")
    ? rest
    : null;
}

/** Each pattern's text before its first wildcard, found once (matchesGlob runs per path and pattern). */
const GLOB_LITERALS = new Map<string, string>();

function globLiteral(pattern: string): string {
  let literal = GLOB_LITERALS.get(pattern);
  if (literal === undefined) {
    const star = pattern.indexOf("*");
    const mark = pattern.indexOf("?");
    const cut = star < 0 ? mark : mark < 0 ? star : Math.min(star, mark);
    literal = cut < 0 ? pattern : pattern.slice(0, cut);
    GLOB_LITERALS.set(pattern, literal);
  }
  return literal;
}

/** Characters compileGlob escapes (a regex per character of each glob was the slower way to ask). */
const REGEXP_SPECIAL = ".+^$()|[]{}\\";

function compileGlob(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*" && pattern[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += REGEXP_SPECIAL.includes(ch) ? `\\${ch}` : ch;
  }
  return new RegExp(`^${re}$`);
}

/**
 * Equivalent command lines, by the canonical command of gather-spec.ts: their output is read by the
 * same parser (lspci without -D lacks the PCI domain, which the parser fills in as 0000).
 */
export const COMMAND_ALIASES: Record<string, string[]> = {
  "lspci -Dnnk": [
    "lspci -nnk",
    // without -k: no "Kernel driver in use" lines (derive.ts pciDriversKnown tells the checks)
    "lspci -nn",
    "lspci -Dnn",
    "lspci -nnv",
    "lspci -vnn",
    "lspci -k -nn",
    "lspci -nn -k",
    "lspci -Dnn -k",
    "lspci -nnkD",
    "lspci -Dkn",
    "lspci -knn",
    "lspci -nkk",
  ],
  dmesg: [
    "dmesg -T",
    "dmesg --ctime",
    "journalctl -k",
    "journalctl -k -b 0",
    "journalctl --no-pager -k",
    "journalctl -k -b",
    "sudo dmesg",
  ],
  "uname -a": ["uname -ar"],
  "pveversion -v": ["pveversion --verbose"],
  "nvidia-smi -q": ["nvidia-smi --query"],
  "nvidia-smi vgpu -q": ["nvidia-smi vgpu --query"],
  "mdevctl list --dumpjson": ["mdevctl list -d --dumpjson"],
  "journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service": [
    "journalctl -u nvidia-vgpu-mgr",
    "journalctl -u nvidia-vgpu-mgr.service -b",
    "journalctl -u nvidia-vgpu-mgr -b",
    "journalctl -b 0 -u nvidia-vgpu-mgr",
    "journalctl -xeu nvidia-vgpu-mgr.service",
    "journalctl -xeu nvidia-vgpu-mgr",
    "journalctl -u nvidia-vgpu-mgr.service",
    "journalctl -b -u nvidia-vgpu-mgr",
    "journalctl -b 0 -u nvidia-vgpu-mgr.service",
    "journalctl --no-pager -u nvidia-vgpu-mgr",
    "journalctl --no-pager -u nvidia-vgpu-mgr.service",
  ],
  "journalctl --no-pager -b 0 -u nvidia-vgpud.service": [
    "journalctl -u nvidia-vgpud",
    "journalctl -u nvidia-vgpud.service -b",
    "journalctl -u nvidia-vgpud -b",
    "journalctl -b 0 -u nvidia-vgpud",
    "journalctl -xeu nvidia-vgpud.service",
    "journalctl -xeu nvidia-vgpud",
    "journalctl -u nvidia-vgpud.service",
    "journalctl -b -u nvidia-vgpud",
    "journalctl -b 0 -u nvidia-vgpud.service",
    "journalctl --no-pager -u nvidia-vgpud",
    "journalctl --no-pager -u nvidia-vgpud.service",
  ],
  lscpu: ["cat /proc/cpuinfo"],
  "dpkg-query -W": ["dpkg-query -W -f='${Package}\t${Version}\n'"],
};

/** normaliseCmd of each COMMAND_ALIASES list, made once (Evidence.command asks ~60 times per parse). */
const NORMALISED_ALIASES = new Map<string, readonly string[]>();

function normalisedAliases(key: string): readonly string[] {
  if (!Object.hasOwn(COMMAND_ALIASES, key)) return [];
  let known = NORMALISED_ALIASES.get(key);
  if (!known) {
    known = COMMAND_ALIASES[key]!.map(normaliseCmd);
    NORMALISED_ALIASES.set(key, known);
  }
  return known;
}

function normaliseCmd(cmd: string): string {
  return cmd.trim().replace(/\s+/g, " ");
}

/**
 * Canonical commands whose output may be read from a filtered paste (`… | grep …`): their parsers only
 * use the lines present (GPU lines of lspci, NVRM/IOMMU lines of dmesg, daemon messages), and a
 * conclusion from absence (IOMMU off) needs boot lines a filter removes anyway.
 */
export const FILTERABLE: ReadonlySet<string> = new Set([
  "lspci -Dnnk",
  "dmesg",
  "journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service",
  "journalctl --no-pager -b 0 -u nvidia-vgpud.service",
]);

/** Pipe stages that only select, page or trim lines. */
const FILTER_STAGE = /^(?:grep|egrep|fgrep|head|tail|less|more|cat)(?:\s|$)/;
/** Pipe stages that pass every line through unchanged. */
const PASS_STAGE = /^(?:less|more|cat)(?:\s+-\w+)*$/;

/**
 * "sudo dmesg -T | grep -i nvrm" → { base: "dmesg -T", filtered: true }; null when the line is neither
 * prefixed with sudo nor piped through a filter (or pipes through something else, e.g. `| sort`).
 */
export function baseCommand(cmd: string): { base: string; filtered: boolean } | null {
  let c = normaliseCmd(cmd);
  if (c[1] === " " && "#$§%>".includes(c[0] ?? "")) c = c.slice(2); // a prompt: "# ", "$ ", …
  let changed = false;
  if (c.startsWith("sudo") && /^sudo\s/.test(c)) {
    c = c.replace(/^sudo\s+(?:-\S+\s+)*/, "");
    changed = true;
  }
  // `lspci -nnk -d 10de:` (kubevirt-gpu-device-plugin#45): only NVIDIA functions, i.e. a filtered lspci.
  const byVendor =
    c.startsWith("lspci") && c.includes(" -d ")
      ? /^(lspci(?: -\S+)*?) -d \S+((?: -\S+)*)$/.exec(c.split("|")[0]!.trim())
      : null;
  if (byVendor && !c.includes("|")) return { base: `${byVendor[1]}${byVendor[2]}`, filtered: true };
  // without a pipe splitPipes gives the one stage: no walk over every character (start-up cost, issue 16)
  if (!c.includes("|")) return changed ? { base: c, filtered: false } : null;
  const stages = splitPipes(c);
  if (stages === null) return null;
  if (stages.length > 1) {
    const rest = stages.slice(1);
    if (!rest.every((s) => FILTER_STAGE.test(s))) return null;
    return { base: stages[0]!, filtered: !rest.every((s) => PASS_STAGE.test(s)) };
  }
  return changed ? { base: c, filtered: false } : null;
}

/** Split at `|` outside quotes; null for `||`. */
function splitPipes(cmd: string): string[] | null {
  const out: string[] = [];
  let cur = "";
  let q: string | null = null;
  for (let i = 0; i < cmd.length; i++) {
    const ch = cmd[i]!;
    if (q) {
      if (ch === q) q = null;
      cur += ch;
    } else if (ch === "'" || ch === '"') {
      q = ch;
      cur += ch;
    } else if (ch === "|") {
      if (cmd[i + 1] === "|") return null;
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out.map((s) => (s.startsWith("sudo") ? s.replace(/^sudo\s+/, "") : s));
}

export function emptyCapture(host: string, capturedAt: string): Capture {
  return {
    format: BUNDLE_FORMAT,
    host,
    capturedAt,
    commands: [],
    files: {},
    capturedPaths: [],
    redacted: [],
    notes: [],
  };
}
