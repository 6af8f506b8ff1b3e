import { describe, expect, it } from "vitest";
import { emptyCapture } from "../../src/facts/capture.ts";
import { parseFacts } from "../../src/facts/index.ts";

// Users paste what they ran; hand-assembled bundles name commands in many ways.
describe("command variants in hand-assembled bundles", () => {
  it("reads `lspci -nnk`, `journalctl -k` and `cat /proc/cmdline` in place of the canonical commands", () => {
    const cap = emptyCapture("pasted", "2026-01-31T12:00:00Z");
    cap.commands.push(
      {
        cmd: "lspci -nnk",
        // source: seed guide's host (RTX 2080 Ti, 10de:1e07) in the lspci -nnk layout
        stdout:
          "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A] [10de:1e07] (rev a1)\n\tKernel driver in use: nouveau\n\tKernel modules: nvidiafb, nouveau\n",
        exitCode: 0,
      },
      {
        cmd: "journalctl -k",
        stdout:
          "Jan 31 12:00:01 pve1 kernel: DMAR: IOMMU enabled\nJan 31 12:00:01 pve1 kernel: DMAR: Intel(R) Virtualization Technology for Directed I/O\n",
        exitCode: 0,
      },
      {
        cmd: "cat /proc/cmdline",
        stdout: "BOOT_IMAGE=/boot/vmlinuz-5.15.102-1-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on\n",
        exitCode: 0,
      },
    );
    const f = parseFacts(cap);
    expect(f.pci?.[0]).toMatchObject({ address: "0000:01:00.0", deviceId: "1e07", driverInUse: "nouveau" });
    expect(f.dmesg?.dmarEnabled).toBe(true);
    expect(f.dmesg?.lines[0]).toBe("DMAR: IOMMU enabled");
    expect(f.cmdline).toContain("intel_iommu=on");
  });

  it("a command that is not there at all stays unknown", () => {
    const f = parseFacts(emptyCapture("x", "2026-01-31T12:00:00Z"));
    expect(f.pci).toBeNull();
    expect(f.cmdline).toBeNull();
  });
});

describe("filtered dmesg pastes prove nothing by absence", () => {
  it("`dmesg | grep -i iommu` showing only the boot command line leaves the IOMMU state unknown", async () => {
    const { deriveIommu } = await import("../../src/facts/derive.ts");
    const cap = emptyCapture("pasted", "2026-01-31T12:00:00Z");
    cap.commands.push({
      cmd: "dmesg | grep -i iommu",
      stdout:
        "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on\n",
      exitCode: 0,
    });
    const f = parseFacts(cap);
    expect(f.dmesg?.filtered).toBe(true);
    expect(deriveIommu(f).enabled).toBeNull();
  });

  it("the same line from a whole `dmesg` means the IOMMU did not come up", async () => {
    const { deriveIommu } = await import("../../src/facts/derive.ts");
    const cap = emptyCapture("full", "2026-01-31T12:00:00Z");
    cap.commands.push({
      cmd: "dmesg",
      stdout:
        "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on\n",
      exitCode: 0,
    });
    expect(deriveIommu(parseFacts(cap)).enabled).toBe(false);
  });
});
