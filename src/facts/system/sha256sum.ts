/**
 * `sha256sum FILE…` output (GNU coreutils; test/fixtures/facts-system/sha256sum-*.txt, recorded with
 * coreutils 9.1). One line per file: 64 hex digits, a space, ` ` (text mode) or `*` (binary mode),
 * the name. A name holding a backslash, newline or carriage return is escaped (`\\`, `\n`, `\r`) and
 * the line then starts with a backslash (coreutils info manual, "md5sum invocation", which sha256sum
 * shares: "If FILE contains a backslash or newline, the line is started with a backslash, and each
 * problematic character in the file name is escaped with a backslash"; `\r` since coreutils 9).
 * Never throws.
 */
import { lines } from "./text.ts";

export interface Sha256sumLine {
  /** lower-case hex */
  sha256: string;
  /** the file name, unescaped */
  path: string;
  binary: boolean;
}

const LINE = /^(\\?)([0-9a-fA-F]{64}) ([ *])(.*)$/;

function unescapeName(name: string): string {
  return name.replace(/\\(.)/g, (all, c: string) =>
    c === "\\" ? "\\" : c === "n" ? "\n" : c === "r" ? "\r" : all,
  );
}

/** Every checksum line; lines that are not one (errors, noise) are skipped. */
export function parseSha256sum(text: string): Sha256sumLine[] {
  const out: Sha256sumLine[] = [];
  for (const line of lines(text)) {
    const m = LINE.exec(line);
    if (!m) continue;
    out.push({
      sha256: m[2]!.toLowerCase(),
      path: m[1] ? unescapeName(m[4]!) : m[4]!,
      binary: m[3] === "*",
    });
  }
  return out;
}

/**
 * The checksum `sha256sum PATH` printed, or why there is none (the planner refuses to run a driver
 * file it could not verify). `out` null: the command was not captured.
 */
export function shaResult(
  out: { stdout: string; exitCode: number } | null,
  stderr: string,
): { sha256: string | null; sha256Error?: string } {
  if (!out) return { sha256: null, sha256Error: "`sha256sum` was not captured from the host" };
  const hex = parseSha256sum(out.stdout)[0]?.sha256 ?? null;
  if (out.exitCode === 0 && hex) return { sha256: hex };
  const said = stderr.trim().split("\n").pop();
  const why =
    out.exitCode === 127
      ? "`sha256sum` is not available on the host (exit 127)"
      : out.exitCode === 124
        ? "`sha256sum` timed out"
        : out.exitCode === 0
          ? "`sha256sum` printed no checksum"
          : `\`sha256sum\` failed (exit ${out.exitCode})`;
  return { sha256: null, sha256Error: said ? `${why}: ${said}` : why };
}
