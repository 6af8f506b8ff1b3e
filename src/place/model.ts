/**
 * The placement model: what `vm attach`, `vm detach`, `vm list` and `profile suggest` reason about —
 * GPUs with the vGPU types they offer and who uses them, VMs with their hostpci entries, and the
 * profile_override.toml sections that change how much VRAM each vGPU takes. Pure: built from the
 * inspect report and facts, no I/O.
 */

import { deriveDriver, mdevUuidFor } from "../facts/derive.ts";
import { pciAddressCovers } from "../facts/pci.ts";
import type { Facts, HostpciEntry, OverrideSection, PciMapping } from "../facts/types.ts";
import { findType, type Series, seriesOf } from "../knowledge/vgpu-types.ts";
import type { InspectReport } from "../report/inspect-report.ts";

export interface PlaceType {
  /** "nvidia-259" */
  type: string;
  /** "GRID RTX6000-4Q" */
  name: string | null;
  series: Series | null;
  /** VRAM one instance takes (profile size), MiB */
  framebufferMiB: number | null;
  maxInstances: number | null;
  availableInstances: number | null;
  /** "7680x4320" */
  maxResolution: string | null;
  numHeads: number | null;
  /** true when the host offers it; false when it only comes from the knowledge table */
  offered: boolean;
}

export interface PlaceMdev {
  uuid: string;
  type: string | null;
  vmid: number | null;
}

export interface PlaceGpu {
  address: string;
  name: string;
  /**
   * VRAM the vGPUs of this GPU can share, MiB (null = unknown): nvidia-smi's total, or — on boards
   * with native vGPU support, where nvidia-smi reports a little less than the nominal size the
   * profiles divide (Tesla P4: 7680 MiB, yet 1 × P4-8Q or 2 × P4-4Q) — the driver's own budget.
   * See vgpuBudgetMiB.
   */
  vramMiB: number | null;
  /** functions offering the types (the GPU itself, or its SR-IOV virtual functions) */
  parents: string[];
  types: PlaceType[];
  /** mdevs that exist now (running VMs, or created by hand); on SR-IOV GPUs the vGPUs VFs carry (uuid = the VF) */
  mdevs: PlaceMdev[];
  /**
   * SR-IOV GPUs: the virtual functions, where the vGPUs go (never `address`, the physical function);
   * `creatable` = the "nvidia-N" types the VF lists as creatable now (null = unknown). Absent on mdev GPUs.
   */
  vfs?: PlaceVf[];
  /** SR-IOV: mixed-size mode is on (vGPUs of different framebuffer sizes may share the GPU) */
  mixedSizes?: boolean;
  /** SR-IOV: the driver supports mixed-size mode (null = unknown) */
  mixedSizesSupported?: boolean | null;
  /** which vGPUs may share this GPU (absent: one size on SR-IOV GPUs, one type on others — see sharingOf) */
  sharing?: SharingRule;
}

/**
 * Which time-sliced vGPUs may share one physical GPU — the driver's availability rule, one implementation
 * for `vm attach`, doctor's mixed-types, split/suggest and the vms: planner:
 * - "one-type" — before vGPU 15 (driver < 525): "When a vGPU is created, the content of the
 *   available_instances for all other vGPU types on the physical GPU is set to 0. This behavior enforces
 *   the requirement that all vGPUs on a physical GPU must be of the same type." (NVIDIA vGPU 8 user guide,
 *   sysfs section; research/proxmox.md §3 era 1).
 * - "one-size" — vGPU 15+ (driver ≥ 525, `nvidia-smi -q`: "Heterogeneous Time-Slice Profiles : Supported";
 *   NVML NVML_DEVICE_VGPU_CAP_HETEROGENEOUS_TIMESLICE_PROFILES "concurrent execution of timesliced vGPU
 *   profiles of differing types", docs.nvidia.com/deploy/nvml-api/group__nvmlVirtualGpuEnums.html): types of
 *   one framebuffer size mix (2B with 2Q); by default "a GPU operates in equal-size mode, where all vGPUs on
 *   the GPU must have the same amount of frame buffer" (NVIDIA vGPU deployment guide, vgpu-profile.html;
 *   research/proxmox.md §3 era 2; real hosts list 2B and 2Q both still available after one 2 GiB vGPU).
 * - "mixed-sizes" — vGPU 17+ with mixed-size mode on (`vGPU Heterogeneous Mode : Enabled`): sizes mix
 *   within the framebuffer (research/proxmox.md §3 era 3).
 */
