/**
 * The GPUs to set up: the NVIDIA physical functions `gpus:` names (all of them when it names none),
 * classified as native vGPU boards or consumer cards that need vgpu_unlock; whether vgpu_unlock is
 * used and whether SR-IOV is. Without the PCI listing there is nothing to plan.
 */
import type { GpuSpec, HostEntry } from "../../desired/schema.ts";
import { physicalGpuFunctions } from "../../facts/derive.ts";
import { normalisePciAddress } from "../../facts/pci.ts";
import type { Facts, PciFunction } from "../../facts/types.ts";
import { classifyGpu, type GpuClassification } from "../../knowledge/gpus.ts";
import { checkGpuTypes } from "./gpu-type.ts";
import type { PassOutput } from "./output.ts";

export interface Gpu {
  pci: PciFunction;
  cls: GpuClassification;
  type: string | null;
  /** vgpu.yaml `mixedSizes: true`: mixed-size mode wanted on this GPU. */
  mixedSizes: boolean;
  /** Its vgpu.yaml `gpus:` entry (where `type:` was written), when it has one */
  spec?: GpuSpec;
}

export interface GpuSelection {
  /** Every NVIDIA GPU physical function (SR-IOV virtual functions are not GPUs to set up). */
  all: PciFunction[];
  gpus: Gpu[];
  consumer: Gpu[];
  native: Gpu[];
  useUnlock: boolean;
  /** SR-IOV virtual functions wanted (vgpu.yaml `sriov:`, else: a native board that needs them). */
  sriov: boolean;
}

export function assessGpus(entry: HostEntry, f: Facts, out: PassOutput): GpuSelection | null {
  if (!f.pci) {
    out.block(
      "not-captured",
      "The PCI devices could not be listed",
      ["`lspci -Dnnk` was not captured"],
      ["install pciutils"],
    );
    return null;
  }
  const all = physicalGpuFunctions(f);
  if (all.length === 0)
    out.block(
      "gpu-missing",
      "No NVIDIA GPU found",
      ["lspci shows no NVIDIA display controller"],
      ["check the card is seated and enabled"],
    );
  const gpus = selectGpus(entry, all, out);
  // An unsupported GPU is refused before anything else is planned (issue 13 #8): no setup steps.
  const unsupported = gpus.filter((g) => g.cls.support === "unsupported");
  for (const g of unsupported)
    out.block(
      "gpu-unsupported",
      `${g.pci.address} ${g.cls.name ?? g.pci.description} cannot do vGPU`,
      [g.cls.supportReason],
      ["use a vGPU-capable card, or leave this GPU out of `gpus:`"],
    );
  if (unsupported.length > 0) return null;
  checkGpuTypes(f, gpus, out);
  const consumer = gpus.filter((g) => g.cls.support === "unlock");
  const native = gpus.filter((g) => g.cls.support === "native");
  const useUnlock = entry.unlock === "on" || (entry.unlock === "auto" && consumer.length > 0);
  if (entry.unlock === "off" && consumer.length > 0)
    out.block(
      "unlock-missing",
      "These consumer GPUs need vgpu_unlock, but `unlock: off`",
      consumer.map((g) => `${g.pci.address} ${g.cls.name}: ${g.cls.supportReason}`),
      ["set `unlock: auto`"],
    );
  if (useUnlock && consumer.length > 0 && native.length > 0)
    out.note(
      "native and consumer GPUs together: vgpu_unlock spoofs every GPU in its device-id ranges, including native boards",
    );
  const sriov = entry.sriov ?? native.some((g) => g.cls.needsSriov);
  return { all, gpus, consumer, native, useUnlock, sriov };
}

/** The GPUs `gpus:` names by address (the only GPU when it gives none), or every GPU when empty. */
function selectGpus(entry: HostEntry, all: PciFunction[], out: PassOutput): Gpu[] {
  const wanted = entry.gpus ?? [];
  if (wanted.length === 0)
    return all.map((p) => ({ pci: p, cls: classify(p), type: null, mixedSizes: false }));
  const gpus: Gpu[] = [];
  for (const g of wanted) {
    let p: PciFunction | undefined;
    if (g.address) {
      const want = normalisePciAddress(g.address) ?? g.address;
      p = all.find((x) => x.address === want);
    } else if (all.length === 1) p = all[0];
    if (!p) {
      out.block(
        "gpu-not-found",
        g.address ? `No NVIDIA GPU at ${g.address}` : "Several NVIDIA GPUs: name the `address` of each",
        all.map((x) => `${x.address} ${x.description}`),
        ["set gpus[].address to one of the addresses above"],
      );
      continue;
    }
    gpus.push({ pci: p, cls: classify(p), type: g.type, mixedSizes: g.mixedSizes === true, spec: g });
  }
  return gpus;
}

function classify(p: PciFunction): GpuClassification {
  return classifyGpu({
    deviceId: p.deviceId,
    subsystemVendorId: p.subsystemVendorId,
    subsystemDeviceId: p.subsystemDeviceId,
  });
}
