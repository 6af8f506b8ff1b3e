import { describe, expect, it } from "vitest";
import { headersOf, parseKernelPkgnames } from "../../src/facts/system/kernel-packages.ts";

// `apt-cache pkgnames proxmox-kernel-` / `pve-kernel-` print one package name per line, unsorted (apt-cache(8));
// the names follow the Proxmox kernel packages (pve-kernel-5.15.102-1-pve, proxmox-kernel-6.8.12-4-pve-signed).
describe("parseKernelPkgnames: kernel image packages the repositories offer", () => {
  it("keeps kernel image packages, drops meta/helper packages, prefers the -signed variant", () => {
    const text = [
      "proxmox-kernel-helper",
      "proxmox-kernel-6.8",
      "proxmox-kernel-6.8.12-4-pve",
      "proxmox-kernel-6.8.12-4-pve-signed",
      "proxmox-kernel-6.5.13-6-pve-signed",
      "proxmox-kernel-6.8.12-4-pve-signed-template",
      "",
    ].join("\n");
    expect(parseKernelPkgnames(text)).toEqual([
      { kernel: "6.5.13-6-pve", package: "proxmox-kernel-6.5.13-6-pve-signed" },
      { kernel: "6.8.12-4-pve", package: "proxmox-kernel-6.8.12-4-pve-signed" },
    ]);
  });

  it("older series: pve-kernel-X-pve, headers pve-headers-X-pve; numeric order", () => {
    const ks = parseKernelPkgnames(
      "pve-kernel-5.15.158-2-pve\npve-kernel-5.15\npve-kernel-5.15.102-1-pve\r\n",
    );
    expect(ks.map((k) => k.kernel)).toEqual(["5.15.102-1-pve", "5.15.158-2-pve"]);
    expect(headersOf(ks[1]!)).toBe("pve-headers-5.15.158-2-pve");
    expect(headersOf({ kernel: "6.8.12-4-pve", package: "proxmox-kernel-6.8.12-4-pve-signed" })).toBe(
      "proxmox-headers-6.8.12-4-pve",
    );
  });

  it("empty output (no Proxmox lists yet): none", () => {
    expect(parseKernelPkgnames("")).toEqual([]);
  });
});
