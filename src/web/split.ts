/**
 * How one GPU's framebuffer is split between VMs: the data behind the dashboard's bar.
 * Pure (no I/O, no DOM) so it is unit-tested and shared by the server tests and the browser UI.
 * A vGPU's size is the inspect report's `vramMiB` (profile_override.toml applied on the server by
 * knowledge/vram.ts effectiveVramMiB), else the type's profile size.
 */

import { pciAddressCovers } from "../facts/pci.ts";
import { formatMiB } from "../knowledge/vram.ts";
import type { InspectGpu, InspectReport } from "../report/inspect-report.ts";

export { formatMiB };

export interface SplitSegment {
  /** "active": a vGPU exists now; "assigned": a stopped VM's config names this GPU + type (created on start) */
  state: "active" | "assigned";
  vmid: number | null;
  vmName: string | null;
  /** "nvidia-259" */
  type: string | null;
  /** "RTX6000-4Q" (the "GRID " prefix dropped), or the type id when the name is unknown */
  typeLabel: string;
  /** VRAM the vGPU takes (profile_override.toml applied); null when unknown */
  framebufferMiB: number | null;
  /** the override table(s) that set the size ("[vm.100]"); null = the type's own size */
  vramFrom: string | null;
  /** mdev UUID for active vGPUs */
  uuid: string | null;
  /** "VM 100 (win11) · RTX6000-4Q · 4 GiB" */
  label: string;
}

export interface GpuSplit {
  /** the GPU's framebuffer, null when unknown */
  totalMiB: number | null;
  segments: SplitSegment[];
  /** sum of the known segment sizes */
  usedMiB: number;
  /** totalMiB - usedMiB, never below 0; null when total unknown */
  freeMiB: number | null;
  /** VMs ask for more than the GPU has */
  overcommitted: boolean;
  /** distinct vGPU types in use or assigned, in first-seen order */
  typesInUse: Array<{ type: string; label: string }>;
  /** for the (single) type in use: how many more instances the driver offers, and the maximum */
  availableInstances: number | null;
  maxInstances: number | null;
}

/** "GRID RTX6000-4Q" → "RTX6000-4Q"; null/empty → the type id or "unknown type" */
export function typeLabel(name: string | null, type: string | null): string {
  const n = name?.replace(/^\s*GRID\s+/i, "").trim();
  return n || type || "unknown type";
}

export function gpuSplit(gpu: InspectGpu, vms: InspectReport["vms"]): GpuSplit {
  const typeInfo = (type: string | null) => gpu.mdevTypes.find((t) => t.type === type) ?? null;
  const vmName = (vmid: number | null) =>
    vmid === null ? null : (vms.find((v) => v.vmid === vmid)?.name ?? null);
  const segments: SplitSegment[] = [];
  const make = (
    state: SplitSegment["state"],
    vmid: number | null,
    type: string | null,
    uuid: string | null,
    vram: { vramMiB?: number | null; vramFrom?: string | null },
  ): SplitSegment => {
    const info = typeInfo(type);
    const name = vmName(vmid);
    const tl = typeLabel(info?.name ?? null, type);
    const vramFrom = vram.vramFrom ?? null;
    const fb = vram.vramMiB !== undefined ? vram.vramMiB : (info?.framebufferMiB ?? null);
    const who = vmid === null ? "no VM" : `VM ${vmid}${name ? ` (${name})` : ""}`;
    const size = fb === null ? "size unknown" : formatMiB(fb);
    const parts = [who, tl, vramFrom ? `${size} (${vramFrom})` : size];
    if (state === "assigned") parts.push("VM stopped");
    return {
      state,
      vmid,
      vmName: name,
      type,
      typeLabel: tl,
      framebufferMiB: fb,
      vramFrom,
      uuid,
      label: parts.join(" · "),
    };
  };

  for (const v of gpu.vgpus) segments.push(make("active", v.vmid, v.type, v.uuid || null, v));
  // Stopped VMs whose config gives them a vGPU on this GPU: their share is spoken for. On an
  // SR-IOV GPU the configs name its virtual functions (the physical function takes no vGPU).
  const functions = gpu.vfs && gpu.vfs.length > 0 ? gpu.vfs.map((v) => v.address) : [gpu.address];
  for (const vm of vms) {
    if (segments.some((s) => s.vmid === vm.vmid)) continue;
    for (const h of vm.hostpci) {
      if (!h.mdev || !functions.some((fn) => pciAddressCovers(h.address, fn))) continue;
      segments.push(make("assigned", vm.vmid, h.mdev, null, h));
    }
  }

  const usedMiB = segments.reduce((sum, s) => sum + (s.framebufferMiB ?? 0), 0);
  const totalMiB = gpu.vramMiB;
  const typesInUse: GpuSplit["typesInUse"] = [];
  for (const s of segments)
    if (s.type && !typesInUse.some((t) => t.type === s.type))
      typesInUse.push({ type: s.type, label: s.typeLabel });
  const single = typesInUse.length === 1 ? typeInfo(typesInUse[0]!.type) : null;
  return {
    totalMiB,
    segments,
    usedMiB,
    freeMiB: totalMiB === null ? null : Math.max(0, totalMiB - usedMiB),
    overcommitted: totalMiB !== null && usedMiB > totalMiB,
    typesInUse,
    availableInstances: single?.availableInstances ?? null,
    maxInstances: single?.maxInstances ?? null,
  };
}
