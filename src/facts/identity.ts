/**
 * Every fact about the GPUs and the driver, from every output that proves it, merged: a GPU's PCI
 * identity from lspci, sysfs, `nvidia-smi -q`, the `nvidia-smi` table, `nvidia-smi vgpu -q`,
 * `mdevctl types`/`list` (parent addresses), nvidia-vgpud's rejections and the kernel log; the
 * driver's version, kind and flavour from /proc, nvidia-smi, modinfo, dkms, the kernel log and the
 * installer log. Where two outputs disagree on the same fact both values are kept, with the one
 * believed and why. Pure; unknown stays null — nothing is guessed.
 */

import { compareText } from "../util/compare.ts";
import { pciFromVgpud, pciProductName, physicalGpuFunctions } from "./derive.ts";
import { queryGpuPciIds } from "./nvidia/nvidia-smi-q.ts";
import { normalisePciAddress, sameBus } from "./pci.ts";
import type { Facts, PciFunction } from "./types.ts";

/** Where a fact came from, most direct first (the order decides which value is believed). */
export const GPU_SOURCES = [
  "lspci",
  "sysfs",
  "nvidia-smi -q",
  "nvidia-smi",
  "nvidia-smi vgpu -q",
  "nvidia-vgpud",
  "kernel log",
  "mdevctl",
] as const;
export type GpuSource = (typeof GPU_SOURCES)[number];

const WHY: Record<GpuSource, string> = {
  lspci: "lspci reads the PCI configuration space of the device",
  sysfs: "sysfs is the kernel's own record of the PCI device",
  "nvidia-smi -q": "nvidia-smi -q is the NVIDIA driver's report of the board",
  "nvidia-smi": "the nvidia-smi table is the NVIDIA driver's report",
  "nvidia-smi vgpu -q": "nvidia-smi vgpu -q is the vGPU host driver's report",
  "nvidia-vgpud": "nvidia-vgpud logs the ids it was shown (vgpu_unlock may change them)",
  "kernel log": "the kernel log names the device when the driver probes it",
  mdevctl: "mdevctl lists the device offering vGPU types",
};

export interface GpuClaim {
  source: GpuSource;
  address: string;
  deviceId: string | null;
  subsystemVendorId: string | null;
  subsystemDeviceId: string | null;
  name: string | null;
}

export interface FactConflict {
  field: "deviceId" | "subsystem" | "name";
  values: Array<{ source: GpuSource; value: string }>;
  believed: GpuSource;
  why: string;
}

export interface GpuIdentity {
  address: string;
  deviceId: string | null;
  subsystemVendorId: string | null;
  subsystemDeviceId: string | null;
  name: string | null;
  /** the outputs that name this GPU, most direct first */
  sources: GpuSource[];
  /** the output each known field was taken from */
  from: Partial<Record<"deviceId" | "subsystem" | "name", GpuSource>>;
  conflicts: FactConflict[];
}

const claim = (source: GpuSource, address: string, rest: Partial<GpuClaim> = {}): GpuClaim => ({
  source,
  address,
  deviceId: rest.deviceId ?? null,
  subsystemVendorId: rest.subsystemVendorId ?? null,
  subsystemDeviceId: rest.subsystemDeviceId ?? null,
  name: rest.name ?? null,
});

/** What lspci, sysfs and the NVIDIA tools say about each GPU address. */
function toolClaims(f: Facts): GpuClaim[] {
  const out: GpuClaim[] = [];
  for (const p of f.pci ?? [])
    if (p.vendorId === "10de" && p.classCode.startsWith("03"))
      out.push(claim("lspci", p.address, { ...p, name: pciProductName(p.description) }));
  for (const s of f.sysfsFunctions ?? [])
    if (s.classCode === null || s.classCode.startsWith("03")) out.push(claim("sysfs", s.address, s));
  for (const g of f.nvidiaSmiQuery?.gpus ?? []) {
    const ids = queryGpuPciIds(g);
    const dev = ids.vendorId === "10de" ? ids.deviceId : null;
    out.push(claim("nvidia-smi -q", g.busId, { ...ids, deviceId: dev, name: g.productName }));
  }
  for (const g of f.nvidiaSmi?.gpus ?? []) out.push(claim("nvidia-smi", g.busId, { name: g.name }));
  for (const g of f.vgpuQuery?.gpus ?? []) out.push(claim("nvidia-smi vgpu -q", g.busId));
  return out;
}

