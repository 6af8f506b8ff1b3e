/**
 * Fast start (issue 16, "Build" 3): the built CLI loads only the subcommand the command line names
 * (src/cli/commands/lazy.ts). The lazy list must name exactly the subcommands `vgpuctl --help` lists,
 * in the same order, and `--version` prints package.json's version.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LAZY_COMMANDS, registrarsFor, subcommandIn } from "../../src/cli/commands/lazy.ts";
import { buildProgram } from "../../src/cli/main.ts";
import { colorsFor } from "../../src/cli/output.ts";
import { REPO, runCli, tempSimDir } from "../helpers/cli.ts";

const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };

describe("lazy subcommands", () => {
  it("name the same subcommands as the full program, in its order", () => {
    const program = buildProgram(
      {
        out: () => {},
        err: () => {},
        env: {},
        colors: colorsFor({ isTTY: false }, {}),
        cwd: REPO,
        openHost: () => Promise.reject(new Error("no host in this test")),
      },
      () => {},
    );
    expect(LAZY_COMMANDS.map((c) => c.name)).toEqual(program.commands.map((c) => c.name()));
  });

  it("find the subcommand after global options and their values", () => {
    expect(subcommandIn(["node", "vgpuctl", "inspect", "--json"])).toBe("inspect");
    expect(subcommandIn(["node", "vgpuctl", "--host", "demo", "--json", "vm", "list"])).toBe("vm");
    expect(subcommandIn(["node", "vgpuctl", "-H", "sim:x", "--root", "/r", "doctor"])).toBe("doctor");
    expect(subcommandIn(["node", "vgpuctl", "--host=demo", "plan"])).toBe("plan");
    expect(subcommandIn(["node", "vgpuctl", "--version"])).toBeUndefined();
  });

  it("load one registrar for a named subcommand, none for --version, all for help", async () => {
    expect(await registrarsFor(["node", "vgpuctl", "inspect", "--host", "demo"])).toHaveLength(1);
    expect(await registrarsFor(["node", "vgpuctl", "--version"])).toHaveLength(0);
    expect(await registrarsFor(["node", "vgpuctl", "--help"])).toHaveLength(LAZY_COMMANDS.length);
    expect(await registrarsFor(["node", "vgpuctl", "help", "vm"])).toHaveLength(LAZY_COMMANDS.length);
  });
});

describe("the built CLI (dist/vgpuctl.cjs)", () => {
  it("--version prints package.json's version", () => {
    const r = runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it("--help lists every subcommand, completion included", () => {
    const r = runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const c of LAZY_COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c.name}\\b`, "m"));
  });

  it("an unknown subcommand is a usage error, exit 2", () => {
    const r = runCli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it("runs inspect --host demo --json with only that subcommand loaded", () => {
    const r = runCli(["inspect", "--host", "demo", "--json"], { VGPUCTL_SIM_DIR: tempSimDir() });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.json().gpus[0].deviceId).toBe("1e07");
  });
});
