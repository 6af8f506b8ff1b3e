/**
 * Running from sources: build the UI with vite (scripts/build-ui.mjs) into a cache directory keyed by
 * a hash of the UI sources. Not part of the single-file bundle (scripts/build.mjs stubs this module).
 */
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { UiAssets } from "./assets.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

interface BuildUiModule {
  buildUiCached: (opts: { repo: string; cacheRoot: string }) => Promise<UiAssets>;
}

let pending: Promise<UiAssets> | null = null;

export function buildUiFromSources(): Promise<UiAssets> {
  if (!pending) {
    const script = pathToFileURL(join(REPO, "scripts", "build-ui.mjs")).href;
    pending = (import(script) as Promise<BuildUiModule>).then((m) =>
      m.buildUiCached({ repo: REPO, cacheRoot: join(REPO, "node_modules", ".cache", "vgpuctl-ui") }),
    );
    pending.catch(() => {
      pending = null;
    });
  }
  return pending;
}
