// node scripts/build-code-cache.cjs DIST/vgpuctl.cjs ARG…: runs the built CLI with ARG… (scripts/build.mjs
// runs the commands whose start time matters) and stores, for every chunk the run loaded, V8's code
// cache as <chunk>.cache (<chunk>.help.cache for a help screen: scripts/build-loader.cjs), taken after
// the run, so it holds every function the run compiled (https://nodejs.org/docs/latest-v20.x/api/vm.html#scriptcreatecacheddata). Runs one after another
// add up: a run starts from the caches the earlier ones stored (the loader reads them), and what it
// takes from a cache counts as compiled, so its cache holds the earlier runs' functions and its own.
"use strict";
const { writeFileSync } = require("node:fs");
const { resolve } = require("node:path");

const [cli, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], resolve(cli), ...args];
const { scripts, cacheFile } = require(resolve(cli));

process.on("exit", () => {
  for (const [file, script] of scripts) writeFileSync(cacheFile(file), script.createCachedData());
});
