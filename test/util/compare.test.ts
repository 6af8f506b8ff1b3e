/**
 * src/util/compare.ts: the locale-free orders give the order localeCompare gives for the names vgpuctl
 * and the simulator sort (PCI addresses, sysfs paths, qm config keys, mdev types, kernel package names).
 */
import { describe, expect, it } from "vitest";
import { compareNatural, compareText } from "../../src/util/compare.ts";

describe("compareText", () => {
  it("orders PCI addresses, sysfs paths, config keys and mdev types as localeCompare does", () => {
    const lists = [
      ["0000:01:00.0", "0000:41:00.0", "0000:41:00.4", "0000:41:01.0", "0000:c1:00.0", "0000:e8:04.3"],
      [
        "/sys/bus/pci/devices/0000:41:00.0/sriov_numvfs",
        "/sys/bus/pci/devices/0000:41:00.0/sriov_totalvfs",
        "/sys/bus/pci/devices/0000:41:00.4/nvidia/creatable_vgpu_types",
        "/sys/bus/pci/devices/0000:41:00.4/nvidia/current_vgpu_type",
        "/sys/bus/pci/devices/0000:41:00.5/nvidia/current_vgpu_type",
      ],
      ["agent", "boot", "cores", "digest", "hostpci0", "hostpci1", "memory", "name", "net0", "scsi0", "vga"],
      ["nvidia-1155", "nvidia-256", "nvidia-259", "nvidia-26", "nvidia-444"],
    ];
    for (const list of lists) {
      expect([...list].reverse().sort(compareText)).toEqual([...list].sort((a, b) => a.localeCompare(b)));
    }
  });
});

describe("compareNatural", () => {
  it("orders kernel packages as localeCompare(b, 'en', { numeric: true }) does: 6.8 before 6.14", () => {
    const kernels = [
      "proxmox-kernel-6.14.8-2-pve-signed",
      "proxmox-kernel-6.8.12-10-pve-signed",
      "proxmox-kernel-6.8.12-4-pve-signed",
      "proxmox-kernel-6.17.2-1-pve-signed",
      "pve-kernel-5.15.102-1-pve",
      "pve-kernel-5.15.30-2-pve",
      "6.8.12-4-pve",
      "6.14.8-2-pve",
    ];
    const icu = [...kernels].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    expect([...kernels].sort(compareNatural)).toEqual(icu);
    expect(icu.slice(0, 2)).toEqual(["6.8.12-4-pve", "6.14.8-2-pve"]);
  });

  it("compares runs of digits of any length as numbers", () => {
    expect(compareNatural("a-007", "a-7")).toBeLessThan(0); // equal numbers: then the text decides
    expect(compareNatural("a-99999999999999999999", "a-100000000000000000000")).toBeLessThan(0);
    expect(compareNatural("a", "a-1")).toBeLessThan(0);
  });
});
