/**
 * GET /nodes/{node}/hardware/pci/{pci-id-or-mapping}/mdev answers in three dialects, depending on the
 * PVE version and the NVIDIA interface (research/proxmox.md §1a):
 *  1. legacy mdev sysfs: description "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=…, max_instance=12",
 *     `available` = available_instances (exact);
 *  2. NVIDIA vendor VFIO (qemu-server 8.2.5 … 9.1.10): description "", available always 1 per VF;
 *  3. NVML (qemu-server ≥ 9.1.11): description "class=…\nmax-instances=…\nframebuffer-size=2048MiB\n…", available 1.
 * Pure: raw API data in, normalised list out; unknown shapes give nulls, never throw.
 */

export type MdevListingEra = "mdev-sysfs" | "nvidia-vfio" | "nvml";

export interface PveMdevType {
  /** "nvidia-259" */
  type: string;
  /** 259 */
  typeId: number | null;
  name: string | null;
  /** Instances still creatable. Null when the API cannot tell (SR-IOV eras report 1 per free VF). */
  available: number | null;
  /** `available` exactly as the API returned it */
  rawAvailable: number | null;
  description: string;
  era: MdevListingEra;
  framebufferMiB: number | null;
  maxInstances: number | null;
  maxInstancesPerVm: number | null;
  numHeads: number | null;
  maxResolution: string | null;
  frlConfig: number | null;
  className: string | null;
  license: string | null;
}

function toInt(v: string | undefined): number | null {
  if (v === undefined || !/^\s*\d+\s*$/.test(v)) return null;
  return Number.parseInt(v, 10);
}

/** "2048M" / "2048MiB" / "4G" / "4GiB" → MiB */
function toMiB(v: string | undefined): number | null {
  const m = v ? /^\s*(\d+)\s*(M|MiB|MB|G|GiB|GB)?\s*$/i.exec(v) : null;
  if (!m) return null;
  const n = Number.parseInt(m[1]!, 10);
  return m[2] && /^g/i.test(m[2]) ? n * 1024 : n;
}

function keyValues(description: string): Map<string, string> {
  const out = new Map<string, string>();
  // NVML dialect: one key=value per line (values may contain commas); legacy: "k=v, k=v" on one line
  const d = description.trim();
  for (const part of d.includes("\n") ? d.split("\n") : d.split(/,\s*/)) {
    const eq = part.indexOf("=");
    if (eq > 0)
      out.set(part.slice(0, eq).trim().toLowerCase().replaceAll("-", "_"), part.slice(eq + 1).trim());
  }
  return out;
}

export function detectEra(description: string): MdevListingEra {
  const d = description.trim();
  if (d === "") return "nvidia-vfio";
  if (/(^|\n)(framebuffer-size|max-instances|num-heads|class)=/.test(d)) return "nvml";
  return "mdev-sysfs";
}

export function normalizeMdevTypes(data: unknown): PveMdevType[] {
  if (!Array.isArray(data)) return [];
  const out: PveMdevType[] = [];
  for (const item of data) {
    if (typeof item !== "object" || item === null) continue;
    const rec = item as Record<string, unknown>;
    const type = typeof rec.type === "string" ? rec.type : null;
    if (!type) continue;
    const description = typeof rec.description === "string" ? rec.description : "";
    const era = detectEra(description);
    const kv = keyValues(description);
    const rawAvailable =
      typeof rec.available === "number" ? rec.available : toInt(String(rec.available ?? ""));
    const idMatch = /^nvidia-(\d+)$/.exec(type);
    const name = typeof rec.name === "string" && rec.name.trim() !== "" ? rec.name.trim() : null;
    out.push({
      type,
      typeId: idMatch ? Number.parseInt(idMatch[1]!, 10) : null,
      name,
      available: era === "mdev-sysfs" ? rawAvailable : null,
      rawAvailable,
      description,
      era,
      framebufferMiB: toMiB(kv.get("framebuffer") ?? kv.get("framebuffer_size")),
      maxInstances: toInt(kv.get("max_instance") ?? kv.get("max_instances")),
      maxInstancesPerVm: toInt(kv.get("max_instances_per_vm")),
      numHeads: toInt(kv.get("num_heads")),
      maxResolution: kv.get("max_resolution") ?? null,
      frlConfig: toInt(kv.get("frl_config")),
      className: kv.get("class") ?? null,
      license: kv.get("license") ?? null,
    });
  }
  return out;
}
