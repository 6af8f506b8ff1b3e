/**
 * The DESIGN.md `inspect --json` report, built from a host's Facts and the knowledge base.
 * Pure: the inspect command, the planner, placement and the dashboard all read the same report.
 */
import {
  deriveBootloader,
  deriveDriver,
  deriveIommu,
  deriveUnlock,
  mdevUuidFor,
  pciProductName,
  vmidFromMdevUuid,
} from "../facts/derive.ts";
import { type DriverConflict, type DriverKind, driverSummary } from "../facts/driver-evidence.ts";
import { type GpuIdentity, gpuIdentities, identifiedGpuFunctions, typesBoard } from "../facts/identity.ts";
import type { Facts, MdevType, PciFunction } from "../facts/types.ts";
import { releaseForDriverVersion } from "../knowledge/drivers.ts";
import { classDeviceIdForName, classifyGpu, deviceIdForName } from "../knowledge/gpus.ts";
import { findType } from "../knowledge/vgpu-types.ts";
import { effectiveVramMiB, type VgpuRef } from "../knowledge/vram.ts";
import { type MixedSizes, mixedSizesOf, type SriovVf, sriovGpu, vmidOfActive } from "./sriov.ts";
import { byTypeId } from "./units.ts";

/**
 * VRAM one vGPU takes after profile_override.toml (knowledge/vram.ts effectiveVramMiB), MiB, and the
 * table(s) that set it ("[vm.100]"; null = the type's own size). Extra fields of the inspect report.
 */
export interface InspectVram {
  vramMiB?: number | null;
  vramFrom?: string | null;
}

/** One vGPU type a GPU offers (DESIGN.md `mdevTypes[]`). */
export interface InspectType {
  type: string;
  name: string | null;
  framebufferMiB: number | null;
  maxInstances: number | null;
  availableInstances: number | null;
  /** the function offering it (differs from `address` for SR-IOV virtual functions) */
  parent: string;
  /** SR-IOV only: false when no free VF can create it now (listed from running vGPUs or the type table) */
  creatable?: boolean;
}

export interface InspectGpu {
  address: string;
  vendorId: string;
  /** null when unknown (no lspci, no nvidia-smi -q Device Id, no vgpud line) */
  deviceId: string | null;
  subsystemId: string | null;
  name: string;
  generation: string | null;
  vramMiB: number | null;
  driverInUse: string | null;
  support: "native" | "unlock" | "unsupported";
  supportReason: string;
  spoofAs: { deviceId: string; name: string } | null;
  mdevTypes: InspectType[];
  /**
   * vGPUs that exist now. On an SR-IOV GPU: one per VF that carries a type; `uuid` is then the VF's
   * address (there is no mdev) and `vf` names it.
   */
  vgpus: Array<{ uuid: string; type: string | null; vmid: number | null; vf?: string } & InspectVram>;
  sriov: { totalVfs: number | null; numVfs: number | null } | null;
  /** SR-IOV GPUs with VFs enabled: every VF, the type it carries now, the VM whose config names it */
  vfs?: SriovVf[];
  /** mixed-size (heterogeneous) vGPU mode, when nvidia-smi -q shows it */
  mixedSizes?: MixedSizes | null;
  /** the outputs that name this GPU, the one each fact was taken from, and where outputs disagree */
  identity?: Pick<GpuIdentity, "sources" | "from" | "conflicts">;
}

export interface InspectReport {
  host: string;
  pve: { version: string } | null;
  kernel: { release: string | null };
  bootloader: "grub" | "systemd-boot" | null;
  cpuVendor: "intel" | "amd" | null;
  iommu: { enabled: boolean | null; cmdline: string[] };
  secureBoot: boolean | null;
  driver: {
    version: string;
    vgpuRelease: string | null;
    flavour: "proprietary" | "open" | null;
    loaded: boolean | null;
    /** the vGPU host driver (-vgpu-kvm), the regular driver or the GRID guest driver, when an output says */
    kind?: DriverKind | null;
    /** outputs that disagree about the driver, with the one believed and why */
    conflicts?: DriverConflict[];
  } | null;
  unlock: { installed: boolean | null; enabled: boolean | null; library: string | null };
  gpus: InspectGpu[];
  vms: Array<{
    vmid: number;
    name: string | null;
    running: boolean | null;
    hostpci: Array<
      { index: number; mdev: string | null; address: string | null; mapping: string | null } & InspectVram
    >;
  }>;
  /** what could not be determined and why */
  notes: string[];
  capturedAt: string;
}

