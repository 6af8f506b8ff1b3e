/**
 * SR-IOV virtual functions of NVIDIA GPUs, from sysfs (research/proxmox.md §1a, §3):
 * - which VF belongs to which physical function: `physfn/uevent` (`PCI_SLOT_NAME=0000:41:00.0`),
 *   else the SR-IOV physical function with VFs enabled on the same bus (VFs 0000:41:00.4 … sit on
 *   the PF's bus);
 * - what each VF carries: `nvidia/current_vgpu_type` (vendor-specific VFIO, kernel ≥ 6.8: `0` = free,
 *   else the decimal vGPU type id — bigstack-oss/cubecos#312 shows `0`, then `1561` after a write);
 * - what it can still create: `nvidia/creatable_vgpu_types`, or on older branches the VF's own
 *   `mdev_supported_types` with `available_instances` 0/1 ("Only one instance of any vGPU type can be
 *   created on a virtual function", NVIDIA vGPU user guide).
 * Pure; never throws.
 */

import { compareText } from "../../util/compare.ts";
import { type Evidence, SYS_PCI_DEVICES } from "../capture.ts";
import { normalisePciAddress, sameBus } from "../pci.ts";
import type { MdevType, SriovState, VirtualFunction } from "../types.ts";
import { splitLines } from "./common.ts";
import { nvidiaFunctions, parseCreatableVgpuTypes } from "./sysfs.ts";

/**
 * `nvidia/current_vgpu_type`: "0" → 0 (free), "1561" → 1561; anything else (empty, an error text,
 * a negative or fractional number) → null.
 */
export function parseCurrentVgpuType(text: string): number | null {
  if (typeof text !== "string") return null;
  const lines = splitLines(text)
    .map((l) => l.trim())
    .filter((l) => l !== "");
  if (lines.length !== 1) return null;
  return /^\d{1,9}$/.test(lines[0]!) ? Number(lines[0]) : null;
}

/** `physfn/uevent` of a VF: the PCI_SLOT_NAME line names its physical function; null otherwise. */
export function parsePhysfnUevent(text: string): string | null {
  if (typeof text !== "string") return null;
  for (const line of splitLines(text)) {
    const m = /^PCI_SLOT_NAME=(\S+)\s*$/.exec(line.trim());
    if (m) return normalisePciAddress(m[1]!, "required");
  }
  return null;
}

/**
 * Every captured NVIDIA virtual function, sorted by address. [] when no function is a VF;
 * null when no NVIDIA function's sysfs was captured. `mdevTypes` are the legacy-mdev types the
 * facts already hold (VFs of older branches list their own).
 */
export function virtualFunctionsFromSysfs(
  ev: Evidence,
  sriov: readonly SriovState[] | null,
  mdevTypes: readonly MdevType[] | null,
): VirtualFunction[] | null {
  const fns = nvidiaFunctions(ev);
  if (fns === null) return null;
  const pfs = (sriov ?? []).filter((s) => (s.numVfs ?? 0) > 0).map((s) => s.address);
  const out: VirtualFunction[] = [];
  for (const raw of fns) {
    const address = normalisePciAddress(raw, "required");
    if (!address) continue;
    const dir = `${SYS_PCI_DEVICES}/${raw}`;
    const read = (f: string) => {
      const v = ev.file(`${dir}/${f}`);
      return typeof v === "string" ? v : null;
    };
    const uevent = read("physfn/uevent");
    const physfn =
      (uevent !== null ? parsePhysfnUevent(uevent) : null) ??
      (pfs.includes(address) ? null : (pfs.find((pf) => sameBus(pf, address)) ?? null));
    if (!physfn || physfn === address) continue;
    const current = read("nvidia/current_vgpu_type");
    const creatableText = read("nvidia/creatable_vgpu_types");
    const legacy = (mdevTypes ?? []).filter((t) => t.parent === address);
    let creatable: VirtualFunction["creatable"] = null;
    let iface: VirtualFunction["interface"] = null;
    if (creatableText !== null) {
      creatable = parseCreatableVgpuTypes(creatableText);
      iface = "vendor-vfio";
    } else if (legacy.length > 0) {
      creatable = legacy
        .filter((t) => (t.availableInstances ?? 0) > 0)
        .map((t) => ({ id: t.type.replace(/^nvidia-/, ""), name: t.name ?? t.type }));
      iface = "mdev";
    }
    out.push({
      address,
      physfn,
      currentType: current !== null ? parseCurrentVgpuType(current) : null,
      creatable,
      interface: iface,
    });
  }
  return out.sort((a, b) => compareText(a.address, b.address));
}
