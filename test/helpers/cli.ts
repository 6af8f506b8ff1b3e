import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "../..");
export const BUNDLED_CLI = join(REPO, "dist/vgpuctl.cjs");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json: <T = any>() => T;
}

/** A fresh, private sim state dir so tests never touch ~/.local/state. */
export function tempSimDir(): string {
  return mkdtempSync(join(tmpdir(), "vgpuctl-sim-"));
}

/**
 * Run the built single-file CLI (what users get from `npm run build`) as a child process.
 * `npm test` builds it first.
 */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string): CliRun {
  if (!existsSync(BUNDLED_CLI))
    throw new Error(`${BUNDLED_CLI} missing: run \`npm run build\` first (npm test does)`);
  const r = spawnSync(process.execPath, [BUNDLED_CLI, ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", ...env },
    input,
    timeout: 60_000,
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    json: () => JSON.parse(r.stdout),
  };
}
