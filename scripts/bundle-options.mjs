// esbuild options of the npm build (scripts/build.mjs: ES module chunks loaded on demand, then CommonJS).
// The single executable (scripts/build-exe.mjs) is made from the same chunks, as its assets.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** src/web/embedded-ui.ts gets the built UI files; src/web/ui-dev-build.ts (vite, sources only) is left out. */
function embedUi(ui) {
  return {
    name: "embed-dashboard-ui",
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]web[\\/]embedded-ui\.ts$/ }, () => ({
        contents: `export const EMBEDDED_UI = ${JSON.stringify(ui)};`,
        loader: "js",
      }));
      b.onLoad({ filter: /[\\/]src[\\/]web[\\/]ui-dev-build\.ts$/ }, () => ({
        contents:
          "export async function buildUiFromSources() { throw new Error('the dashboard UI is embedded in this build'); }",
        loader: "js",
      }));
    },
  };
}

/** The rows of src/knowledge/vgpu-types.generated.ts (one JSON object per line), or null when it is not that. */
function generatedTypeRows(path) {
  const source = readFileSync(path, "utf8");
  const m = /export const \w+(?::[^=]+)? = (\[[\s\S]*\]);\s*$/.exec(source);
  if (!m) return null;
  try {
    return JSON.parse(m[1].replace(/,\s*\]$/, "]"));
  } catch (e) {
    if (e instanceof SyntaxError) return null;
    throw e;
  }
}

/**
 * src/knowledge/vgpu-types-data.ts (how the vGPU type table is read) becomes the same three functions
 * over one JSON text per board, each parsed when asked for: a command reads the rows of the boards it
 * looks at, not all 590 (JSON.parse of a string, as V8 scans JSON much faster than the same object
 * literals as JavaScript: https://v8.dev/blog/cost-of-javascript-2019#json). Each text is the body of
 * its own arrow function: V8 compiles a function when it is first called, so the code cache
 * (scripts/build-code-cache.cjs) holds only the texts of boards a cache run looked at, and a start
 * deserializes those, not the whole 320 kB table. If the generated file ever stops being JSON lines,
 * the build says so and bundles the module as it is.
 */
const vgpuTypesByBoard = {
  name: "vgpu-types-by-board",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]knowledge[\\/]vgpu-types-data\.ts$/ }, (args) => {
      const generated = args.path.replace(/vgpu-types-data\.ts$/, "vgpu-types.generated.ts");
      const rows = generatedTypeRows(generated);
      if (!rows) {
        console.warn(`note: ${generated} is not one JSON array; the type table is bundled as it is`);
        return undefined;
      }
      const boards = new Map();
      for (const r of rows) boards.set(r.pgpu.deviceId, [...(boards.get(r.pgpu.deviceId) ?? []), r]);
      const typeBoard = Object.fromEntries(rows.map((r) => [r.id, r.pgpu.deviceId]));
      const texts = [...boards].map(
        ([board, list]) => `[${JSON.stringify(board)}, () => ${JSON.stringify(JSON.stringify(list))}]`,
      );
      return {
        contents: `const BOARDS = new Map([\n${texts.join(",\n")}\n]);
const TYPE_BOARD = JSON.parse(${JSON.stringify(JSON.stringify(typeBoard))});
export function vgpuTypeBoards() { return [...BOARDS.keys()]; }
export function vgpuTypeRowsOfBoard(deviceId) { const text = BOARDS.get(deviceId); return text ? JSON.parse(text()) : []; }
export function boardOfTypeId(id) { return Object.hasOwn(TYPE_BOARD, id) ? TYPE_BOARD[id] : undefined; }
`,
        loader: "js",
      };
    });
  },
};

/**
 * commander requires node:child_process at load, only to spawn executable subcommands (vgpuctl has
 * none): the bundle requires it when spawn is first used, so a start does not load child_process and
 * the net, dgram… modules it pulls in. If commander's line ever changes, the build says so and
 * bundles commander as it is.
 */
const commanderSpawnOnUse = {
  name: "commander-spawn-on-use",
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const line = "const childProcess = require('node:child_process');";
      if (!source.includes(line)) {
        console.warn(`note: ${args.path} has no "${line}"; bundled as it is`);
        return undefined;
      }
      const onUse = "const childProcess = { get spawn() { return require('node:child_process').spawn; } };";
      return { contents: source.replace(line, onUse), loader: "js" };
    });
  },
};

/**
 * picocolors works out its default colours at load, from process.stdout.isTTY: that access makes
 * Node build process.stdout and load its streams stack (~8 M instructions of a cold start, callgrind;
 * src/cli/stdout.ts writes without it). vgpuctl never uses those defaults (src/cli/output.ts calls
 * createColors with its own decision), so in the bundle they read no stream: stdout counts as no
 * terminal there. If picocolors' line ever changes, the build says so and bundles it as it is.
 */
const picocolorsWithoutStdout = {
  name: "picocolors-without-stdout",
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]picocolors[\\/]picocolors\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const term = "(p.stdout || {}).isTTY";
      if (!source.includes(term)) {
        console.warn(`note: ${args.path} has no "${term}"; bundled as it is`);
        return undefined;
      }
      return { contents: source.replace(term, "false"), loader: "js" };
    });
  },
};

/**
 * HiGHS's WebAssembly binary (npm `highs`, src/place/opt/highs-wasm.ts reads it from node_modules when run
 * from sources) embedded in the bundle: the .wasm becomes a Uint8Array (esbuild's binary loader) in the
 * place chunk, so dist/ and the single executable need no file beside them.
 */
const embedHighsWasm = {
  name: "embed-highs-wasm",
  setup(b) {
    // its CommonJS build: the ES module one does `await import("node:module")`, which Node's single
    // executable cannot run ("A dynamic import callback was not specified")
    b.onResolve({ filter: /^highs$/ }, () => ({ path: require.resolve("highs") }));
    b.onLoad({ filter: /[\\/]src[\\/]place[\\/]opt[\\/]highs-wasm\.ts$/ }, () => ({
      contents: 'import wasm from "highs/runtime"; export function highsWasm() { return wasm; }',
      loader: "js",
      resolveDir: process.cwd(),
    }));
  },
};

/** `ui`: the dashboard's built files (scripts/build-ui.mjs), embedded into the bundle. */
export function bundleOptions(ui) {
  return {
    entryPoints: { vgpuctl: "src/cli/entry.ts" },
    bundle: true,
    platform: "node",
    target: "node20",
    // ssh2's optional native crypto addon and cpu-features are not bundled: ssh2 requires them inside
    // try/catch and falls back to its pure-JS ciphers when they are absent (lib/protocol/crypto.js,
    // lib/protocol/constants.js), which is always the case in the package and the executable.
    external: ["cpu-features", "*.node"],
    loader: { ".csv": "text", ".sh": "text", ".wasm": "binary" },
    plugins: [embedUi(ui), vgpuTypesByBoard, commanderSpawnOnUse, picocolorsWithoutStdout, embedHighsWasm],
    legalComments: "none",
    logLevel: "warning",
  };
}
