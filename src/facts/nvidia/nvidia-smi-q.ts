import { normalisePciAddress } from "../pci.ts";
import type { NvidiaSmiQuery } from "../types.ts";
import {
  findNvidiaSmiError,
  firstLine,
  naToNull,
  parseSizeMiB,
  readIndented,
  SectionStack,
} from "./common.ts";

type QueryGpu = NvidiaSmiQuery["gpus"][number];

const GPU_HEADER = /^GPU\s+([0-9A-Fa-f]{1,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])\s*$/;

/**
 * `nvidia-smi -q`: indentation-scoped "key : value" report. Every field under a GPU is kept in
 * `fields` keyed by its section path ("FB Memory Usage / Total", "GPU Virtualization Mode / Host VGPU Mode");
 * the modelled ones are also lifted out. Lines that are not part of the report (grep "--" separators,
 * pasted tables) are ignored. Never throws.
 */
export function parseNvidiaSmiQuery(text: string): NvidiaSmiQuery {
  const result: NvidiaSmiQuery = { driverVersion: null, cudaVersion: null, gpus: [], error: null };
  if (typeof text !== "string") return { ...result, error: "no output" };
  const fieldsByGpu: Array<Record<string, string>> = [];
  const busIds: string[] = [];
  let current: Record<string, string> | null = null;
  const stack = new SectionStack();

  for (const e of readIndented(text)) {
    if (e.indent === 0 && e.value === null) {
      const gpu = GPU_HEADER.exec(e.key);
      if (gpu) {
        const busId = normalisePciAddress(gpu[1]!, "required");
        if (busId) {
          current = {};
          fieldsByGpu.push(current);
          busIds.push(busId);
          stack.clear();
          continue;
        }
      }
      // A header at column 0: a top-level section before any GPU ("vGPU Driver Capability"),
      // or noise inside a GPU block (grep "--", pasted tables): never nests GPU fields under it.
      stack.clear();
      if (current === null) stack.push(0, e.key);
      continue;
    }
    if (e.indent === 0 && e.value !== null) {
      stack.clear();
      if (current === null) {
        if (e.key === "Driver Version" && result.driverVersion === null)
          result.driverVersion = naToNull(e.value);
        if (e.key === "CUDA Version" && result.cudaVersion === null) result.cudaVersion = naToNull(e.value);
      }
      continue;
    }
    stack.closeTo(e.indent);
    if (e.value === null) {
      stack.push(e.indent, e.key);
      continue;
    }
    if (current === null) continue;
    const path = stack.path(e.key);
    if (!(path in current)) current[path] = e.value;
  }

  result.gpus = fieldsByGpu.map((fields, i) => toGpu(busIds[i]!, fields));
  if (result.gpus.length === 0 && result.driverVersion === null) {
    result.error = findNvidiaSmiError(text) ?? firstLine(text) ?? "empty output";
  } else if (result.gpus.length === 0) {
    result.error = findNvidiaSmiError(text);
  }
  return result;
}

/** A field by exact path, else by its last path segments (section names vary between releases). */
function pick(fields: Record<string, string>, ...paths: string[]): string | null {
  for (const p of paths) if (p in fields) return naToNull(fields[p]);
  for (const p of paths) {
    const hit = Object.keys(fields).find((k) => k.endsWith(` / ${p}`));
    if (hit !== undefined) return naToNull(fields[hit]);
  }
  return null;
}

function toGpu(busId: string, fields: Record<string, string>): QueryGpu {
  return {
    busId,
    productName: pick(fields, "Product Name"),
    productBrand: pick(fields, "Product Brand"),
    productArchitecture: pick(fields, "Product Architecture"),
    hostVgpuMode: pick(fields, "GPU Virtualization Mode / Host VGPU Mode"),
    virtualizationMode: pick(fields, "GPU Virtualization Mode / Virtualization Mode"),
    fbTotalMiB: parseSizeMiB(pick(fields, "FB Memory Usage / Total")),
    fbReservedMiB: parseSizeMiB(pick(fields, "FB Memory Usage / Reserved")),
    vbiosVersion: pick(fields, "VBIOS Version"),
    fields,
  };
}

/** PCI identity of a GPU as `nvidia-smi -q` prints it (lowercase 4-digit hex), each null when absent. */
export interface QueryGpuPciIds {
  vendorId: string | null;
  deviceId: string | null;
  subsystemVendorId: string | null;
  subsystemDeviceId: string | null;
}

/**
 * "PCI / Device Id : 0x1B3810DE" (device id, then vendor id) and "PCI / Sub System Id : 0x11D910DE" of a
 * parsed GPU → { deviceId "1b38", vendorId "10de", subsystemDeviceId "11d9", subsystemVendorId "10de" }.
 * This identifies the board even when its name is not one (an unlocked or spoofed card prints
 * "Product Name : NVIDIA Graphics Device") and when lspci was not captured. Never throws.
 */
export function queryGpuPciIds(gpu: Pick<QueryGpu, "fields">): QueryGpuPciIds {
  const split = (raw: string | null): [string | null, string | null] => {
    const m = /^0x([0-9a-f]{4})([0-9a-f]{4})$/i.exec(raw ?? "");
    return m ? [m[1]!.toLowerCase(), m[2]!.toLowerCase()] : [null, null];
  };
  const [deviceId, vendorId] = split(pick(gpu.fields, "PCI / Device Id"));
  const [subsystemDeviceId, subsystemVendorId] = split(pick(gpu.fields, "PCI / Sub System Id"));
  return { vendorId, deviceId, subsystemVendorId, subsystemDeviceId };
}
