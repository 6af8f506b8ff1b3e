import { lines } from "./text.ts";

/** Pool name → feature name → state ("disabled" | "enabled" | "active"), from the feature@ properties. */
export type ZpoolFeatures = Record<string, Record<string, string>>;

/**
 * `zpool get -H -o name,property,value all` (zpool-get(8): scripted mode, one tab-separated
 * `pool<TAB>property<TAB>value` line per property, no header): the `feature@NAME` properties of every pool.
 * No pools → {}. Lines that are not three tab-separated fields are skipped.
 */
export function parseZpoolGet(text: string): ZpoolFeatures {
  const out: ZpoolFeatures = {};
  for (const line of lines(text)) {
    const [pool, prop, value] = line.split("\t");
    if (!pool || !prop || value === undefined) continue;
    out[pool] ??= {};
    const m = /^feature@(.+)$/.exec(prop);
    if (m) out[pool]![m[1]!] = value.trim();
  }
  return out;
}