/** What the daemons' and the kernel's logs and mdevctl say. */
function logClaims(f: Facts): GpuClaim[] {
  const out: GpuClaim[] = [];
  for (const l of f.journals.vgpud ?? []) {
    if (!l.toLowerCase().includes("gpu not supported by vgpu at pci id")) continue; // the regex runs only then
    const m =
      /GPU not supported by vGPU at PCI Id: (\S+)(?:\s+DevID:\s*0x10de\s*\/\s*0x([0-9a-f]{1,4})\b(?:\s*\/\s*0x([0-9a-f]{1,4})\s*\/\s*0x([0-9a-f]{1,4})\b)?)?/i.exec(
        l,
      );
    const addr = m ? pciFromVgpud(m[1]!) : null;
    if (!m || !addr) continue;
    const h = (s: string | undefined) => (s ? s.toLowerCase().padStart(4, "0") : null);
    out.push(
      claim("nvidia-vgpud", addr, {
        deviceId: h(m[2]),
        subsystemVendorId: h(m[3]),
        subsystemDeviceId: h(m[4]),
      }),
    );
  }
  out.push(...kernelLogClaims(f));
  const parents = [...(f.mdevTypes ?? []).map((t) => t.parent), ...(f.mdevs ?? []).map((d) => d.parent)];
  for (const p of new Set(parents)) {
    const a = normalisePciAddress(p, "required");
    const board = typesBoard(f, p);
    if (a) out.push(claim("mdevctl", a, { name: board ? `GPU offering ${board} vGPU types` : null }));
  }
  return out;
}

/**
 * The board the vGPU types of one parent name, when all agree: "GRID P40-2B", "GRID P40-4C" → "GRID P40";
 * "NVIDIA A16-4Q" → "NVIDIA A16". What the driver presents the GPU as (an unlocked consumer card offers
 * the types of the board it is presented as), not a proof of the GPU's own device id.
 */
export function typesBoard(f: Facts, parent: string): string | null {
  const names = (f.mdevTypes ?? []).filter((t) => t.parent === parent).map((t) => t.name);
  const boards = new Set(names.map((n) => (n ? (/^(.+?)-\d+[A-Z]\d*$/.exec(n.trim())?.[1] ?? null) : null)));
  const [b] = [...boards];
  return boards.size === 1 && b ? b : null;
}

/**
 * "NVRM: The NVIDIA GPU 0000:02:00.0 (PCI ID: 10de:2204)" (the message may wrap over several NVRM
 * lines), "NVRM: GPU 0000:01:00.0: RmInitAdapter failed!", "NVRM: GPU at PCI:0000:3b:00: GPU-…",
 * "nvidia 0000:01:00.0: enabling device (0000 -> 0003)".
 */
function kernelLogClaims(f: Facts): GpuClaim[] {
  const out: GpuClaim[] = [];
  const nvrm = (f.dmesg?.nvrm ?? []).map((l) => l.replace(/^.*?NVRM:\s*/, "")).join(" ");
  for (const m of nvrm.matchAll(/\bGPU (\S+?)\s*\(PCI ID: 10de:([0-9a-f]{4})\)/gi)) {
    const a = normalisePciAddress(m[1]!, "required");
    if (a) out.push(claim("kernel log", a, { deviceId: m[2]!.toLowerCase() }));
  }
  for (const m of nvrm.matchAll(/\bGPU (?:at PCI:)?([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2})(\.[0-7])?[:\s]/gi)) {
    const a = normalisePciAddress(`${m[1]}${m[2] ?? ".0"}`, "required");
    if (a) out.push(claim("kernel log", a));
  }
  for (const l of f.dmesg?.lines ?? []) {
    const m = /^nvidia (\S+): /.exec(l);
    const a = m ? normalisePciAddress(m[1]!, "required") : null;
    if (a) out.push(claim("kernel log", a));
  }
  return out;
}

/** SR-IOV virtual functions and mdev parents that are not a GPU's first function fold into the GPU on their bus. */
function physicalClaims(f: Facts, claims: GpuClaim[]): GpuClaim[] {
  const pfs = new Set<string>((f.sriov ?? []).filter((s) => (s.numVfs ?? 0) > 0).map((s) => s.address));
  for (const c of claims) if (c.source !== "mdevctl" && /:00\.0$/.test(c.address)) pfs.add(c.address);
  return claims.filter((c) => {
    if (pfs.has(c.address)) return true;
    const pf = [...pfs].some((p) => sameBus(p, c.address));
    // a VF (or another function) of a known GPU, or an mdev parent that is no GPU's first function
    return !pf && (c.source !== "mdevctl" || /:00\.0$/.test(c.address));
  });
}

