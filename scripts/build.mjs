// Single-file bundle: dist/vgpuctl.cjs runs with plain `node`, no node_modules needed.
import { build } from "esbuild";

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
  logLevel: "warning",
});
