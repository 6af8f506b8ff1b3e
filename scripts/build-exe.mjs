// `npm run build:exe` (after `npm run build`): dist/vgpuctl-linux-x64, one file that runs vgpuctl on a
// machine without Node.js (a Proxmox VE host): Node's single executable application (SEA) support.
//   1. esbuild bundles the CLI into ONE CommonJS file (dist/sea/vgpuctl.cjs): the SEA's main script
//      can require() only Node's built-in modules, so everything, the dashboard UI included, is inside.
//      ssh2's optional native addons stay out (see noNativeAddons): it falls back to pure JS.
//   2. `node --experimental-sea-config` turns it into a blob, with V8's code cache (useCodeCache).
//   3. A copy of this node binary gets the blob injected with postject (Node 20 has no --build-sea).
// https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { build } from "esbuild";
import { readUiDir } from "./build-ui.mjs";
import { bundleOptions } from "./bundle-options.mjs";

// --outdir DIR: write there instead of dist/ (test/install builds one in a temporary folder)
const outIndex = process.argv.indexOf("--outdir");
const DIR = outIndex > 0 ? process.argv[outIndex + 1] : "dist";
const OUT = `${DIR}/vgpuctl-${process.platform}-${process.arch}`;
const SEA = `${DIR}/sea`;
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

if (!existsSync("dist/ui/index.html")) throw new Error("dist/ui missing: run `npm run build` first");

/**
 * ssh2's optional native addons (cpu-features, sshcrypto.node) become modules that throw, as a missing
 * addon does: ssh2 catches that and uses pure JS. Left as require() calls they would make the SEA
 * print a warning (its require() loads built-in modules only) on every SSH connection.
 */
const noNativeAddons = {
  name: "no-native-addons",
  setup(b) {
    b.onResolve({ filter: /^cpu-features$|\.node$/ }, (args) => ({
      path: args.path,
      namespace: "no-native-addon",
    }));
    b.onLoad({ filter: /.*/, namespace: "no-native-addon" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path}: no native addons in the single executable`)});`,
      loader: "js",
    }));
  },
};

mkdirSync(SEA, { recursive: true });
const options = bundleOptions(await readUiDir("dist/ui"));
await build({
  ...options,
  external: [],
  plugins: [...options.plugins, noNativeAddons],
  format: "cjs",
  outfile: `${SEA}/vgpuctl.cjs`,
});

writeFileSync(
  `${SEA}/sea-config.json`,
  `${JSON.stringify(
    {
      main: `${SEA}/vgpuctl.cjs`,
      output: `${SEA}/sea-prep.blob`,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
    },
    null,
    2,
  )}\n`,
);
execFileSync(process.execPath, ["--experimental-sea-config", `${SEA}/sea-config.json`], {
  stdio: ["ignore", "ignore", "inherit"],
});

rmSync(OUT, { force: true });
copyFileSync(process.execPath, OUT);
chmodSync(OUT, 0o755);
const { inject } = createRequire(import.meta.url)("postject");
await inject(OUT, "NODE_SEA_BLOB", readFileSync(`${SEA}/sea-prep.blob`), { sentinelFuse: SEA_FUSE });
console.log(`wrote ${OUT}`);
