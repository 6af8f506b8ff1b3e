// Kernel image packages on the simulated host (src/hosts/sim/kernels.ts, its own repository list):
// `apt-cache pkgnames PREFIX` lists them (apt-cache(8): one name a line), installing one makes the kernel
// bootable, its headers' DKMS hook builds the driver for it, and a pin boots it.
import { describe, expect, it } from "vitest";
import { openSim, run } from "./helpers.ts";

describe("installable kernels (sim:kernel-too-new-alone, Proxmox VE 7.4)", () => {
  it("apt-cache pkgnames pve-kernel- lists the repository's kernel images, the installed 6.2 among them", async () => {
    const h = await openSim("kernel-too-new-alone");
    const names = (await run(h, "apt-cache pkgnames pve-kernel-")).stdout.split("\n").filter(Boolean);
    expect(names).toContain("pve-kernel-5.15.158-2-pve");
    expect(names).toContain("pve-kernel-6.2.16-3-pve");
    expect(names.every((n) => n.startsWith("pve-kernel-"))).toBe(true);
    expect((await run(h, "apt-cache pkgnames proxmox-kernel-")).stdout).toBe("");
  });

  it("apt-get install of the image + headers: kernel installed, DKMS builds 15.1 for it, pinned it boots with the driver", async () => {
    const h = await openSim("kernel-too-new-alone");
    expect((await run(h, "dkms status")).stdout).toBe("nvidia, 525.85.07: added\n");
    const r = await run(h, "apt-get install -y pve-kernel-5.15.158-2-pve pve-headers-5.15.158-2-pve");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "dkms: running auto installation service for kernel 5.15.158-2-pve\n   ...done.",
    );
    expect((await run(h, "dkms status")).stdout).toBe(
      "nvidia, 525.85.07, 5.15.158-2-pve, x86_64: installed\n",
    );
    expect((await run(h, "proxmox-boot-tool kernel pin 5.15.158-2-pve")).exitCode).toBe(0);
    await h.reboot();
    expect((await run(h, "uname -r")).stdout).toBe("5.15.158-2-pve\n");
    expect((await run(h, "lsmod")).stdout).toMatch(/^nvidia\s/m);
  });

  it("a kernel the repository does not offer cannot be located", async () => {
    const h = await openSim("kernel-too-new-alone");
    const r = await run(h, "apt-get install -y pve-kernel-5.15.999-1-pve");
    expect(r.exitCode).toBe(100);
    expect(r.stderr).toBe("E: Unable to locate package pve-kernel-5.15.999-1-pve\n");
  });
});
