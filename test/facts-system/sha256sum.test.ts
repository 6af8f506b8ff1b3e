// Fixtures: test/fixtures/facts-system/sha256sum-*.txt, recorded with GNU coreutils 9.1 (SOURCES.md there).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSha256sum, shaResult } from "../../src/facts/system/sha256sum.ts";

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, "../fixtures/facts-system", name), "utf8");
const ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; // sha256("abc"), FIPS 180-2

describe("parseSha256sum", () => {
  it("reads plain and escaped lines (a name with a backslash or a newline) and unescapes the names", () => {
    expect(parseSha256sum(fixture("sha256sum-escaped-names.txt"))).toEqual([
      { sha256: ABC, path: "plain.run", binary: false },
      { sha256: ABC, path: "back\\slash.run", binary: false },
      { sha256: ABC, path: "new\nline.run", binary: false },
    ]);
  });

  it("reads the binary-mode marker", () => {
    expect(parseSha256sum(fixture("sha256sum-binary-mode.txt"))).toEqual([
      { sha256: ABC, path: "plain.run", binary: true },
    ]);
  });

  it("never throws: error lines, garbage, short hex and non-strings give no entries", () => {
    expect(parseSha256sum("sha256sum: missing.run: No such file or directory\n")).toEqual([]);
    expect(parseSha256sum(`${ABC.slice(0, 63)}  short.run\n\u0000\u0001`)).toEqual([]);
    expect(parseSha256sum("")).toEqual([]);
    expect(parseSha256sum(undefined as unknown as string)).toEqual([]);
  });
});

describe("shaResult", () => {
  it("takes the checksum of an escaped line as of a plain one", () => {
    const out = fixture("sha256sum-escaped-names.txt").split("\n").slice(2).join("\n");
    expect(shaResult({ stdout: out, exitCode: 0 }, "")).toEqual({ sha256: ABC });
  });

  it("says why there is none: a missing file's error line (sha256sum exits 1)", () => {
    expect(
      shaResult({ stdout: "", exitCode: 1 }, "sha256sum: missing.run: No such file or directory\n"),
    ).toEqual({
      sha256: null,
      sha256Error: "`sha256sum` failed (exit 1): sha256sum: missing.run: No such file or directory",
    });
  });
});
