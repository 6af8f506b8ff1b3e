/**
 * Where a vGPU goes and whether it can: `vm attach` / `vm detach` decisions. Pure.
 *
 * Refused, with the reason, is whatever would make the VM fail at start (research/proxmox.md §1b,
 * §3; research/unlock.md §4): a vGPU the driver's sharing rule keeps off the GPU (model.ts sharingRule:
 * one type per GPU before driver 525, one framebuffer size from 525, any size in mixed-size mode), more
 * instances than the type allows (same-size vGPUs count together), more VRAM than the GPU
 * has once overrides are counted, `pcie=1` on a non-q35 VM ("q35 machine model is not enabled"),
 * a hostpci slot already in use or a VM that already has a vGPU, an mdev UUID that already exists,
 * an unknown VM, and an unknown type or one the GPU does not offer.
 *
 * SR-IOV GPUs (Ampere and newer): the vGPU goes on a free virtual function — `hostpciN: <VF>,mdev=nvidia-N`,
 * which qemu-server ≥ 8.2.5 turns into a write of the type id to the VF's nvidia/current_vgpu_type at VM
 * start (research/proxmox.md §1b). Refused: the physical function (it has no vGPU interface), a VF another
 * VM uses, a second framebuffer size while the GPU is in equal-size mode ("By default, a GPU supports only
 * vGPUs with the same amount of frame buffer", NVIDIA vGPU 17+ user guide; research/proxmox.md §3), and more
 * vGPUs than the type's per-GPU maximum, counting every VM configured on the GPU's VFs, running or not.
 */

import { mdevUuidFor } from "../facts/derive.ts";
import { normalisePciAddress } from "../facts/pci.ts";
import { withoutVendor } from "../knowledge/type-name.ts";
import { findType } from "../knowledge/vgpu-types.ts";
import { effectiveVramMiB } from "../knowledge/vram.ts";
import { sizeText } from "../report/units.ts";
import { UserError } from "../util/errors.ts";
import {
  canShareGpu,
  freeVf,
  isQ35,
  mappingGpu,
  type PlaceGpu,
  type PlacementModel,
  type PlaceType,
  type PlaceVm,
  sharingOf,
  typeMiB,
  usersOf,
} from "./model.ts";
import { gpuClaims, overcommitMessage, vramFit } from "./vram-fit.ts";

export const MAX_HOSTPCI = 16;

export type RefusalCode =
  | "unknown-vm"
  | "unknown-type"
  | "unknown-gpu"
  | "unknown-mapping"
  | "mapping-not-mdev"
  | "type-not-offered"
  | "mixed-types"
  | "no-instances"
  | "vram-overcommit"
  | "pcie-non-q35"
  | "slot-in-use"
  | "vm-has-vgpu"
  | "duplicate-mdev-uuid"
  | "no-vgpu"
  | "physical-function"
  | "vf-in-use"
  | "no-free-vf"
  | "mixed-sizes";

/** A refused attach/detach: a UserError that also says which rule refused it. */
export class PlacementRefusal extends UserError {
  constructor(
    readonly code: RefusalCode,
    message: string,
    hint?: string,
  ) {
    super(message, hint);
    this.name = "PlacementRefusal";
  }
}

export interface AttachRequest {
  vmid: number;
  /** "nvidia-259", "259", "GRID RTX6000-4Q" or "RTX6000-4Q" */
  type: string;
  /** GPU address; omitted = choose */
  gpu?: string;
  /** cluster resource mapping id (instead of a GPU) */
  mapping?: string;
  /** hostpci slot; omitted = the lowest free one */
  index?: number;
  /** requested VRAM (a [vm.N] override), MiB */
  vramMiB?: number;
  /** true = require pcie=1, false = never, undefined = pcie=1 exactly when the VM is q35 */
  pcie?: boolean;
}

export interface ResolvedType {
  type: string;
  name: string | null;
  maxResolution: string | null;
  numHeads: number | null;
  framebufferMiB: number | null;
}

