/** `lspci -Dnnk` and the sysfs PCI tree /sys/bus/pci/devices/<addr>/… */

import { compareText } from "../../../util/compare.ts";
import {
  type OfferedType,
  offeredTypes,
  physfnOf,
  vfCreatableTypes,
  vfVgpu,
  virtualFunctions,
} from "../logic.ts";
import { simSysfsDescription } from "../nvidia-data.ts";
import { view } from "../read-scope.ts";
import type { SimGpu, SimPciFunction, SimState } from "../state.ts";

/** Every PCI function of the host, GPUs expanded into their functions, sorted by address. */
export function allPciFunctions(s: SimState): SimPciFunction[] {
  const out: SimPciFunction[] = [...s.pci];
  for (const g of s.gpus) {
    const gpuModules = ["nvidiafb", "nouveau", ...(s.driver ? ["nvidia_vgpu_vfio", "nvidia"] : [])];
    const isVga = g.sysfsClass === "0x030000";
    out.push({
      address: g.address,
      className: isVga ? "VGA compatible controller" : "3D controller",
      classCode: isVga ? "0300" : "0302",
      sysfsClass: g.sysfsClass,
      name: `NVIDIA Corporation ${g.lspciName}`,
      vendorId: "10de",
      deviceId: g.deviceId,
      revision: g.revision,
      subsystem: {
        vendorId: g.subsystemVendorId,
        deviceId: g.subsystemDeviceId,
        name: `${g.subsystemVendorName} ${g.lspciName}`,
      },
      driver: g.driver,
      modules: gpuModules,
    });
    const base = g.address.slice(0, -1);
    for (const f of g.functions) {
      out.push({
        address: `${base}${f.fn}`,
        className: f.className,
        classCode: f.classCode,
        sysfsClass: f.sysfsClass,
        name: `NVIDIA Corporation ${f.name}`,
        vendorId: "10de",
        deviceId: f.deviceId,
        revision: g.revision,
        subsystem: {
          vendorId: g.subsystemVendorId,
          deviceId: g.subsystemDeviceId,
          name: `${g.subsystemVendorName} ${f.name}`,
        },
        // vfio-pci ids usually list the audio function too; the GPU's binding decides here.
        driver: g.driver === "vfio-pci" && f.classCode === "0403" ? "vfio-pci" : f.driver,
        modules: f.modules,
      });
    }
    // SR-IOV virtual functions: same ids as the PF, always a 3D controller.
    for (const vf of virtualFunctions(g)) {
      out.push({
        address: vf,
        className: "3D controller",
        classCode: "0302",
        sysfsClass: "0x030200",
        name: `NVIDIA Corporation ${g.lspciName}`,
        vendorId: "10de",
        deviceId: g.deviceId,
        revision: g.revision,
        subsystem: {
          vendorId: g.subsystemVendorId,
          deviceId: g.subsystemDeviceId,
          name: `${g.subsystemVendorName} ${g.lspciName}`,
        },
        driver: g.driver === "nvidia" ? "nvidia" : null,
        modules: gpuModules,
      });
    }
  }
  return out.sort((a, b) => compareText(a.address, b.address));
}

export function renderLspci(s: SimState): string {
  let out = "";
  for (const f of allPciFunctions(s)) {
    out += `${f.address} ${f.className} [${f.classCode}]: ${f.name} [${f.vendorId}:${f.deviceId}]${f.revision ? ` (rev ${f.revision})` : ""}\n`;
    if (f.subsystem)
      out += `\tSubsystem: ${f.subsystem.name} [${f.subsystem.vendorId}:${f.subsystem.deviceId}]\n`;
    if (f.driver) out += `\tKernel driver in use: ${f.driver}\n`;
    if (f.modules.length) out += `\tKernel modules: ${f.modules.join(", ")}\n`;
  }
  return out;
}

export const SYS_PCI = "/sys/bus/pci/devices";

function gpuAt(s: SimState, addr: string): SimGpu | undefined {
  return s.gpus.find((g) => g.address === addr);
}

/*
 * The views the sysfs files are rendered from, once per read scope (../read-scope.ts): a capture reads
 * ~125 files below /sys/bus/pci/devices, and rebuilding every PCI function (and the offered types) for
 * each was the largest part of the simulator's capture (callgrind, issue 16). Outside a scope: computed.
 */