export type SharingRule = "one-type" | "one-size" | "mixed-sizes";

/** The rule from the driver branch and the GPU's mode (unknown branch: `fallback`). */
export function sharingRule(input: {
  driverVersion: string | null;
  /** "Heterogeneous Time-Slice Profiles" of `nvidia-smi -q` (null = not shown) */
  heterogeneousProfiles?: string | null;
  mixedSizes: boolean;
  fallback: SharingRule;
}): SharingRule {
  if (input.mixedSizes) return "mixed-sizes";
  const hp = input.heterogeneousProfiles?.trim();
  if (hp) return /^supported$/i.test(hp) ? "one-size" : "one-type";
  const major = input.driverVersion ? Number.parseInt(input.driverVersion, 10) : Number.NaN;
  if (Number.isNaN(major)) return input.fallback;
  return major >= 525 ? "one-size" : "one-type";
}

/** The rule for one GPU of a host, decided from its facts (mixed-size mode, capability, driver branch). */
export function sharingRuleOf(f: Facts, address: string, sriov: boolean): SharingRule {
  const q = f.nvidiaSmiQuery?.gpus.find((g) => g.busId === address);
  // a field of this name, alone or as the last part of a section path ("… / vGPU Heterogeneous Mode")
  const field = (name: string) =>
    q ? (Object.entries(q.fields).find(([k]) => k === name || k.endsWith(` / ${name}`))?.[1] ?? null) : null;
  return sharingRule({
    driverVersion: deriveDriver(f)?.version ?? null,
    heterogeneousProfiles: field("Heterogeneous Time-Slice Profiles"),
    mixedSizes: /^\s*enabled\s*$/i.test(field("vGPU Heterogeneous Mode") ?? ""),
    fallback: sriov ? "one-size" : "one-type",
  });
}

/** The rule a GPU of the model follows. */
export function sharingOf(gpu: PlaceGpu): SharingRule {
  if (gpu.mixedSizes) return "mixed-sizes";
  return gpu.sharing ?? (gpu.vfs ? "one-size" : "one-type");
}

/**
 * What vGPUs must have in common to share a GPU under `rule`: the type ("one-type"), the framebuffer size
 * ("one-size"; the type when the size is unknown), nothing ("mixed-sizes": null).
 */
export function sharingKey(rule: SharingRule, type: string, framebufferMiB: number | null): string | null {
  if (rule === "mixed-sizes") return null;
  if (rule === "one-size" && framebufferMiB !== null) return `${framebufferMiB} MiB`;
  return type;
}

/** Can a vGPU of type `a` run on a GPU next to one of type `b`? */
export function canShareGpu(
  rule: SharingRule,
  a: { type: string; framebufferMiB: number | null },
  b: { type: string; framebufferMiB: number | null },
): boolean {
  return sharingKey(rule, a.type, a.framebufferMiB) === sharingKey(rule, b.type, b.framebufferMiB);
}

export interface PlaceVf {
  address: string;
  /** "nvidia-N" it carries now (a running VM), null = free or unknown */
  currentType: string | null;
  vmid: number | null;
  creatable: string[] | null;
}

export interface PlaceHostpci {
  index: number;
  raw: string;
  mdev: string | null;
  address: string | null;
  mapping: string | null;
  pcie: boolean;
  /** only in the [PENDING] section (applied at the next VM start) */
  pending: boolean;
  /** listed in the [PENDING] section's `delete:` (removed at the next VM start) */
  pendingDelete?: boolean;
}

