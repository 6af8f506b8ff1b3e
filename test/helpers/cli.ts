import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { staleInput } from "../../bin/dist-freshness.js";

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

let cacheDir: string | undefined;
/**
 * `inspect` saves the last inspection for completion in $XDG_CACHE_HOME/vgpuctl: tests get a private cache
 * folder unless they set HOME or XDG_CACHE_HOME themselves, so a test run never writes the user's ~/.cache.
 */
function privateCache(env: Record<string, string>): Record<string, string> {
  if ("XDG_CACHE_HOME" in env || "HOME" in env) return {};
  cacheDir ??= mkdtempSync(join(tmpdir(), "vgpuctl-cache-"));
  return { XDG_CACHE_HOME: cacheDir };
}

let checked = false;

/**
 * The built CLI, refusing a missing or stale one: dist/ older than any of its inputs (src/, …: the rule
 * bin/vgpuctl.js runs the build by, bin/dist-freshness.js) would test other code than the sources.
 * Checked once per test file.
 */
export function currentBuild(): string {
  if (checked) return BUNDLED_CLI;
  const stale = staleInput(`${REPO}/`);
  if (stale === null) throw new Error(`${BUNDLED_CLI} missing: run \`npm run build\` first (npm test does)`);
  if (stale !== "")
    throw new Error(
      `${BUNDLED_CLI} is older than ${stale} (changed since the last build): run \`npm run build\` first (npm test does)`,
    );
  checked = true;
  return BUNDLED_CLI;
}

/**
 * Run the built single-file CLI (what users get from `npm run build`) as a child process.
 * `npm test` builds it first; a missing or stale build is refused (currentBuild).
 */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string): CliRun {
  const r = spawnSync(process.execPath, [currentBuild(), ...args], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      NO_COLOR: "1",
      ...privateCache(env),
      ...env,
    },
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

/** Run the CLI in-process (src/cli/main.ts, no build needed) in `cwd`, collecting what it prints. */
export async function runMain(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import("../../src/cli/main.ts");
  const printed = { out: "", err: "" };
  const code = await main(["node", "vgpuctl", ...args], {
    cwd,
    env: { NO_COLOR: "1", ...privateCache(env), ...env },
    out: (s) => {
      printed.out += s;
    },
    err: (s) => {
      printed.err += s;
    },
  });
  return { code, ...printed };
}
