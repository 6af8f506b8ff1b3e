/**
 * A paste → blocks of output: each block is the lines of one output, with the command typed before
 * it (when a prompt shows it) and the shape it was recognised by (when its lines have one). Text no
 * shape accepts and no prompt introduces is "not recognised". Pure; never throws.
 */
import { type PasteLine, pasteLines, promptHost } from "./lines.ts";
import { type Shape, shapeStartingAt } from "./shapes.ts";

export interface PasteBlock {
  /** 1-based first and last line of the paste the block covers (prompt line included) */
  from: number;
  to: number;
  /** the command typed at the prompt, when the output followed one */
  typed: string | null;
  /** the shape its lines were recognised by, null when none */
  shape: Shape | null;
  /** the output lines (no prompt, fence or elision lines) */
  lines: string[];
  /** lines were left out of it ("…" marks): what is absent from it proves nothing */
  elided: boolean;
  /** the host name the prompt showed (`root@pve:~#` → "pve") */
  host?: string;
}

/** Runs of lines between fences and prompts; a prompt opens a run that holds its command. */
interface Run {
  typed: string | null;
  promptLine: number | null;
  host: string | null;
  /** inside a markdown fence: every line is output (prose stays outside fences) */
  fenced: boolean;
  lines: PasteLine[];
}

function runsOf(lines: readonly PasteLine[]): Run[] {
  const runs: Run[] = [];
  let fenced = false;
  let cur: Run = { typed: null, promptLine: null, host: null, fenced, lines: [] };
  const close = () => {
    if (cur.typed !== null || cur.lines.some((l) => l.kind !== "blank")) runs.push(cur);
  };
  for (const l of lines) {
    if (l.kind === "fence") {
      close();
      fenced = !fenced;
      cur = { typed: null, promptLine: null, host: null, fenced, lines: [] };
    } else if (l.kind === "prompt") {
      close();
      cur = { typed: l.command ?? null, promptLine: l.no, host: promptHost(l.text), fenced, lines: [] };
    } else cur.lines.push(l);
  }
  close();
  return runs;
}

/** Split a paste into output blocks and unrecognised text, in paste order. */
export function splitPaste(text: string): PasteBlock[] {
  const blocks: PasteBlock[] = [];
  for (const run of runsOf(pasteLines(text))) blocks.push(...blocksOfRun(run));
  return blocks;
}

function blocksOfRun(run: Run): PasteBlock[] {
  const lines = run.lines;
  if (run.typed === null) return scan(lines, 0);
  const firstText = lines.findIndex((l) => l.kind === "text");
  const shape = firstText < 0 ? null : shapeStartingAt(lines[firstText]!.text, following(lines, firstText));
  const promptNo = run.promptLine!;
  const host = run.host ? { host: run.host } : {};
  if (!shape) {
    // An output no shape describes (qm start, cat of a config file): in a fence, everything up to the
    // next prompt; outside one, up to the first blank line (prose may follow), and nothing when a
    // blank line comes first (the command printed nothing).
    const end = run.fenced ? lines.length : firstBlankAfterText(lines);
    return [{ ...block(promptNo, lines.slice(0, end), run.typed, null), ...host }, ...scan(lines, end)];
  }
  const end = extent(lines, firstText, shape);
  const own = { ...block(promptNo, lines.slice(0, end), run.typed, shape), ...host };
  return [own, ...scan(lines, end)];
}

function firstBlankAfterText(lines: readonly PasteLine[]): number {
  const i = lines.findIndex((l) => l.kind === "blank");
  return i < 0 ? lines.length : i;
}

/** Unprompted lines from `start`: recognised outputs and, between them, unrecognised text. */
function scan(lines: readonly PasteLine[], start: number): PasteBlock[] {
  const out: PasteBlock[] = [];
  let prose: PasteLine[] = [];
  const flushProse = () => {
    const text = trimBlank(prose);
    if (text.length > 0) out.push(block(null, text, null, null));
    prose = [];
  };
  let i = start;
  while (i < lines.length) {
    const l = lines[i]!;
    const shape = l.kind === "text" ? shapeStartingAt(l.text, following(lines, i)) : null;
    if (!shape) {
      if (l.kind !== "elided" || prose.length > 0) prose.push(l);
      i++;
      continue;
    }
    flushProse();
    const end = extent(lines, i, shape);
    out.push(block(null, lines.slice(i, end), null, shape));
    i = end;
  }
  flushProse();
  return out;
}

/** The text of the (up to 3) text lines after line i, for shapes that look ahead. */
function following(lines: readonly PasteLine[], i: number): string[] {
  return lines
    .slice(i + 1, i + 6)
    .filter((l) => l.kind === "text")
    .slice(0, 3)
    .map((l) => l.text);
}

/** Index after the last line of the output `shape` starts at line `start`. */
function extent(lines: readonly PasteLine[], start: number, shape: Shape): number {
  let end = start + 1;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.kind === "elided") {
      end = i + 1; // a cut at the end of an output: it is partial
      continue;
    }
    if (l.kind === "blank") {
      if (!shape.blankInside) break;
      continue;
    }
    if (l.kind !== "text" || !shape.continues(l.text)) break;
    end = i + 1;
  }
  return end;
}

function trimBlank(lines: readonly PasteLine[]): PasteLine[] {
  let a = 0;
  let b = lines.length;
  while (a < b && lines[a]!.kind === "blank") a++;
  while (b > a && lines[b - 1]!.kind === "blank") b--;
  return lines.slice(a, b);
}

function block(
  promptNo: number | null,
  raw: readonly PasteLine[],
  typed: string | null,
  shape: Shape | null,
): PasteBlock {
  const lines = trimBlank(raw);
  const from = promptNo ?? lines[0]?.no ?? 0;
  const to = lines[lines.length - 1]?.no ?? from;
  return {
    from,
    to,
    typed,
    shape,
    lines: lines.filter((l) => l.kind !== "elided").map((l) => l.text),
    elided: lines.some((l) => l.kind === "elided"),
  };
}
