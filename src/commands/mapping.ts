import { normalisePciAddress } from "../facts/pci.ts";
import { PveApiError } from "../pve/errors.ts";
import {
  assertMappingId,
  formatMapEntry,
  type PciDevice,
  type PciMapEntry,
  type PveMapping,
  PvePermissionError,
} from "../pve/index.ts";
import { UserError } from "../util/errors.ts";
import { connectPve, type PveConnectOptions, type PveDeps } from "./pve-connect.ts";

export type { PveConnectOptions, PveDeps } from "./pve-connect.ts";

export type MappingRefusalCode =
  | "mapping-exists"
  | "unknown-node"
  | "node-offline"
  | "gpu-not-found"
  | "gpu-not-nvidia"
  | "gpu-not-mdev"
  | "no-mdev-device"
  | "mixed-gpus"
  | "bad-option";

export class MappingRefusal extends UserError {
  constructor(
    readonly code: MappingRefusalCode,
    message: string,
    hint?: string,
  ) {
    super(message, hint);
    this.name = "MappingRefusal";
  }
}

export interface MappingCreateOptions extends PveConnectOptions {
  id: string;
  /** default: every node of the cluster */
  nodes?: string[];
  /** GPU address (domain optional); an SR-IOV physical function means all of its VFs */
  gpu?: string;
  description?: string;
  dryRun?: boolean;
}

/** One physical GPU that went into the mapping. */
export interface MappedGpu {
  node: string;
  /** the physical function (SR-IOV) or the mdev-capable function itself */
  address: string;
  /** "10de:1e07" */
  id: string;
  subsystemId: string | null;
  name: string | null;
  sriov: boolean;
  /** map entries (functions) of this GPU */
  functions: string[];
}

export interface MappingEntryOut {
  node: string;
  path: string;
  id: string;
  subsystemId: string | null;
  iommugroup: number | null;
  /** the `map` property string sent to Proxmox VE */
  map: string;
}

export interface MappingCreateResult {
  id: string;
  mdev: true;
  description: string | null;
  dryRun: boolean;
  created: boolean;
  nodes: string[];
  gpus: MappedGpu[];
  entries: MappingEntryOut[];
  warnings: string[];
  /** the same creation as a pvesh command (to run on a node by hand) */
  pvesh: string;
  message: string;
}

export interface MappingListItem {
  id: string;
  description: string | null;
  mdev: boolean;
  liveMigrationCapable: boolean;
  entries: PciMapEntry[];
  /** entries per node */
  perNode: Record<string, number>;
  /** PVE's hardware checks (with --check-node) */
  checks: Array<{ severity: string; message: string }>;
}

export interface MappingListReport {
  /** the API base URL asked */
  api: string;
  /** node whose hardware PVE checked the entries against (--check-node), or null */
  checkNode: string | null;
  mappings: MappingListItem[];
}

/** A full function address ("0000:01:00.0"; domain optional on input), as PVE's hardware listing names devices. */
export function pciFunctionAddress(s: string): string | null {
  return normalisePciAddress(String(s), "required");
}

/** "0x10de" → "10de"; null unless 4 hex digits. */
function hex4(v: unknown): string | null {
  if (typeof v !== "string") return null;
  const h = v.trim().toLowerCase().replace(/^0x/, "");
  return /^[0-9a-f]{4}$/.test(h) ? h : null;
}

function truthy(v: unknown): boolean {
  return v === 1 || v === true || v === "1";
}

interface Dev {
  addr: string;
  vendor: string | null;
  device: string | null;
  id: string | null;
  subsystemId: string | null;
  iommugroup: number | null;
  mdev: boolean;
  display: boolean;
  physfn: string | null;
  name: string | null;
}

