import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { Evidence } from "../../src/facts/capture.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { listScenarios } from "../../src/hosts/sim/sim-host.ts";
import { openSim, run } from "./helpers.ts";

const fixture = (name: string) => readFile(new URL(`../fixtures/sim/${name}`, import.meta.url), "utf8");

describe("every scenario renders", () => {
  it("lists the scenarios DESIGN.md requires", () => {
    const names = listScenarios().map((s) => s.name);
    for (const n of ["seed-fresh", "seed-configured", "p4-fresh", "rtx3080"]) expect(names).toContain(n);
    for (const s of listScenarios()) expect(s.description.length).toBeGreaterThan(10);
  });

  for (const { name } of listScenarios()) {
    it(`${name}: captures the whole gather spec`, async () => {
      const host = await openSim(name);
      const cap = await host.capture(GATHER_SPEC);
      const ev = new Evidence(cap);
      expect(cap.host).toBe(name);
      expect(ev.stdout("uname -r")).toMatch(/^\d+\.\d+\.\d+-\d+-pve\n$/);
      expect(ev.stdout("pveversion -v")).toMatch(/^proxmox-ve: \S+ \(running kernel: \S+\)\npve-manager: /);
      expect(ev.file("/proc/cmdline")).toMatch(/(BOOT_IMAGE=|initrd=)/);
      expect(ev.stdout("lspci -Dnnk")).toMatch(/NVIDIA Corporation .*\[10de:[0-9a-f]{4}\]/);
      // sysfs of the NVIDIA function is always captured
      const gpu = host.snapshot().gpus[0]!.address;
      expect(cap.files[`/sys/bus/pci/devices/${gpu}/vendor`]).toBe("0x10de\n");
      // binary files (the unlock .so) are never put in a capture
      for (const content of Object.values(cap.files)) expect(content.includes("\u0000")).toBe(false);
    });
  }
});

describe("seed-fresh", () => {
  it("has no driver: nvidia-smi, mdevctl and dkms are not installed (exit 127)", async () => {
    const host = await openSim("seed-fresh");
    for (const cmd of ["nvidia-smi", "mdevctl types", "dkms status"]) {
      const r = await run(host, cmd);
      expect(r.exitCode).toBe(127);
      expect(r.stderr).toMatch(/command not found/);
    }
    expect((await run(host, "lspci -Dnnk")).stdout).toContain(
      "0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A] [10de:1e07] (rev a1)\n\tSubsystem: NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A] [10de:12fa]\n\tKernel driver in use: nouveau\n",
    );
    const cap = await host.capture(GATHER_SPEC);
    expect(new Evidence(cap).command("nvidia-smi")).toBeUndefined();
    expect(cap.files["/sys/firmware/efi/fw_platform_size"]).toBe("64\n");
  });

  it("dmesg shows the DMAR table but no IOMMU: 5.15 needs intel_iommu=on", async () => {
    const host = await openSim("seed-fresh");
    const dmesg = (await run(host, "dmesg")).stdout;
    expect(dmesg).toContain("ACPI: DMAR 0x000000009CC98B68");
    expect(dmesg).not.toContain("DMAR: IOMMU enabled");
    expect(dmesg).not.toContain("Virtualization Technology for Directed I/O");
    expect(dmesg).toMatch(/nouveau 0000:01:00\.0: NVIDIA TU102/);
  });

  it("GRUB host: proxmox-boot-tool status fails like a real non-ESP install", async () => {
    const r = await run(await openSim("seed-fresh"), "proxmox-boot-tool status");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("E: /etc/kernel/proxmox-boot-uuids does not exist.\n");
  });
});

describe("seed-configured", () => {
  // source: seed guide lines 308-319 (test/fixtures/sim/SOURCES.md)
  it("mdevctl types matches the seed guide's output for 1Q, 2Q, 3Q", async () => {
    const out = (await run(await openSim("seed-configured"), "mdevctl types")).stdout;
    const seed = (await fixture("seed-mdevctl-types.txt")).trimEnd();
    expect(out.startsWith("0000:01:00.0\n  nvidia-256\n")).toBe(true);
    const body = out
      .split("\n")
      .filter((l) => l.startsWith("    "))
      .slice(0, 12)
      .join("\n");
    expect(body).toBe(seed);
    expect(out).toContain(
      "  nvidia-259\n    Available instances: 6\n    Device API: vfio-pci\n    Name: GRID RTX6000-4Q\n",
    );
  });

  // source: seed guide lines 289-298 and 330-334
  it("nvidia-smi and nvidia-smi vgpu contain every line the seed shows", async () => {
    const host = await openSim("seed-configured");
    const smi = (await run(host, "nvidia-smi")).stdout.split("\n");
    for (const line of (await fixture("seed-nvidia-smi.txt")).split("\n").filter(Boolean))
      expect(smi).toContain(line);
    const vgpu = (await run(host, "nvidia-smi vgpu")).stdout.split("\n");
    for (const line of (await fixture("seed-nvidia-smi-vgpu.txt")).split("\n").filter(Boolean))
      expect(vgpu).toContain(line);
  });

  it("IOMMU on, vgpu_unlock preloaded in both services, VMs defined without hostpci", async () => {
    const host = await openSim("seed-configured");
    expect(await host.readFile("/proc/cmdline")).toBe(
      "BOOT_IMAGE=/boot/vmlinuz-5.15.102-1-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on iommu=pt\n",
    );
    expect((await run(host, "dmesg")).stdout).toContain("] DMAR: IOMMU enabled\n");
    for (const svc of ["nvidia-vgpud", "nvidia-vgpu-mgr"]) {
      expect(await host.readFile(`/etc/systemd/system/${svc}.service.d/vgpu_unlock.conf`)).toBe(
        "[Service]\nEnvironment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so\n",
      );
    }
    expect((await run(host, "ls -1 /opt/vgpu_unlock-rs/target/release")).stdout).toContain(
      "libvgpu_unlock_rs.so\n",
    );
    expect((await run(host, "dkms status")).stdout).toBe(
      "nvidia, 525.85.07, 5.15.102-1-pve, x86_64: installed\n",
    );
    expect((await run(host, "systemctl is-active nvidia-vgpud.service nvidia-vgpu-mgr.service")).stdout).toBe(
      "inactive\nactive\n",
    );
    const conf100 = await host.readFile("/etc/pve/qemu-server/100.conf");
    expect(conf100).toMatch(/^ostype: win11$/m);
    expect(conf100).toMatch(/^machine: pc-q35-7\.2$/m);
    expect(conf100).not.toMatch(/hostpci/);
    expect(await host.readFile("/etc/pve/qemu-server/101.conf")).toMatch(/^ostype: l26$/m);
    expect(
      await host.readFile("/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-259/name"),
    ).toBe("GRID RTX6000-4Q\n");
    expect(await host.list("/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types")).toContain("nvidia-256");
    expect((await run(host, "journalctl --no-pager -b 0 -u nvidia-vgpud.service")).stdout).toContain(
      "VGPU Type 0x100: GRID RTX6000-1Q Class: Quadro",
    );
  });
});

