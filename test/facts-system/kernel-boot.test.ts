import { describe, expect, it } from "vitest";
import { parseProxmoxBootToolStatus } from "../../src/facts/system/boot-tool.ts";
import { cmdlineValue, splitCmdline } from "../../src/facts/system/cmdline.ts";
import { parseGrubDefaults } from "../../src/facts/system/grub.ts";
import { parsePveversion } from "../../src/facts/system/pveversion.ts";
import { parseUnameA, parseUnameR } from "../../src/facts/system/uname.ts";
import { fixture } from "./fixture.ts";

describe("uname", () => {
  it("parses a Proxmox VE 7 `uname -a`", () => {
    // source: search index id 56865571685 (GitHub issue comment by aitorpazos, 2024-07-31)
    const u = parseUnameA(
      "Linux dfw1-pc1-012 5.15.149-1-pve #1 SMP PVE 5.15.149-1 (2024-03-29T14:24Z) x86_64 GNU/Linux\n",
    );
    expect(u).toEqual({
      release: "5.15.149-1-pve",
      nodename: "dfw1-pc1-012",
      version: "#1 SMP PVE 5.15.149-1 (2024-03-29T14:24Z)",
      machine: "x86_64",
    });
  });

  it("parses the long form with processor and platform columns", () => {
    // source: search index id 59216697 (ostechnix sshpass article, "Sample output")
    const u = parseUnameA(
      "Linux Ubuntu22CT 5.15.60-1-pve #1 SMP PVE 5.15.60-1 (Mon, 19 Sep 2022 17:53:17 +0200) x86_64 x86_64 x86_64 GNU/Linux",
    );
    expect(u?.release).toBe("5.15.60-1-pve");
    expect(u?.machine).toBe("x86_64");
    expect(u?.version).toBe("#1 SMP PVE 5.15.60-1 (Mon, 19 Sep 2022 17:53:17 +0200)");
  });

  it("parses a PVE 8 kernel line without the OS column", () => {
    // source: search index id 16162953654 (ssh login banner "Linux yangz 6.8.4-2-pve …")
    const u = parseUnameA(
      "Linux yangz 6.8.4-2-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.4-2 (2024-04-10T17:36Z) x86_64",
    );
    expect(u?.release).toBe("6.8.4-2-pve");
    expect(u?.nodename).toBe("yangz");
    expect(u?.machine).toBe("x86_64");
  });

  it("rejects text that is not uname output", () => {
    expect(parseUnameA("")).toBeNull();
    expect(parseUnameA("bash: uname: command not found")).toBeNull();
  });

  it("uname -r is the trimmed first line", () => {
    expect(parseUnameR("6.8.12-4-pve\n")).toBe("6.8.12-4-pve");
    expect(parseUnameR("\n")).toBeNull();
  });
});

describe("pveversion -v", () => {
  it("reads PVE 7.4 (manager with running version, kernel from proxmox-ve)", () => {
    const p = parsePveversion(fixture("pveversion-7.4.txt"));
    expect(p?.manager).toBe("7.4-3");
    expect(p?.runningKernel).toBe("5.15.102-1-pve");
    expect(p?.packages).toEqual({ "proxmox-ve": "7.4-1", "pve-manager": "7.4-3", corosync: "3.1.7-pve1" });
  });

  it("reads PVE 8.2 and omits packages that are not installed", () => {
    const p = parsePveversion(fixture("pveversion-8.2.txt"));
    expect(p?.manager).toBe("8.2.4");
    expect(p?.runningKernel).toBe("6.8.12-2-pve");
    expect(p?.packages["zfsutils-linux"]).toBe("2.2.4-pve1");
    expect(p?.packages).not.toHaveProperty("ceph-fuse");
    expect(parsePveversion(fixture("pveversion-8.2-head.txt"))?.packages["proxmox-kernel-helper"]).toBe(
      "8.1.0",
    );
  });

  it("skips 'not correctly installed' lines", () => {
    // source: pveversion -v prints this for absent optional packages (format of PVE's pveversion script)
    const p = parsePveversion(
      "proxmox-ve: 8.2.0 (running kernel: 6.8.12-4-pve)\npve-manager: 8.2.7 (running version: 8.2.7/3e0176e6bb2ade3b)\nceph: not correctly installed\n",
    );
    expect(p?.packages).not.toHaveProperty("ceph");
    expect(p?.runningKernel).toBe("6.8.12-4-pve");
  });

  it("accepts the short `pveversion` line", () => {
    // source: https://github.com/luchina-gabriel/OSX-PROXMOX/pull/30 ("pve-manager/8.0.3/bbf3993334bfa916 (running kernel: 6.2.16-3-pve)")
    const p = parsePveversion("pve-manager/8.0.3/bbf3993334bfa916 (running kernel: 6.2.16-3-pve)");
    expect(p).toEqual({ manager: "8.0.3", runningKernel: "6.2.16-3-pve", packages: {} });
  });

  it("is null without a pve-manager line", () => {
    expect(parsePveversion("bash: pveversion: command not found")).toBeNull();
  });
});