export interface AttachPlan {
  vmid: number;
  index: number;
  /** "hostpci0" */
  key: string;
  /** "0000:01:00.0,mdev=nvidia-259,pcie=1" or "mapping=gpu,mdev=nvidia-259" */
  value: string;
  type: ResolvedType;
  gpu: string | null;
  mapping: string | null;
  pcie: boolean;
  /** the VM runs: the change is pending until its next start */
  pending: boolean;
  /** the mdev UUID PVE will create for it */
  uuid: string;
  /** VRAM the vGPU will take (after the requested override), MiB */
  vramMiB: number | null;
  /** why this GPU, and what was checked */
  notes: string[];
}

function sameName(a: string | null, b: string): boolean {
  if (!a) return false;
  const n = (s: string) => withoutVendor(s.trim().toLowerCase()).replace(/\s+/g, " ");
  return n(a) === n(b);
}

/** The canonical "nvidia-N" of what the user typed, from the host's offered types first, then knowledge. */
export function resolveType(model: PlacementModel, input: string): ResolvedType {
  const s = input.trim();
  const asId = /^(?:nvidia-)?([1-9]\d*)$/i.exec(s);
  const wanted = asId ? `nvidia-${asId[1]}` : null;
  for (const g of model.gpus) {
    const t = g.types.find((x) => (wanted ? x.type === wanted : sameName(x.name, s)));
    if (t) return fromPlaceType(t);
  }
  const k = findType(s);
  if (k) {
    return {
      type: k.type,
      name: k.name,
      maxResolution: k.maxResolution,
      numHeads: k.numHeads,
      framebufferMiB: k.framebufferMiB,
    };
  }
  const offered = [...new Set(model.gpus.flatMap((g) => g.types.map((t) => `${t.type} (${t.name ?? "?"})`)))];
  throw new PlacementRefusal(
    "unknown-type",
    `unknown vGPU type ${JSON.stringify(input)}: not offered by this host and not in the NVIDIA type table`,
    offered.length > 0
      ? `offered here: ${offered.slice(0, 8).join(", ")}${offered.length > 8 ? ", …" : ""}`
      : "give the mdev type as nvidia-N (see `mdevctl types` or `vgpuctl inspect`)",
  );
}

function fromPlaceType(t: PlaceType): ResolvedType {
  return {
    type: t.type,
    name: t.name,
    maxResolution: t.maxResolution,
    numHeads: t.numHeads,
    framebufferMiB: t.framebufferMiB,
  };
}

export function findVm(model: PlacementModel, vmid: number): PlaceVm {
  const vm = model.vms.find((v) => v.vmid === vmid);
  if (!vm) {
    const ids = model.vms.map((v) => v.vmid);
    throw new PlacementRefusal(
      "unknown-vm",
      `VM ${vmid} does not exist on ${model.host} (no /etc/pve/qemu-server/${vmid}.conf)`,
      ids.length > 0
        ? `VMs on this host: ${ids.join(", ")}`
        : "create the VM first (qm create or the web UI)",
    );
  }
  return vm;
}

function label(t: { type: string; name: string | null }): string {
  return t.name ? `${t.type} (${t.name})` : t.type;
}

function who(u: { vmid: number | null; uuid: string | null }): string {
  return u.vmid !== null ? `VM ${u.vmid}` : `mdev ${u.uuid}`;
}

