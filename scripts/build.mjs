// `npm run build`: dist/vgpuctl.cjs runs with plain `node`; no node_modules, no TypeScript needed.
// It is scripts/build-loader.cjs: it runs dist/lib/vgpuctl.cjs, whose subcommands (src/cli/commands/lazy.ts)
// and their libraries (undici, ssh2, hono + the dashboard UI, yaml, the vGPU type table…) are chunks under
// dist/lib/chunks/, each read only when a command needs it: `vgpuctl --version` reads none of them.
// esbuild splits ES modules only; each chunk is then turned into CommonJS so the loader can compile it
// with V8's code cache, which the build makes by running the commands whose start time counts.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build, transform } from "esbuild";
import { buildUi } from "./build-ui.mjs";
import { bundleOptions } from "./bundle-options.mjs";

/** Commands run to make the code caches (<chunk>.cache): the start-time bench's, and the first ones people type. */
const CACHE_RUNS = [
  ["inspect", "--host", "demo", "--json"],
  ["inspect", "--host", "demo"],
  ["doctor", "--host", "demo"],
];

/**
 * A help screen sets up every subcommand and runs commander's help, which no other start does: its run
 * makes caches of their own (<chunk>.help.cache, which scripts/build-loader.cjs reads for a help screen),
 * so every other start does not deserialize those functions (callgrind: inspect --host demo --json −2 M
 * instructions, --version −1 M; --help the same as with one cache).
 */
const HELP_CACHE_RUNS = [["--help"]];

/**
 * Each character outside ASCII as a \u escape (the chunks have them in comments, strings and regular
 * expressions, where the escape means the same), so the loader reads a chunk as Latin-1: a copy of
 * its bytes, where reading it as UTF-8 decoded every byte (~10 instructions a byte, callgrind).
 */
function asciiOnly(code) {
  return code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The program as chunks (ES modules from esbuild's code splitting, then each one CommonJS). */
async function buildChunks(ui) {
  const { outputFiles } = await build({
    ...bundleOptions(ui),
    format: "esm",
    splitting: true,
    write: false,
    outdir: "dist/lib",
    outExtension: { ".js": ".cjs" },
    chunkNames: "chunks/[name]-[hash]",
  });
  rmSync("dist/lib", { recursive: true, force: true });
  for (const file of outputFiles) {
    // import() of another chunk becomes require() of it (inside a promise, as import() resolves)
    const { code } = await transform(file.text, {
      format: "cjs",
      platform: "node",
      target: "node20",
      supported: { "dynamic-import": false },
      // the sources' warnings came from the bundling; these would be the dependencies' again
      logLevel: "error",
    });
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, asciiOnly(code));
  }
}

/** V8 code caches next to the chunks (scripts/build-code-cache.cjs), from CACHE_RUNS and HELP_CACHE_RUNS on the simulator. */
function buildCodeCache() {
  const simDir = mkdtempSync(join(tmpdir(), "vgpuctl-build-"));
  try {
    for (const args of [...CACHE_RUNS, ...HELP_CACHE_RUNS]) {
      const r = spawnSync(process.execPath, ["scripts/build-code-cache.cjs", "dist/vgpuctl.cjs", ...args], {
        env: { PATH: process.env.PATH, HOME: simDir, NO_COLOR: "1", VGPUCTL_SIM_DIR: simDir },
        stdio: ["ignore", "ignore", "pipe"],
        encoding: "utf8",
      });
      if (r.status !== 0)
        throw new Error(`code cache: vgpuctl ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    }
  } finally {
    rmSync(simDir, { recursive: true, force: true });
  }
}

// The dashboard UI (vite → dist/ui), embedded into the bundle so `vgpuctl dashboard` needs no other file.
const ui = await buildUi();
await buildChunks(ui);
copyFileSync("scripts/build-loader.cjs", "dist/vgpuctl.cjs");
buildCodeCache();
// written last: bin/dist-freshness.js compares the sources with its time
const now = new Date();
utimesSync("dist/vgpuctl.cjs", now, now);
