// dist/vgpuctl.cjs, copied from scripts/build-loader.cjs by `npm run build`: loads the program
// (dist/lib/vgpuctl.cjs) and, on demand, its CommonJS chunks (dist/lib/chunks/*.cjs), each compiled
// with the V8 code cache the build stored next to it (<chunk>.cache, made by
// scripts/build-code-cache.cjs), so V8 neither parses nor compiles what a command runs:
// https://nodejs.org/docs/latest-v20.x/api/vm.html#new-vmscriptcode-options (cachedData).
// Node 20 has no module.enableCompileCache() (Node 22.1) and compiles ES modules without a cache, which
// is why the chunks are CommonJS. A cache V8 rejects (another Node version) only costs the compile.
"use strict";
const { readFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { dirname, join } = require("node:path");
const { Script } = require("node:vm");

const nodeRequire = createRequire(__filename);
/** chunk file → its module object */
const modules = new Map();
/** chunk file → the vm.Script it was compiled as (scripts/build-code-cache.cjs stores their caches) */
const scripts = new Map();

/** The stored code cache of `file`, undefined when the build made none. */
function codeCache(file) {
  try {
    return readFileSync(`${file}.cache`);
  } catch (e) {
    if (e.code === "ENOENT") return undefined;
    throw e;
  }
}

/** require() inside a chunk: other chunks by relative path, everything else (Node's modules) as usual. */
function requireFrom(dir) {
  return (id) => (id.startsWith("./") || id.startsWith("../") ? loadChunk(join(dir, id)) : nodeRequire(id));
}

function loadChunk(file) {
  const known = modules.get(file);
  if (known) return known.exports;
  const module = { exports: {} };
  modules.set(file, module);
  // ASCII only (scripts/build.mjs asciiOnly): Latin-1 copies the bytes, UTF-8 would decode them
  const source = readFileSync(file, "latin1");
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData: codeCache(file),
  });
  scripts.set(file, script);
  const dir = dirname(file);
  script.runInThisContext().call(module.exports, module.exports, requireFrom(dir), module, file, dir);
  return module.exports;
}

module.exports = { scripts };
loadChunk(join(__dirname, "lib", "vgpuctl.cjs"));
