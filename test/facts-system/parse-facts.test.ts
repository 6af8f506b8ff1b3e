import { describe, expect, it } from "vitest";
import { BUNDLE_FORMAT, type Capture, type CapturedCommand, formatCommand } from "../../src/facts/capture.ts";
import { CMD, parseFacts } from "../../src/facts/index.ts";
import { GATHER_COMMANDS } from "../../src/hosts/gather-spec.ts";
import { fixture } from "./fixture.ts";

function capture(partial: Partial<Capture>): Capture {
  return {
    format: BUNDLE_FORMAT,
    host: "pve1",
    capturedAt: "2026-01-31T12:00:00Z",
    commands: [],
    files: {},
    capturedPaths: [],
    redacted: [],
    notes: [],
    ...partial,
  };
}

const ok = (cmd: string, stdout: string, exitCode = 0): CapturedCommand => ({ cmd, stdout, exitCode });

describe("parseFacts", () => {
  it("uses exactly the command lines of gather-spec", () => {
    const gathered = new Set(GATHER_COMMANDS.map((a) => formatCommand(a)));
    for (const cmd of Object.values(CMD)) expect(gathered, cmd).toContain(cmd);
  });

  it("an empty capture: every fact unknown, with notes, no throw", () => {
    const f = parseFacts(capture({}));
    expect(f.host).toBe("pve1");
    expect(f.uname).toBeNull();
    expect(f.pve).toBeNull();
    expect(f.grub).toBeNull();
    expect(f.efi).toBeNull();
    expect(f.nvidiaSmi).toBeNull();
    expect(f.vms).toBeNull();
    expect(f.journals).toEqual({ vgpud: null, vgpuMgr: null });
    expect(f.notes).toContain("not captured: nvidia-smi -q");
    expect(f.notes).toContain("not captured: pveversion -v");
    expect(f.notes).toContain("not captured: /etc/default/grub");
  });

  it("separates not captured (null + note) from absent ({present:false})", () => {
    const f = parseFacts(
      capture({
        // /etc/default/grub looked at but absent; /etc/vgpu_unlock looked at, only config.toml present
        capturedPaths: [
          "/etc/default/grub",
          "/etc/default/grub.d",
          "/etc/kernel/cmdline",
          "/etc/vgpu_unlock",
          "/sys/firmware/efi/fw_platform_size",
        ],
        files: { "/etc/vgpu_unlock/config.toml": "unlock = false\n" },
      }),
    );
    expect(f.grub).toEqual({ present: false });
    expect(f.kernelCmdlineFile).toEqual({ present: false });
    expect(f.profileOverride).toEqual({ present: false });
    expect(f.unlockConfig).toMatchObject({ present: true, unlock: false });
    expect(f.efi).toBe(false);
    // legacy BIOS: no Secure Boot even though mokutil was not captured
    expect(f.secureBoot).toBe(false);
    expect(f.notes).not.toContain("not captured: /etc/default/grub");
    expect(f.notes).toContain("not captured: /etc/pve/qemu-server");
  });

  it("parses a small seed-like host", () => {
    const f = parseFacts(
      capture({
        commands: [
          // source: search index id 56865571685 (uname -a of a PVE 7 host)
          ok(
            "uname -a",
            "Linux dfw1-pc1-012 5.15.149-1-pve #1 SMP PVE 5.15.149-1 (2024-03-29T14:24Z) x86_64 GNU/Linux\n",
          ),
          ok("pveversion -v", fixture("pveversion-7.4.txt")),
          ok("dmesg", fixture("dmesg-seed-intel.txt")),
          ok("lspci -Dnnk", fixture("lspci-nnk-no-domain.txt")),
          ok("lscpu", "Vendor ID:               GenuineIntel\n"),
          ok("dkms status", ""),
          // "NVIDIA-SMI has failed …" (nvidia-smi exits 9 when the driver is not loaded)
          ok(
            "nvidia-smi",
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n",
            9,
          ),
          ok("proxmox-boot-tool status", fixture("boot-tool-legacy-grub.txt")),
          ok("systemctl is-active nvidia-vgpud.service nvidia-vgpu-mgr.service", "inactive\ninactive\n", 3),
          ok("journalctl --no-pager -b 0 -u nvidia-vgpud.service", fixture("journal-vgpud-errors.txt")),
          ok("journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service", "-- No entries --\n"),
          ok("qm list", fixture("qm-list.txt")),
          ok("ls -1 /opt/vgpu_unlock-rs/target/release", "", 2),
          ok("lsmod", "garbled", 1),
        ],
        capturedPaths: [
          "/proc/cmdline",
          "/etc/default/grub",
          "/etc/default/grub.d",
          "/etc/modules",
          "/etc/modules-load.d",
          "/etc/modprobe.d",
          "/etc/systemd/system/nvidia-vgpud.service.d",
          "/etc/systemd/system/nvidia-vgpu-mgr.service.d",
          "/etc/pve/qemu-server",
          "/etc/pve/mapping/pci.cfg",
          "/sys/firmware/efi/fw_platform_size",
          "/proc/driver/nvidia/version",
        ],
        files: {
          "/proc/cmdline":
            "BOOT_IMAGE=/boot/vmlinuz-5.15.149-1-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on iommu=pt\n",
          "/etc/default/grub":
            'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"\nGRUB_CMDLINE_LINUX=""\n',
          "/etc/default/grub.d/init-select.cfg": 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX nomodeset"\n',
          "/etc/modules": "vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n",
          "/etc/modprobe.d/blacklist.conf": "blacklist nouveau\n",
          "/etc/modprobe.d/README": "not a .conf file: modprobe ignores it\n",
          "/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf":
            "[Service]\nEnvironment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so\n",
          "/etc/pve/qemu-server/100.conf": fixture("vm-hookscript.conf"),
          "/etc/pve/qemu-server/101.conf": fixture("vm-pascal-spoof.conf"),
        },
      }),
    );
    expect(f.uname?.release).toBe("5.15.149-1-pve");
    expect(f.pve?.manager).toBe("7.4-3");
    expect(f.cpuVendor).toBe("intel");
    expect(f.cmdline).toContain("intel_iommu=on");
    expect(f.grub).toMatchObject({
      present: true,
      cmdlineLinuxDefault: ["quiet", "intel_iommu=on", "iommu=pt"],
      cmdlineLinux: ["nomodeset"],
    });
    expect(f.efi).toBe(false);
    expect(f.bootTool?.esps[0]?.bootloader).toBe("grub");
    expect(f.dmesg?.dmarEnabled).toBe(true);
    expect(f.pci?.[0]?.address).toBe("0000:01:00.0");
    expect(f.dkms).toEqual([]);
    expect(f.nvidiaSmi?.error).toMatch(/couldn't communicate with the NVIDIA driver/);
    expect(f.nvidiaSmi?.gpus).toEqual([]);
    expect(f.loadedDriverVersion).toBeNull();
    expect(f.driverModuleOpen).toBeNull();
    expect(f.services).toEqual({ "nvidia-vgpud.service": "inactive", "nvidia-vgpu-mgr.service": "inactive" });
    expect(f.journals.vgpud?.[0]).toBe("error: failed to attach device: 59");
    expect(f.journals.vgpuMgr).toEqual([]);
    expect(f.qmList).toHaveLength(5);
    expect(f.unlockLibraryFiles).toEqual([]);
    expect(f.modulesLoad?.map((m) => m.module)).toEqual([
      "vfio",
      "vfio_iommu_type1",
      "vfio_pci",
      "vfio_virqfd",
    ]);
    expect(f.modprobe?.map((m) => m.path)).toEqual(["/etc/modprobe.d/blacklist.conf"]);
    expect(f.dropins).toEqual([
      expect.objectContaining({
        unit: "nvidia-vgpud.service",
        environment: { LD_PRELOAD: "/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so" },
      }),
    ]);
    expect(f.vms?.map((v) => [v.vmid, v.hostpci.length])).toEqual([
      [100, 1],
      [101, 2],
    ]);
    expect(f.pciMappings).toEqual([]);
    // a failed command is unknown, with a note; the lsmod output was not trusted
    expect(f.lsmod).toBeNull();
    expect(f.notes).toContain("lsmod failed (exit 1)");
    expect(f.notes).toContain("not captured: nvidia-smi -q");
    expect(f.notes).toContain("/proc/driver/nvidia/version absent: the NVIDIA kernel module is not loaded");
  });

  it("falls back to the absent proxmox-boot-uuids file when boot-tool wrote only to stderr", () => {
    const f = parseFacts(
      capture({
        commands: [ok("proxmox-boot-tool status", "", 2)],
        capturedPaths: ["/etc/kernel/proxmox-boot-uuids", "/sys/firmware/efi/fw_platform_size"],
        files: { "/sys/firmware/efi/fw_platform_size": "64\n" },
      }),
    );
    expect(f.efi).toBe(true);
    expect(f.bootTool).toEqual({ configured: false, mode: "uefi", esps: [] });
  });

  it("uname -r stands in when uname -a is missing", () => {
    const f = parseFacts(capture({ commands: [ok("uname -r", "6.8.12-4-pve\n"), ok("hostname", "pve1\n")] }));
    expect(f.uname).toEqual({ release: "6.8.12-4-pve", nodename: "pve1", version: null, machine: null });
  });
});

describe("secure boot without mokutil", () => {
  it("falls back to the kernel's 'secureboot:' boot line", async () => {
    const { parseFacts } = await import("../../src/facts/index.ts");
    const { emptyCapture } = await import("../../src/facts/capture.ts");
    const cap = emptyCapture("h", "2026-01-31T12:00:00Z");
    cap.commands.push({
      cmd: "dmesg",
      stdout: "[    0.000000] secureboot: Secure boot enabled\n",
      exitCode: 0,
    });
    expect(parseFacts(cap).secureBoot).toBe(true);
    cap.commands[0]!.stdout = "[    0.000000] secureboot: Secure boot disabled\n";
    expect(parseFacts(cap).secureBoot).toBe(false);
  });
});
