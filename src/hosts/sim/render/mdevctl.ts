/**
 * `mdevctl types`, `mdevctl list`, `mdevctl list --dumpjson`. `types` is the same in 0.81 and 1.x; `list`
 * is not (mdevctl/mdevctl, tag 0.81 `mdevctl` list) and tag v1.2.0 `src/mdev.rs` to_text/to_json):
 * - 0.81 (bash, Debian bullseye = Proxmox VE 7): an active mdev is `<uuid> <parent> <type>`, plus
 *   ` (defined)` when /etc/mdevctl.d/<parent>/<uuid> defines it with that type; JSON has only `mdev_type`.
 * - 1.x (Rust, bookworm/trixie = Proxmox VE 8/9): `<uuid> <parent> <type> <auto|manual>[ (defined)]`,
 *   start from the definition ("manual" for a transient one); JSON `{mdev_type, start, attrs}`.
 * Proxmox VE creates its mdevs transiently (qemu-server writes the UUID to the type's `create`).
 */

import { compareText } from "../../../util/compare.ts";
import { offeredTypes } from "../logic.ts";
import { simSysfsDescription } from "../nvidia-data.ts";
import type { SimMdev, SimState } from "../state.ts";

export function renderMdevctlTypes(s: SimState): string {
  let out = "";
  for (const g of [...s.gpus].sort((a, b) => compareText(a.address, b.address))) {
    const types = offeredTypes(s, g).sort((a, b) => compareText(a.mdevType, b.mdevType));
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

/** The installed mdevctl is the 0.x bash script (Proxmox VE 7's 0.81-1). */
function bashMdevctl(s: SimState): boolean {
  return /^0\./.test(s.packages.mdevctl ?? "");
}

/** The persistent definition of an mdev (/etc/mdevctl.d/<parent>/<uuid>, JSON) when it has the same type. */
function definitionOf(s: SimState, m: SimMdev): { start: string } | null {
  const text = s.files[`/etc/mdevctl.d/${m.parent}/${m.uuid}`];
  if (text === undefined) return null;
  try {
    const cfg = JSON.parse(text) as { mdev_type?: unknown; start?: unknown };
    if (cfg.mdev_type !== m.type) return null;
    return { start: cfg.start === "auto" ? "auto" : "manual" };
  } catch (e) {
    if (e instanceof SyntaxError) return null; // mdevctl skips a definition it cannot read
    throw e;
  }
}

export function renderMdevctlList(s: SimState): string {
  const bash = bashMdevctl(s);
  return s.mdevs
    .map((m) => {
      const def = definitionOf(s, m);
      const start = bash ? "" : ` ${def?.start ?? "manual"}`;
      return `${m.uuid} ${m.parent} ${m.type}${start}${def ? " (defined)" : ""}\n`;
    })
    .join("");
}

type ListJsonEntry = Record<string, { mdev_type: string; start?: string; attrs?: never[] }>;

export function renderMdevctlListJson(s: SimState): string {
  if (s.mdevs.length === 0) return "[]\n";
  const bash = bashMdevctl(s);
  const byParent = new Map<string, ListJsonEntry[]>();
  for (const m of s.mdevs) {
    const list = byParent.get(m.parent) ?? [];
    const start = definitionOf(s, m)?.start ?? "manual";
    list.push({ [m.uuid]: bash ? { mdev_type: m.type } : { mdev_type: m.type, start, attrs: [] } });
    byParent.set(m.parent, list);
  }
  return `${JSON.stringify(
    [...byParent].map(([p, l]) => ({ [p]: l })),
    null,
    2,
  )}\n`;
}
