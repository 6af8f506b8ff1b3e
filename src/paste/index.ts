/**
 * `--paste`: text holding several outputs one after another (as people post them in forums) → a
 * Capture, the same shape a support bundle stores, plus a report of what was recognised where.
 * Only outputs are stored, under the command (or file) they are the output of; nothing is inferred.
 * Pure; never throws.
 */
import { type Capture, type CapturedCommand, Evidence, emptyCapture } from "../facts/capture.ts";
import { MAX_PASTE_BYTES, unreadablePaste } from "./lines.ts";
import { type PasteBlock, splitPaste } from "./split.ts";

export { MAX_PASTE_BYTES } from "./lines.ts";

/** One part of the paste in the recognition report. */
export interface PasteSegment {
  from: number;
  to: number;
  /** the kind of output recognised ("nvidia-smi -q"), null = not recognised */
  recognised: string | null;
  /** where it went: a command line or "file /proc/cmdline"; null when not used */
  as: string | null;
  /** the command typed at the prompt, when there was one */
  typed: string | null;
  /** "…" marks inside it: a partial output, nothing is concluded from a line being absent */
  partial: boolean;
}

export interface PasteResult {
  capture: Capture;
  segments: PasteSegment[];
  /** one line saying why nothing could be read (empty, binary, too large), else null */
  refused: string | null;
}

/** Read a paste. `now` is the capture time (ISO). */
export function readPaste(text: string, opts: { host?: string; now: string }): PasteResult {
  const capture = emptyCapture(opts.host ?? "paste", opts.now);
  capture.notes.push("assembled from pasted text: only what the paste shows is known");
  const refused =
    Buffer.byteLength(text) > MAX_PASTE_BYTES
      ? `the paste is larger than ${MAX_PASTE_BYTES / (1024 * 1024)} MiB: paste the outputs that matter, or use a support bundle`
      : unreadablePaste(text);
  if (refused) return { capture, segments: [], refused };
  const segments: PasteSegment[] = [];
  for (const b of splitPaste(text)) {
    const target = store(capture, b);
    segments.push({
      from: b.from,
      to: b.to,
      recognised: b.shape ? labelOf(b) : b.typed,
      as: target,
      typed: b.typed,
      partial: b.elided,
    });
    if (b.host && !opts.host && capture.host === "paste") capture.host = b.host;
  }
  return { capture, segments, refused: null };
}

function labelOf(b: PasteBlock): string {
  if (b.shape?.label === "nvidia-smi" && isVgpuTable(b.lines)) return "nvidia-smi vgpu";
  return b.shape?.label ?? "";
}

function isVgpuTable(lines: readonly string[]): boolean {
  return lines.some((l) => /\bvGPU ID\b/.test(l));
}

/** Put a block into the capture; the command line or "file PATH" it became, null when not used. */
function store(capture: Capture, b: PasteBlock): string | null {
  const text = b.lines.length > 0 ? `${b.lines.join("\n")}\n` : "";
  if (!b.shape) {
    if (!b.typed) return null;
    const path = catPath(b.typed);
    if (path && !b.elided) return addFile(capture, path, text);
    return addCommand(capture, b.typed, text, b.elided);
  }
  const target = b.shape.target;
  if (target.startsWith("file:") && !b.typed?.includes("|")) return addFile(capture, target.slice(5), text);
  if (target === "journal")
    return b.typed ? addCommand(capture, b.typed, text, b.elided) : storeJournal(capture, b);
  // an unprompted kernel log may be an excerpt: nothing may be concluded from a missing line
  const partial = b.elided || (!b.typed && target === "dmesg");
  const canonical =
    target === "systemctl status"
      ? `systemctl status ${/[\w@.-]+\.service/.exec(b.lines[0] ?? "")?.[0] ?? ""}`
      : target === "nvidia-smi" && isVgpuTable(b.lines)
        ? "nvidia-smi vgpu"
        : target;
  return addCommand(capture, commandFor(b.typed, canonical), text, partial);
}

/**
 * The command line to keep an output under: what was typed when vgpuctl reads it as the recognised
 * output (`lspci -nnk`, `sudo dmesg | grep NVRM` — filtered outputs stay filtered), else the
 * command the shape names (`nvidia-smi -i 0 -q` is read as `nvidia-smi -q`).
 */
