import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resetScenario, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { UserError } from "../../src/util/errors.ts";
import { openSim, run, tempStateDir } from "./helpers.ts";

describe("state persistence", () => {
  it("successive opens see earlier changes; reset starts over", async () => {
    const dir = await tempStateDir();
    const a = await openSim("seed-fresh", dir);
    await a.writeFile("/etc/modprobe.d/blacklist.conf", "blacklist nouveau\n");
    await a.close();
    const stored = JSON.parse(await readFile(join(dir, "seed-fresh.json"), "utf8"));
    expect(stored.files["/etc/modprobe.d/blacklist.conf"]).toBe("blacklist nouveau\n");

    const b = await openSim("seed-fresh", dir);
    expect(await b.readFile("/etc/modprobe.d/blacklist.conf")).toBe("blacklist nouveau\n");
    expect(await b.list("/etc/modprobe.d")).toEqual(["blacklist.conf", "pve-blacklist.conf"]);
    await b.remove("/etc/modprobe.d/blacklist.conf");
    const c = await openSim("seed-fresh", dir);
    expect(await c.readFile("/etc/modprobe.d/blacklist.conf")).toBeNull();

    await c.writeFile("/root/note.txt", "x");
    await resetScenario(dir, "seed-fresh");
    const d = await openSim("seed-fresh", dir);
    expect(await d.readFile("/root/note.txt")).toBeNull();
  });

  it("scenarios keep separate state files", async () => {
    const dir = await tempStateDir();
    const a = await openSim("seed-fresh", dir);
    await a.writeFile("/root/a", "1");
    const b = await openSim("p4-fresh", dir);
    expect(await b.readFile("/root/a")).toBeNull();
  });

  it("unknown scenario → UserError naming the scenarios", async () => {
    const dir = await tempStateDir();
    const err = await SimHost.open("nope", { stateDir: dir, spec: "sim:nope" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain("seed-configured");
    expect((err as UserError).message).toContain('"nope"');
    await expect(resetScenario(dir, "nope")).rejects.toBeInstanceOf(UserError);
  });

  it("refuses writes to /proc and /sys", async () => {
    const host = await openSim("seed-fresh");
    await expect(host.writeFile("/proc/cmdline", "x")).rejects.toThrow(/cannot write/);
  });
});

describe("qm", () => {
  it("qm set --hostpci0 writes the VM conf; qm config shows it", async () => {
    const dir = await tempStateDir();
    const host = await openSim("seed-configured", dir);
    const r = await host.exec(["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259"]);
    expect(r).toEqual({
      stdout: "update VM 100: -hostpci0 0000:01:00.0,mdev=nvidia-259\n",
      stderr: "",
      exitCode: 0,
    });
    expect(await host.readFile("/etc/pve/qemu-server/100.conf")).toMatch(
      /^hostpci0: 0000:01:00\.0,mdev=nvidia-259$/m,
    );
    const again = await openSim("seed-configured", dir);
    const cfg = (await run(again, "qm config 100")).stdout;
    expect(cfg).toMatch(/^hostpci0: 0000:01:00\.0,mdev=nvidia-259$/m);
    expect(cfg).toMatch(/^digest: [0-9a-f]{40}$/m);
    await again.exec(["qm", "set", "100", "--delete", "hostpci0"]);
    expect(await again.readFile("/etc/pve/qemu-server/100.conf")).not.toMatch(/hostpci0/);
  });

  it("rejects bad input like qm does", async () => {
    const host = await openSim("seed-configured");
    expect((await host.exec(["qm", "set", "999", "--hostpci0", "01:00.0"])).stderr).toBe(
      "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist\n",
    );
    expect((await host.exec(["qm", "set", "100", "--hostpci0", "pcie=1"])).exitCode).not.toBe(0);
  });

  it("qm start creates the mdev (PVE's UUID scheme) and uses up instances; other types drop to 0", async () => {
    const host = await openSim("seed-configured");
    await host.exec(["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259"]);
    expect((await run(host, "qm start 100")).exitCode).toBe(0);
    expect((await run(host, "mdevctl list")).stdout).toBe(
      // Proxmox VE 7 ships mdevctl 0.81 (bash): a transient mdev is listed in three columns.
      "00000000-0000-0000-0000-000000000100 0000:01:00.0 nvidia-259\n",
    );
    const types = (await run(host, "mdevctl types")).stdout;
    expect(types).toContain("  nvidia-259\n    Available instances: 5\n");
    expect(types).toContain("  nvidia-256\n    Available instances: 0\n");
    expect((await run(host, "nvidia-smi vgpu -q")).stdout).toMatch(
      /Active vGPUs\s+: 1\n[\s\S]*MDEV UUID\s+: 00000000-0000-0000-0000-000000000100/,
    );
    expect((await run(host, "qm list")).stdout).toMatch(/^\s+100 win11\s+running\s+8192\s+64\.00 2100/m);
    // hostpci is not hot-pluggable: a change on a running VM goes to [PENDING]
    await host.exec(["qm", "set", "100", "--hostpci1", "0000:01:00.0,mdev=nvidia-259"]);
    expect(await host.readFile("/etc/pve/qemu-server/100.conf")).toMatch(/\[PENDING\]\nhostpci1: /);
    await run(host, "qm stop 100");
    expect((await run(host, "mdevctl list")).stdout).toBe("");
  });

  it("a VM conf written through writeFile becomes a VM", async () => {
    const host = await openSim("seed-configured");
    await host.writeFile("/etc/pve/qemu-server/102.conf", "name: extra\nmemory: 2048\nostype: l26\n");
    expect((await run(host, "qm list")).stdout).toMatch(/^\s+102 extra\s+stopped\s+2048/m);
    expect(await host.list("/etc/pve/qemu-server")).toEqual(["100.conf", "101.conf", "102.conf"]);
  });
});

describe("boot transitions", () => {
  it("GRUB params take effect only after update-grub + reboot", async () => {
    const host = await openSim("seed-fresh");
    const grub = (await host.readFile("/etc/default/grub"))!;
    await host.writeFile("/etc/default/grub", grub.replace('"quiet"', '"quiet intel_iommu=on iommu=pt"'));
    await host.reboot();
    expect(await host.readFile("/proc/cmdline")).not.toContain("intel_iommu=on");
    expect((await run(host, "update-grub")).exitCode).toBe(0);
    await host.reboot();
    expect(await host.readFile("/proc/cmdline")).toContain("quiet intel_iommu=on iommu=pt");
    expect((await run(host, "dmesg")).stdout).toContain(
      "DMAR: Intel(R) Virtualization Technology for Directed I/O",
    );
  });

  it("systemd-boot: /etc/kernel/cmdline needs proxmox-boot-tool refresh", async () => {
    const host = await openSim("p4-fresh");
    await host.writeFile("/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs amd_iommu=on iommu=pt\n");
    const r = await run(host, "proxmox-boot-tool refresh");
    expect(r.stdout).toContain("Copying and configuring kernels on /dev/disk/by-uuid/4A2B-1C3D");
    await host.reboot();
    expect(await host.readFile("/proc/cmdline")).toBe(
      "initrd=\\EFI\\proxmox\\6.8.12-4-pve\\initrd.img-6.8.12-4-pve root=ZFS=rpool/ROOT/pve-1 boot=zfs amd_iommu=on iommu=pt\n",
    );
  });

  it("blacklisting nouveau unbinds it at the next boot; vfio_virqfd does not load on 6.8", async () => {
    const host = await openSim("p4-fresh");
    await host.writeFile("/etc/modprobe.d/blacklist.conf", "blacklist nouveau\n");
    await host.writeFile("/etc/modules", "vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n");
    await host.reboot();
    const lspci = (await run(host, "lspci -Dnnk")).stdout;
    expect(lspci).toMatch(
      /\[10de:1bb3\] \(rev a1\)\n\tSubsystem: [^\n]+\n\tKernel modules: nvidiafb, nouveau\n/,
    );
    const lsmod = (await run(host, "lsmod")).stdout;
    expect(lsmod).toMatch(/^vfio_pci /m);
    expect(lsmod).not.toMatch(/^vfio_virqfd /m);
    expect(lsmod).not.toMatch(/^nouveau /m);
  });
});