/** Why this GPU cannot take one more vGPU of `type` for `vm`, or null when it can. */
export function gpuRefusal(
  model: PlacementModel,
  gpu: PlaceGpu,
  type: ResolvedType,
  vm: PlaceVm,
  vramMiB: number | null,
): PlacementRefusal | null {
  const offered = gpu.types.find((t) => t.type === type.type);
  if (!offered) {
    const list = gpu.types.map((t) => t.type);
    return new PlacementRefusal(
      "type-not-offered",
      gpu.types.length === 0
        ? `GPU ${gpu.address} offers no vGPU types (driver not loaded, unlock missing, or not a vGPU GPU)`
        : `GPU ${gpu.address} does not offer ${label(type)}`,
      gpu.types.length === 0
        ? "run `vgpuctl doctor` to see why no types are offered"
        : `it offers: ${list.slice(0, 10).join(", ")}${list.length > 10 ? ", …" : ""}`,
    );
  }
  const users = usersOf(model, gpu).filter((u) => u.vmid !== vm.vmid);
  const rule = gpu.vfs
    ? sriovRefusal(model, gpu, type, vm, users)
    : mdevTypeRefusal(gpu, type, vm, users, offered);
  if (rule) return rule;
  if (gpu.vramMiB !== null) {
    // the one overcommit rule (vram-fit.ts), as override set and doctor apply it
    // without --vram the VM's own [vm.N] / [profile.nvidia-N] override sizes it, as at its start
    const own = effectiveVramMiB(
      model.overrides,
      { vmid: vm.vmid, uuid: null, type: type.type },
      typeMiB(gpu, type.type),
      findType,
    );
    const mine = vramMiB ?? own.mib;
    if (mine === null) return null;
    const claims = gpuClaims(model, gpu, model.overrides, vm.vmid);
    const how = vramMiB === null && own.from ? `via ${own.from}` : null;
    const fit = vramFit(gpu.vramMiB, [
      ...claims,
      { vmid: vm.vmid, uuid: null, mib: mine, how, running: false },
    ]);
    if (!fit.fits)
      return new PlacementRefusal(
        "vram-overcommit",
        overcommitMessage(fit, `GPU ${gpu.address}`),
        "give VMs less VRAM (vgpuctl override set --vm VMID --vram 2G), or detach one",
      );
  }
  return null;
}

/**
 * Time-sliced mdev GPUs: what the driver lets share the GPU (model.ts sharingRule: one type before 525, one
 * framebuffer size from 525, any size in mixed-size mode), at most the type's instances — counting every
 * vGPU the type shares the GPU with (same-size types draw from one budget).
 */
function mdevTypeRefusal(
  gpu: PlaceGpu,
  type: ResolvedType,
  vm: PlaceVm,
  users: ReturnType<typeof usersOf>,
  offered: PlaceType,
): PlacementRefusal | null {
  const refusal = sharingRefusal(gpu, type, vm, users);
  if (refusal) return refusal;
  const same = countedUsers(gpu, type, users);
  const cap =
    offered.maxInstances ??
    (offered.availableInstances !== null
      ? offered.availableInstances + gpu.mdevs.filter((m) => m.type === type.type).length
      : null);
  return cap !== null && same.length + 1 > cap ? tooMany(gpu, type, cap, same) : null;
}

/** The vGPUs that refuse `type` next to them under the GPU's sharing rule, as a refusal (null = none). */
function sharingRefusal(
  gpu: PlaceGpu,
  type: ResolvedType,
  vm: PlaceVm,
  users: ReturnType<typeof usersOf>,
): PlacementRefusal | null {
  const rule = sharingOf(gpu);
  const mine = { type: type.type, framebufferMiB: typeMiB(gpu, type.type) };
  const other = users.filter(
    (u) => !canShareGpu(rule, mine, { type: u.type, framebufferMiB: typeMiB(gpu, u.type) }),
  );
  if (other.length === 0) return null;
  const kinds = [...new Set(other.map((u) => u.type))];
  if (rule === "one-type")
    return new PlacementRefusal(
      "mixed-types",
      `GPU ${gpu.address} already carries ${kinds.join(", ")} (${other.map(who).join(", ")}); before vGPU 15 (driver 525) the driver allows one type per physical GPU, so a ${type.type} would fail to start`,
      `use ${kinds[0]} for VM ${vm.vmid} too (its VRAM can differ through an override: --vram), or another GPU`,
    );
  const sizes = [...new Set(other.map((u) => `${sizeText(typeMiB(gpu, u.type))} ${u.type}`))].join(", ");
  return new PlacementRefusal(
    gpu.vfs ? "mixed-sizes" : "mixed-types",
    `GPU ${gpu.address} already carries ${sizes} vGPUs (${other.map(who).join(", ")}) and is not in mixed-size mode; a ${sizeText(mine.framebufferMiB)} ${label(type)} would fail to start`,
    gpu.mixedSizesSupported === false || !gpu.vfs
      ? `use a type of the same framebuffer size for VM ${vm.vmid}, or another GPU`
      : `use a type of the same framebuffer size or another GPU, or enable mixed-size mode (mixedSizes: true in vgpu.yaml; by hand: nvidia-smi vgpu -i <GPU index> -shm 1, lost at reboot)`,
  );
}

