/**
 * An SR-IOV GPU as one physical GPU in the inspect report (DESIGN.md "Contracts added in the second
 * round"): its vGPU types are what its virtual functions offer, listed once with the GPU's real
 * capacity; its VFs with the type each carries and the VM that uses it; the vGPUs running on them.
 *
 * Capacity (research/proxmox.md §1a, §3): the per-VF `available = 1` says nothing about the GPU, so
 * - maxInstances = the per-GPU limit (`max_instance` of an mdev description, else vgpuConfig.xml's
 *   `pgpu_maxInstances` for the type — A16-4Q: 4 per GPU);
 * - availableInstances = how many more the driver will create now: limited by the free VFs that list
 *   the type as creatable, by max instances minus the vGPUs running, and — in equal-size mode
 *   ("By default, a GPU supports only vGPUs with the same amount of frame buffer", NVIDIA vGPU 17+
 *   user guide) — 0 for a size other than the running vGPUs'.
 * A VF's creatable list shrinks as the GPU fills (bigstack-oss/cubecos#1338: "after the first
 * current_vgpu_type write every remaining VF's creatable_vgpu_types collapsed to that size"); once a
 * vGPU runs, the board's other types from the type table are listed too, with 0 available, so a
 * GPU's offer does not change with what happens to run (as mdev_supported_types keeps every type).
 * Pure.
 */
import { vmidFromMdevUuid } from "../facts/derive.ts";
import { sameBus } from "../facts/pci.ts";
import type { ActiveVgpu, Facts, MdevType, VirtualFunction, VmConfig } from "../facts/types.ts";
import { findType, typesForBoard } from "../knowledge/vgpu-types.ts";
import type { InspectType } from "./inspect-report.ts";

/** A type of an SR-IOV GPU; `creatable` always set. */
export type SriovType = InspectType & { creatable: boolean };

export interface SriovVf {
  address: string;
  /** "nvidia-N" it carries now (running), null = free or unknown */
  currentType: string | null;
  /** the VM whose config names this VF (or, for a running one, nvidia-smi vgpu -q's VM) */
  vmid: number | null;
}

/** Mixed-size (heterogeneous) mode of a GPU, from `nvidia-smi -q`; null = not shown there. */
export interface MixedSizes {
  /** "vGPU Device Capability / Heterogeneous Time-Slice Sizes : Supported" */
  supported: boolean | null;
  /** "GPU Virtualization Mode / vGPU Heterogeneous Mode : Enabled" */
  enabled: boolean | null;
}

export interface SriovGpu {
  vfs: SriovVf[];
  types: SriovType[];
  /** vGPUs running on the VFs (current_vgpu_type ≠ 0, or an mdev on a VF of an older branch) */
  running: Array<{ vf: string; type: string; vmid: number | null }>;
}

/** The VFs of a physical function: from sysfs facts, else (hand-built facts) VFs the type listings name. */
export function vfsOfGpu(f: Facts, pf: string): VirtualFunction[] {
  if (f.virtualFunctions) return f.virtualFunctions.filter((v) => v.physfn === pf);
  const addrs = new Set<string>();
  for (const a of Object.keys(f.creatableVgpuTypes ?? {})) if (a !== pf && sameBus(a, pf)) addrs.add(a);
  for (const t of f.mdevTypes ?? []) if (t.parent !== pf && sameBus(t.parent, pf)) addrs.add(t.parent);
  return [...addrs].sort().map((address) => {
    const listed = f.creatableVgpuTypes?.[address];
    const legacy = (f.mdevTypes ?? []).filter((t) => t.parent === address);
    return {
      address,
      physfn: pf,
      currentType: null,
      creatable: listed
        ? listed
        : legacy
            .filter((t) => (t.availableInstances ?? 0) > 0)
            .map((t) => ({ id: t.type.replace(/^nvidia-/, ""), name: t.name ?? t.type })),
      interface: listed ? "vendor-vfio" : "mdev",
    };
  });
}

