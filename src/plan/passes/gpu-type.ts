/**
 * vgpu.yaml `gpus[].type`: the vGPU type a GPU is set up for. Checked against what the GPU offers now
 * (mdev_supported_types, or the SR-IOV virtual functions' creatable_vgpu_types) and, before the driver
 * runs, against the types NVIDIA's vgpuConfig.xml lists for the board (knowledge/vgpu-types.ts).
 * Acted on: in equal-size mode the first vGPU decides the size the GPU offers (NVIDIA vGPU user guide:
 * "all vGPUs on a physical GPU must be of the same type" / equal-size mode), so a GPU carrying vGPUs of
 * another size cannot give this type — refused with who holds it; VMs placed on the GPU get this type
 * (plan/vms.ts), and apply verifies it is offered (apply/verify.ts).
 */
import { gpuTypeSource } from "../../desired/parse.ts";
import { sameBus } from "../../facts/pci.ts";
import type { Facts } from "../../facts/types.ts";
import { typesForGpu } from "../../knowledge/vgpu-types.ts";
import { byTypeId } from "../../report/units.ts";
import type { Gpu } from "./gpus.ts";
import type { PassOutput } from "./output.ts";

export interface OfferedType {
  /** "nvidia-259" */
  type: string;
  name: string | null;
}

/** Types offered now on the GPU itself or (SR-IOV) on its virtual functions on the same bus. */
export function offeredTypes(f: Facts, address: string): OfferedType[] {
  const sameCard = (parent: string) => parent === address || sameBus(parent, address);
  const out = new Map<string, OfferedType>();
  for (const t of f.mdevTypes ?? []) if (sameCard(t.parent)) out.set(t.type, { type: t.type, name: t.name });
  for (const [parent, list] of Object.entries(f.creatableVgpuTypes ?? {}))
    if (sameCard(parent))
      for (const t of list)
        if (!out.has(`nvidia-${t.id}`)) out.set(`nvidia-${t.id}`, { type: `nvidia-${t.id}`, name: t.name });
  return [...out.values()];
}

const normName = (s: string) =>
  s
    .trim()
    .toLowerCase()
    .replace(/^(grid|nvidia)\s+/, "");

/** `wanted` (a type id "nvidia-259" / "259", or a name with or without "GRID ") names `o`. */
export function typeMatches(o: OfferedType, wanted: string): boolean {
  const w = wanted.trim().toLowerCase();
  if (o.type.toLowerCase() === w || o.type.toLowerCase() === `nvidia-${w}`) return true;
  return o.name !== null && normName(o.name) === normName(w);
}

const listed = (ts: OfferedType[]) =>
  [...ts]
    .sort(byTypeId)
    .map((t) => `${t.type}${t.name ? ` (${t.name})` : ""}`)
    .join(", ");

/** vGPUs the GPU carries now (mdevs on it, or virtual functions with a type set): their types and who. */
function carried(f: Facts, address: string): Array<{ type: string; who: string }> {
  const onCard = (a: string) => a === address || sameBus(a, address);
  return [
    ...(f.mdevs ?? [])
      .filter((m) => onCard(m.parent) && m.active !== false)
      .map((m) => ({ type: m.type, who: `mdev ${m.uuid}` })),
    ...(f.virtualFunctions ?? [])
      .filter((v) => onCard(v.physfn) && (v.currentType ?? 0) > 0)
      .map((v) => ({ type: `nvidia-${v.currentType}`, who: `VF ${v.address}` })),
  ];
}

/** An mdev type of the card with no instance left (equal-size mode: another size is in use). */
function exhausted(f: Facts, address: string, t: OfferedType): boolean {
  return (f.mdevTypes ?? []).some(
    (m) =>
      (m.parent === address || sameBus(m.parent, address)) && m.type === t.type && m.availableInstances === 0,
  );
}

/** Check every GPU's `type:` (blockers name the file and line, and the types offered). */
export function checkGpuTypes(f: Facts, gpus: Gpu[], out: PassOutput): void {
  for (const g of gpus) {
    if (!g.type) continue;
    const where = (g.spec && gpuTypeSource(g.spec)) ?? "vgpu.yaml";
    const label = `${g.pci.address} ${g.cls.name ?? g.pci.description}`;
    const offered = offeredTypes(f, g.pci.address);
    const known: OfferedType[] = typesForGpu(g.pci.deviceId, g.pci.subsystemDeviceId).map((t) => ({
      type: t.type,
      name: t.name,
    }));
    const match = offered.find((o) => typeMatches(o, g.type!));
    if (!match && !known.some((o) => typeMatches(o, g.type!))) {
      const choices = offered.length > 0 ? offered : known;
      if (choices.length === 0) continue; // nothing to check against: apply verifies it once types are offered
      out.block(
        "type-unknown",
        `${where}: gpus[].type "${g.type}" is not a vGPU type of ${label}`,
        [`${offered.length > 0 ? "it offers" : "its vGPU types (vgpuConfig.xml)"}: ${listed(choices)}`],
        ["set gpus[].type to one of these (the id, e.g. nvidia-259, or the name)"],
      );
      continue;
    }
    // not offering types yet (set up, then verified), or mixed-size mode (set by the plan) offers it
    if (offered.length === 0 || g.mixedSizes) continue;
    if (match && !exhausted(f, g.pci.address, match)) continue;
    const others = carried(f, g.pci.address).filter((c) => !match || c.type !== match.type);
    if (others.length > 0)
      out.block(
        "mixed-types",
        `${where}: ${label} carries ${others.map((c) => `${c.type} (${c.who})`).join(", ")}; in equal-size mode it gives only vGPUs of that size, not "${g.type}"`,
        [`it offers: ${listed(offered.filter((o) => !exhausted(f, g.pci.address, o)))}`],
        ["stop the VMs using those vGPUs, choose a type of that size, or set `mixedSizes: true` (vGPU 17+)"],
      );
    else if (!match)
      out.block(
        "type-not-offered",
        `${where}: ${label} does not offer "${g.type}" with the installed driver`,
        [`it offers: ${listed(offered)}`],
        ["choose one of the offered types, or install a driver branch that offers it"],
      );
  }
}