/** allPciFunctions, once per read scope. */
function pciFunctions(s: SimState): readonly SimPciFunction[] {
  return view(s, "pci functions", () => allPciFunctions(s));
}

/** The PCI function at `addr` (the first, as `find` would). */
function pciFunctionAt(s: SimState, addr: string): SimPciFunction | undefined {
  const byAddress = view(s, "pci functions by address", () => {
    const m = new Map<string, SimPciFunction>();
    for (const f of pciFunctions(s)) if (!m.has(f.address)) m.set(f.address, f);
    return m;
  });
  return byAddress.get(addr);
}

/** physfnOf, once per read scope and VF. */
function pfOfVf(s: SimState, addr: string): SimGpu | undefined {
  return view(s, `physfn ${addr}`, () => physfnOf(s, addr));
}

/** offeredTypes of a GPU, once per read scope. */
function offeredBy(s: SimState, gpu: SimGpu): readonly OfferedType[] {
  return view(s, `offered ${gpu.address}`, () => offeredTypes(s, gpu));
}

/**
 * `uevent` of a PCI function (the kernel's pci_uevent: DRIVER only while bound, PCI_CLASS without the
 * 0x and leading zeros, ids upper-case, MODALIAS). Rendered at <VF>/physfn/uevent and <PF>/virtfnN/uevent
 * too: the sim's filesystem has no symlinks, so the PF↔VF relation is read through the link targets' uevent
 * (PCI_SLOT_NAME), as `cat /sys/bus/pci/devices/<VF>/physfn/uevent` does on a real host.
 */
function renderUevent(f: SimPciFunction): string {
  const up = (x: string) => x.toUpperCase();
  const cls = Number.parseInt(f.sysfsClass, 16);
  const sub = f.subsystem ?? { vendorId: "0000", deviceId: "0000" };
  const p8 = (x: string) => up(x).padStart(8, "0");
  const bc = ((cls >> 16) & 0xff).toString(16).padStart(2, "0").toUpperCase();
  const sc = ((cls >> 8) & 0xff).toString(16).padStart(2, "0").toUpperCase();
  const pi = (cls & 0xff).toString(16).padStart(2, "0").toUpperCase();
  return `${f.driver ? `DRIVER=${f.driver}\n` : ""}PCI_CLASS=${cls.toString(16).toUpperCase()}\nPCI_ID=${up(f.vendorId)}:${up(f.deviceId)}\nPCI_SUBSYS_ID=${up(sub.vendorId)}:${up(sub.deviceId)}\nPCI_SLOT_NAME=${f.address}\nMODALIAS=pci:v${p8(f.vendorId)}d${p8(f.deviceId)}sv${p8(sub.vendorId)}sd${p8(sub.deviceId)}bc${bc}sc${sc}i${pi}\n`;
}

/** `nvidia/creatable_vgpu_types` of a VF (vendor-specific VFIO): header, then "ID : name" rows. */
function creatableTypes(s: SimState, pf: SimGpu, vf: string): string {
  const rows = vfCreatableTypes(s, pf, vf).map((t) => `${String(t.id).padEnd(6)}: ${t.name}\n`);
  return `ID    : vGPU Name\n${rows.join("")}`;
}