/** The vGPUs that count against `type`'s per-GPU maximum: those it shares the GPU with (one type in mixed-size mode). */
function countedUsers(gpu: PlaceGpu, type: ResolvedType, users: ReturnType<typeof usersOf>) {
  const rule = sharingOf(gpu);
  if (rule === "mixed-sizes") return users.filter((u) => u.type === type.type);
  const mine = { type: type.type, framebufferMiB: typeMiB(gpu, type.type) };
  return users.filter((u) => canShareGpu(rule, mine, { type: u.type, framebufferMiB: typeMiB(gpu, u.type) }));
}

function tooMany(
  gpu: PlaceGpu,
  type: ResolvedType,
  cap: number,
  same: ReturnType<typeof usersOf>,
): PlacementRefusal {
  return new PlacementRefusal(
    "no-instances",
    `GPU ${gpu.address} holds at most ${cap} × ${label(type)} and ${same.length} are already assigned (${same.map(who).join(", ")})`,
    "detach one (vgpuctl vm detach VMID), or use a smaller type or another GPU",
  );
}

/**
 * SR-IOV GPUs (research/proxmox.md §3): in equal-size mode every vGPU has the same framebuffer size;
 * the type's per-GPU maximum counts the vGPUs configured on the VFs (running or not: all start); one
 * free virtual function is needed.
 */
function sriovRefusal(
  model: PlacementModel,
  gpu: PlaceGpu,
  type: ResolvedType,
  vm: PlaceVm,
  users: ReturnType<typeof usersOf>,
): PlacementRefusal | null {
  const refusal = sharingRefusal(gpu, type, vm, users);
  if (refusal) return refusal;
  const offered = gpu.types.find((t) => t.type === type.type);
  const counted = countedUsers(gpu, type, users);
  if (offered?.maxInstances && counted.length + 1 > offered.maxInstances)
    return tooMany(gpu, type, offered.maxInstances, counted);
  if (!freeVf(model, gpu, vm.vmid, type.type)) {
    const n = gpu.vfs?.length ?? 0;
    return new PlacementRefusal(
      "no-free-vf",
      `all ${n} virtual functions of GPU ${gpu.address} carry a vGPU or are named by a VM config`,
      "detach a VM from this GPU (vgpuctl vm detach VMID), or use another GPU",
    );
  }
  return null;
}

function freeIndex(vm: PlaceVm): number | null {
  for (let i = 0; i < MAX_HOSTPCI; i++) if (!vm.hostpci.some((h) => h.index === i)) return i;
  return null;
}

