/**
 * `vgpuctl catalog`: what the knowledge base knows, no host needed. Pure functions returning data;
 * the CLI (src/cli/commands/catalog.ts) renders them.
 */
import {
  compatibleReleases,
  type DriverRelease,
  driverReleases,
  kernelInRange,
  kernelParts,
  releaseSupportsGeneration,
} from "../knowledge/drivers.ts";
import { classifyGpu, GPU_TABLE, type GpuClassification, normalizeDeviceId } from "../knowledge/gpus.ts";
import { typesForGpu } from "../knowledge/vgpu-types.ts";
import { overrideLines, parseSize, type VramLayout, vramLayout } from "../knowledge/vram.ts";
import { UserError } from "../util/errors.ts";

export interface CatalogGpuType {
  type: string;
  name: string;
  series: string | null;
  /** profile size as sysfs/mdevctl print it ("framebuffer=4096M") */
  framebufferMiB: number;
  maxInstances: number;
  numHeads: number | null;
  maxResolution: string;
}

export interface CatalogGpu extends GpuClassification {
  /** vGPU types the card will offer (those of its spoof target for an unlock card) */
  types: CatalogGpuType[];
  /** vGPU releases usable with this card, newest first: still supporting it and, for unlock cards, patchable */
  driverReleases: string[];
}

/** `catalog gpu 1e07`: classification + offered types. Throws UserError for an id that is not known. */
export function catalogGpu(deviceId: string, opts: { subsystemId?: string | null } = {}): CatalogGpu {
  const id = normalizeDeviceId(deviceId);
  if (!id) {
    throw new UserError(
      `"${deviceId}" is not a PCI device id`,
      "give the 4 hex digits after 10de: in `lspci -nn -d 10de:`, e.g. vgpuctl catalog gpu 1e07",
    );
  }
  if (!GPU_TABLE.has(id)) {
    throw new UserError(
      `unknown device id 10de:${id}: not in vgpuctl's GPU table`,
      "check the id with `lspci -nn -d 10de:` (the part after 10de:); NVIDIA GPUs have ids like 1e07 or 1bb3",
    );
  }
  if (opts.subsystemId != null && !normalizeDeviceId(opts.subsystemId)) {
    throw new UserError(
      `"${opts.subsystemId}" is not a PCI subsystem id`,
      "give 4 hex digits, e.g. --subsystem 12ba",
    );
  }
  const gpu = classifyGpu({ deviceId: id, subsystemDeviceId: opts.subsystemId ?? null });
  const types = typesForGpu(id, opts.subsystemId ?? null).map((t) => ({
    type: t.type,
    name: t.name,
    series: t.series,
    framebufferMiB: t.framebufferMiB,
    maxInstances: t.maxInstances,
    numHeads: t.numHeads,
    maxResolution: t.maxResolution,
  }));
  return { ...gpu, types, driverReleases: releasesForGpu(gpu) };
}

function releasesForGpu(gpu: GpuClassification): string[] {
  if (gpu.support === "unsupported" || !gpu.generation) return [];
  const profileBoard = gpu.spoofAs?.deviceId ?? gpu.deviceId;
  return driverReleases()
    .filter(
      (r) =>
        (gpu.support !== "unlock" || r.patch !== null) &&
        releaseSupportsGeneration(r, gpu.generation!, profileBoard),
    )
    .map((r) => r.vgpuRelease);
}

export interface CatalogDrivers {
  /** the --kernel asked about, or null */
  kernel: string | null;
  /** every release (newest first) or, with a kernel, only those known to work on it */
  releases: Array<DriverRelease & { kernelOk: boolean | null }>;
  /** with a kernel: releases whose kernel support is unknown (no upper limit known) */
  unknown: string[];
}

/** `catalog drivers [--kernel 6.8.12-4-pve] [--unlock]` */
export function catalogDrivers(opts: { kernel?: string | null; unlock?: boolean } = {}): CatalogDrivers {
  const kernel = opts.kernel?.trim() || null;
  if (kernel !== null) {
    const parts = kernelParts(kernel);
    if (!parts || parts.length < 2) {
      throw new UserError(
        `"${kernel}" is not a kernel release`,
        "give it as `uname -r` prints it, e.g. --kernel 6.8.12-4-pve",
      );
    }
  }
  const pool = driverReleases().filter((r) => !opts.unlock || r.patch !== null);
  if (kernel === null) return { kernel, releases: pool.map((r) => ({ ...r, kernelOk: null })), unknown: [] };
  const ok = new Set(compatibleReleases(kernel, { unlock: opts.unlock }).map((r) => r.vgpuRelease));
  return {
    kernel,
    releases: pool.filter((r) => ok.has(r.vgpuRelease)).map((r) => ({ ...r, kernelOk: true })),
    unknown: pool.filter((r) => kernelInRange(r, kernel) === null).map((r) => r.vgpuRelease),
  };
}

export interface CatalogVram extends VramLayout {
  input: string;
  /** the two lines to paste into a [profile.nvidia-N] / [vm.N] table of profile_override.toml */
  overrideLines: string[];
}

/** `catalog vram 3G` */
export function catalogVram(size: string): CatalogVram {
  const mib = parseSize(size);
  const layout = vramLayout(mib);
  return { input: size, ...layout, overrideLines: overrideLines(layout) };
}
