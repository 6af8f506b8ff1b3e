/**
 * src/cli/stdout.ts: into a file the built CLI writes with fs.writeSync instead of process.stdout (fast
 * start, issue 16); what it writes there must be what it writes into a pipe, and a terminal-less
 * output gets no colours either way.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { currentBuild, tempSimDir } from "../helpers/cli.ts";

const DEMO_TEXT = ["inspect", "--host", "demo"];

function run(stdout: "pipe" | number, home: string) {
  return spawnSync(process.execPath, [currentBuild(), ...DEMO_TEXT], {
    encoding: "utf8",
    // no NO_COLOR: colours would come from a terminal, and neither output is one
    env: { PATH: process.env.PATH ?? "", HOME: home, VGPUCTL_SIM_DIR: tempSimDir() },
    stdio: ["ignore", stdout, "pipe"],
  });
}

describe("standard output of the built CLI", () => {
  it("is the same bytes into a file as into a pipe, without colours", () => {
    const home = mkdtempSync(join(tmpdir(), "vgpuctl-stdout-"));
    const piped = run("pipe", home);
    const file = join(home, "out.txt");
    const fd = openSync(file, "w");
    const toFile = run(fd, home);
    closeSync(fd);
    expect(piped.status).toBe(0);
    expect(toFile.status).toBe(0);
    expect(toFile.stderr).toBe("");
    expect(readFileSync(file, "utf8")).toBe(piped.stdout);
    expect(piped.stdout).toMatch(/^Host /);
    expect(piped.stdout).not.toContain("\x1b[");
  });
});
