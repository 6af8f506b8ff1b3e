/**
 * bin/vgpuctl.js (issue 16, "Build" 1): runs the built program when it is there and not older than the
 * sources next to it, else the sources through tsx, so a clone never silently runs a stale build.
 * Checked on a throw-away package folder whose "built program" and "sources" each print who they are.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, expect, it } from "vitest";
import { REPO } from "../helpers/cli.ts";

let pkg: string;
const past = new Date(Date.now() - 3_600_000);
const now = new Date();

function write(rel: string, text: string, mtime: Date): void {
  const path = join(pkg, rel);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  utimesSync(path, mtime, mtime);
}

function run(): string {
  const r = spawnSync(process.execPath, [join(pkg, "bin", "vgpuctl.js"), "inspect"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(r.stderr).toBe("");
  return r.stdout.trim();
}

beforeEach(() => {
  pkg = mkdtempSync(join(tmpdir(), "vgpuctl-bin-"));
  mkdirSync(join(pkg, "bin"));
  for (const f of ["vgpuctl.js", "dist-freshness.js", "package.json"])
    copyFileSync(join(REPO, "bin", f), join(pkg, "bin", f));
  symlinkSync(join(REPO, "node_modules"), join(pkg, "node_modules"));
  write("package.json", '{ "type": "module" }\n', past);
  write(
    "src/cli/main.ts",
    'export async function main(): Promise<number> { console.log("sources"); return 0; }\n',
    past,
  );
  return () => rmSync(pkg, { recursive: true, force: true });
});

function build(mtime: Date): void {
  write("dist/vgpuctl.cjs", 'console.log("built");\n', mtime);
}

it("runs the sources when there is no build (a fresh clone after npm ci)", () => {
  expect(run()).toBe("sources");
});

it("runs the build when it is newer than every source", () => {
  build(now);
  utimesSync(join(pkg, "src", "cli"), past, past);
  utimesSync(join(pkg, "src"), past, past);
  expect(run()).toBe("built");
});

it("runs the sources when a source file changed after the build", () => {
  build(past);
  write("src/cli/main.ts", 'export async function main() { console.log("sources"); return 0; }\n', now);
  expect(run()).toBe("sources");
});

it("runs the build when there are no sources next to it (the installed package)", () => {
  build(past);
  rmSync(join(pkg, "src"), { recursive: true });
  rmSync(join(pkg, "node_modules"));
  expect(run()).toBe("built");
});

it("answers --version from package.json without loading either", () => {
  write("package.json", '{ "type": "module", "version": "9.8.7" }\n', past);
  const r = spawnSync(process.execPath, [join(pkg, "bin", "vgpuctl.js"), "--version"], { encoding: "utf8" });
  expect(r.stdout).toBe("9.8.7\n");
});

it("staleInput (the rule bin/vgpuctl.js and the e2e helper share) names what is newer than the build", async () => {
  const { staleInput } = await import("../../bin/dist-freshness.js");
  expect(staleInput(`${pkg}/`)).toBeNull(); // no build
  build(now);
  utimesSync(join(pkg, "src", "cli"), past, past);
  utimesSync(join(pkg, "src"), past, past);
  expect(staleInput(`${pkg}/`)).toBe("");
  write("src/cli/main.ts", "export {};\n", new Date(Date.now() + 60_000));
  expect(staleInput(`${pkg}/`)).toBe("src");
  write("package.json", '{ "type": "module" }\n', new Date(Date.now() + 60_000));
  expect(staleInput(`${pkg}/`)).toBe("src");
});