function toDev(d: PciDevice): Dev | null {
  const addr = typeof d.id === "string" ? pciFunctionAddress(d.id) : null;
  if (!addr) return null;
  const vendor = hex4(d.vendor);
  const device = hex4(d.device);
  const sv = hex4(d.subsystem_vendor);
  const sd = hex4(d.subsystem_device);
  const cls = typeof d.class === "string" ? d.class.toLowerCase() : "";
  const group = typeof d.iommugroup === "number" ? d.iommugroup : Number.NaN;
  return {
    addr,
    vendor,
    device,
    id: vendor && device ? `${vendor}:${device}` : null,
    subsystemId: sv && sd ? `${sv}:${sd}` : null,
    iommugroup: Number.isInteger(group) && group >= 0 ? group : null,
    mdev: truthy(d.mdev),
    display: /^(0x)?03/.test(cls),
    physfn: typeof d.physfn === "string" ? pciFunctionAddress(d.physfn) : null,
    name: typeof d.device_name === "string" && d.device_name ? d.device_name : null,
  };
}

const busOf = (a: string) => a.slice(0, a.lastIndexOf(":"));

/**
 * The VFs of a physical function: by `physfn` (pve-common ≥ 9.1.12 lists it), else by
 * `virtfns` of the PF, else the mdev-capable functions with the same vendor:device on the same bus
 * after the PF (older listings carry neither key).
 */
function vfsOf(pf: Dev, raw: PciDevice | undefined, devs: Dev[]): Dev[] {
  const byPhysfn = devs.filter((d) => d.physfn === pf.addr);
  if (byPhysfn.length > 0) return byPhysfn;
  const virtfns = raw && typeof raw.virtfns === "object" && raw.virtfns !== null ? raw.virtfns : null;
  if (virtfns) {
    const set = new Set(
      Object.values(virtfns as Record<string, unknown>)
        .map((v) => (typeof v === "string" ? pciFunctionAddress(v) : null))
        .filter((v): v is string => v !== null),
    );
    const listed = devs.filter((d) => set.has(d.addr));
    if (listed.length > 0) return listed;
  }
  if (devs.some((d) => d.physfn !== null)) return [];
  return devs.filter(
    (d) => d.addr > pf.addr && busOf(d.addr) === busOf(pf.addr) && d.id === pf.id && d.mdev && !pf.mdev,
  );
}

/** The SR-IOV physical function a VF belongs to (undefined for a function that is its own GPU). */
function physicalFunctionOf(vf: Dev, devs: Dev[], raws: Map<string, PciDevice>): Dev | undefined {
  if (vf.physfn) return devs.find((x) => x.addr === vf.physfn);
  return devs.find(
    (pf) =>
      pf.addr !== vf.addr &&
      !pf.mdev &&
      pf.vendor === vf.vendor &&
      vfsOf(pf, raws.get(pf.addr), devs).some((x) => x.addr === vf.addr),
  );
}

/**
 * What a function is in a node's hardware listing: the physical function of an SR-IOV GPU (with its
 * virtual functions), one of those VFs, or neither. Pure.
 */
export function sriovRoleOf(
  listing: PciDevice[],
  address: string,
): { kind: "pf"; vfs: string[] } | { kind: "vf"; pf: string } | { kind: "other" } {
  const raws = new Map<string, PciDevice>();
  const devs: Dev[] = [];
  for (const r of Array.isArray(listing) ? listing : []) {
    const d = typeof r === "object" && r !== null ? toDev(r) : null;
    if (d) {
      devs.push(d);
      raws.set(d.addr, r);
    }
  }
  const want = pciFunctionAddress(address);
  const d = devs.find((x) => x.addr === want);
  if (!d) return { kind: "other" };
  const pf = physicalFunctionOf(d, devs, raws);
  if (pf) return { kind: "vf", pf: pf.addr };
  const vfs = d.mdev ? [] : vfsOf(d, raws.get(d.addr), devs).map((v) => v.addr);
  return vfs.length > 0 ? { kind: "pf", vfs } : { kind: "other" };
}

