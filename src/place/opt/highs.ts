/**
 * The HiGHS solver (https://highs.dev, MIT; npm `highs`, WebAssembly), loaded once per process. The
 * .wasm comes from highs-wasm.ts: read from node_modules when run from sources, embedded by the bundle
 * (scripts/bundle-options.mjs) in dist/ and the single executable.
 */
import type { Highs } from "highs";
import { highsWasm } from "./highs-wasm.ts";

let loading: Promise<Highs> | null = null;

export function loadHighs(): Promise<Highs> {
  if (!loading) {
    loading = (async () => {
      const mod = (await import("highs")) as unknown as { default: (o: object) => Promise<Highs> };
      // Emscripten's instantiateWasm hook: the module instantiates our compiled bytes instead of
      // fetching highs.wasm beside its script (absent in the bundle)
      const compiled = await WebAssembly.compile(highsWasm() as Uint8Array<ArrayBuffer>);
      let failed: (e: unknown) => void = () => {};
      const failure = new Promise<never>((_, reject) => {
        failed = reject;
      });
      const ready = mod.default({
        instantiateWasm: (imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) => {
          WebAssembly.instantiate(compiled, imports).then(done, failed);
          return {};
        },
      });
      return Promise.race([ready, failure]);
    })();
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

/** Forget the instance (after the solver failed: a fresh one next time). */
export function resetHighs(): void {
  loading = null;
}
