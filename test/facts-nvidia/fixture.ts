import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "facts-nvidia");

/** A fixture's text (sources: test/fixtures/facts-nvidia/SOURCES.md). */
export function fixture(name: string): string {
  return readFileSync(join(DIR, name), "utf8");
}

/** The same text with CRLF line ends and extra trailing spaces, as pasted from Windows. */
export function crlf(text: string): string {
  return text.replace(/\n/g, "  \r\n");
}

/** Deterministic garbage: slices, shuffled lines, binary noise. */
export function garble(text: string): string[] {
  const lines = text.split("\n");
  return [
    "",
    "\u0000\u0001\u0002",
    text.slice(0, Math.floor(text.length / 2)),
    text.slice(Math.floor(text.length / 3)),
    [...lines].reverse().join("\n"),
    lines.map((l) => l.replace(/ : /g, ":")).join("\n"),
    lines.map((l, i) => (i % 3 === 0 ? l.toUpperCase() : l.slice(0, 7))).join("\n"),
    "{]}[:::::\n    : :\n:",
  ];
}
