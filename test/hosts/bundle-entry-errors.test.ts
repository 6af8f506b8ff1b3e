// A directory bundle's entries: one that is absent replays as "not captured" (unknown); one that cannot
// be looked at is an error naming it — it used to pass for absent. lstat(2) fails without any
// permission trick (the tests run as root) with ENAMETOOLONG: a name longer than NAME_MAX (255 bytes).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BUNDLE_FORMAT } from "../../src/facts/capture.ts";
import { readBundle } from "../../src/hosts/bundle/bundle-host.ts";
import { UserError } from "../../src/util/errors.ts";

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

/** A bundle folder (bundle.json as `vgpuctl support-bundle` writes it) whose one command's output is `stdout`. */
function bundleWithOutput(stdout: string): string {
  const d = mkdtempSync(join(tmpdir(), "vgpuctl-bentry-"));
  dirs.push(d);
  mkdirSync(join(d, "commands"));
  writeFileSync(join(d, "commands", "uname-r.txt"), "6.8.12-4-pve\n");
  const meta = {
    format: BUNDLE_FORMAT,
    host: "pve1",
    capturedAt: "2026-12-03T12:00:00.000Z",
    commands: [{ cmd: "uname -r", stdout, exitCode: 0 }],
    capturedPaths: [],
    redacted: [],
    notes: [],
  };
  writeFileSync(join(d, "bundle.json"), `${JSON.stringify(meta, null, 2)}\n`);
  return d;
}

describe("directory bundle entries", () => {
  it("reads a command's output file", async () => {
    const cap = await readBundle(bundleWithOutput("commands/uname-r.txt"));
    expect(cap.commands).toEqual([{ cmd: "uname -r", stdout: "6.8.12-4-pve\n", exitCode: 0 }]);
  });

  it("an entry that cannot be looked at (ENAMETOOLONG) is an error naming it, not a missing output", async () => {
    const long = `commands/${"x".repeat(300)}.txt`;
    const d = bundleWithOutput(long);
    const err = await readBundle(d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`cannot read ${join(d, long)}: ENAMETOOLONG`);
  });
});
