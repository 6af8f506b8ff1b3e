// Build the dashboard UI (src/web/ui, preact) with vite.
//   node scripts/build-ui.mjs            → dist/ui/ (index.html + hashed assets)
// Used by scripts/build.mjs (which embeds the files into dist/vgpuctl.cjs) and, when vgpuctl runs from
// sources, by src/web/ui-dev-build.ts (buildUiCached: built once per version of the UI sources).
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, extname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..");

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

/** Build src/web/ui into `outDir` and return its files as { "/index.html": {contentType, body}, … }. */
export async function buildUi({ repo = REPO, outDir = join(REPO, "dist", "ui"), quiet = true } = {}) {
  const { build } = await import("vite");
  await build({
    configFile: false,
    root: join(repo, "src", "web", "ui"),
    base: "/",
    publicDir: false,
    logLevel: quiet ? "warn" : "info",
    clearScreen: false,
    // no @preact/preset-vite: the built-in transform does JSX with preact's automatic runtime
    oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
    build: {
      outDir,
      emptyOutDir: true,
      target: "es2022",
      sourcemap: false,
      reportCompressedSize: false,
      // everything is served by the dashboard itself: no inlined data: URLs, no polyfill
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
    },
  });
  return readUiDir(outDir);
}

/** The files of a built UI directory as UiAssets (text files only). */
export async function readUiDir(dir) {
  const assets = {};
  const walk = async (d) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const type = CONTENT_TYPES[extname(e.name)];
        if (!type) continue;
        const url = `/${relative(dir, p).split(sep).join("/")}`;
        assets[url] = { contentType: type, body: await readFile(p, "utf8") };
      }
    }
  };
  await walk(dir);
  if (!assets["/index.html"]) throw new Error(`${dir} has no index.html: the UI build failed`);
  return assets;
}

/** Hash of everything the UI build depends on. */
async function uiSourceHash(repo) {
  const h = createHash("sha256");
  const files = [];
  const walk = async (d) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else files.push(p);
    }
  };
  await walk(join(repo, "src", "web", "ui"));
  files.push(
    join(repo, "src", "web", "split.ts"),
    join(repo, "src", "web", "api.ts"),
    fileURLToPath(import.meta.url),
  );
  for (const f of files.sort()) {
    h.update(relative(repo, f));
    h.update("\0");
    h.update(existsSync(f) ? await readFile(f) : "");
    h.update("\0");
  }
  for (const pkg of ["vite", "preact"]) {
    const pj = join(repo, "node_modules", pkg, "package.json");
    h.update(existsSync(pj) ? JSON.parse(await readFile(pj, "utf8")).version : "?");
  }
  return h.digest("hex").slice(0, 16);
}

/** Build into `<cacheRoot>/<hash>` unless that build already exists; return its files. */
export async function buildUiCached({ repo = REPO, cacheRoot }) {
  const dir = join(cacheRoot, await uiSourceHash(repo));
  if (existsSync(join(dir, "index.html"))) return readUiDir(dir);
  await mkdir(cacheRoot, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await buildUi({ repo, outDir: tmp });
  try {
    await rename(tmp, dir);
  } catch (e) {
    // another vgpuctl built the same sources at the same time: use its build
    if (!existsSync(join(dir, "index.html"))) throw e;
    await rm(tmp, { recursive: true, force: true });
  }
  return readUiDir(dir);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = join(REPO, "dist", "ui");
  const assets = await buildUi({ outDir, quiet: false });
  console.log(
    `dashboard UI: ${Object.keys(assets).length} files in ${relative(process.cwd(), outDir) || "."}`,
  );
}
