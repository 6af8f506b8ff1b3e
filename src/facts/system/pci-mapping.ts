import type { PciMapEntry, PciMapping } from "../types.ts";
import { lines } from "./text.ts";

/**
 * /etc/pve/mapping/pci.cfg (SectionConfig): a header line with the mapping id, then indented
 * `key value` properties; `map` repeats, one per device:
 *   gpu0
 *   	map node=pve1,path=0000:01:00.0,id=10de:1e07,subsystem-id=1462:3715,iommugroup=12
 *   	mdev 1
 */
export function parsePciMappingCfg(text: string): PciMapping[] {
  const out: PciMapping[] = [];
  let cur: PciMapping | null = null;
  for (const raw of lines(text)) {
    if (raw.trim() === "" || raw.trim().startsWith("#")) continue;
    if (!/^\s/.test(raw)) {
      const header = raw.trim();
      // Tolerate a "type: id" header as well as the bare id.
      const id = (/^\S+:\s*(\S+)$/.exec(header)?.[1] ?? header.split(/\s+/)[0])!;
      cur = { id, mdev: false, entries: [] };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const m = /^(\S+)\s*(.*)$/.exec(raw.trim());
    if (!m) continue;
    const key = m[1]!;
    const value = m[2]!.trim();
    if (key === "mdev") cur.mdev = value === "1" || value === "true";
    else if (key === "map") cur.entries.push(parsePciMapEntry(value));
  }
  return out;
}

function parsePciMapEntry(value: string): PciMapEntry {
  const e: PciMapEntry = {
    node: null,
    path: null,
    id: null,
    subsystemId: null,
    iommugroup: null,
    raw: value,
  };
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === "node") e.node = v;
    else if (k === "path") e.path = v.toLowerCase();
    else if (k === "id") e.id = v.toLowerCase();
    else if (k === "subsystem-id") e.subsystemId = v.toLowerCase();
    else if (k === "iommugroup" && /^-?\d+$/.test(v)) e.iommugroup = Number(v);
  }
  return e;
}