export interface PlaceVm {
  vmid: number;
  name: string | null;
  ostype: string | null;
  machine: string | null;
  running: boolean | null;
  args: string | null;
  /** current config with pending entries laid over it (pending wins for the same index) */
  hostpci: PlaceHostpci[];
}

export interface PlacementModel {
  host: string;
  /** the Proxmox VE node name (uname), which resource mappings name; absent = `host` */
  node?: string;
  gpus: PlaceGpu[];
  vms: PlaceVm[];
  overrides: OverrideSection[];
  /** null = /etc/pve/mapping/pci.cfg unknown */
  mappings: PciMapping[] | null;
}

/** Build the model from an inspect report and the facts it was built from. */
export function buildPlacementModel(report: InspectReport, facts: Facts): PlacementModel {
  const gpus: PlaceGpu[] = report.gpus.map((g) => {
    const parents = [...new Set([g.address, ...g.mdevTypes.map((t) => t.parent)])];
    const types: PlaceType[] = g.mdevTypes.map((t) => {
      const raw = (facts.mdevTypes ?? []).find((m) => m.type === t.type && m.parent === t.parent);
      const known = findType(t.type);
      const name = t.name ?? known?.name ?? null;
      return {
        type: t.type,
        name,
        series: name ? seriesOf(name) : null,
        framebufferMiB: t.framebufferMiB,
        maxInstances: t.maxInstances,
        availableInstances: t.availableInstances,
        maxResolution: raw?.maxResolution ?? known?.maxResolution ?? null,
        numHeads: raw?.numHeads ?? known?.numHeads ?? null,
        offered: true,
      };
    });
    const gpu: PlaceGpu = {
      address: g.address,
      name: g.name,
      vramMiB: vgpuBudgetMiB(g.vramMiB, types),
      parents,
      types,
      mdevs: g.vgpus.map((v) => ({ uuid: v.uuid, type: v.type, vmid: v.vmid })),
      sharing: sharingRuleOf(facts, g.address, Boolean(g.vfs && g.vfs.length > 0)),
    };
    if (g.vfs && g.vfs.length > 0) {
      const listed = new Map((facts.virtualFunctions ?? []).map((v) => [v.address, v.creatable]));
      gpu.vfs = g.vfs.map((v) => ({
        ...v,
        creatable: listed.get(v.address)?.map((c) => `nvidia-${c.id}`) ?? null,
      }));
      gpu.parents = [...new Set([...parents, ...g.vfs.map((v) => v.address)])];
      gpu.mixedSizes = g.mixedSizes?.enabled === true;
      gpu.mixedSizesSupported = g.mixedSizes?.supported ?? null;
    }
    return gpu;
  });
  const running = new Map(report.vms.map((v) => [v.vmid, v.running]));
  const vms: PlaceVm[] = (facts.vms ?? []).map((vm) => ({
    vmid: vm.vmid,
    name: vm.name,
    ostype: vm.ostype,
    machine: vm.machine,
    running: running.get(vm.vmid) ?? null,
    args: vm.args,
    hostpci: mergeHostpci(vm.hostpci, vm.pendingHostpci),
  }));
  const po = facts.profileOverride;
  return {
    host: report.host,
    node: facts.uname?.nodename ?? report.host,
    gpus,
    vms,
    overrides: po?.present ? po.sections : [],
    mappings: facts.pciMappings,
  };
}

/**
 * The VRAM the vGPU manager can hand out on a GPU, MiB. The driver's budget is the largest
 * profile size × max_instance of the types it offers (P4: 8 × 1024 MiB = 1 × 8192 MiB). nvidia-smi
 * reports the usable memory, a few percent below the nominal size (ECC, driver reservation: P4
 * 7680 MiB, T4 15360 MiB, A40 46068 MiB), so a budget up to 12.5 % above it is the real limit. A
 * budget far above it is a spoofed card (vgpu_unlock presents a 2080 Ti's 11264 MiB as an RTX 6000
 * with max_instance=24 of 1Q — seed guide lines 308-319): there the physical VRAM is the limit.
 */
