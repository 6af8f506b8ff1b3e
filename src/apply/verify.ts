/**
 * After the reboot (or the live load): is vGPU working as asked? Pure over Facts: the driver is loaded,
 * nouveau is gone, an SR-IOV board's virtual functions are enabled, every chosen vGPU type is offered
 * (mdev_supported_types / the VFs' creatable_vgpu_types), and a GPU vgpu.yaml marks `mixedSizes` runs
 * in mixed-size mode when nvidia-smi shows the mode.
 */
import type { HostEntry } from "../desired/schema.ts";
import { deriveDriver, nvidiaGpuFunctions, physicalGpuFunctions } from "../facts/derive.ts";
import { normalisePciAddress } from "../facts/pci.ts";
import type { Facts, PciFunction } from "../facts/types.ts";
import { classifyGpu } from "../knowledge/gpus.ts";
import type { DoctorFinding } from "../plan/doctor-blockers.ts";
import { offeredTypes, typeMatches } from "../plan/passes/gpu-type.ts";
import { smiField } from "../plan/passes/mixed-size.ts";

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
  const targets: Target[] = entry.gpus?.length
    ? entry.gpus.map((g) => ({
        address: g.address
          ? (normalisePciAddress(g.address) ?? g.address)
          : (physicalGpuFunctions(f)[0]?.address ?? all[0]?.address ?? "?"),
        type: g.type,
        mixedSizes: g.mixedSizes === true,
      }))
    : physicalGpuFunctions(f).map((p) => ({ address: p.address, type: null, mixedSizes: false }));
  const gpus: GpuVerification[] = targets.map((t) => {
    const p = all.find((x) => x.address === t.address);
    const offered = offeredTypes(f, t.address);
    const problem = gpuProblem(f, t, p, offered);
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

type Target = { address: string; type: string | null; mixedSizes: boolean };

/** What is wrong with one GPU, or null. An SR-IOV board without VFs offers no types: the VFs are named. */
function gpuProblem(
  f: Facts,
  t: Target,
  p: PciFunction | undefined,
  offered: Array<{ type: string; name: string | null }>,
): string | null {
  const vfs = p ? vfsMissing(f, p) : null;
  if (vfs) return vfs;
  if (offered.length === 0) return "no vGPU types offered";
  if (t.type && !offered.some((o) => typeMatches(o, t.type!))) return `type ${t.type} is not offered`;
  if (t.mixedSizes && /disabled/i.test(smiField(f, t.address, /Heterogeneous Mode$/i) ?? ""))
    return "mixed-size mode is off (nvidia-smi -q: vGPU Heterogeneous Mode : Disabled)";
  return null;
}

/** An SR-IOV board (vGPUs on VFs) whose virtual functions are not enabled: why, else null. */
function vfsMissing(f: Facts, p: PciFunction): string | null {
  const cls = classifyGpu({
    deviceId: p.deviceId,
    subsystemVendorId: p.subsystemVendorId,
    subsystemDeviceId: p.subsystemDeviceId,
  });
  if (!cls.needsSriov) return null;
  const s = (f.sriov ?? []).find((x) => x.address === p.address);
  if (!s || (s.numVfs ?? 0) > 0) return null;
  return `its SR-IOV virtual functions are not enabled (sriov_numvfs ${s.numVfs ?? "?"} of ${s.totalVfs ?? "?"}): systemctl enable --now pve-nvidia-sriov@ALL.service`;
}
