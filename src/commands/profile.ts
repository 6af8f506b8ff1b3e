/**
 * `vgpuctl profile suggest`: the vGPU type for a guest OS and workload on one of the host's GPUs,
 * from the types the GPU offers (or NVIDIA's table for it when it offers none yet). The decision
 * is src/place/suggest.ts; this module only gathers the GPU's types and current use.
 */
import { normalisePciAddress } from "../facts/pci.ts";
import type { Host } from "../hosts/host.ts";
import { typesForGpu } from "../knowledge/vgpu-types.ts";
import { parseSize } from "../knowledge/vram.ts";
import { buildPlacementModel, freeVf, sharingOf, usersOf } from "../place/model.ts";
import {
  GUEST_OSES,
  type GuestOs,
  type Suggestion,
  type SuggestType,
  suggestProfile,
  toSuggestType,
  WORKLOADS,
  type Workload,
} from "../place/suggest.ts";
import { UserError } from "../util/errors.ts";
import { runInspect } from "./inspect.ts";

export interface ProfileSuggestOptions {
  os: string;
  workload: string;
  vram?: string;
  gpu?: string;
}

export interface ProfileSuggestResult extends Suggestion {
  host: string;
  gpu: { address: string; name: string; vramMiB: number | null; currentTypes: string[] } | null;
  /** commands that apply the suggestion */
  next: string[];
}

export function parseOs(s: string): GuestOs {
  const v = s.trim().toLowerCase();
  const alias: Record<string, GuestOs> = { win: "windows", windows: "windows", linux: "linux", l26: "linux" };
  const os = alias[v] ?? (/^win/.test(v) ? "windows" : null);
  if (!os || !GUEST_OSES.includes(os))
    throw new UserError(`--os must be windows or linux, got ${JSON.stringify(s)}`);
  return os;
}

export function parseWorkload(s: string): Workload {
  const v = s.trim().toLowerCase() as Workload;
  if (!WORKLOADS.includes(v))
    throw new UserError(`--workload must be one of ${WORKLOADS.join(", ")}, got ${JSON.stringify(s)}`);
  return v;
}

export async function runProfileSuggest(
  o: ProfileSuggestOptions,
  deps: { host: Host },
): Promise<ProfileSuggestResult> {
  const os = parseOs(o.os);
  const workload = parseWorkload(o.workload);
  const vramMiB = o.vram !== undefined ? parseSize(o.vram) : undefined;
  const { report, facts } = await runInspect({}, { host: deps.host });
  const model = buildPlacementModel(report, facts);
  const full = o.gpu === undefined ? undefined : (normalisePciAddress(o.gpu) ?? o.gpu);
  const rg = full
    ? report.gpus.find((g) => g.address === full || g.vfs?.some((v) => v.address === full))
    : (report.gpus.find((g) => g.mdevTypes.length > 0) ??
      report.gpus.find((g) => g.support !== "unsupported"));
  if (full && !rg) {
    throw new UserError(
      `${o.gpu} is not an NVIDIA GPU on ${report.host}`,
      report.gpus.length > 0 ? `GPUs: ${report.gpus.map((g) => g.address).join(", ")}` : undefined,
    );
  }
  if (!rg) throw new UserError(`no vGPU-capable NVIDIA GPU on ${report.host}`, "run `vgpuctl inspect`");
  const pg = model.gpus.find((g) => g.address === rg.address)!;
  const offered = pg.types.length > 0;
  const types: SuggestType[] = (
    offered ? pg.types : typesForGpu(rg.deviceId ?? "", rg.subsystemId?.split(":")[1] ?? null)
  ).map(toSuggestType);
  const currentTypes = [...new Set(usersOf(model, pg).map((u) => u.type))];
  const gpu = { address: pg.address, name: pg.name, vramMiB: pg.vramMiB, currentTypes };
  const s = suggestProfile({
    os,
    workload,
    vramMiB,
    types,
    offered,
    gpu: { ...gpu, sharing: sharingOf(pg) },
  });
  const next: string[] = [];
  if (s.type) {
    // SR-IOV GPUs take vGPUs on a virtual function, never the physical function
    const target = pg.vfs ? (freeVf(model, pg, 0, s.type)?.address ?? null) : pg.address;
    next.push(
      `vgpuctl vm attach VMID --type ${s.type}${target ? ` --gpu ${target}` : ""}${s.overrideVramMiB !== null ? ` --vram ${fmtSize(s.overrideVramMiB)}` : ""}`,
    );
  }
  return { ...s, host: report.host, gpu, next };
}

function fmtSize(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}G` : `${mib}M`;
}