export interface NodeSelection {
  entries: MappingEntryOut[];
  gpus: MappedGpu[];
  warnings: string[];
}

const ENABLE_HINT =
  "SR-IOV boards (Ampere and newer) offer vGPUs on their virtual functions: enable them (systemctl enable --now pve-nvidia-sriov@ALL.service, or /usr/lib/nvidia/sriov-manage -e ALL); older GPUs need the NVIDIA vGPU host driver loaded (vgpuctl doctor on that node)";

/** Pick the map entries of one node from its hardware listing. Pure; throws MappingRefusal. */
export function selectNodeDevices(node: string, listing: PciDevice[], gpu?: string): NodeSelection {
  const raws = new Map<string, PciDevice>();
  const devs: Dev[] = [];
  for (const r of Array.isArray(listing) ? listing : []) {
    if (typeof r !== "object" || r === null) continue;
    const d = toDev(r);
    if (!d) continue;
    devs.push(d);
    raws.set(d.addr, r);
  }
  const isNvidia = (d: Dev) => d.vendor === "10de";
  const warnings: string[] = [];
  let chosen: Dev[];
  if (gpu !== undefined) {
    const want = pciFunctionAddress(gpu);
    if (!want)
      throw new MappingRefusal(
        "bad-option",
        `--gpu ${JSON.stringify(gpu)} is not a PCI address`,
        "e.g. 0000:01:00.0",
      );
    const d = devs.find((x) => x.addr === want);
    if (!d) {
      const nv = devs.filter((x) => isNvidia(x) && x.display).map((x) => x.addr);
      throw new MappingRefusal(
        "gpu-not-found",
        `node ${node} has no PCI device ${want}`,
        nv.length > 0 ? `NVIDIA GPUs on ${node}: ${nv.join(", ")}` : `leave ${node} out with --node`,
      );
    }
    if (!isNvidia(d))
      throw new MappingRefusal(
        "gpu-not-nvidia",
        `${want} on ${node} is not an NVIDIA device (${d.id ?? "unknown id"}${d.name ? `, ${d.name}` : ""})`,
      );
    if (d.mdev) chosen = [d];
    else {
      chosen = vfsOf(d, raws.get(d.addr), devs).filter((v) => v.mdev);
      if (chosen.length === 0)
        throw new MappingRefusal(
          "gpu-not-mdev",
          `${want} on ${node} offers no mediated devices (no mdev in the hardware listing) and has no virtual functions that do`,
          ENABLE_HINT,
        );
    }
  } else {
    chosen = devs.filter((d) => isNvidia(d) && d.display && d.mdev);
    if (chosen.length === 0) {
      const nv = devs.filter((d) => isNvidia(d) && d.display);
      throw new MappingRefusal(
        "no-mdev-device",
        nv.length > 0
          ? `node ${node} has NVIDIA GPUs (${nv.map((d) => d.addr).join(", ")}) but none offers mediated devices`
          : `node ${node} has no NVIDIA GPU`,
        nv.length > 0 ? `${ENABLE_HINT}; or leave ${node} out with --node` : `leave ${node} out with --node`,
      );
    }
  }
  chosen.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));

  const gpus = new Map<string, MappedGpu>();
  const entries: MappingEntryOut[] = [];
  for (const d of chosen) {
    if (!d.id) {
      throw new MappingRefusal(
        "no-mdev-device",
        `the hardware listing of ${node} gives no vendor:device id for ${d.addr}`,
      );
    }
    if (!d.subsystemId)
      warnings.push(`${node} ${d.addr}: the listing has no subsystem id; the entry goes without one`);
    if (d.iommugroup === null)
      warnings.push(
        `${node} ${d.addr}: no IOMMU group (IOMMU off?); the entry goes without one and PVE may flag it`,
      );
    const e: PciMapEntry = {
      node,
      path: d.addr,
      id: d.id,
      subsystemId: d.subsystemId,
      iommugroup: d.iommugroup,
    };
    entries.push({
      node,
      path: d.addr,
      id: d.id,
      subsystemId: d.subsystemId,
      iommugroup: d.iommugroup,
      map: formatMapEntry(e),
    });
    const pfDev = physicalFunctionOf(d, devs, raws);
    const key = pfDev?.addr ?? d.addr;
    const g = gpus.get(key) ?? {
      node,
      address: key,
      id: d.id,
      subsystemId: pfDev?.subsystemId ?? d.subsystemId,
      name: pfDev?.name ?? d.name,
      sriov: pfDev !== undefined,
      functions: [],
    };
    g.functions.push(d.addr);
    gpus.set(key, g);
  }
  return { entries, gpus: [...gpus.values()], warnings };
}

