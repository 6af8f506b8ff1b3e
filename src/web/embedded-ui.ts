/**
 * The UI files embedded in the single-file bundle. From sources this is null (the UI is built on
 * demand, see ./assets.ts); scripts/build.mjs replaces this module with the built files.
 */
import type { UiAssets } from "./assets.ts";

export const EMBEDDED_UI: UiAssets | null = null;
