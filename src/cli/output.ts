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
