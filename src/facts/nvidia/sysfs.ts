import { type Evidence, SYS_PCI_DEVICES } from "../capture.ts";
import { normalisePciAddress } from "../pci.ts";
import type { MdevType, SriovState } from "../types.ts";
import { isHexDigits, parseIntLoose, splitLines } from "./common.ts";
import { makeMdevType } from "./mdevctl.ts";

const NVIDIA_VENDOR = "0x10de";

/**
 * Addresses of the NVIDIA functions whose sysfs was captured: vendor file "0x10de", or the function
 * folder listed in capturedPaths (support-bundle captures only NVIDIA functions), or — for hand-made
 * bundles without a vendor file — a function with `nvidia-*` mdev types or an `nvidia/` folder.
 * null when the capture holds no such function (sysfs not captured → unknown).
 */
export function nvidiaFunctions(ev: Evidence): readonly string[] | null {
  let known = NVIDIA_FUNCTIONS.get(ev);
  if (known === undefined) {
    known = findNvidiaFunctions(ev);
    NVIDIA_FUNCTIONS.set(ev, known);
  }
  return known;
}

/**
 * nvidiaFunctions of each Evidence, found once: five readers of parseFacts ask, and each search walks
 * every captured path (an Evidence reads a capture that no longer changes).
 */
const NVIDIA_FUNCTIONS = new WeakMap<Evidence, readonly string[] | null>();

function findNvidiaFunctions(ev: Evidence): string[] | null {
  const prefix = `${SYS_PCI_DEVICES}/`;
  const found = new Set<string>();
  const isAddress = new Map<string, boolean>();
  for (const path of Object.keys(ev.capture.files)) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length).split("/");
    const addr = rest[0]!;
    let ok = isAddress.get(addr);
    if (ok === undefined) {
      ok = normalisePciAddress(addr, "required") !== null;
      isAddress.set(addr, ok);
    }
    if (!ok) continue;
    if (rest[1] === "vendor" && rest.length === 2) {
      if (ev.capture.files[path]!.trim().toLowerCase() === NVIDIA_VENDOR) found.add(addr);
    } else if (
      (rest[1] === "mdev_supported_types" && rest[2]?.startsWith("nvidia-")) ||
      rest[1] === "nvidia"
    ) {
      const vendor = ev.capture.files[`${prefix}${addr}/vendor`];
      if (vendor === undefined || vendor.trim().toLowerCase() === NVIDIA_VENDOR) found.add(addr);
    }
  }
  for (const root of ev.capture.capturedPaths) {
    if (!root.startsWith(prefix)) continue;
    const dir = root.endsWith("/") ? root.slice(0, -1) : root;
    const rest = dir.slice(prefix.length).split("/");
    if (rest.length !== 1 || normalisePciAddress(rest[0]!, "required") === null) continue;
    const vendor = ev.capture.files[`${dir}/vendor`];
    if (vendor === undefined || vendor.trim().toLowerCase() === NVIDIA_VENDOR) found.add(rest[0]!);
  }
  if (found.size === 0) return null;
  return [...found].sort();
}

/**
 * vGPU types offered through the legacy mdev interface
 * (`/sys/bus/pci/devices/<addr>/mdev_supported_types/<type>/{name,description,available_instances,device_api}`).
 * [] when NVIDIA functions were captured but none offers mdev types (e.g. vendor-specific VFIO on
 * kernel ≥ 6.8 — see creatableTypesFromSysfs); null when no NVIDIA function's sysfs was captured.
 */
export function mdevTypesFromSysfs(ev: Evidence): MdevType[] | null {
  const fns = nvidiaFunctions(ev);
  if (fns === null) return null;
  const out: MdevType[] = [];
  for (const addr of fns) {
    const base = `${SYS_PCI_DEVICES}/${addr}/mdev_supported_types`;
    const types = ev.list(base);
    if (!types) continue;
    for (const type of types) {
      const dir = `${base}/${type}`;
      const read = (f: string) => {
        const v = ev.file(`${dir}/${f}`);
        return typeof v === "string" ? v : null;
      };
      out.push(
        makeMdevType(normalisePciAddress(addr, "required") ?? addr, type, {
          name: read("name"),
          description: read("description"),
          availableInstances: read("available_instances"),
          deviceApi: read("device_api"),
        }),
      );
    }
  }
  return out;
}