export function mixedSizesOf(f: Facts, address: string): MixedSizes | null {
  const q = f.nvidiaSmiQuery?.gpus.find((g) => g.busId === address);
  if (!q) return null;
  const [sizes, mode] = fieldsNamed(q.fields, ["Heterogeneous Time-Slice Sizes", "vGPU Heterogeneous Mode"]);
  // the words compared in lower case, as /^supported$/i did (under the i flag an ASCII letter matches only
  // itself in either case): four case-insensitive expressions compiled at every inspect start (issue 16)
  const yes = (v: string | null | undefined, on: string, off: string) => {
    const word = v?.toLowerCase();
    return word === on ? true : word === off ? false : null;
  };
  const out = {
    supported: yes(sizes, "supported", "not supported"),
    enabled: yes(mode, "enabled", "disabled"),
  };
  return out.supported === null && out.enabled === null ? null : out;
}

/**
 * Each name's field (trimmed), alone or as the last part of a section path ("… / vGPU Heterogeneous Mode"):
 * the first such field in the output's order, null when none. One pass over the fields for all names.
 */
function fieldsNamed(fields: Record<string, string>, names: readonly string[]): (string | null)[] {
  const found: (string | null)[] = names.map(() => null);
  const suffixes = names.map((n) => ` / ${n}`);
  let left = names.length;
  for (const k in fields) {
    if (!Object.hasOwn(fields, k)) continue;
    for (let i = 0; i < names.length; i++) {
      if (found[i] !== null || (k !== names[i] && !k.endsWith(suffixes[i]!))) continue;
      found[i] = fields[k]!.trim();
      left--;
    }
    if (left === 0) break;
  }
  return found;
}

/** Which VM uses each VF: a VM config naming it (a running VM first), else an unclaimed vGPU of nvidia-smi. */
function vmOfVf(f: Facts, vfs: VirtualFunction[], pf: string): Map<string, number> {
  const out = new Map<string, number>();
  const running = (vmid: number) => f.qmList?.some((q) => q.vmid === vmid && q.status === "running") ?? false;
  for (const vm of f.vms ?? []) {
    for (const h of [...vm.hostpci, ...vm.pendingHostpci]) {
      if (!h.address || !vfs.some((v) => v.address === h.address)) continue;
      const seen = out.get(h.address);
      if (seen === undefined || (!running(seen) && running(vm.vmid))) out.set(h.address, vm.vmid);
    }
  }
  // Running vGPUs nvidia-smi names (VM UUID = smbios1 uuid, or the config's name) on VFs no config names.
  const claimed = new Set(out.values());
  const smi = (f.vgpuQuery?.gpus ?? []).filter((g) => g.busId === pf).flatMap((g) => g.vgpus);
  const unplaced = smi
    .map((v) => ({ v, vmid: vmidOfActive(f.vms ?? [], v) }))
    .filter((x) => x.vmid !== null && !claimed.has(x.vmid));
  for (const vf of vfs) {
    if (out.has(vf.address) || !vf.currentType) continue;
    const same = unplaced.filter((x) => x.v.typeId === String(vf.currentType));
    if (same.length === 1) {
      out.set(vf.address, same[0]!.vmid!);
      unplaced.splice(unplaced.indexOf(same[0]!), 1);
    }
  }
  return out;
}

/** The VM a vGPU of `nvidia-smi vgpu -q` belongs to: VM UUID = smbios1 uuid, or VM Name = the config's name. */
export function vmidOfActive(vms: readonly VmConfig[], v: ActiveVgpu): number | null {
  const id = v.vmId?.toLowerCase() ?? null;
  const byUuid = id ? vms.find((vm) => vm.smbiosUuid === id) : undefined;
  if (byUuid) return byUuid.vmid;
  const name = v.vmName?.replace(/,debug-threads=on$/, "") ?? null;
  const byName = name ? vms.filter((vm) => vm.name === name) : [];
  return byName.length === 1 ? byName[0]!.vmid : null;
}

