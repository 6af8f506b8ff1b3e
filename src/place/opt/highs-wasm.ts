/**
 * HiGHS's WebAssembly binary. From sources: node_modules/highs/build/highs.wasm. The bundle replaces
 * this file with one that embeds the binary (scripts/bundle-options.mjs, plugin embed-highs-wasm).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export function highsWasm(): Uint8Array {
  return readFileSync(createRequire(import.meta.url).resolve("highs/runtime"));
}
