import { normalisePciAddress } from "../pci.ts";
import type { ActiveVgpu, NvidiaVgpuQuery } from "../types.ts";
import {
  findNvidiaSmiError,
  firstLine,
  naToNull,
  parseIntLoose,
  parseSizeMiB,
  readIndented,
  SectionStack,
  splitLines,
} from "./common.ts";

const GPU_HEADER = /^GPU\s+([0-9A-Fa-f]{1,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])\s*$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

type QueryGpu = NvidiaVgpuQuery["gpus"][number];

/**
 * `nvidia-smi vgpu -q`. Understands old field sets ("VM ID" on older KVM drivers) and new ones
 * ("VM UUID"/"VM Name", 16.x+ "vGPU Instance ID"/"Placement ID"…); fields it does not model are ignored.
 * "No supported devices in vGPU mode" and other nvidia-smi errors give `error`. Never throws.
 */
export function parseNvidiaVgpuQuery(text: string): NvidiaVgpuQuery {
  const result: NvidiaVgpuQuery = { driverVersion: null, gpus: [], error: null };
  if (typeof text !== "string") return { ...result, error: "no output" };
  let gpu: QueryGpu | null = null;
  let vgpu: { fields: Record<string, string>; id: string | null } | null = null;
  let vgpuIndent = 0;
  const pending: Array<{ gpu: QueryGpu; fields: Record<string, string>; id: string | null }> = [];
  const stack = new SectionStack();

  const closeVgpu = () => {
    if (gpu && vgpu) pending.push({ gpu, fields: vgpu.fields, id: vgpu.id });
    vgpu = null;
  };

  for (const e of readIndented(text)) {
    if (e.indent === 0) {
      closeVgpu();
      stack.clear();
      if (e.value === null) {
        const m = GPU_HEADER.exec(e.key);
        const busId = m ? normalisePciAddress(m[1]!, "required") : null;
        if (busId) {
          gpu = { busId, activeVgpus: null, vgpus: [] };
          result.gpus.push(gpu);
        }
      } else if (e.key === "Driver Version" && result.driverVersion === null) {
        result.driverVersion = naToNull(e.value);
      }
      continue;
    }
    if (gpu === null) continue;
    if (e.key === "vGPU ID" && e.value !== null && (vgpu === null || e.indent <= vgpuIndent)) {
      closeVgpu();
      stack.clear();
      vgpu = { fields: {}, id: naToNull(e.value) };
      vgpuIndent = e.indent;
      continue;
    }
    if (vgpu !== null && e.indent <= vgpuIndent) {
      // back at GPU level: the vGPU block has ended
      closeVgpu();
      stack.clear();
    }
    if (vgpu === null) {
      if (e.key === "Active vGPUs" && e.value !== null) gpu.activeVgpus = parseIntLoose(e.value);
      continue;
    }
    const open: { fields: Record<string, string> } = vgpu;
    stack.closeTo(e.indent);
    if (e.value === null) {
      stack.push(e.indent, e.key);
      continue;
    }
    const path = stack.path(e.key);
    if (!(path in open.fields)) open.fields[path] = e.value;
  }
  closeVgpu();

  for (const p of pending) p.gpu.vgpus.push(toActiveVgpu(p.gpu.busId, p.id, p.fields));

  if (result.gpus.length === 0) {
    result.error = findNvidiaSmiError(text) ?? firstLine(text) ?? "empty output";
  }
  return result;
}

function toActiveVgpu(gpuBusId: string, id: string | null, f: Record<string, string>): ActiveVgpu {
  const mdev = naToNull(f["MDEV UUID"]);
  const typeRaw = naToNull(f["vGPU Type"]);
  let typeId: string | null = null;
  if (typeRaw !== null) {
    const n = parseIntLoose(typeRaw);
    typeId = n !== null ? String(n) : typeRaw;
  }
  return {
    gpuBusId,
    vgpuId: id,
    uuid: mdev !== null && UUID.test(mdev) ? mdev.toLowerCase() : mdev,
    vmId: naToNull(f["VM ID"]) ?? naToNull(f["VM UUID"]),
    vmName: naToNull(f["VM Name"]),
    typeName: naToNull(f["vGPU Name"]),
    typeId,
    fbUsageMiB: parseSizeMiB(naToNull(f["FB Memory Usage / Total"])),
    licensed: naToNull(f["License Status"]),
  };
}

/** One row of the plain `nvidia-smi vgpu` table. */
export interface NvidiaVgpuTableGpu {
  index: number;
  /** As printed; long names are cut with "..." by nvidia-smi. */
  name: string;
  busId: string;
  vgpus: Array<{
    vgpuId: string;
    /** As printed, possibly truncated ("NVIDIA RTXA..."). */
    name: string;
    /** As printed, possibly truncated ("f267..."). */
    vmId: string | null;
    vmName: string | null;
  }>;
}

export interface NvidiaVgpuTable {
  driverVersion: string | null;
  gpus: NvidiaVgpuTableGpu[];
  error: string | null;
}

/**
 * Plain `nvidia-smi vgpu` summary table (best effort: names are truncated by nvidia-smi, so use
 * `nvidia-smi vgpu -q` for identities). Never throws.
 */
export function parseNvidiaVgpuTable(text: string): NvidiaVgpuTable {
  const result: NvidiaVgpuTable = { driverVersion: null, gpus: [], error: null };
  if (typeof text !== "string") return { ...result, error: "no output" };
  for (const line of splitLines(text)) {
    if (result.driverVersion === null) {
      const dv = /Driver Version:\s*([^\s|]+)/.exec(line);
      if (dv) {
        result.driverVersion = naToNull(dv[1]);
        continue;
      }
    }
    const cells = line.split("|");
    if (cells.length < 4) continue;
    const c1 = cells[1]!;
    const c2 = cells[2]!;
    const bus = /^\s*([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])\b/.exec(c2);
    const gpuRow = /^\s{0,4}(\d{1,3})\s+(.*?)\s*$/.exec(c1);
    if (bus && gpuRow) {
      const busId = normalisePciAddress(bus[1]!, "required");
      if (busId) {
        result.gpus.push({ index: Number.parseInt(gpuRow[1]!, 10), name: gpuRow[2]!, busId, vgpus: [] });
        continue;
      }
    }
    const vgpuRow = /^\s*(\d{5,})\s+(.*?)\s*$/.exec(c1);
    const last = result.gpus[result.gpus.length - 1];
    if (vgpuRow && last) {
      const vm = /^\s*(\S+)(?:\s+(.*?))?\s*$/.exec(c2);
      last.vgpus.push({
        vgpuId: vgpuRow[1]!,
        name: vgpuRow[2]!,
        vmId: vm ? naToNull(vm[1]) : null,
        vmName: vm ? naToNull(vm[2]) : null,
      });
    }
  }
  if (result.gpus.length === 0) {
    result.error =
      findNvidiaSmiError(text) ??
      (result.driverVersion === null ? (firstLine(text) ?? "empty output") : null);
  }
  return result;
}