/** The value believed for one field (first source in GPU_SOURCES order) and the conflict, if any. */
function merge(
  field: FactConflict["field"],
  values: Array<{ source: GpuSource; value: string | null }>,
): { value: string | null; source: GpuSource | null; conflict: FactConflict | null } {
  const known = values.filter((v): v is { source: GpuSource; value: string } => v.value !== null);
  if (known.length === 0) return { value: null, source: null, conflict: null };
  // nvidia-vgpud may show the ids vgpu_unlock presents: believed only when nothing else names them
  const direct = known.filter((v) => v.source !== "nvidia-vgpud");
  const pool = direct.length > 0 ? direct : known;
  const first = pool[0]!;
  const distinct = new Set(pool.map((v) => v.value));
  const conflict =
    field !== "name" && distinct.size > 1
      ? { field, values: pool, believed: first.source, why: WHY[first.source] }
      : null;
  return { value: first.value, source: first.source, conflict };
}

const rank = (s: GpuSource) => GPU_SOURCES.indexOf(s);
const NAME_ORDER: GpuSource[] = ["nvidia-smi -q", "nvidia-smi", "lspci"];

/** Every GPU any output names, with its merged identity. Sorted by address. */
export function gpuIdentities(f: Facts): GpuIdentity[] {
  const claims = physicalClaims(f, [...toolClaims(f), ...logClaims(f)]);
  for (const s of f.sriov ?? [])
    if (!claims.some((c) => c.address === s.address)) claims.push(claim("sysfs", s.address));
  const byAddr = new Map<string, GpuClaim[]>();
  for (const c of claims) byAddr.set(c.address, [...(byAddr.get(c.address) ?? []), c]);
  return [...byAddr.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([address, cs]) => {
      cs.sort((a, b) => rank(a.source) - rank(b.source));
      const dev = merge(
        "deviceId",
        cs.map((c) => ({ source: c.source, value: c.deviceId })),
      );
      const sub = merge(
        "subsystem",
        cs.map((c) => ({
          source: c.source,
          value:
            c.subsystemVendorId && c.subsystemDeviceId
              ? `${c.subsystemVendorId}:${c.subsystemDeviceId}`
              : null,
        })),
      );
      const named = [...cs].sort((a, b) => nameRank(a.source) - nameRank(b.source));
      const name = merge(
        "name",
        named.map((c) => ({ source: c.source, value: c.name })),
      );
      const from: GpuIdentity["from"] = {};
      if (dev.source) from.deviceId = dev.source;
      if (sub.source) from.subsystem = sub.source;
      if (name.source) from.name = name.source;
      return {
        address,
        deviceId: dev.value,
        subsystemVendorId: sub.value?.split(":")[0] ?? null,
        subsystemDeviceId: sub.value?.split(":")[1] ?? null,
        name: name.value,
        sources: [...new Set(cs.map((c) => c.source))],
        from,
        conflicts: [dev.conflict, sub.conflict].filter((c): c is FactConflict => c !== null),
      };
    });
}

function nameRank(s: GpuSource): number {
  const i = NAME_ORDER.indexOf(s);
  return i < 0 ? NAME_ORDER.length + rank(s) : i;
}

/**
 * The GPUs as PCI functions: lspci's when it was captured (SR-IOV VFs folded, as before), else one per
 * GPU the other outputs name, with what they prove (an unknown device id is "").
 */
export function identifiedGpuFunctions(f: Facts): PciFunction[] {
  if (f.pci) return physicalGpuFunctions(f);
  return gpuIdentities(f).map((g) => ({
    address: g.address,
    className: "VGA compatible controller",
    classCode: "0300",
    description: g.name ?? "NVIDIA GPU",
    vendorId: "10de",
    deviceId: g.deviceId ?? "",
    revision: null,
    subsystemVendorId: g.subsystemVendorId,
    subsystemDeviceId: g.subsystemDeviceId,
    subsystemName: null,
    driverInUse: null,
    kernelModules: [],
  }));
}
