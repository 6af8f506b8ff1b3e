/**
 * After the reboot: is vGPU working as asked? Pure over Facts: the driver is loaded, nouveau is
 * gone, and every chosen vGPU type is offered (mdev_supported_types / creatable_vgpu_types).
 */
import type { HostEntry } from "../desired/schema.ts";
import { deriveDriver, nvidiaGpuFunctions, physicalGpuFunctions } from "../facts/derive.ts";
import { normalisePciAddress, sameBus } from "../facts/pci.ts";
import type { Facts } from "../facts/types.ts";
import type { DoctorFinding } from "../plan/doctor-blockers.ts";

export interface GpuVerification {
  address: string;
  name: string;
  /** The type vgpu.yaml asked for (null: any type will do) */
  wanted: string | null;
  /** Types offered on the GPU (or its virtual functions), e.g. "nvidia-259 GRID RTX6000-4Q" */
  offered: string[];
  ok: boolean;
  problem: string | null;
}

export interface Verification {
  ok: boolean;
  gpus: GpuVerification[];
  problems: string[];
}

/** Optional doctor hook: error findings fail verification. */
export type DoctorFn = (f: Facts) => DoctorFinding[];

export function verifyHost(entry: HostEntry, f: Facts, doctor?: DoctorFn): Verification {
  const problems: string[] = [];
  const drv = deriveDriver(f);
  if (!drv) problems.push("no NVIDIA driver found");
  else if (drv.loaded === false) problems.push(`NVIDIA driver ${drv.version} is installed but not loaded`);
  if ((f.lsmod ?? []).some((m) => m.name === "nouveau")) problems.push("nouveau is still loaded");
  const all = nvidiaGpuFunctions(f.pci ?? []);
  const targets: Array<{ address: string; type: string | null }> = entry.gpus?.length
    ? entry.gpus.map((g) => ({
        address: g.address
          ? (normalisePciAddress(g.address) ?? g.address)
          : (physicalGpuFunctions(f)[0]?.address ?? all[0]?.address ?? "?"),
        type: g.type,
      }))
    : physicalGpuFunctions(f).map((p) => ({ address: p.address, type: null }));
  const gpus: GpuVerification[] = targets.map((t) => {
    const p = all.find((x) => x.address === t.address);
    const offered = offeredTypes(f, t.address);
    let problem: string | null = null;
    if (offered.length === 0) problem = "no vGPU types offered";
    else if (t.type && !offered.some((o) => typeMatches(o, t.type!)))
      problem = `type ${t.type} is not offered`;
    return {
      address: t.address,
      name: p?.description ?? "NVIDIA GPU",
      wanted: t.type,
      offered: offered.map((o) => `${o.type} ${o.name ?? ""}`.trim()),
      ok: problem === null,
      problem,
    };
  });
  for (const g of gpus) if (g.problem) problems.push(`${g.address}: ${g.problem}`);
  for (const finding of doctor?.(f) ?? [])
    if (finding.severity === "error") problems.push(`doctor: ${finding.code}: ${finding.title}`);
  return { ok: problems.length === 0, gpus, problems };
}

function offeredTypes(f: Facts, address: string): Array<{ type: string; name: string | null }> {
  // the GPU itself, or (SR-IOV) its virtual functions on the same bus
  const sameCard = (parent: string) => parent === address || sameBus(parent, address);
  const out = new Map<string, { type: string; name: string | null }>();
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
    .replace(/^grid\s+/, "");

export function typeMatches(o: { type: string; name: string | null }, wanted: string): boolean {
  const w = wanted.trim().toLowerCase();
  if (o.type.toLowerCase() === w || o.type.toLowerCase() === `nvidia-${w}`) return true;
  return o.name !== null && normName(o.name) === normName(w);
}
