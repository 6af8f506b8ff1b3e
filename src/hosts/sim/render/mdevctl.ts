/** `mdevctl types`, `mdevctl list`, `mdevctl list --dumpjson` (mdevctl 0.81 / 1.x share the layout). */

import { offeredTypes } from "../logic.ts";
import { simSysfsDescription } from "../nvidia-data.ts";
import type { SimState } from "../state.ts";

export function renderMdevctlTypes(s: SimState): string {
  let out = "";
  for (const g of [...s.gpus].sort((a, b) => a.address.localeCompare(b.address))) {
    const types = offeredTypes(s, g).sort((a, b) => a.mdevType.localeCompare(b.mdevType));
    if (types.length === 0) continue;
    out += `${g.address}\n`;
    for (const t of types) {
      out += `  ${t.mdevType}\n`;
      out += `    Available instances: ${t.available}\n`;
      out += "    Device API: vfio-pci\n";
      out += `    Name: ${t.type.name}\n`;
      out += `    Description: ${simSysfsDescription(t.type)}\n`;
    }
  }
  return out;
}

export function renderMdevctlList(s: SimState): string {
  return s.mdevs.map((m) => `${m.uuid} ${m.parent} ${m.type} manual\n`).join("");
}

export function renderMdevctlListJson(s: SimState): string {
  if (s.mdevs.length === 0) return "[]\n";
  const byParent = new Map<
    string,
    Array<Record<string, { mdev_type: string; start: string; attrs: never[] }>>
  >();
  for (const m of s.mdevs) {
    const list = byParent.get(m.parent) ?? [];
    list.push({ [m.uuid]: { mdev_type: m.type, start: "manual", attrs: [] } });
    byParent.set(m.parent, list);
  }
  return `${JSON.stringify(
    [...byParent].map(([p, l]) => ({ [p]: l })),
    null,
    2,
  )}\n`;
}
