#!/usr/bin/env node
// vgpuctl's command. It runs the built program (dist/, made by `npm run build` and shipped in the
// npm package) when that is there and not older than the sources next to it; otherwise (a clone
// right after `npm ci`, or sources edited since the last build) it runs the TypeScript sources
// through tsx, so a stale build is never used in place of changed sources.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);

// `vgpuctl --version` needs package.json's version and nothing else (the program prints the same)
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${JSON.parse(readFileSync(`${root}package.json`, "utf8")).version}\n`);
  process.exit(0);
}
// when dist/ is current (bin/dist-freshness.js, the rule the e2e tests check the build with)
const { staleInput } = await import("./dist-freshness.js");
if (staleInput(root) === "") {
  // dist/vgpuctl.cjs (scripts/build-loader.cjs) runs the program when loaded
  createRequire(import.meta.url)("../dist/vgpuctl.cjs");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import("../src/cli/main.ts");
  process.exitCode = await main(process.argv);
}