export function buildInspectReport(f: Facts): InspectReport {
  const drv = deriveDriver(f);
  const unlock = deriveUnlock(f);
  const iommu = deriveIommu(f);
  return {
    host: f.host,
    pve: f.pve ? { version: f.pve.manager } : null,
    kernel: { release: f.uname?.release ?? f.pve?.runningKernel ?? null },
    bootloader: deriveBootloader(f),
    cpuVendor: f.cpuVendor,
    iommu: { enabled: iommu.enabled, cmdline: iommu.cmdline },
    secureBoot: f.secureBoot,
    driver: drv
      ? {
          version: drv.version,
          vgpuRelease: releaseForDriverVersion(drv.version)?.vgpuRelease ?? null,
          flavour: drv.flavour,
          loaded: drv.loaded,
          kind: drv.kind ?? null,
          conflicts: driverSummary(f).conflicts,
        }
      : null,
    unlock: { installed: unlock.installed, enabled: unlock.enabled, library: unlock.library },
    gpus: withIdentity(
      f,
      gpuFunctions(f).map((p) => buildGpu(f, p)),
    ),
    vms: (f.vms ?? []).map((vm) => ({
      vmid: vm.vmid,
      name: vm.name,
      running: f.qmList ? f.qmList.some((q) => q.vmid === vm.vmid && q.status === "running") : null,
      hostpci: vm.hostpci.map((h) => ({
        index: h.index,
        mdev: h.mdev,
        address: h.address,
        mapping: h.mapping,
        ...(h.mdev ? vgpuVram(f, { type: h.mdev, uuid: mdevUuidFor(vm.vmid, h.index), vmid: vm.vmid }) : {}),
      })),
    })),
    notes: f.notes,
    capturedAt: f.capturedAt,
  };
}

/** GPUs from lspci; when lspci was not captured, from every other output that names them (facts/identity.ts). */
function gpuFunctions(f: Facts): PciFunction[] {
  return identifiedGpuFunctions(f);
}

/** Each GPU with the sources of its identity (extra field `identity`). */
function withIdentity(f: Facts, gpus: InspectGpu[]): InspectGpu[] {
  const ids = gpuIdentities(f);
  return gpus.map((g) => {
    const id = ids.find((i) => i.address === g.address);
    return id ? { ...g, identity: { sources: id.sources, from: id.from, conflicts: id.conflicts } } : g;
  });
}

/** The effective VRAM of one vGPU (see InspectVram); the type's size from what the host offers, else the table. */
function vgpuVram(f: Facts, ref: VgpuRef): Required<InspectVram> {
  const po = f.profileOverride;
  const typeMiB =
    (f.mdevTypes ?? []).find((t) => t.type === ref.type && t.framebufferMiB !== null)?.framebufferMiB ??
    findType(ref.type)?.framebufferMiB ??
    null;
  const e = effectiveVramMiB(po?.present ? po.sections : [], ref, typeMiB, findType);
  return { vramMiB: e.mib, vramFrom: e.from };
}

function buildGpu(f: Facts, p: PciFunction): InspectGpu {
  // Without lspci (a pasted nvidia-smi only) the device id is unknown: a board name still identifies its class.
  const byName = p.deviceId ? null : classDeviceIdForName(p.description);
  const board = p.deviceId || byName ? null : typesBoard(f, p.address);
  const byTypes = board ? boardDeviceId(board) : null;
  const cls = classifyGpu({
    deviceId: p.deviceId || byName || byTypes || p.deviceId,
    subsystemVendorId: p.subsystemVendorId,
    subsystemDeviceId: p.subsystemDeviceId,
  });
  if (!p.deviceId)
    cls.supportReason = unprovenReason(cls.supportReason, p.description, byName, board, byTypes);
  const smiQ = f.nvidiaSmiQuery?.gpus.find((g) => g.busId === p.address);
  const smi = f.nvidiaSmi?.gpus.find((g) => g.busId === p.address);
  const sriov = f.sriov?.find((s) => s.address === p.address) ?? null;
  const mixed = mixedSizesOf(f, p.address);
  const sr = sriovGpu(
    f,
    { address: p.address, deviceId: p.deviceId, subsystemDeviceId: p.subsystemDeviceId },
    mixed,
  );
  const base = {
    address: p.address,
    vendorId: p.vendorId,
    deviceId: p.deviceId || null,
    subsystemId:
      p.subsystemVendorId && p.subsystemDeviceId ? `${p.subsystemVendorId}:${p.subsystemDeviceId}` : null,
    // a class stands for the board only when the id or the exact name proves it (not a cut name, not types)
    name:
      (p.deviceId || deviceIdForName(p.description) ? cls.name : null) ??
      pciProductName(p.description) ??
      p.description,
    generation: cls.generation,
    vramMiB: smiQ?.fbTotalMiB ?? smi?.memoryTotalMiB ?? cls.vramMiB ?? null,
    driverInUse: p.driverInUse,
    support: cls.support,
    supportReason: cls.supportReason,
    spoofAs: cls.spoofAs,
  };
  const sriovOut = sriov ? { totalVfs: sriov.totalVfs, numVfs: sriov.numVfs } : null;
  if (sr) {
    return {
      ...base,
      mdevTypes: [...sr.types].sort(byTypeId),
      vgpus: sr.running.map((r) => ({
        uuid: r.vf,
        type: r.type,
        vmid: r.vmid,
        vf: r.vf,
        ...vgpuVram(f, { type: r.type, uuid: null, vmid: r.vmid }),
      })),
      sriov: sriovOut,
      vfs: sr.vfs,
      mixedSizes: mixed,
    };
  }
  return { ...base, ...mdevGpu(f, p.address), sriov: sriovOut, ...(mixed ? { mixedSizes: mixed } : {}) };
}

