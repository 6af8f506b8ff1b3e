// When is the built program (dist/) current? One rule, used by bin/vgpuctl.js (run the build or the
// sources) and by the e2e tests (test/helpers/cli.ts: refuse to test a stale build). CommonJS, as
// bin/package.json says: bin/vgpuctl.js require()s it.
"use strict";
const { existsSync, readdirSync, statSync } = require("node:fs");

/** What the build is made from: a change to any of these makes dist/ stale. */
const INPUTS = [
  "src",
  "package.json",
  "package-lock.json",
  "scripts/build.mjs",
  "scripts/build-loader.cjs",
  "scripts/build-code-cache.cjs",
  "scripts/bundle-options.mjs",
];

/** The newest mtime under `path` (a deleted or renamed file changes its folder's mtime). */
function newestMtimeMs(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(`${path}/${name}`));
  return newest;
}

/**
 * The first input newer than the build, "" when the build is current, null when there is no build.
 * `root` ends with "/". Without sources next to it (the installed package) the build is all there is.
 */
function staleInput(root) {
  const built = `${root}dist/vgpuctl.cjs`;
  if (!existsSync(built)) return null;
  if (!existsSync(`${root}src`)) return "";
  const builtAt = statSync(built).mtimeMs; // scripts/build.mjs writes it last
  return INPUTS.find((input) => newestMtimeMs(`${root}${input}`) > builtAt) ?? "";
}

module.exports = { INPUTS, staleInput };