describe("other scenarios", () => {
  it("p4-fresh: PVE 8, AMD-Vi, systemd-boot via proxmox-boot-tool, Tesla P4 on nouveau", async () => {
    const host = await openSim("p4-fresh");
    expect((await run(host, "pveversion -v")).stdout).toMatch(
      /^proxmox-ve: 8\.2\.0 \(running kernel: 6\.8\.12-4-pve\)\n/,
    );
    expect((await run(host, "proxmox-boot-tool status")).stdout).toContain(
      "4A2B-1C3D is configured with: uefi (versions: 6.8.12-4-pve, 6.8.4-2-pve)",
    );
    const dmesg = (await run(host, "dmesg")).stdout;
    expect(dmesg).toContain("AMD-Vi: Interrupt remapping enabled");
    expect(dmesg).not.toContain("DMAR");
    expect((await run(host, "lspci -Dnnk")).stdout).toContain(
      "3D controller [0302]: NVIDIA Corporation GP104GL [Tesla P4] [10de:1bb3] (rev a1)",
    );
    expect(await host.readFile("/etc/kernel/cmdline")).toBe("root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
    expect((await run(host, "mokutil --sb-state")).stdout).toBe("SecureBoot disabled\n");
  });

  it("p4-configured offers the P4 types natively (unlock = false)", async () => {
    const out = (await run(await openSim("p4-configured"), "mdevctl types")).stdout;
    expect(out).toContain(
      "  nvidia-65\n    Available instances: 2\n    Device API: vfio-pci\n    Name: GRID P4-4Q\n",
    );
  });

  it("rtx3080: consumer Ampere, nouveau, no vGPU types even with a driver", async () => {
    const host = await openSim("rtx3080");
    expect((await run(host, "lspci -Dnnk")).stdout).toContain("[10de:2206]");
    expect(await host.list("/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types")).toBeNull();
  });

  it("secure-boot-on: driver installed but not loaded → nvidia-smi exit 9 with the real message", async () => {
    const host = await openSim("secure-boot-on");
    const r = await run(host, "nvidia-smi");
    expect(r.exitCode).toBe(9);
    expect(r.stdout).toMatch(
      /^NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver\./,
    );
    expect((await run(host, "mokutil --sb-state")).stdout).toBe("SecureBoot enabled\n");
    expect((await run(host, "dmesg")).stdout).toContain(
      "Lockdown: modprobe: unsigned module loading is restricted",
    );
  });

  it("vfio-leftover: GPU bound to vfio-pci, no types", async () => {
    const host = await openSim("vfio-leftover");
    expect((await run(host, "lspci -Dnnk")).stdout).toMatch(
      /\[10de:1e07\] \(rev a1\)\n\tSubsystem: [^\n]+\n\tKernel driver in use: vfio-pci\n/,
    );
    expect((await run(host, "mdevctl types")).stdout).toBe("");
  });

  it("p4-on-17x: vgpud rejects the Pascal GPU", async () => {
    const host = await openSim("p4-on-17x");
    const j = (await run(host, "journalctl --no-pager -b 0 -u nvidia-vgpud.service")).stdout;
    expect(j).toContain("GPU not supported by vGPU at PCI Id: 0:1:0:0 DevID: 0x10de / 0x1bb3");
    expect(j).toContain("status=6/NOTCONFIGURED");
    expect((await run(host, "nvidia-smi vgpu")).stdout).toBe("No supported devices in vGPU mode\n");
  });

  it("iommu-off-firmware: no DMAR table, no IOMMU groups despite intel_iommu=on", async () => {
    const dmesg = (await run(await openSim("iommu-off-firmware"), "dmesg")).stdout;
    expect(dmesg).not.toContain("ACPI: DMAR");
    expect(dmesg).not.toContain("Adding to iommu group");
  });
});