/** Refuse different GPU models in one mapping; warn about different boards of one model. Pure. */
export function checkSameGpu(entries: MappingEntryOut[]): string[] {
  const byId = new Map<string, Set<string>>();
  for (const e of entries) byId.set(e.id, (byId.get(e.id) ?? new Set()).add(e.node));
  if (byId.size > 1) {
    const list = [...byId].map(([id, nodes]) => `${id} on ${[...nodes].join(", ")}`).join("; ");
    throw new MappingRefusal(
      "mixed-gpus",
      `the devices are different GPU models (${list}); a mapping pools interchangeable devices, and a vGPU type one model offers would fail at VM start on the other`,
      "create one mapping per GPU model: choose the nodes with --node (or one GPU with --gpu)",
    );
  }
  const subs = new Map<string, Set<string>>();
  for (const e of entries) {
    const k = e.subsystemId ?? "none";
    subs.set(k, (subs.get(k) ?? new Set()).add(e.node));
  }
  if (subs.size > 1) {
    return [
      `the boards differ (subsystem ${[...subs].map(([s, n]) => `${s} on ${[...n].join(", ")}`).join("; ")}): same chip, same vGPU types; each entry keeps its own subsystem id`,
    ];
  }
  return [];
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_.,:=/@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------
// I/O

const MODIFY_HINT =
  "creating a mapping needs Mapping.Modify on /mapping/pci (role PVEMappingAdmin; PVEAdmin does not include it), e.g. pveum acl modify /mapping/pci --tokens 'USER@REALM!TOKEN' --roles PVEMappingAdmin; a privilege-separated token needs the ACL on the token itself";

export async function runMappingCreate(
  o: MappingCreateOptions,
  deps: PveDeps = {},
): Promise<MappingCreateResult> {
  assertMappingId(o.id);
  if (o.description !== undefined && o.description.length > 4096)
    throw new MappingRefusal("bad-option", "--description is longer than 4096 characters (the PVE limit)");
  if (o.gpu !== undefined && !pciFunctionAddress(o.gpu))
    throw new MappingRefusal(
      "bad-option",
      `--gpu ${JSON.stringify(o.gpu)} is not a PCI address`,
      "e.g. 0000:01:00.0",
    );
  const client = await connectPve(o, deps);
  try {
    const existing = await client.listPciMappings();
    const same = existing.find((m) => m.id === o.id);
    if (same) {
      throw new MappingRefusal(
        "mapping-exists",
        `mapping ${o.id} already exists (${same.entries.length} entr${same.entries.length === 1 ? "y" : "ies"}${same.mdev ? ", mdev" : ""}); nothing was changed`,
        "choose another id, or look at it with `vgpuctl vm mapping list`; vgpuctl does not update mappings — edit or remove it under Datacenter → Resource Mappings",
      );
    }

    const cluster = await client.listNodes();
    const known = new Map(cluster.map((n) => [n.node, n]));
    let nodes: string[];
    if (o.nodes && o.nodes.length > 0) {
      nodes = [...new Set(o.nodes)];
      for (const n of nodes) {
        if (!known.has(n))
          throw new MappingRefusal(
            "unknown-node",
            `the cluster has no node ${n}`,
            `nodes: ${[...known.keys()].join(", ") || "none"}`,
          );
      }
    } else {
      nodes = [...known.keys()].sort();
      if (nodes.length === 0) throw new MappingRefusal("unknown-node", "GET /nodes listed no nodes");
    }
    for (const n of nodes) {
      const st = known.get(n)?.status;
      if (st !== undefined && st !== "online")
        throw new MappingRefusal(
          "node-offline",
          `node ${n} is ${st}; its hardware cannot be read`,
          "bring it online, or name the nodes to map with --node",
        );
    }

    const entries: MappingEntryOut[] = [];
    const gpus: MappedGpu[] = [];
    const warnings: string[] = [];
    for (const n of nodes) {
      const sel = selectNodeDevices(n, await client.listPciDevices(n), o.gpu);
      entries.push(...sel.entries);
      gpus.push(...sel.gpus);
      warnings.push(...sel.warnings);
    }
    warnings.push(...checkSameGpu(entries));

    const description = o.description ?? null;
    const pvesh = [
      "pvesh create /cluster/mapping/pci",
      `--id ${shellQuote(o.id)}`,
      "--mdev 1",
      ...(description ? [`--description ${shellQuote(description)}`] : []),
      ...entries.map((e) => `--map ${shellQuote(e.map)}`),
    ].join(" ");
    const summary = `${entries.length} entr${entries.length === 1 ? "y" : "ies"} on ${nodes.join(", ")}`;
    const base = { id: o.id, mdev: true as const, description, nodes, gpus, entries, warnings, pvesh };
    if (o.dryRun) {
      return {
        ...base,
        dryRun: true,
        created: false,
        message: `would create mapping ${o.id} (mdev=1, ${summary})`,
      };
    }
    try {
      await client.createPciMapping({ id: o.id, mdev: true, description: description ?? undefined, entries });
    } catch (e) {
      if (e instanceof PvePermissionError) {
        throw new PvePermissionError(
          e.message,
          { status: e.status, method: e.method, path: e.path, pveMessage: e.pveMessage, errors: e.errors },
          e.aclPath,
          e.privileges,
          MODIFY_HINT,
        );
      }
      if (e instanceof PveApiError && /already defined/i.test(`${e.pveMessage ?? ""} ${e.message}`)) {
        throw new MappingRefusal(
          "mapping-exists",
          `mapping ${o.id} already exists (Proxmox VE: ${e.pveMessage ?? e.message}); nothing was changed`,
          "the token may not see it (listing needs Mapping.Audit on /mapping/pci/ID); choose another id",
        );
      }
      throw e;
    }
    return { ...base, dryRun: false, created: true, message: `created mapping ${o.id} (mdev=1, ${summary})` };
  } finally {
    await client.close();
  }
}

export interface MappingListOptions extends PveConnectOptions {
  checkNode?: string;
}

export function toListItem(m: PveMapping): MappingListItem {
  const perNode: Record<string, number> = {};
  for (const e of m.entries) {
    const n = e.node ?? "?";
    perNode[n] = (perNode[n] ?? 0) + 1;
  }
  return {
    id: m.id,
    description: m.description,
    mdev: m.mdev,
    liveMigrationCapable: m.liveMigrationCapable,
    entries: m.entries.map((e) => ({
      node: e.node,
      path: e.path,
      id: e.id,
      subsystemId: e.subsystemId,
      iommugroup: e.iommugroup,
    })),
    perNode,
    checks: m.checks,
  };
}

export async function runMappingList(o: MappingListOptions, deps: PveDeps = {}): Promise<MappingListReport> {
  const client = await connectPve(o, deps);
  try {
    const list = await client.listPciMappings(o.checkNode);
    const mappings = list.map(toListItem).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { api: client.baseUrl, checkNode: o.checkNode ?? null, mappings };
  } finally {
    await client.close();
  }
}
