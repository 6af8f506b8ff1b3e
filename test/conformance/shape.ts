/**
 * Structural shapes of command outputs, for comparing real samples with the simulator's renders:
 * field paths of `key : value` reports, table line widths and cell borders, column counts. Independent
 * of the parsers under test (src/facts), so a parser bug cannot hide a render difference.
 */

/** Lines without CR and trailing blanks. */
function lines(text: string): string[] {
  return text.replace(/\r/g, "").split("\n");
}

const KEY_LINE = /^( *)(\S.*?)(?:\s+:(?:\s.*)?)?$/;

/**
 * Paths ("PCI / GPU Link Info / Link Width / Max") of every header and key line of the block that starts
 * at the first line matching `start` and ends before the next line matching `end` (or the text's end),
 * indentation relative to the start line. Lines that are not indented key lines (prompts, grep `--`,
 * pasted tables) end nothing and are skipped.
 */
export function keyPaths(text: string, start: RegExp, end: RegExp = start): string[] {
  const all = lines(text);
  const from = all.findIndex((l) => start.test(l));
  if (from < 0) return [];
  const base = all[from]!.length - all[from]!.trimStart().length;
  const stack: Array<{ indent: number; name: string }> = [];
  const out: string[] = [];
  for (const raw of all.slice(from + 1)) {
    if (end.test(raw)) break;
    if (raw.trim() === "" || /^\s*--\s*$/.test(raw) || /^[|+]/.test(raw)) continue;
    const m = KEY_LINE.exec(raw);
    if (!m) continue;
    const indent = m[1]!.length - base;
    if (indent <= 0) continue;
    while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
    out.push([...stack.map((x) => x.name), m[2]!.trim()].join(" / "));
    stack.push({ indent, name: m[2]!.trim() });
  }
  return out;
}

/** Top-level `key : value` names and headers before the first `GPU ` line (`nvidia-smi -q` preamble). */
export function preambleKeys(text: string): string[] {
  const out: string[] = [];
  for (const raw of lines(text)) {
    if (/^GPU [0-9A-Fa-f]/.test(raw)) break;
    const m = /^(\S.*?)(?:\s+:(?:\s.*)?)?$/.exec(raw.trimEnd());
    if (m && !/^=+NVSMI LOG=+$/.test(m[1]!) && !/[#$]\s/.test(raw)) out.push(m[1]!);
  }
  return out;
}

export interface TableShape {
  /** distinct lengths of the lines that are part of the box ("+…+" or "|…|") */
  widths: number[];
  /** offsets of the cell borders in the header's `|===+===|` rule */
  borders: number[];
  /** the two column-title rows of the GPU box, as printed */
  titles: string[];
  /** the Processes box's column-title rows */
  processTitles: string[];
}

export function tableShape(text: string): TableShape {
  const box = lines(text)
    .map((l) => l.replace(/^.*?(?=[|+])/, "").trimEnd())
    .filter((l) => /^[|+].*[|+]$/.test(l));
  const rule = box.find((l) => /^\|=+\+/.test(l)) ?? "";
  return {
    widths: [...new Set(box.map((l) => l.length))].sort((a, b) => a - b),
    borders: [...rule].flatMap((c, i) => (c === "|" || c === "+" ? [i] : [])),
    titles: box.filter((l) => /^\| (GPU {2}Name|Fan {2}Temp)/.test(l)),
    processTitles: box.filter((l) => /^\| {2}GPU {3}GI|^\| {8}ID {3}ID/.test(l)),
  };
}

/** Differences between a real and a simulated list of names, each side without the allowed ones. */
export function differences(
  real: readonly string[],
  sim: readonly string[],
  allowed: Readonly<Record<string, string>>,
): { onlyReal: string[]; onlySim: string[]; staleAllowances: string[] } {
  const r = new Set(real);
  const s = new Set(sim);
  const onlyReal = [...r].filter((k) => !s.has(k));
  const onlySim = [...s].filter((k) => !r.has(k));
  const differing = new Set([...onlyReal, ...onlySim]);
  return {
    onlyReal: onlyReal.filter((k) => !(k in allowed)),
    onlySim: onlySim.filter((k) => !(k in allowed)),
    staleAllowances: Object.keys(allowed).filter((k) => !differing.has(k)),
  };
}
