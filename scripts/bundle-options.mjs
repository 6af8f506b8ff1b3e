// esbuild options shared by the npm build (scripts/build.mjs: ES module chunks loaded on demand) and
// the single executable (scripts/build-exe.mjs: one CommonJS file, as Node's SEA needs).
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

/**
 * The vGPU type table (src/knowledge/vgpu-types.generated.ts, one JSON object per line) as one
 * JSON.parse() of a string: V8 scans a JSON string much faster than it parses the same object
 * literals as JavaScript (https://v8.dev/blog/cost-of-javascript-2019#json). If the generated file
 * ever stops being JSON lines, the build says so and bundles it as it is.
 */
const typeTableAsJson = {
  name: "vgpu-types-as-json",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]knowledge[\\/]vgpu-types\.generated\.ts$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const m = /export const (\w+)(?::[^=]+)? = (\[[\s\S]*\]);\s*$/.exec(source);
      let rows;
      try {
        rows = m && JSON.parse(m[2].replace(/,\s*\]$/, "]"));
      } catch {
        rows = null;
      }
      if (!rows) {
        console.warn(`note: ${args.path} is not one JSON array; bundled as TypeScript`);
        return undefined;
      }
      return {
        contents: `export const ${m[1]} = JSON.parse(${JSON.stringify(JSON.stringify(rows))});`,
        loader: "js",
      };
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
    plugins: [embedUi(ui), typeTableAsJson, embedHighsWasm],
    legalComments: "none",
    logLevel: "warning",
  };
}
