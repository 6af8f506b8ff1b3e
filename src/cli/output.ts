import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;

/** Colour only for a terminal, never when NO_COLOR is set (https://no-color.org) or output is piped. */
export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag?: boolean): Colors {
  let enabled = Boolean(stream.isTTY) && env.TERM !== "dumb";
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") enabled = true;
  if ("NO_COLOR" in env && env.NO_COLOR !== "") enabled = false;
  if (flag === false) enabled = false;
  return pc.createColors(enabled);
}

/** Left-aligned text table; widths ignore ANSI colour codes. */
export function table(rows: string[][], indent = ""): string {
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "").length;
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visible(c));
    });
  return rows
    .map((r) =>
      (
        indent +
        r.map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i]! - visible(c)))).join("  ")
      ).trimEnd(),
    )
    .join("\n");
}

/**
 * SGR parameters vgpuctl's own colours use (picocolors: reset, bold, dim, italic, underline, the
 * 8 + 8 bright foreground colours and their resets). Anything else (cursor moves, clear screen,
 * window title, hyperlinks, conceal, inverse) is never ours.
 */
const OWN_SGR = /^\x1b\[(?:0|1|2|3|4|22|23|24|3[0-9]|9[0-7])m$/;
/** C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides/isolates. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text as it may reach a terminal: every control character shown as a visible `\xNN` / `\u{NNNN}`,
 * so host data (a VM name, a bundle's host) cannot clear the screen, set the title or rewrite a
 * line (issue 13 item 12). With `keepColours`, vgpuctl's own colour sequences stay.
 * The one place human output is neutralised: runProgram wraps `out` and `err` with it.
 */
export function terminalSafe(text: string, keepColours: boolean): string {
  if (!/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.test(text)) return text;
  const visible = (s: string) => s.replace(CONTROL, showControl);
  if (!keepColours) return visible(text);
  return text
    .split(/(\x1b\[[0-9;]*m)/)
    .map((part, i) => (i % 2 === 1 && OWN_SGR.test(part) ? part : visible(part)))
    .join("");
}

function showControl(ch: string): string {
  const code = ch.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}
