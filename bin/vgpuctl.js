#!/usr/bin/env node
// vgpuctl's command. It runs the built program (dist/, made by `npm run build` and shipped in the
// npm package) when that is there and not older than the sources next to it; otherwise (a clone
// right after `npm ci`, or sources edited since the last build) it runs the TypeScript sources
// through tsx, so a stale build is never used in place of changed sources.
// CommonJS (bin/package.json): Node starts it without its ES module loader.
"use strict";
const { readFileSync, writeSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..");
const args = process.argv.slice(2);

/** The TypeScript sources through tsx (ES modules: loaded with import()). */
async function runSources() {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import("../src/cli/main.ts");
  process.exitCode = await main(process.argv);
}

/**
 * A short text on standard output, written to fd 1 directly: making process.stdout loads Node's streams
 * stack, ~8 M instructions of a cold start (callgrind, issue 16). Any error of that write (a full
 * non-blocking pipe) hands the text to process.stdout; a closed pipe (EPIPE) ends quietly.
 */
function printShort(text) {
  const bytes = Buffer.from(text);
  let written = 0;
  try {
    written = writeSync(1, bytes);
  } catch (e) {
    // the reader is gone (`vgpuctl --version | true`): end quietly with status 0, as the program does
    if (e?.code === "EPIPE") return;
    if (typeof e?.code !== "string") throw e;
  }
  if (written < bytes.length) process.stdout.write(bytes.subarray(written));
}

// `vgpuctl --version` needs package.json's version and nothing else (the program prints the same)
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  printShort(`${JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version}\n`);
} else if (require("./dist-freshness.js").staleInput(`${root}/`) === "") {
  // dist/ is current (bin/dist-freshness.js, the rule the e2e tests check the build with):
  // dist/vgpuctl.cjs (scripts/build-loader.cjs) runs the program when loaded
  require("../dist/vgpuctl.cjs");
} else {
  runSources().catch((e) => {
    process.exitCode = 2;
    throw e;
  });
}
