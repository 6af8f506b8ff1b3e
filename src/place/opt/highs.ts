/**
 * The HiGHS solver (https://highs.dev, MIT; npm `highs`, WebAssembly), loaded once per process. The
 * .wasm comes from highs-wasm.ts: read from node_modules when run from sources, embedded by the bundle
 * (scripts/bundle-options.mjs) in dist/ and the single executable.
 */
import type { Highs } from "highs";

let loading: Promise<Highs> | null = null;
let loaded: Highs | null = null;

/** The instance when loadHighs() has finished, else null (synchronous callers: the vms: split). */
export function loadedHighs(): Highs | null {
  return loaded;
}

export function loadHighs(): Promise<Highs> {
  if (!loading) {
    loading = (async () => {
      const mod = (await import("highs")) as unknown as { default: (o: object) => Promise<Highs> };
      // Emscripten's instantiateWasm hook: the module instantiates our compiled bytes instead of
      // fetching highs.wasm beside its script (absent in the bundle)
      // loaded on first use only: in the bundle this chunk holds the 3.5 MB binary
      const { highsWasm } = await import("./highs-wasm.ts");
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
      loaded = await Promise.race([ready, failure]);
      return loaded;
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
  loaded = null;
}

/**
 * plan and apply load the solver before planning when vgpu.yaml places VMs, so the (synchronous) split
 * on many GPUs is exact in both alike. When it cannot load, both use the same greedy choice, and the
 * answer is a note saying so (with why) for the plan; null when it loaded or is not needed.
 */
export async function preloadSolver(
  entries: ReadonlyArray<{ vms?: readonly unknown[] }>,
): Promise<string | null> {
  if (!entries.some((e) => (e.vms?.length ?? 0) > 0)) return null;
  try {
    await loadHighs();
    return null;
  } catch (e) {
    // loadHighs forgot the failed instance: loadedHighs() stays null → the greedy split, in plan and apply
    const why = e instanceof Error ? e.message : String(e);
    return `the exact placement solver could not be loaded (${why}): VMs are split over the GPUs by the greedy choice, which may fit fewer`;
  }
}