/** Content of a sysfs file below /sys/bus/pci/devices, or null when absent. */
export function readSysPci(s: SimState, path: string): string | null {
  const rest = path.slice(SYS_PCI.length + 1).split("/");
  const addr = rest[0]!;
  const f = pciFunctionAt(s, addr);
  if (!f) return null;
  const file = rest.slice(1).join("/");
  switch (file) {
    case "vendor":
      return `0x${f.vendorId}\n`;
    case "device":
      return `0x${f.deviceId}\n`;
    case "subsystem_vendor":
      return `0x${f.subsystem?.vendorId ?? "0000"}\n`;
    case "subsystem_device":
      return `0x${f.subsystem?.deviceId ?? "0000"}\n`;
    case "class":
      return `${f.sysfsClass}\n`;
  }
  if (file === "uevent") return renderUevent(f);
  const pf = pfOfVf(s, addr);
  if (pf) return readVfFile(s, pf, addr, file);
  const gpu = gpuAt(s, addr);
  if (!gpu) return null;
  const virtfn = file.startsWith("virtfn") ? /^virtfn(\d+)\/uevent$/.exec(file) : null;
  if (virtfn) {
    const vf = virtualFunctions(gpu)[Number(virtfn[1])];
    const vff = vf ? pciFunctionAt(s, vf) : undefined;
    return vff ? renderUevent(vff) : null;
  }
  if (file === "current_link_speed") return `${gpu.linkSpeed}\n`;
  if (gpu.sriov && file === "sriov_totalvfs") return `${gpu.sriov.totalVfs}\n`;
  if (gpu.sriov && file === "sriov_numvfs") return `${gpu.sriov.numVfs}\n`;
  const m = /^mdev_supported_types\/([^/]+)\/([^/]+)$/.exec(file);
  if (m) {
    const t = offeredBy(s, gpu).find((o) => o.mdevType === m[1]);
    if (!t) return null;
    switch (m[2]) {
      case "name":
        return `${t.type.name}\n`;
      case "description":
        return `${simSysfsDescription(t.type)}\n`;
      case "available_instances":
        return `${t.available}\n`;
      case "device_api":
        return "vfio-pci\n";
    }
  }
  return null;
}

/**
 * Files of a virtual function with the vendor-specific VFIO interface (kernel ≥ 6.8, vGPU 17+):
 * nvidia/creatable_vgpu_types, nvidia/current_vgpu_type ("0" or the decimal type id), nvidia/vgpu_params,
 * and physfn/uevent (the PF's).
 */
function readVfFile(s: SimState, pf: SimGpu, vf: string, file: string): string | null {
  switch (file) {
    case "nvidia/creatable_vgpu_types":
      return creatableTypes(s, pf, vf);
    case "nvidia/current_vgpu_type":
      return `${vfVgpu(s, vf)?.typeId ?? 0}\n`;
    case "nvidia/vgpu_params":
      return "\n";
    case "physfn/uevent": {
      const f = pciFunctionAt(s, pf.address);
      return f ? renderUevent(f) : null;
    }
  }
  return null;
}

/** Directory listing below /sys/bus/pci/devices, or null when absent. */
export function listSysPci(s: SimState, path: string): string[] | null {
  if (path === SYS_PCI) return pciFunctions(s).map((f) => f.address);
  const rest = path.slice(SYS_PCI.length + 1).split("/");
  const addr = rest[0]!;
  const f = pciFunctionAt(s, addr);
  if (!f) return null;
  const gpu = gpuAt(s, addr);
  const types = gpu ? offeredBy(s, gpu) : [];
  const vfOf = pfOfVf(s, addr);
  if (vfOf) {
    if (rest.length === 1)
      return [
        "class",
        "device",
        "nvidia",
        "physfn",
        "subsystem_device",
        "subsystem_vendor",
        "uevent",
        "vendor",
      ];
    if (rest.length === 2 && rest[1] === "nvidia")
      return ["creatable_vgpu_types", "current_vgpu_type", "vgpu_params"];
    return rest.length === 2 && rest[1] === "physfn" ? ["uevent"] : null;
  }
  if (gpu && rest.length === 2 && /^virtfn\d+$/.test(rest[1]!))
    return Number(rest[1]!.slice(6)) < virtualFunctions(gpu).length ? ["uevent"] : null;
  if (rest.length === 1) {
    const names = ["class", "device", "subsystem_device", "subsystem_vendor", "uevent", "vendor"];
    if (gpu) names.push("current_link_speed");
    if (gpu?.sriov) names.push("sriov_numvfs", "sriov_totalvfs");
    if (gpu) names.push(...virtualFunctions(gpu).map((_, i) => `virtfn${i}`));
    if (types.length) names.push("mdev_supported_types");
    return names.sort();
  }
  if (rest[1] !== "mdev_supported_types" || !types.length) return null;
  if (rest.length === 2) return types.map((t) => t.mdevType).sort();
  if (rest.length === 3 && types.some((t) => t.mdevType === rest[2]))
    return ["available_instances", "description", "device_api", "name"];
  return null;
}
