// `npm run build`: dist/vgpuctl.cjs runs with plain `node`; no node_modules, no TypeScript needed.
// It loads dist/lib/vgpuctl.mjs, whose subcommands (src/cli/commands/lazy.ts) and their libraries
// (undici, ssh2, hono + the dashboard UI, yaml, the vGPU type table…) are ES module chunks under
// dist/lib/chunks/, each read only when a command needs it: `vgpuctl --version` reads none of them.
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";
import { buildUi } from "./build-ui.mjs";
import { bundleOptions } from "./bundle-options.mjs";

// The dashboard UI (vite → dist/ui), embedded into the bundle so `vgpuctl dashboard` needs no other file.
const ui = await buildUi();

rmSync("dist/lib", { recursive: true, force: true });
await build({
  ...bundleOptions(ui),
  format: "esm",
  splitting: true,
  outdir: "dist/lib",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  // bundled CommonJS dependencies call require() for Node's built-in modules, and ssh2's poly1305
  // (emscripten) reads __dirname: give every chunk the CommonJS names an ES module lacks
  banner: {
    js: [
      'import { createRequire as __vgpuctlCreateRequire } from "node:module";',
      'import { fileURLToPath as __vgpuctlFileURLToPath } from "node:url";',
      "const require = __vgpuctlCreateRequire(import.meta.url);",
      "const __filename = __vgpuctlFileURLToPath(import.meta.url);",
      'const __dirname = __vgpuctlFileURLToPath(new URL(".", import.meta.url));',
    ].join("\n"),
  },
});

writeFileSync(
  "dist/vgpuctl.cjs",
  `#!/usr/bin/env node
// vgpuctl, built by \`npm run build\` (scripts/build.mjs): the program is ./lib/vgpuctl.mjs and its chunks.
import("./lib/vgpuctl.mjs");
`,
);
chmodSync("dist/vgpuctl.cjs", 0o755);
