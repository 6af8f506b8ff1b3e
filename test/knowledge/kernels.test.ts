// Kernel releases: the one comparison (compareKernel) and the installed-kernel list (installedKernels),
// used by doctor's kernel checks (src/checks/kernel.ts) and the simulated host.
import { describe, expect, it } from "vitest";
import { parseProxmoxBootToolStatus } from "../../src/facts/system/boot-tool.ts";
import { parsePveversion } from "../../src/facts/system/pveversion.ts";
import { installedKernels, kernelAtLeast } from "../../src/knowledge/drivers.ts";
import { fixture } from "../facts-system/fixture.ts";

describe("kernelAtLeast", () => {
  it("compares major.minor of a Proxmox kernel release", () => {
    expect(kernelAtLeast("6.8.12-4-pve", 6, 8)).toBe(true);
    expect(kernelAtLeast("6.5.13-5-pve", 6, 8)).toBe(false);
    expect(kernelAtLeast("5.15.102-1-pve", 6, 2)).toBe(false);
    expect(kernelAtLeast("6.11.0-1-pve", 6, 2)).toBe(true);
    expect(kernelAtLeast("6.2", 6)).toBe(true);
    expect(kernelAtLeast(null, 6, 2)).toBeNull();
    expect(kernelAtLeast("garbage", 6, 2)).toBeNull();
  });
});

describe("installedKernels", () => {
  it("from the kernels proxmox-boot-tool keeps on the ESPs, oldest first, each once", () => {
    // source: test/fixtures/facts-system/boot-tool-uefi-two-esps.txt (SOURCES.md there)
    const bootTool = parseProxmoxBootToolStatus(fixture("boot-tool-uefi-two-esps.txt"));
    expect(installedKernels({ pve: null, packages: null, bootTool })).toEqual([
      "5.13.19-6-pve",
      "5.15.39-3-pve",
      "5.15.83-1-pve",
    ]);
  });

  it("from package names (pveversion -v, dpkg-query), numerically ordered", () => {
    const packages = {
      "proxmox-kernel-6.8.12-10-pve-signed": "6.8.12-10",
      "proxmox-kernel-6.8.12-4-pve-signed": "6.8.12-4",
      "pve-kernel-5.15.102-1-pve": "5.15.102-1",
      "proxmox-kernel-6.8": "6.8.12-10", // the meta package names no release
      "proxmox-headers-6.8.12-4-pve": "6.8.12-4",
    };
    expect(installedKernels({ pve: null, packages, bootTool: null })).toEqual([
      "5.15.102-1-pve",
      "6.8.12-4-pve",
      "6.8.12-10-pve",
    ]);
  });

  it("a real pveversion -v listing: the signed kernel packages, not the meta package", () => {
    // source: search index id 9942732676 (a PVE 8.4.11 node's "Package versions", first lines)
    const text = [
      "proxmox-ve: 8.4.0 (running kernel: 6.8.12-13-pve)",
      "pve-manager: 8.4.11 (running version: 8.4.11/14a32011146091ed)",
      "proxmox-kernel-helper: 8.1.4",
      "proxmox-kernel-6.8.12-13-pve-signed: 6.8.12-13",
      "proxmox-kernel-6.8: 6.8.12-13",
      "proxmox-kernel-6.8.12-11-pve-signed: 6.8.12-11",
      "proxmox-kernel-6.8.4-2-pve-signed: 6.8.4-2",
      "ceph: 18.2.7-pve1",
    ].join("\n");
    const pve = parsePveversion(text);
    expect(installedKernels({ pve, packages: null, bootTool: null })).toEqual([
      "6.8.4-2-pve",
      "6.8.12-11-pve",
      "6.8.12-13-pve",
    ]);
    expect(installedKernels({ pve: null, packages: null, bootTool: null })).toEqual([]);
  });
});
