/**
 * Read scopes of the simulated host: while SimHost serves a capture (SimHost.readScope), views derived
 * from the state — the PCI functions by address, the stored files by folder, the rendered content of a
 * path, the types a GPU offers — are computed once and reused by the reads that follow, instead of once
 * per sysfs file (a capture reads ~125 of them and stats every file before reading it: ~15 M instructions
 * of a cold `inspect --host demo`, callgrind, issue 16).
 *
 * Why a write can never see a stale view:
 * - views are consulted only inside `servingReads`, i.e. during one synchronous read primitive
 *   (readFile/list/stat), which never changes the state; everywhere else `view` computes afresh;
 * - SimHost drops every view before and after any other operation (exec, shell, writeFile, remove,
 *   mkdir, reboot) and when the cluster's shared files change the state (cluster.ts pull).
 * Views are keyed on the state object (WeakMap), never on global state. A view is shared by the reads
 * of one scope: callers must not mutate what `view` returns.
 */
import type { SimState } from "./state.ts";

/** The views of one read scope, by name ("pci", `content /etc/hostname`, …). */
export type ReadViews = Map<string, unknown>;

const serving = new WeakMap<SimState, ReadViews>();

/** Run one read primitive with `views` (null: no scope) memoising views derived from `s`. */
export function servingReads<T>(s: SimState, views: ReadViews | null, read: () => T): T {
  if (views === null) return read();
  const outer = serving.get(s);
  serving.set(s, views);
  try {
    return read();
  } finally {
    if (outer) serving.set(s, outer);
    else serving.delete(s);
  }
}

/** The view `key` of `s`: memoised while a read primitive is served in a scope, else computed. */
export function view<T>(s: SimState, key: string, compute: () => T): T {
  const views = serving.get(s);
  if (views === undefined) return compute();
  if (views.has(key)) return views.get(key) as T;
  const v = compute();
  views.set(key, v);
  return v;
}
