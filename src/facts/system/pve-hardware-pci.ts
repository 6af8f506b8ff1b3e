import type { PciDevice } from "../types.ts";

/**
 * `pvesh get /nodes/localhost/hardware/pci --pci-class-blacklist "" --output-format json`: the node's PCI
 * functions as the API lists them (pve-manager PVE/API2/Hardware/PCI.pm: id, class, vendor, device,
 * subsystem_vendor/_device, iommugroup, mdev, physfn/virtfns …) — a JSON array (pvesh prints the data
 * without the HTTP envelope). Pure; never throws: anything but an array of objects with an `id` is null.
 */
export function parsePveHardwarePci(text: string | null | undefined): PciDevice[] | null {
  if (!text?.trim()) return null;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    if (e instanceof SyntaxError) return null;
    throw e;
  }
  const list = Array.isArray(data) ? data : null;
  if (!list?.every((d) => typeof d === "object" && d !== null && typeof (d as PciDevice).id === "string"))
    return null;
  return list as PciDevice[];
}