/** The board a vGPU type prefix names ("GRID P40" → Tesla P40 1b38, "NVIDIA A16" → A16 25b6), for its class. */
function boardDeviceId(board: string): string | null {
  const bare = board.replace(/^(?:GRID|NVIDIA)\s+/, "");
  for (const n of [board, bare, `Tesla ${bare}`, `Quadro ${bare}`]) {
    const id = deviceIdForName(n);
    if (id) return id;
  }
  return null;
}

/** Why the class of a GPU whose device id no output proves is what it is. */
function unprovenReason(
  reason: string,
  name: string,
  byName: string | null,
  board: string | null,
  byTypes: string | null,
): string {
  if (byName) return `${reason} (identified by name "${name}": lspci was not captured)`;
  if (byTypes)
    return `offers ${board} vGPU types: the driver does vGPU on it as that board (natively, or a consumer card unlocked as one); its device id is not proven (lspci was not captured)`;
  return `not identified: lspci was not captured, and the name "${name}" does not name one board`;
}

/** Types and vGPUs of a GPU with mediated devices of its own (mdev_supported_types on the GPU). */
function mdevGpu(f: Facts, address: string): Pick<InspectGpu, "mdevTypes" | "vgpus"> {
  const parents = new Set([address]);
  const types = (f.mdevTypes ?? []).filter((t) => parents.has(t.parent));
  const vgpus: InspectGpu["vgpus"] = [];
  for (const m of f.mdevs ?? []) {
    if (!parents.has(m.parent)) continue;
    const vmid = vmidFromMdevUuid(m.uuid)?.vmid ?? null;
    vgpus.push({
      uuid: m.uuid,
      type: m.type,
      vmid,
      ...(m.type ? vgpuVram(f, { type: m.type, uuid: m.uuid, vmid }) : {}),
    });
  }
  // nvidia-smi vgpu -q knows running vGPUs even where mdevctl is not installed.
  for (const g of f.vgpuQuery?.gpus ?? []) {
    if (g.busId !== address) continue;
    for (const v of g.vgpus) {
      if (v.uuid && vgpus.some((x) => x.uuid === v.uuid)) continue;
      const type = v.typeId ? `nvidia-${v.typeId}` : null;
      const vmid =
        (v.uuid ? vmidFromMdevUuid(v.uuid)?.vmid : null) ??
        // "VM ID" is QEMU's pid on KVM (research/proxmox.md §3): match the VM by UUID or name instead
        vmidOfActive(f.vms ?? [], v);
      vgpus.push({
        uuid: v.uuid ?? v.vgpuId ?? "",
        type,
        vmid,
        // [vm.N] matches the VMID the mdev UUID encodes, not nvidia-smi's "VM ID"
        ...(type
          ? vgpuVram(f, {
              type,
              uuid: v.uuid,
              vmid: v.uuid ? (vmidFromMdevUuid(v.uuid)?.vmid ?? null) : null,
            })
          : {}),
      });
    }
  }
  return {
    mdevTypes: dedupeTypes(types)
      .sort(byTypeId)
      .map((t) => ({
        type: t.type,
        name: t.name,
        framebufferMiB: t.framebufferMiB ?? knownType(t)?.framebufferMiB ?? null,
        maxInstances: t.maxInstances ?? knownType(t)?.maxInstances ?? null,
        availableInstances: t.availableInstances,
        parent: t.parent,
      })),
    vgpus,
  };
}
/** List each type once (a capture may repeat a parent), summing availability. */
function dedupeTypes(types: MdevType[]): MdevType[] {
  const out = new Map<string, MdevType>();
  for (const t of types) {
    const seen = out.get(t.type);
    if (!seen) out.set(t.type, { ...t });
    else if (seen.availableInstances !== null && t.availableInstances !== null)
      seen.availableInstances += t.availableInstances;
  }
  return [...out.values()];
}

function knownType(t: MdevType): { framebufferMiB: number | null; maxInstances: number | null } | null {
  const k = findType(t.type) ?? (t.name ? findType(t.name) : null);
  return k ? { framebufferMiB: k.framebufferMiB ?? null, maxInstances: k.maxInstances ?? null } : null;
}