/** The attach decision; throws PlacementRefusal with the reason when it would fail. */
export function planAttach(model: PlacementModel, req: AttachRequest): AttachPlan {
  const vm = findVm(model, req.vmid);
  const type = resolveType(model, req.type);
  const notes: string[] = [];

  const existing = vm.hostpci.find((h) => h.mdev !== null);
  if (existing) {
    throw new PlacementRefusal(
      "vm-has-vgpu",
      `VM ${vm.vmid} already has a vGPU: hostpci${existing.index}: ${existing.raw}${existing.pendingDelete ? " (removal pending until the VM restarts)" : existing.pending ? " (pending)" : ""}`,
      existing.pendingDelete
        ? `restart VM ${vm.vmid} so the pending removal takes effect, then attach`
        : `detach it first: vgpuctl vm detach ${vm.vmid} --index ${existing.index}`,
    );
  }
  let index: number;
  if (req.index !== undefined) {
    if (!Number.isInteger(req.index) || req.index < 0 || req.index >= MAX_HOSTPCI)
      throw new UserError(`--index must be 0…${MAX_HOSTPCI - 1}, got ${req.index}`);
    const used = vm.hostpci.find((h) => h.index === req.index);
    if (used) {
      throw new PlacementRefusal(
        "slot-in-use",
        `hostpci${req.index} of VM ${vm.vmid} is in use: ${used.raw}`,
        `leave out --index to take the lowest free slot${freeIndex(vm) !== null ? ` (hostpci${freeIndex(vm)})` : ""}`,
      );
    }
    index = req.index;
  } else {
    const free = freeIndex(vm);
    if (free === null)
      throw new PlacementRefusal(
        "slot-in-use",
        `VM ${vm.vmid} uses all ${MAX_HOSTPCI} hostpci slots`,
        "remove a PCI device first",
      );
    index = free;
  }

  const q35 = isQ35(vm.machine);
  if (req.pcie === true && !q35) {
    throw new PlacementRefusal(
      "pcie-non-q35",
      `pcie=1 needs a q35 machine, but VM ${vm.vmid} is ${vm.machine ?? "i440fx (the default)"}; Proxmox VE would refuse to start it ("q35 machine model is not enabled")`,
      `leave out --pcie, or switch the VM to q35 first (qm set ${vm.vmid} --machine q35; the guest sees new hardware)`,
    );
  }
  const pcie = req.pcie ?? q35;

  const uuid = mdevUuidFor(vm.vmid, index);
  const clash = model.gpus.flatMap((g) => g.mdevs).find((m) => m.uuid === uuid) ?? null;
  const argsClash = model.vms.find((v) => v.vmid !== vm.vmid && v.args?.toLowerCase().includes(uuid));
  if (clash || argsClash) {
    throw new PlacementRefusal(
      "duplicate-mdev-uuid",
      `mdev ${uuid} (the UUID Proxmox VE gives hostpci${index} of VM ${vm.vmid}) ${clash ? "already exists" : `is used by VM ${argsClash!.vmid} (args)`}; a second one with the same UUID cannot be created`,
      clash
        ? `remove the stray mdev (mdevctl stop -u ${uuid}; mdevctl undefine -u ${uuid}) or use another slot (--index)`
        : `use another slot (--index) or fix the args: line of VM ${argsClash!.vmid}`,
    );
  }

  const tail = `mdev=${type.type}${pcie ? ",pcie=1" : ""}`;
  let gpuAddr: string | null = null;
  let value: string;
  let vramMiB: number | null = req.vramMiB ?? type.framebufferMiB;
  if (req.mapping !== undefined) {
    if (req.gpu !== undefined) throw new UserError("give either --gpu or --mapping, not both");
    checkMapping(model, req.mapping);
    // a mapping of one SR-IOV GPU's VFs: that GPU's type, size and instance rules apply
    const pooled = mappingGpu(model, req.mapping);
    const why = pooled ? gpuRefusal(model, pooled, type, vm, req.vramMiB ?? null) : null;
    if (why) throw why;
    value = `mapping=${req.mapping},${tail}`;
    notes.push(
      `mapping ${req.mapping}: Proxmox VE creates the ${type.type} on the first mapped device with a free instance at VM start`,
    );
  } else {
    const gpu = chooseGpu(model, vm, type, req, notes);
    gpuAddr = gpu.address;
    vramMiB = req.vramMiB ?? typeMiB(gpu, type.type);
    const target = gpu.vfs ? vfFor(model, gpu, vm, type, req.gpu, notes) : gpu.address;
    value = `${target},${tail}`;
  }
  if (pcie) notes.push(`pcie=1: VM ${vm.vmid} is q35`);
  if (vm.running)
    notes.push(`VM ${vm.vmid} is running: the change is pending and takes effect at its next start`);
  return {
    vmid: vm.vmid,
    index,
    key: `hostpci${index}`,
    value,
    type,
    gpu: gpuAddr,
    mapping: req.mapping ?? null,
    pcie,
    pending: vm.running === true,
    uuid,
    vramMiB,
    notes,
  };
}

function checkMapping(model: PlacementModel, id: string): void {
  if (model.mappings === null) return;
  const m = model.mappings.find((x) => x.id === id);
  if (!m) {
    throw new PlacementRefusal(
      "unknown-mapping",
      `there is no PCI resource mapping ${JSON.stringify(id)} (/etc/pve/mapping/pci.cfg)`,
      model.mappings.length > 0
        ? `mappings: ${model.mappings.map((x) => x.id).join(", ")}`
        : "create one under Datacenter → Resource Mappings → PCI with “Use with Mediated Devices”",
    );
  }
  if (!m.mdev) {
    throw new PlacementRefusal(
      "mapping-not-mdev",
      `PCI mapping ${id} is not marked for mediated devices (mdev=1), so Proxmox VE refuses an mdev type on it`,
      "tick “Use with Mediated Devices” on the mapping (Datacenter → Resource Mappings)",
    );
  }
}

