/**
 * Cluster PCI resource mappings (/cluster/mapping/pci, PVE ≥ 8.0; research/proxmox.md §1c).
 * `map` entries are property strings: node=<node>,path=<bdf>[;<bdf>…],id=<vvvv:dddd>[,subsystem-id=…][,iommugroup=N][,description=…]
 */
import type { PciMapEntry as MapProperty, PciMapping } from "../facts/types.ts";
import { UserError } from "../util/errors.ts";

export type PciMapEntry = MapProperty & { description?: string | null };

export interface PveMapping extends PciMapping {
  description: string | null;
  liveMigrationCapable: boolean;
  digest: string | null;
  /** hardware checks when listed with check-node */
  checks: Array<{ severity: string; message: string }>;
}

export interface PciMappingSpec {
  id: string;
  entries: PciMapEntry[];
  /** "Use with Mediated Devices" — required for vGPU */
  mdev?: boolean;
  description?: string;
  liveMigrationCapable?: boolean;
}

const PCI_PATH_RE = /^[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}(?:\.[a-f0-9])?$/;
const VENDOR_DEVICE_RE = /^[0-9a-f]{4}:[0-9a-f]{4}$/;
const CONFIGID_RE = /^[a-z][a-z0-9_-]+$/i;

/** Parse one `map` property string; unknown keys are ignored, missing ones are null. Never throws. */
export function parseMapEntry(s: string): PciMapEntry {
  const kv = new Map<string, string>();
  for (const part of String(s).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) kv.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const group = kv.get("iommugroup");
  return {
    node: kv.get("node") ?? null,
    path: kv.get("path") ?? null,
    id: kv.get("id") ?? null,
    subsystemId: kv.get("subsystem-id") ?? null,
    iommugroup: group !== undefined && /^\d+$/.test(group) ? Number(group) : null,
    description: kv.get("description") ?? null,
  };
}

/** Build a `map` property string, checking every field the way pve-guest-common does. */
export function formatMapEntry(e: PciMapEntry): string {
  const node = e.node?.trim();
  if (!node || !/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(node))
    throw new UserError(`mapping entry: invalid node name ${JSON.stringify(e.node)}`);
  const path = e.path?.trim().toLowerCase();
  if (!path?.split(";").every((p) => PCI_PATH_RE.test(p))) {
    throw new UserError(
      `mapping entry: invalid PCI path ${JSON.stringify(e.path)}`,
      "use the full address with domain, e.g. 0000:01:00.0",
    );
  }
  const id = e.id?.trim().toLowerCase().replace(/0x/g, "");
  if (!id || !VENDOR_DEVICE_RE.test(id))
    throw new UserError(`mapping entry: invalid vendor:device id ${JSON.stringify(e.id)}`, "e.g. 10de:1e07");
  const parts = [`node=${node}`, `path=${path}`, `id=${id}`];
  if (e.subsystemId) {
    const sub = e.subsystemId.trim().toLowerCase().replace(/0x/g, "");
    if (!VENDOR_DEVICE_RE.test(sub))
      throw new UserError(`mapping entry: invalid subsystem id ${JSON.stringify(e.subsystemId)}`);
    parts.push(`subsystem-id=${sub}`);
  }
  if (e.iommugroup !== null && e.iommugroup !== undefined) {
    if (!Number.isInteger(e.iommugroup) || e.iommugroup < 0)
      throw new UserError(`mapping entry: invalid iommugroup ${e.iommugroup}`);
    parts.push(`iommugroup=${e.iommugroup}`);
  }
  if (e.description) {
    if (/[,="]/.test(e.description))
      throw new UserError('mapping entry descriptions may not contain , = or "');
    parts.push(`description=${e.description}`);
  }
  return parts.join(",");
}

export function assertMappingId(id: string): void {
  if (!CONFIGID_RE.test(id)) {
    throw new UserError(
      `invalid mapping id ${JSON.stringify(id)}`,
      "start with a letter; letters, digits, - and _ only, e.g. rtx2080ti",
    );
  }
}

function isTrue(v: unknown): boolean {
  return v === 1 || v === true || v === "1";
}

export function normalizeMappings(data: unknown): PveMapping[] {
  if (!Array.isArray(data)) return [];
  const out: PveMapping[] = [];
  for (const item of data) {
    if (typeof item !== "object" || item === null) continue;
    const r = item as Record<string, unknown>;
    if (typeof r.id !== "string") continue;
    const map = Array.isArray(r.map) ? r.map : typeof r.map === "string" ? [r.map] : [];
    const checks = Array.isArray(r.checks)
      ? r.checks.flatMap((c) =>
          typeof c === "object" && c !== null
            ? [
                {
                  severity: String((c as Record<string, unknown>).severity ?? ""),
                  message: String((c as Record<string, unknown>).message ?? ""),
                },
              ]
            : [],
        )
      : [];
    out.push({
      id: r.id,
      mdev: isTrue(r.mdev),
      entries: map.filter((m): m is string => typeof m === "string").map(parseMapEntry),
      description: typeof r.description === "string" ? r.description : null,
      liveMigrationCapable: isTrue(r["live-migration-capable"]),
      digest: typeof r.digest === "string" ? r.digest : null,
      checks,
    });
  }
  return out;
}
