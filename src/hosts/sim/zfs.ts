/**
 * ZFS pools of the simulated host, as `zpool get` shows them.
 *
 * `zpool get -H -o name,property,value all` (zpool-get(8): -H scripted mode, tab-separated, no header)
 * lists every property of every pool, the features as `feature@NAME` with the value disabled | enabled |
 * active. zpool-features(7): an **active** feature's on-disk changes are in effect, "support for this feature
 * is required to import the pool in read-write mode" (the planner refuses pinning a kernel whose ZFS lacks one;
 * booting such a kernel is not simulated).
 */
import type { SimState } from "./state.ts";

/** `zpool get -H -o name,property,value all` */
export function renderZpoolGet(s: SimState): string {
  let out = "";
  for (const p of s.zpools ?? []) {
    out += `${p.name}\tsize\t${p.size}\n${p.name}\thealth\tONLINE\n`;
    for (const [f, v] of Object.entries(p.features)) out += `${p.name}\tfeature@${f}\t${v}\n`;
  }
  return out;
}