/**
 * SR-IOV state of each captured NVIDIA physical function that has `sriov_totalvfs`.
 * [] when none has it (pre-Ampere GPUs); null when no NVIDIA function's sysfs was captured.
 */
export function sriovFromSysfs(ev: Evidence): SriovState[] | null {
  const fns = nvidiaFunctions(ev);
  if (fns === null) return null;
  const out: SriovState[] = [];
  for (const addr of fns) {
    const dir = `${SYS_PCI_DEVICES}/${addr}`;
    const total = ev.file(`${dir}/sriov_totalvfs`);
    const num = ev.file(`${dir}/sriov_numvfs`);
    if (typeof total !== "string" && typeof num !== "string") continue;
    out.push({
      address: normalisePciAddress(addr, "required") ?? addr,
      totalVfs: typeof total === "string" ? parseIntLoose(total) : null,
      numVfs: typeof num === "string" ? parseIntLoose(num) : null,
    });
  }
  return out;
}

/**
 * `nvidia/creatable_vgpu_types` (vendor-specific VFIO, kernel ≥ 6.8):
 * ```
 * ID    : vGPU Name
 * 1145  : NVIDIA L40S-1B
 * ```
 * Header skipped, each line split on the first ":". A header-only file (VF busy, or every type
 * taken) gives []. Never throws.
 */
export function parseCreatableVgpuTypes(text: string): Array<{ id: string; name: string }> {
  const out: Array<{ id: string; name: string }> = [];
  if (typeof text !== "string") return out;
  for (const line of splitLines(text)) {
    const m = /^\s*(\d+)\s*:\s*(.*?)\s*$/.exec(line);
    if (!m || m[2] === "") continue;
    out.push({ id: m[1]!, name: m[2]! });
  }
  return out;
}

/**
 * Per NVIDIA function with a captured `nvidia/creatable_vgpu_types`: address → creatable types.
 * {} when NVIDIA functions were captured but none has the file (legacy mdev interface);
 * null when no NVIDIA function's sysfs was captured.
 */
export function creatableTypesFromSysfs(
  ev: Evidence,
): Record<string, Array<{ id: string; name: string }>> | null {
  const fns = nvidiaFunctions(ev);
  if (fns === null) return null;
  const out: Record<string, Array<{ id: string; name: string }>> = {};
  for (const addr of fns) {
    const text = ev.file(`${SYS_PCI_DEVICES}/${addr}/nvidia/creatable_vgpu_types`);
    if (typeof text !== "string") continue;
    out[normalisePciAddress(addr, "required") ?? addr] = parseCreatableVgpuTypes(text);
  }
  return out;
}

/** The PCI identity of one NVIDIA function, as its sysfs files give it (lowercase 4-digit hex). */
export interface SysfsFunction {
  address: string;
  deviceId: string;
  subsystemVendorId: string | null;
  subsystemDeviceId: string | null;
  /** "0302" from class "0x030200"; null when the class file was not captured */
  classCode: string | null;
}

/**
 * `vendor`, `device`, `subsystem_vendor`, `subsystem_device`, `class` of every captured NVIDIA function
 * with a readable device id. null when no NVIDIA function's sysfs was captured. Never throws.
 */
export function functionsFromSysfs(ev: Evidence): SysfsFunction[] | null {
  const addrs = nvidiaFunctions(ev);
  if (addrs === null) return null;
  const hex = (addr: string, name: string, digits: number): string | null => {
    // /^0x([0-9a-f]+)\s*$/i by string (start-up cost, issue 16)
    const t = (ev.capture.files[`${SYS_PCI_DEVICES}/${addr}/${name}`] ?? "").trimEnd();
    const h = t.startsWith("0x") || t.startsWith("0X") ? t.slice(2) : "";
    return isHexDigits(h) && h.length <= digits ? h.toLowerCase().padStart(digits, "0") : null;
  };
  const out: SysfsFunction[] = [];
  for (const a of addrs) {
    const deviceId = hex(a, "device", 4);
    const address = normalisePciAddress(a, "required");
    if (!deviceId || !address) continue;
    const cls = hex(a, "class", 6);
    out.push({
      address,
      deviceId,
      subsystemVendorId: hex(a, "subsystem_vendor", 4),
      subsystemDeviceId: hex(a, "subsystem_device", 4),
      classCode: cls ? cls.slice(0, 4) : null,
    });
  }
  return out;
}