function chooseGpu(
  model: PlacementModel,
  vm: PlaceVm,
  type: ResolvedType,
  req: AttachRequest,
  notes: string[],
): PlaceGpu {
  if (req.gpu !== undefined) {
    const full = normalisePciAddress(req.gpu) ?? req.gpu;
    const gpu = model.gpus.find((g) => g.address === full || g.parents.includes(full));
    if (!gpu) {
      throw new PlacementRefusal(
        "unknown-gpu",
        `${req.gpu} is not an NVIDIA GPU on ${model.host}`,
        model.gpus.length > 0
          ? `GPUs: ${model.gpus.map((g) => g.address).join(", ")}`
          : "no NVIDIA GPU was found",
      );
    }
    if (gpu.vfs && full === gpu.address) throw physicalFunction(gpu);
    const why = gpuRefusal(model, gpu, type, vm, req.vramMiB ?? null);
    if (why) throw why;
    notes.push(`GPU ${gpu.address} (as asked)`);
    return gpu;
  }
  const offering = model.gpus.filter((g) => g.types.some((t) => t.type === type.type));
  if (offering.length === 0) {
    const all = model.gpus.flatMap((g) => g.types.map((t) => t.type));
    throw new PlacementRefusal(
      "type-not-offered",
      model.gpus.length === 0
        ? `no NVIDIA GPU on ${model.host} offers vGPU types`
        : `no GPU on ${model.host} offers ${label(type)}`,
      all.length > 0
        ? `offered: ${[...new Set(all)].slice(0, 10).join(", ")}`
        : "run `vgpuctl doctor` to see why no types are offered",
    );
  }
  // Keep GPUs uniform (model.ts sharingRule): a GPU already carrying vGPUs this type may join first,
  // then an empty one; among equals the one with the most room left, so the most VMs fit.
  const ranked = offering
    .map((g) => {
      const users = usersOf(model, g).filter((u) => u.vmid !== vm.vmid);
      const mine = { type: type.type, framebufferMiB: typeMiB(g, type.type) };
      const joins = (u: { type: string }) =>
        canShareGpu(sharingOf(g), mine, { type: u.type, framebufferMiB: typeMiB(g, u.type) });
      const carries = users.length > 0 && users.every(joins);
      const empty = users.length === 0;
      return { g, rank: carries ? 0 : empty ? 1 : 2, room: roomFor(model, g, type) };
    })
    .sort((a, b) => a.rank - b.rank || b.room - a.room);
  let first: PlacementRefusal | null = null;
  for (const c of ranked) {
    const why = gpuRefusal(model, c.g, type, vm, req.vramMiB ?? null);
    if (!why) {
      notes.push(
        c.rank === 0
          ? `GPU ${c.g.address}: already carries ${type.type} or a type it may run beside`
          : `GPU ${c.g.address}: no vGPU yet and offers ${type.type}`,
      );
      return c.g;
    }
    first ??= why;
  }
  throw first!;
}

/** Naming the physical function of an SR-IOV GPU where a virtual function is needed. */
function physicalFunction(gpu: PlaceGpu): PlacementRefusal {
  const vfs = gpu.vfs ?? [];
  const example = vfs.find((v) => v.currentType === null && v.vmid === null)?.address ?? vfs[0]?.address;
  return new PlacementRefusal(
    "physical-function",
    `${gpu.address} is the physical function of an SR-IOV GPU; its vGPUs live on its ${vfs.length} virtual functions, so Proxmox VE cannot start a vGPU on it`,
    `leave out --gpu to let vgpuctl pick a free virtual function${example ? `, or name one (e.g. --gpu ${example})` : ""}`,
  );
}

/**
 * The virtual function the hostpci entry names: the one given by hand (it must be free), else a free
 * one (model.ts freeVf).
 */