describe("kernel command line", () => {
  it("splits /proc/cmdline and reads values", () => {
    // source: search index id 62664484977 (PVE guide: `cat /proc/cmdline`)
    const t = splitCmdline(
      "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on\n",
    );
    expect(t).toEqual([
      "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve",
      "root=/dev/mapper/pve-root",
      "ro",
      "quiet",
      "intel_iommu=on",
    ]);
    expect(cmdlineValue(t, "intel_iommu")).toBe("on");
    expect(cmdlineValue(t, "quiet")).toBe("");
    expect(cmdlineValue(t, "iommu")).toBeNull();
  });

  it("respects quotes and lets the last occurrence win", () => {
    const t = splitCmdline('root=ZFS=rpool/ROOT/pve-1 boot=zfs dyndbg="file vfio* +p" iommu=off iommu=pt');
    expect(t).toContain("dyndbg=file vfio* +p");
    expect(cmdlineValue(t, "iommu")).toBe("pt");
  });

  it("splits the seed guide's /etc/kernel/cmdline", () => {
    // source: seed guide line 141
    expect(splitCmdline("root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt\n")).toEqual([
      "root=ZFS=rpool/ROOT/pve-1",
      "boot=zfs",
      "intel_iommu=on",
      "iommu=pt",
    ]);
  });
});

describe("/etc/default/grub", () => {
  it("reads a Proxmox ZFS grub file", () => {
    const g = parseGrubDefaults(fixture("grub-zfs-proxmox.txt"));
    expect(g.vars.GRUB_DISTRIBUTOR).toBe("Proxmox VE");
    expect(g.cmdlineLinuxDefault).toEqual(["quiet"]);
    expect(g.cmdlineLinux).toEqual(["root=ZFS=$1/ROOT/pve-1", "boot=zfs"]);
    expect(g.cmdlineLinuxDefaultLine).toBe(5);
  });

  it("reads the seed guide's edited line, and later assignments win", () => {
    // source: seed guide line 130
    const main = `GRUB_DEFAULT=0\n# comment\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"\n`;
    const g = parseGrubDefaults(main);
    expect(g.cmdlineLinuxDefault).toEqual(["quiet", "intel_iommu=on", "iommu=pt"]);
    expect(g.cmdlineLinuxDefaultLine).toBe(4);
  });

  it("applies drop-ins in order with $VAR expansion, keeping the main file's line number", () => {
    const g = parseGrubDefaults('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n', [
      'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX amd_iommu=on"\n',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell ${VAR} expansion, not a JS template
      "export GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT} iommu=pt\" # trailing comment\nGRUB_TIMEOUT='5'\n",
    ]);
    expect(g.cmdlineLinux).toEqual(["amd_iommu=on"]);
    expect(g.cmdlineLinuxDefault).toEqual(["quiet", "iommu=pt"]);
    expect(g.cmdlineLinuxDefaultLine).toBe(1);
    expect(g.vars.GRUB_TIMEOUT).toBe("5");
  });

  it("handles a missing cmdline and a value continued over lines", () => {
    const g = parseGrubDefaults('GRUB_CMDLINE_LINUX="a\nb"\nGRUB_TIMEOUT=5\n');
    expect(g.cmdlineLinuxDefault).toEqual([]);
    expect(g.cmdlineLinuxDefaultLine).toBeNull();
    expect(g.cmdlineLinux).toEqual(["a", "b"]);
    expect(g.vars.GRUB_TIMEOUT).toBe("5");
  });
});

describe("proxmox-boot-tool status", () => {
  it("reads two systemd-boot ESPs and skips the WARN line", () => {
    const b = parseProxmoxBootToolStatus(fixture("boot-tool-uefi-two-esps.txt"));
    expect(b?.configured).toBe(true);
    expect(b?.mode).toBe("uefi");
    expect(b?.esps).toEqual([
      {
        uuid: "6D31-87F4",
        bootloader: "systemd-boot",
        kernels: ["5.13.19-6-pve", "5.15.39-3-pve", "5.15.83-1-pve"],
      },
      {
        uuid: "CE07-78FC",
        bootloader: "systemd-boot",
        kernels: ["5.13.19-6-pve", "5.15.39-3-pve", "5.15.83-1-pve"],
      },
    ]);
  });

  it("reads a GRUB ESP on legacy boot", () => {
    const b = parseProxmoxBootToolStatus(fixture("boot-tool-legacy-grub.txt"));
    expect(b).toEqual({
      configured: true,
      mode: "legacy",
      esps: [{ uuid: "865E-6ADE", bootloader: "grub", kernels: ["6.8.12-4-pve", "6.8.12-8-pve"] }],
    });
  });

  it("reads the unconfigured form", () => {
    const b = parseProxmoxBootToolStatus(fixture("boot-tool-unconfigured.txt"));
    expect(b).toEqual({ configured: false, mode: "legacy", esps: [] });
    expect(
      parseProxmoxBootToolStatus("E: /etc/kernel/proxmox-boot-uuids does not exist.\n")?.configured,
    ).toBe(false);
  });

  it("is null for unrelated text", () => {
    expect(parseProxmoxBootToolStatus("bash: proxmox-boot-tool: command not found")).toBeNull();
  });
});