/** The SR-IOV view of a physical GPU; null when it has no virtual functions in the facts. */
export function sriovGpu(
  f: Facts,
  pf: { address: string; deviceId: string; subsystemDeviceId: string | null },
  mixed: MixedSizes | null,
): SriovGpu | null {
  const vfs = vfsOfGpu(f, pf.address);
  if (vfs.length === 0) return null;
  const mdevOn = (vf: string) => (f.mdevs ?? []).find((m) => m.parent === vf && m.active !== false);
  const carried = (vf: VirtualFunction): string | null =>
    vf.currentType ? `nvidia-${vf.currentType}` : (mdevOn(vf.address)?.type ?? null);
  const byConfig = vmOfVf(f, vfs, pf.address);
  // older branches: PVE's mdev on the VF carries the VMID in its UUID
  const vmOf = new Map(
    vfs.flatMap((v) => {
      const id = byConfig.get(v.address) ?? vmidFromMdevUuid(mdevOn(v.address)?.uuid ?? "")?.vmid;
      return id === undefined ? [] : [[v.address, id] as const];
    }),
  );
  const running = vfs
    .filter((v) => carried(v) !== null)
    .map((v) => ({ vf: v.address, type: carried(v)!, vmid: vmOf.get(v.address) ?? null }));
  const free = vfs.filter((v) => carried(v) === null);
  const types = offeredTypes(f, pf, vfs, free, running, mixed?.enabled === true);
  return {
    vfs: vfs.map((v) => ({ address: v.address, currentType: carried(v), vmid: vmOf.get(v.address) ?? null })),
    types,
    running,
  };
}

interface TypeFacts {
  name: string | null;
  framebufferMiB: number | null;
  maxInstances: number | null;
}

/** Name, size and per-GPU limit of a type: the VF's mdev description first, then the type table. */
function typeFacts(id: string, legacy: readonly MdevType[], listedName: string | null): TypeFacts {
  const m = legacy.find((t) => t.type === `nvidia-${id}`);
  const k = findType(`nvidia-${id}`);
  return {
    name: m?.name ?? listedName ?? k?.name ?? null,
    framebufferMiB: m?.framebufferMiB ?? k?.framebufferMiB ?? null,
    maxInstances: m?.maxInstances ?? k?.maxInstances ?? null,
  };
}

function offeredTypes(
  f: Facts,
  pf: { address: string; deviceId: string; subsystemDeviceId: string | null },
  vfs: VirtualFunction[],
  free: VirtualFunction[],
  running: SriovGpu["running"],
  mixedSizes: boolean,
): SriovType[] {
  const legacy = (f.mdevTypes ?? []).filter((t) => vfs.some((v) => v.address === t.parent));
  const order: string[] = [];
  const listedName = new Map<string, string>();
  const add = (id: string, name: string | null) => {
    if (!order.includes(id)) order.push(id);
    if (name && !listedName.has(id)) listedName.set(id, name);
  };
  for (const vf of vfs) for (const t of vf.creatable ?? []) add(t.id, t.name);
  for (const r of running) add(r.type.replace(/^nvidia-/, ""), null);
  if (running.length > 0 && order.length > 0) {
    // the free VFs' lists shrank with use: the board's other types stay offered, with 0 available
    // (boards sharing a device id — A2 / A16 25b6 — told apart by the name of a type seen here)
    const seen = order.map((id) => listedName.get(id) ?? findType(`nvidia-${id}`)?.name ?? "");
    const boards = new Set(seen.map((n) => n.replace(/-[^-]*$/, "")).filter((b) => b !== ""));
    for (const k of typesForBoard(pf.deviceId, pf.subsystemDeviceId))
      if (boards.has(k.name.replace(/-[^-]*$/, ""))) add(String(k.id), k.name);
  }
  const listsKnown = free.some((v) => v.creatable !== null);
  const sizeOf = (type: string) => typeFacts(type.replace(/^nvidia-/, ""), legacy, null).framebufferMiB;
  return order.map((id) => {
    const t = typeFacts(id, legacy, listedName.get(id) ?? null);
    const type = `nvidia-${id}`;
    const listing = free.filter((v) => v.creatable?.some((c) => c.id === id));
    const sameType = running.filter((r) => r.type === type).length;
    const sameSize = running.filter((r) => sizeOf(r.type) === t.framebufferMiB).length;
    const otherSize = running.some((r) => sizeOf(r.type) !== t.framebufferMiB);
    let available: number | null = listsKnown ? listing.length : free.length;
    if (!mixedSizes && otherSize) available = 0;
    if (t.maxInstances !== null && available !== null)
      available = Math.max(0, Math.min(available, t.maxInstances - (mixedSizes ? sameType : sameSize)));
    return {
      type,
      name: t.name,
      framebufferMiB: t.framebufferMiB,
      maxInstances: t.maxInstances,
      availableInstances: available,
      parent:
        listing[0]?.address ?? vfs.find((v) => v.creatable?.some((c) => c.id === id))?.address ?? pf.address,
      creatable: listing.length > 0 || (!listsKnown && free.length > 0),
    };
  });
}