export function vgpuBudgetMiB(
  physicalMiB: number | null,
  types: ReadonlyArray<Pick<PlaceType, "framebufferMiB" | "maxInstances">>,
): number | null {
  if (physicalMiB === null) return null;
  let budget = 0;
  for (const t of types) {
    if (t.framebufferMiB && t.maxInstances) budget = Math.max(budget, t.framebufferMiB * t.maxInstances);
  }
  return budget > physicalMiB && budget <= physicalMiB * 1.125 ? budget : physicalMiB;
}

export function mergeHostpci(current: HostpciEntry[], pending: HostpciEntry[]): PlaceHostpci[] {
  const out = new Map<number, PlaceHostpci>();
  const conv = (h: HostpciEntry, p: boolean): PlaceHostpci => ({
    index: h.index,
    raw: h.raw,
    mdev: h.mdev,
    address: h.address,
    mapping: h.mapping,
    pcie: h.pcie,
    pending: p,
  });
  for (const h of current) out.set(h.index, conv(h, false));
  for (const h of pending) out.set(h.index, conv(h, true));
  return [...out.values()].sort((a, b) => a.index - b.index);
}

/**
 * Keys a VM config's [PENDING] section deletes at the next start (`delete: hostpci0,!net1`; `!` =
 * force). Pure; [] for anything else.
 */
export function pendingDeletes(confText: string): string[] {
  let inPending = false;
  const out: string[] = [];
  for (const line of confText.split(/\r?\n/)) {
    const head = /^\s*\[([^\]]*)\]\s*$/.exec(line);
    if (head) {
      inPending = head[1]!.trim().toUpperCase() === "PENDING";
      continue;
    }
    const m = inPending ? /^delete:\s*(.*)$/.exec(line.trim()) : null;
    if (!m) continue;
    for (const k of m[1]!.split(/[,;\s]+/)) {
      const key = k.replace(/^!/, "").trim();
      if (key) out.push(key);
    }
  }
  return out;
}

/** Mark the hostpci entries a pending `delete:` removes at the next VM start. */
export function markPendingDeletes(vm: PlaceVm, deleted: readonly string[]): void {
  for (const h of vm.hostpci) if (deleted.includes(`hostpci${h.index}`)) h.pendingDelete = true;
}

/** q35 machines ("q35", "pc-q35-8.1", "pc-q35-7.2+pve0"); PVE's default (no `machine:`) is i440fx. */
export function isQ35(machine: string | null): boolean {
  if (!machine) return false;
  const type = machine.split(",")[0]!.replace(/^type=/, "");
  return /(^|-)q35(-|$)/.test(type);
}

/** Does a hostpci address ("0000:01:00.0", or "0000:01:00" = all functions) point at this GPU? */
export function addressOnGpu(address: string | null, gpu: PlaceGpu): boolean {
  return gpu.parents.some((p) => pciAddressCovers(address, p));
}

/** Someone who takes (or will take, at VM start) a vGPU on a GPU. */
export interface GpuUser {
  /** null = an mdev no VM config refers to (created by hand) */
  vmid: number | null;
  index: number | null;
  type: string;
  uuid: string | null;
  pending: boolean;
  /** the hostpci address (a VF on SR-IOV GPUs), null for mdevs no config explains */
  address: string | null;
}

/**
 * Every configured vGPU on the GPU (running or not) plus existing mdevs no VM config explains. On an
 * SR-IOV GPU only hostpci entries naming one of its VFs count (one naming the physical function never
 * gets a vGPU — doctor's vm-uses-physical-function), and a vGPU a VF carries counts once.
 */