function commandFor(typed: string | null, canonical: string): string {
  if (!typed) return canonical;
  if (typed.includes("|")) return typed;
  const probe = emptyCapture("probe", "");
  probe.commands.push({ cmd: typed, stdout: "", exitCode: 0 });
  return new Evidence(probe).command(canonical) ? typed : canonical;
}

/** `cat /etc/modprobe.d/vfio.conf` → the path; null for globs, pipes, several files. */
function catPath(typed: string): string | null {
  const m = /^(?:sudo\s+)?cat\s+(\/[^\s*?|;&<>'"]+)$/.exec(typed.trim());
  return m ? m[1]! : null;
}

function addFile(capture: Capture, path: string, text: string): string {
  capture.files[path] = path in capture.files ? `${capture.files[path]}${text}` : text;
  return `file ${path}`;
}

function addCommand(capture: Capture, cmd: string, stdout: string, partial: boolean): string {
  const seen = capture.commands.find((c) => c.cmd === cmd);
  if (seen) {
    seen.stdout += stdout;
    if (partial) seen.partial = true;
    return cmd;
  }
  const c: CapturedCommand = { cmd, stdout, exitCode: 0 };
  if (partial) c.partial = true;
  capture.commands.push(c);
  return cmd;
}

const SYSLOG_IDENT =
  /^(?:\p{L}{2,5}\.? {1,2}\d{1,2} \d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T[\d:.+-]+Z?) \S+ ([^\s:[\]]+)(?:\[\d+\])?: /u;

/** Journal excerpts by the program that logged each line: kernel, the two vGPU daemons, the rest. */
const JOURNAL_COMMANDS: Array<[RegExp, string]> = [
  [/^kernel$/, "journalctl -k"],
  [/^nvidia-vgpud$/, "journalctl -u nvidia-vgpud"],
  [/^nvidia-vgpu-mgr$/, "journalctl -u nvidia-vgpu-mgr"],
];

/** An unprompted journal excerpt, split by the program each line comes from (all kept as partial). */
function storeJournal(capture: Capture, b: PasteBlock): string {
  const byCmd = new Map<string, string[]>();
  let current = "journalctl -b";
  for (const line of b.lines) {
    const ident = SYSLOG_IDENT.exec(line)?.[1];
    if (ident !== undefined)
      current = JOURNAL_COMMANDS.find(([re]) => re.test(ident))?.[1] ?? "journalctl -b";
    byCmd.set(current, [...(byCmd.get(current) ?? []), line]);
  }
  for (const [cmd, lines] of byCmd) addCommand(capture, cmd, `${lines.join("\n")}\n`, true);
  return [...byCmd.keys()].join(", ");
}

/** The recognition report as text: "lines 12–40: nvidia-smi -q", "lines 41–44: not recognised". */
export function renderRecognition(r: PasteResult): string[] {
  if (r.refused) return [r.refused];
  const used = r.segments.filter((s) => s.as !== null);
  const lines = r.segments.slice(0, MAX_REPORTED_SEGMENTS).map(segmentLine);
  const more = r.segments.length - lines.length;
  if (more > 0) lines.push(`… and ${more} more parts`);
  return used.length === 0 ? ["nothing recognised in the paste", ...lines] : lines;
}

/** A hostile paste (600,000 prompts, a 7 MB command line) must not become megabytes of report. */
const MAX_REPORTED_SEGMENTS = 100;
const MAX_SHOWN_CHARS = 120;
const shorten = (s: string) => (s.length > MAX_SHOWN_CHARS ? `${s.slice(0, MAX_SHOWN_CHARS)}…` : s);

function segmentLine(s: PasteSegment): string {
  const where = s.from === s.to ? `line ${s.from}` : `lines ${s.from}–${s.to}`;
  if (s.as === null) return `${where}: not recognised`;
  const full = s.recognised ?? s.as;
  const what = shorten(full);
  const typed = s.typed && s.typed !== full ? ` (typed: ${shorten(s.typed)})` : "";
  const kept =
    s.as !== full && s.as !== s.typed && !s.as.startsWith("file ") ? ` → read as ${shorten(s.as)}` : "";
  const file = s.as.startsWith("file ") && s.as !== `file ${full}` ? ` → ${shorten(s.as)}` : "";
  return `${where}: ${what}${typed}${kept}${file}${s.partial ? " (partial: lines left out)" : ""}`;
}
