#!/usr/bin/env node
// vgpuctl's command. It runs the built program (dist/, made by `npm run build` and shipped in the
// npm package) when that is there and not older than the sources next to it; otherwise (a clone
// right after `npm ci`, or sources edited since the last build) it runs the TypeScript sources
// through tsx, so a stale build is never used in place of changed sources.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);

// `vgpuctl --version` needs package.json's version and nothing else (the program prints the same)
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${JSON.parse(readFileSync(`${root}package.json`, "utf8")).version}\n`);
  process.exit(0);
}
const built = `${root}dist/vgpuctl.cjs`;

/** What the build is made from: a change to any of these makes dist/ stale. */
const INPUTS = [
  "src",
  "package.json",
  "package-lock.json",
  "scripts/build.mjs",
  "scripts/bundle-options.mjs",
];

function newestMtimeMs(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // a deleted or renamed file changes its folder's mtime
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(`${path}/${name}`));
  return newest;
}

function builtIsCurrent() {
  if (!existsSync(built)) return false;
  if (!existsSync(`${root}src`)) return true; // the installed package: dist/ is all there is
  const builtAt = statSync(built).mtimeMs; // scripts/build.mjs writes it last
  return INPUTS.every((input) => newestMtimeMs(`${root}${input}`) <= builtAt);
}

if (builtIsCurrent()) {
  await import("../dist/lib/vgpuctl.mjs");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import("../src/cli/main.ts");
  process.exitCode = await main(process.argv);
}
