// dist/vgpuctl.cjs, copied from scripts/build-loader.cjs by `npm run build`: loads the program
// (dist/lib/vgpuctl.cjs) and, on demand, its CommonJS chunks (dist/lib/chunks/*.cjs), each compiled
// with the V8 code cache the build stored next to it (<chunk>.cache, made by
// scripts/build-code-cache.cjs), so V8 neither parses nor compiles what a command runs:
// https://nodejs.org/docs/latest-v20.x/api/vm.html#new-vmscriptcode-options (cachedData).
// Node 20 has no module.enableCompileCache() (Node 22.1) and compiles ES modules without a cache, which
// is why the chunks are CommonJS. A cache V8 rejects (another Node version) only costs the compile.
// The single executable (scripts/build-exe.mjs) runs this same file as its main script, with dist/lib's
// files as its assets: it reads them with node:sea's getAsset instead of from disk
// (https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html#assets).
"use strict";
const { readFileSync } = require("node:fs");
const { createRequire, isBuiltin } = require("node:module");
const { dirname, join, relative } = require("node:path");
const sea = require("node:sea");
const { Script } = require("node:vm");

/** In the single executable: its assets are dist/lib's files, named by their path under dist/. */
const asAsset = sea.isSea();
const nodeRequire = asAsset ? require : createRequire(__filename);
/** chunk file → its module object */
const modules = new Map();
/** chunk file → the vm.Script it was compiled as (scripts/build-code-cache.cjs stores their caches) */
const scripts = new Map();

/** The file (dist/lib/…) as bytes: from disk, or the executable's asset of that name; undefined when absent. */
function readBytes(file) {
  if (asAsset) {
    const name = relative(__dirname, file);
    // getAsset throws for a name the executable was not built with: only caches may be missing
    return seaAssetNames.has(name) ? Buffer.from(sea.getAsset(name)) : undefined;
  }
  try {
    return readFileSync(file);
  } catch (e) {
    if (e.code === "ENOENT") return undefined;
    throw e;
  }
}

/** The single executable's asset names (scripts/build-exe.mjs stores their list as the asset "assets.json"). */
const seaAssetNames = asAsset
  ? new Set(JSON.parse(Buffer.from(sea.getAsset("assets.json")).toString()))
  : null;

/**
 * require() inside a chunk: other chunks by relative path, everything else (Node's modules) as usual.
 * In the single executable only Node's own modules exist: any other (ssh2's optional native addons)
 * fails as a missing module does, which ssh2 catches to use its pure-JS code.
 */
function requireFrom(dir) {
  return (id) => {
    if (id.startsWith("./") || id.startsWith("../")) return loadChunk(chunkPath(dir, id));
    if (asAsset && !isBuiltin(id))
      throw Object.assign(new Error(`Cannot find module '${id}' (not in the single executable)`), {
        code: "MODULE_NOT_FOUND",
      });
    return nodeRequire(id);
  };
}

/**
 * dir + NUL + id → the chunk file. Chunks require each other ~75 times in one inspect, ~25 distinct
 * pairs: path.join (normalize loops over every character) once per pair. Called every time, on an
 * install path (…/lib/node_modules/vgpuctl/dist/lib/chunks) it ran often enough for V8 to optimise it:
 * ~11 M instructions of an `inspect --host demo` start went to that compile (callgrind, issue 16).
 */
const chunkPaths = new Map();

function chunkPath(dir, id) {
  const key = `${dir}\0${id}`;
  let file = chunkPaths.get(key);
  if (file === undefined) {
    file = join(dir, id);
    chunkPaths.set(key, file);
  }
  return file;
}

/**
 * The code caches a start reads (scripts/build.mjs): a help screen's (<chunk>.help.cache: every subcommand's
 * set-up and commander's help) or every other start's (<chunk>.cache). Either kind is valid for its chunk;
 * the other kind is read for a chunk the first has no cache of.
 */
const HELP_WORDS = new Set(["--help", "-h", "help"]);
const cacheSuffixes = process.argv.slice(2).some((a) => HELP_WORDS.has(a))
  ? [".help.cache", ".cache"]
  : [".cache", ".help.cache"];

function cacheOf(file) {
  for (const suffix of cacheSuffixes) {
    const cache = readBytes(`${file}${suffix}`);
    if (cache) return cache;
  }
  return undefined;
}

function loadChunk(file) {
  const known = modules.get(file);
  if (known) return known.exports;
  const module = { exports: {} };
  modules.set(file, module);
  // ASCII only (scripts/build.mjs asciiOnly): Latin-1 copies the bytes, UTF-8 would decode them
  const source = readBytes(file).toString("latin1");
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData: cacheOf(file),
  });
  scripts.set(file, script);
  const dir = dirname(file);
  script.runInThisContext().call(module.exports, module.exports, requireFrom(dir), module, file, dir);
  return module.exports;
}

/** Where scripts/build-code-cache.cjs stores a chunk's cache after this run: the kind this start reads first. */
const cacheFile = (file) => `${file}${cacheSuffixes[0]}`;

module.exports = { scripts, cacheFile };
loadChunk(join(__dirname, "lib", "vgpuctl.cjs"));