function vfFor(
  model: PlacementModel,
  gpu: PlaceGpu,
  vm: PlaceVm,
  type: ResolvedType,
  asked: string | undefined,
  notes: string[],
): string {
  const want = asked !== undefined ? (normalisePciAddress(asked) ?? asked) : null;
  const vf = want ? gpu.vfs?.find((v) => v.address === want) : undefined;
  if (vf) {
    const holder =
      vf.vmid ??
      model.vms.find((v) => v.vmid !== vm.vmid && v.hostpci.some((h) => h.address === vf.address))?.vmid;
    if ((holder !== undefined && holder !== null && holder !== vm.vmid) || vf.currentType !== null) {
      throw new PlacementRefusal(
        "vf-in-use",
        `virtual function ${vf.address} of GPU ${gpu.address} is in use${holder ? ` by VM ${holder}` : ""}${vf.currentType ? ` (carries ${vf.currentType})` : ""}`,
        `leave out --gpu to let vgpuctl pick a free one, or name a free virtual function of ${gpu.address}`,
      );
    }
    notes.push(`virtual function ${vf.address} (as asked)`);
    return vf.address;
  }
  const free = freeVf(model, gpu, vm.vmid, type.type);
  if (!free) throw new PlacementRefusal("no-free-vf", `GPU ${gpu.address} has no free virtual function`);
  notes.push(`virtual function ${free.address}: free (no vGPU, no VM config names it)`);
  return free.address;
}

function roomFor(model: PlacementModel, gpu: PlaceGpu, type: ResolvedType): number {
  const t = gpu.types.find((x) => x.type === type.type);
  const used = usersOf(model, gpu).filter((u) => u.type === type.type).length;
  const byCount = t?.maxInstances !== null && t?.maxInstances !== undefined ? t.maxInstances - used : 99;
  const size = typeMiB(gpu, type.type);
  const byVram = gpu.vramMiB !== null && size ? Math.floor(gpu.vramMiB / size) - used : 99;
  return Math.min(byCount, byVram);
}

export interface DetachPlan {
  vmid: number;
  /** hostpci keys to delete, e.g. ["hostpci0"] */
  keys: string[];
  pending: boolean;
  removed: Array<{ index: number; raw: string }>;
}

/** Which hostpci entries `vm detach` removes; refuses when there is no vGPU to remove. */
export function planDetach(model: PlacementModel, vmid: number, index?: number): DetachPlan {
  const vm = findVm(model, vmid);
  const vgpus = vm.hostpci.filter((h) => h.mdev !== null && !h.pendingDelete);
  let chosen = vgpus;
  if (index !== undefined) {
    const h = vm.hostpci.find((x) => x.index === index);
    if (!h) {
      throw new PlacementRefusal(
        "no-vgpu",
        `VM ${vmid} has no hostpci${index}`,
        vgpus.length > 0 ? `its vGPUs: ${vgpus.map((v) => `hostpci${v.index}`).join(", ")}` : undefined,
      );
    }
    if (h.pendingDelete) {
      throw new PlacementRefusal(
        "no-vgpu",
        `hostpci${index} of VM ${vmid} is already removed as a pending change; it goes at the VM's next start`,
        `restart VM ${vmid} (qm reboot ${vmid}) to apply it`,
      );
    }
    if (h.mdev === null) {
      throw new PlacementRefusal(
        "no-vgpu",
        `hostpci${index} of VM ${vmid} is not a vGPU (${h.raw}); vgpuctl only detaches vGPUs`,
        `remove a passthrough device with qm set ${vmid} --delete hostpci${index}`,
      );
    }
    chosen = [h];
  }
  if (chosen.length === 0) {
    const going = vm.hostpci.filter((h) => h.mdev !== null && h.pendingDelete);
    throw new PlacementRefusal(
      "no-vgpu",
      going.length > 0
        ? `VM ${vmid} has no vGPU to detach: ${going.map((h) => `hostpci${h.index}`).join(", ")} already removed as a pending change (applied at the VM's next start)`
        : `VM ${vmid} has no vGPU to detach`,
      going.length > 0 ? `restart VM ${vmid} (qm reboot ${vmid}) to apply it` : undefined,
    );
  }
  return {
    vmid,
    keys: chosen.map((h) => `hostpci${h.index}`),
    pending: vm.running === true,
    removed: chosen.map((h) => ({ index: h.index, raw: h.raw })),
  };
}
