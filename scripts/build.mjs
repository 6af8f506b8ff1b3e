// Single-file bundle: dist/vgpuctl.cjs runs with plain `node`, no node_modules needed.
import { build } from "esbuild";
import { buildUi } from "./build-ui.mjs";

// The dashboard UI (vite → dist/ui), embedded into the bundle so `vgpuctl dashboard` needs no other file.
const ui = await buildUi();

/** src/web/embedded-ui.ts gets the built UI files; src/web/ui-dev-build.ts (vite, sources only) is left out. */
const embedUi = {
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

await build({
  entryPoints: ["src/cli/entry.ts"],
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  outfile: "dist/vgpuctl.cjs",
  banner: { js: "#!/usr/bin/env node" },
  // ssh2's optional native crypto addon and cpu-features are not built (npm 11 skips install scripts);
  // ssh2 falls back to pure JS when they are absent.
  external: ["cpu-features", "*.node"],
  loader: { ".csv": "text", ".sh": "text" },
  plugins: [embedUi],
  logLevel: "warning",
});