export function usersOf(model: PlacementModel, gpu: PlaceGpu): GpuUser[] {
  const users: GpuUser[] = [];
  const onGpu = (h: PlaceHostpci) =>
    h.mapping
      ? gpu.vfs !== undefined && mappingGpu(model, h.mapping) === gpu
      : gpu.vfs
        ? gpu.vfs.some((v) => pciAddressCovers(h.address, v.address))
        : addressOnGpu(h.address, gpu);
  for (const vm of model.vms) {
    for (const h of vm.hostpci) {
      if (!h.mdev || !onGpu(h)) continue;
      users.push({
        vmid: vm.vmid,
        index: h.index,
        type: h.mdev,
        uuid: mdevUuidFor(vm.vmid, h.index),
        pending: h.pending,
        address: h.address,
      });
    }
  }
  for (const m of gpu.mdevs) {
    if (!m.type) continue;
    // on an SR-IOV GPU the running vGPU of a VM whose config names its VF (or a mapping of them)
    const sameVf = (u: GpuUser) => u.vmid === m.vmid && (u.address === m.uuid || u.address === null);
    if (users.some((u) => u.uuid === m.uuid || (gpu.vfs && sameVf(u)))) continue;
    if (m.vmid !== null && model.vms.some((v) => v.vmid === m.vmid && v.running)) {
      // a running VM whose config changed since it started still holds its old vGPU
      users.push({ vmid: m.vmid, index: null, type: m.type, uuid: m.uuid, pending: false, address: null });
      continue;
    }
    users.push({ vmid: null, index: null, type: m.type, uuid: m.uuid, pending: false, address: null });
  }
  return users;
}

/**
 * The SR-IOV GPU a PCI resource mapping pools: the one whose virtual functions hold every device the
 * mapping lists for this node (`/etc/pve/mapping/pci.cfg`, research/proxmox.md §1c); null when the
 * mapping is unknown, spans GPUs, or names something else.
 */
export function mappingGpu(model: PlacementModel, id: string): PlaceGpu | null {
  const m = model.mappings?.find((x) => x.id === id);
  if (!m) return null;
  const here = m.entries.filter((e) => e.node === (model.node ?? model.host) && e.path);
  const paths = (here.length > 0 ? here : m.entries.filter((e) => e.path)).map((e) => e.path!);
  if (paths.length === 0) return null;
  const gpus = model.gpus.filter((g) => g.vfs?.some((v) => paths.includes(v.address)));
  return gpus.length === 1 && paths.every((p) => gpus[0]!.vfs!.some((v) => v.address === p))
    ? gpus[0]!
    : null;
}

/**
 * A virtual function of an SR-IOV GPU that can take a vGPU of `type` for `vm`: carries nothing now and
 * no other VM's config names it; the VM's own VF first (re-attach), then one that lists the type as
 * creatable, then any free one; a VF with function ≠ 0 before one with function 0. null when none.
 */
export function freeVf(model: PlacementModel, gpu: PlaceGpu, vmid: number, type: string): PlaceVf | null {
  const vfs = gpu.vfs ?? [];
  const named = new Map<string, number>();
  for (const v of model.vms)
    for (const h of v.hostpci) if (h.address && !h.pendingDelete) named.set(h.address, v.vmid);
  const mine = vfs.find((v) => named.get(v.address) === vmid && v.currentType === null);
  if (mine) return mine;
  const free = vfs.filter((v) => !named.has(v.address) && v.currentType === null && v.vmid === null);
  const rank = (v: PlaceVf) => (v.creatable?.includes(type) ? 0 : 2) + (v.address.endsWith(".0") ? 1 : 0);
  return [...free].sort((a, b) => rank(a) - rank(b) || a.address.localeCompare(b.address))[0] ?? null;
}

/** The profile size of a type on a GPU (offered description first, then the knowledge table). */
export function typeMiB(gpu: PlaceGpu | null, type: string): number | null {
  const offered = gpu?.types.find((t) => t.type === type);
  return offered?.framebufferMiB ?? findType(type)?.framebufferMiB ?? null;
}
