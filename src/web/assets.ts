/**
 * Where the dashboard UI comes from.
 * - The single-file bundle (dist/vgpuctl.cjs): scripts/build.mjs builds the UI with vite first and
 *   embeds every file into ./embedded-ui.ts (replaced at bundle time), so the bundle needs nothing else.
 * - From sources (bin/vgpuctl.js via tsx, right after `npm ci`): ./ui-dev-build.ts builds the UI with
 *   vite's JS API on first use into node_modules/.cache/vgpuctl-ui/<hash of the UI sources>, and
 *   reuses that build while the sources are unchanged.
 */
import { EMBEDDED_UI } from "./embedded-ui.ts";

export interface UiAsset {
  contentType: string;
  body: string;
}

/** URL path ("/index.html", "/assets/index-abc123.js") → file */
export type UiAssets = Record<string, UiAsset>;

export async function loadUiAssets(): Promise<UiAssets> {
  if (EMBEDDED_UI) return EMBEDDED_UI;
  const { buildUiFromSources } = await import("./ui-dev-build.ts");
  return buildUiFromSources();
}
