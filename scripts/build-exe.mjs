// `npm run build:exe` (after `npm run build`): dist/vgpuctl-linux-x64, one file that runs vgpuctl on a
// machine without Node.js (a Proxmox VE host): Node's single executable application (SEA) support.
//   1. The SEA's main script is the npm build's loader (scripts/build-loader.cjs = dist/vgpuctl.cjs) and
//      its assets are dist/lib's files: the program's CommonJS chunks and their V8 code caches. The
//      loader reads them with node:sea's getAsset, so the executable starts as the npm package does:
//      only the chunks a command needs, each compiled from its code cache (a copy of this node made
//      the caches, so V8 accepts them). ssh2's optional native addons are not there: the loader fails
//      their require() as a missing module, and ssh2 falls back to pure JS.
//   2. `node --experimental-sea-config` turns it into a blob.
//   3. A copy of this node binary gets the blob injected with postject (Node 20 has no --build-sea).
// https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

// --outdir DIR: write there instead of dist/ (test/install builds one in a temporary folder)
const outIndex = process.argv.indexOf("--outdir");
const DIR = outIndex > 0 ? process.argv[outIndex + 1] : "dist";
const OUT = `${DIR}/vgpuctl-${process.platform}-${process.arch}`;
const SEA = `${DIR}/sea`;
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

if (!existsSync("dist/vgpuctl.cjs") || !existsSync("dist/lib/vgpuctl.cjs"))
  throw new Error("dist/lib missing: run `npm run build` first");

/** dist/lib's files by their name under dist/ ("lib/chunks/x.cjs"), as the loader asks for them. */
function libAssets() {
  const assets = {};
  for (const entry of readdirSync("dist/lib", { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const path = join(entry.parentPath ?? entry.path, entry.name);
      assets[path.slice("dist/".length)] = path;
    }
  return assets;
}

mkdirSync(SEA, { recursive: true });
const assets = libAssets();
writeFileSync(`${SEA}/assets.json`, JSON.stringify(Object.keys(assets)));
writeFileSync(
  `${SEA}/sea-config.json`,
  `${JSON.stringify(
    {
      main: "dist/vgpuctl.cjs",
      output: `${SEA}/sea-prep.blob`,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      assets: { ...assets, "assets.json": `${SEA}/assets.json` },
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
