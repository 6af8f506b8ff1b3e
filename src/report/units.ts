/**
 * One way to show sizes everywhere a person reads them (issue 13 #17): MiB below 1 GiB, else GiB with at
 * most one decimal and no trailing ".0" (8 GiB, 7.5 GiB, 45 GiB). A GPU is named by its board's nominal
 * size (the data sheet's 8 GB / 48 GB, knowledge/gpus.ts) with what the driver reports usable beside it
 * when that differs (nvidia-smi's FB total is less: ECC and the driver's own reservation).
 */
import { classifyGpu } from "../knowledge/gpus.ts";
import { compareText } from "../util/compare.ts";

export function formatSize(mib: number): string {
  if (mib < 1024) return `${Math.round(mib)} MiB`;
  const gib = Math.round((mib / 1024) * 10) / 10;
  return `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB`;
}

/** formatSize, or "? MiB" when the size is not known */
export function sizeText(mib: number | null | undefined): string {
  return mib === null || mib === undefined ? "? MiB" : formatSize(mib);
}

/** "8 GiB (7.5 GiB usable)", "11 GiB", or the reported size alone when the board is not known. */
export function gpuVramText(
  gpu: { deviceId: string | null; subsystemId?: string | null },
  reportedMiB: number | null,
): string | null {
  const sub = gpu.subsystemId?.split(":") ?? [];
  const nominal = gpu.deviceId
    ? classifyGpu({
        deviceId: gpu.deviceId,
        subsystemVendorId: sub[0] ?? null,
        subsystemDeviceId: sub[1] ?? null,
      }).vramMiB
    : null;
  if (nominal === null) return reportedMiB === null ? null : formatSize(reportedMiB);
  if (reportedMiB === null || formatSize(reportedMiB) === formatSize(nominal)) return formatSize(nominal);
  return `${formatSize(nominal)} (${formatSize(reportedMiB)} usable)`;
}

/** vGPU types in id order ("nvidia-63" before "nvidia-157"), not string order. */
export function byTypeId(a: { type: string }, b: { type: string }): number {
  const n = (t: { type: string }) => Number(/(\d+)$/.exec(t.type)?.[1] ?? Number.NaN);
  return n(a) - n(b) || compareText(a.type, b.type);
}
