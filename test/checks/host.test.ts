import { describe, expect, it } from "vitest";
import { GPU, healthyFacts, KERNEL } from "./healthy.ts";
import { codes, facts, only, text } from "./helpers.ts";

const BOOT_LINES = [
  "Linux version 5.15.102-1-pve (build@proxmox)",
  "Command line: BOOT_IMAGE=/boot/vmlinuz-5.15.102-1-pve ro quiet",
];

function noIommuInDmesg(f: ReturnType<typeof healthyFacts>) {
  f.dmesg = {
    ...f.dmesg!,
    dmarEnabled: false,
    amdViEnabled: false,
    iommuEnabledLines: [],
    lines: BOOT_LINES,
  };
}

describe("iommu-disabled", () => {
  it("Intel, kernel 5.15, intel_iommu=on missing: says so and gives the exact GRUB edit", () => {
    const f = facts(healthyFacts, (f) => {
      noIommuInDmesg(f);
      f.cmdline = ["BOOT_IMAGE=/boot/vmlinuz-5.15.102-1-pve", "root=/dev/mapper/pve-root", "ro", "quiet"];
      f.grub = { ...(f.grub as Extract<typeof f.grub, { present: true }>), cmdlineLinuxDefault: ["quiet"] };
    });
    const x = only(f, "iommu-disabled");
    expect(x.severity).toBe("warning"); // mdev vGPU works without it on Turing
    expect(x.title).toMatch(/intel_iommu=on is not on the kernel command line/);
    expect(x.evidence[0]).toBe(
      "/proc/cmdline: BOOT_IMAGE=/boot/vmlinuz-5.15.102-1-pve root=/dev/mapper/pve-root ro quiet",
    );
    expect(x.fix).toContain(
      'Edit /etc/default/grub line 9 to read: GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"',
    );
    expect(x.fix).toContain("update-grub");
    expect(x.fix).toContain("reboot");
  });

  it("on the cmdline but no DMAR enablement in a boot-complete dmesg: firmware VT-d", () => {
    const f = facts(healthyFacts, noIommuInDmesg);
    const x = only(f, "iommu-disabled");
    expect(x.title).toMatch(/firmware/);
    expect(text(x)).toMatch(/intel_iommu=on is on the kernel command line/);
    expect(text(x)).toMatch(/Intel VT-d/);
    expect(x.fix.join("\n")).not.toMatch(/update-grub/);
  });

  it("AMD: on by default, so a missing AMD-Vi means firmware, never 'add amd_iommu=on'", () => {
    const f = facts(healthyFacts, (f) => {
      noIommuInDmesg(f);
      f.cpuVendor = "amd";
      f.cmdline = ["BOOT_IMAGE=/boot/vmlinuz-5.15.102-1-pve", "ro", "quiet"];
    });
    const x = only(f, "iommu-disabled");
    expect(text(x)).toMatch(/AMD CPUs enable the IOMMU by default/);
    expect(text(x)).toMatch(/AMD-Vi/);
    expect(x.fix.join("\n")).not.toMatch(/amd_iommu=on/);
  });

  it("explicitly off on the cmdline: remove the token", () => {
    const f = facts(healthyFacts, (f) => {
      noIommuInDmesg(f);
      f.cmdline = [...f.cmdline!.filter((t) => t !== "intel_iommu=on"), "intel_iommu=off"];
      f.grub = {
        ...(f.grub as Extract<typeof f.grub, { present: true }>),
        cmdlineLinuxDefault: ["quiet", "intel_iommu=off"],
      };
    });
    const x = only(f, "iommu-disabled");
    expect(x.title).toMatch(/switched off.*intel_iommu=off/);
    expect(x.fix[0]).toBe(
      'Edit /etc/default/grub line 9 to read: GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"',
    );
  });

  it("error (not warning) when the GPU needs SR-IOV", () => {
    const f = facts(healthyFacts, (f) => {
      noIommuInDmesg(f);
      f.pci![0]!.deviceId = "2230"; // RTX A6000
      f.sriov = [{ address: GPU, totalVfs: 32, numVfs: 32 }];
    });
    expect(only(f, "iommu-disabled").severity).toBe("error");
  });

  it("dmesg rotated past boot: no claim about the firmware", () => {
    const f = facts(healthyFacts, (f) => {
      f.dmesg = {
        ...f.dmesg!,
        dmarEnabled: false,
        iommuEnabledLines: [],
        lines: ["nvidia-nvlink: Nvlink Core is being initialized"],
      };
    });
    expect(codes(f)).not.toContain("iommu-disabled");
  });

  it("Intel on kernel 6.8 without intel_iommu=on and unknown dmesg: nothing (on by default there)", () => {
    const f = facts(healthyFacts, (f) => {
      f.dmesg = null;
      f.uname!.release = "6.8.12-4-pve";
      f.cmdline = ["BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve", "ro", "quiet"];
    });
    expect(codes(f)).not.toContain("iommu-disabled");
  });
});

describe("iommu-cmdline-wrong-bootloader / cmdline-not-applied", () => {
  const systemdBoot = (f: ReturnType<typeof healthyFacts>) => {
    f.bootTool = {
      configured: true,
      mode: "uefi",
      esps: [{ uuid: "A1B2-C3D4", bootloader: "systemd-boot", kernels: [KERNEL] }],
    };
    f.efi = true;
    f.kernelCmdlineFile = { present: true, tokens: ["root=ZFS=rpool/ROOT/pve-1", "boot=zfs"] };
    f.cmdline = [
      "initrd=\\EFI\\proxmox\\5.15.102-1-pve\\initrd.img-5.15.102-1-pve",
      "root=ZFS=rpool/ROOT/pve-1",
      "boot=zfs",
    ];
  };

  it("IOMMU params in /etc/default/grub on a systemd-boot host", () => {
    const f = facts(healthyFacts, systemdBoot);
    const x = only(f, "iommu-cmdline-wrong-bootloader");
    expect(x.severity).toBe("error");
    expect(x.title).toMatch(
      /intel_iommu=on iommu=pt are in \/etc\/default\/grub, but this host boots with systemd-boot/,
    );
    expect(x.evidence).toContain(
      '/etc/default/grub:9: GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"',
    );
    expect(x.evidence.join("\n")).toMatch(/A1B2-C3D4 is configured with: systemd-boot/);
    expect(x.fix).toContain(
      "Edit /etc/kernel/cmdline (one line) to read: root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt",
    );
    expect(x.fix).toContain("proxmox-boot-tool refresh");
  });

  it("params in the right file but not on /proc/cmdline: refresh and reboot", () => {
    const f = facts(healthyFacts, (f) => {
      f.cmdline = ["BOOT_IMAGE=/boot/vmlinuz-5.15.102-1-pve", "ro", "quiet"];
    });
    const x = only(f, "cmdline-not-applied");
    expect(x.fix).toEqual(["update-grub", "reboot"]);
    expect(codes(f)).not.toContain("iommu-cmdline-wrong-bootloader");
  });
});

describe("kernel-unsupported / headers-missing / dkms-not-built", () => {
  it("15.1 on kernel 6.2: names the range and the installed kernel to pin", () => {
    const f = facts(healthyFacts, (f) => {
      f.uname!.release = "6.2.16-3-pve";
      f.pve!.packages["pve-kernel-6.2.16-3-pve"] = "6.2.16-3";
    });
    const x = only(f, "kernel-unsupported");
    expect(x.severity).toBe("error");
    expect(x.title).toBe("Kernel 6.2.16-3-pve is outside what vGPU 15.1 (driver 525.85.07) supports");
    expect(x.evidence).toContain("NVIDIA driver 525.85.07 = vGPU 15.1, known to work on kernels 5.14 – 6.0");
    expect(x.fix[0]).toBe(`proxmox-boot-tool kernel pin ${KERNEL}`);
  });

  it("names the hazards of going back: ZFS root and Secure Boot", () => {
    const f = facts(healthyFacts, (f) => {
      f.uname!.release = "6.2.16-3-pve";
      f.cmdline = [
        "initrd=\\EFI\\proxmox\\initrd.img",
        "root=ZFS=rpool/ROOT/pve-1",
        "boot=zfs",
        "intel_iommu=on",
      ];
      f.secureBoot = true;
    });
    const t = only(f, "kernel-unsupported").fix.join("\n");
    expect(t).toMatch(/cannot import 'rpool'/);
    expect(t).toMatch(/zpool get all rpool/);
    expect(t).toMatch(/pve-kernel|proxmox-kernel-5\.15\.102-1-pve-signed/);
  });

  it("no kernel installed that fits: says so and offers releases for this kernel", () => {
    const f = facts(healthyFacts, (f) => {
      f.uname!.release = "6.8.12-4-pve";
      f.pve!.packages = { "pve-manager": "8.2.4", "proxmox-kernel-6.8.12-4-pve-signed": "6.8.12-4" };
      f.packages = {
        "proxmox-kernel-6.8.12-4-pve-signed": "6.8.12-4",
        "proxmox-headers-6.8.12-4-pve": "6.8.12-4",
      };
    });
    const t = only(f, "kernel-unsupported").fix.join("\n");
    expect(t).toMatch(/No installed kernel fits vGPU 15\.1/);
    expect(t).toMatch(/17\.\d \(550\./);
  });

  it("headers missing for the running kernel: warning while the driver runs, error when it is not built", () => {
    const f = facts(healthyFacts, (f) => {
      delete f.packages![`pve-headers-${KERNEL}`];
    });
    const x = only(f, "headers-missing");
    expect(x.severity).toBe("warning");
    expect(x.fix).toEqual([`apt install pve-headers-${KERNEL}`]);
    const g = facts(healthyFacts, (f) => {
      delete f.packages![`pve-headers-${KERNEL}`];
      f.packages!["proxmox-headers-6.5.13-5-pve"] = "6.5.13-5";
      f.pve!.manager = "8.1.4";
      f.loadedDriverVersion = null;
      f.nvidiaSmi = null;
      f.lsmod = f.lsmod!.filter((m) => !m.name.startsWith("nvidia"));
    });
    const y = only(g, "headers-missing");
    expect(y.severity).toBe("error");
    expect(y.evidence).toContain("headers installed for other kernels: proxmox-headers-6.5.13-5-pve");
    expect(y.fix[0]).toBe(`apt install proxmox-headers-${KERNEL}`);
  });

  it("DKMS module built only for another kernel", () => {
    const f = facts(healthyFacts, (f) => {
      f.dkms = [
        {
          module: "nvidia",
          version: "525.85.07",
          kernel: "5.15.85-1-pve",
          arch: "x86_64",
          status: "installed",
          warning: null,
        },
      ];
      f.loadedDriverVersion = null;
      f.nvidiaSmi = null;
      f.lsmod = f.lsmod!.filter((m) => !m.name.startsWith("nvidia"));
    });
    const x = only(f, "dkms-not-built");
    expect(x.evidence[0]).toBe("dkms status: nvidia/525.85.07, 5.15.85-1-pve, x86_64: installed");
    expect(x.fix[0]).toBe(`dkms install nvidia/525.85.07 -k ${KERNEL}`);
  });
});

describe("secure-boot", () => {
  const notLoaded = (f: ReturnType<typeof healthyFacts>) => {
    f.secureBoot = true;
    f.loadedDriverVersion = null;
    f.nvidiaSmi = null;
    f.lsmod = f.lsmod!.filter((m) => !m.name.startsWith("nvidia"));
  };
  it("rejected unsigned module", () => {
    const f = facts(healthyFacts, (f) => {
      notLoaded(f);
      f.dmesg!.moduleSignature = ["Loading of unsigned module is rejected"];
    });
    const x = only(f, "secure-boot");
    expect(x.severity).toBe("error");
    expect(x.title).toMatch(/rejected the unsigned NVIDIA module/);
    expect(x.evidence).toContain("dmesg: Loading of unsigned module is rejected");
    expect(x.fix.join("\n")).toMatch(/mokutil --import \/var\/lib\/dkms\/mok\.pub/);
    expect(x.fix.join("\n")).toMatch(/dkms install nvidia\/525\.85\.07 -k 5\.15\.102-1-pve/);
  });
  it("driver loaded under Secure Boot: signed, no finding", () => {
    const f = facts(healthyFacts, (f) => {
      f.secureBoot = true;
    });
    expect(codes(f)).not.toContain("secure-boot");
  });
  it("no driver yet: a warning for the coming install", () => {
    const f = facts(healthyFacts, (f) => {
      notLoaded(f);
      f.dkms = [];
    });
    expect(only(f, "secure-boot").severity).toBe("warning");
  });
});

describe("vfio-module-missing / nouveau-loaded / vfio-bound", () => {
  it("vfio_virqfd in /etc/modules on a 6.2+ kernel names file:line and deletes exactly that line", () => {
    const f = facts(healthyFacts, (f) => {
      f.uname!.release = "6.5.13-5-pve";
      f.lsmod = f.lsmod!.filter((m) => m.name !== "vfio_virqfd");
    });
    const x = only(f, "vfio-module-missing");
    expect(x.evidence[0]).toBe("/etc/modules:9: vfio_virqfd");
    expect(x.fix).toEqual(["sed -i -e '9d' /etc/modules", "update-initramfs -u -k all"]);
  });

  it("vfio modules neither listed nor loaded", () => {
    const f = facts(healthyFacts, (f) => {
      f.modulesLoad = [];
      f.lsmod = f.lsmod!.filter((m) => !m.name.startsWith("vfio"));
    });
    const x = only(f, "vfio-module-missing");
    expect(x.title).toMatch(/vfio, vfio_iommu_type1, vfio_pci, vfio_virqfd/);
    expect(x.fix[0]).toBe("printf '%s\\n' vfio vfio_iommu_type1 vfio_pci vfio_virqfd >> /etc/modules");
  });

  it("nouveau bound although blacklisted: initramfs not rebuilt", () => {
    const f = facts(healthyFacts, (f) => {
      f.pci![0]!.driverInUse = "nouveau";
      f.lsmod!.push({ name: "nouveau", size: 2306048, usedBy: [] });
      f.dmesg!.nouveau = ["nouveau 0000:01:00.0: NVIDIA TU102 (162000a1)"];
    });
    const x = only(f, "nouveau-loaded");
    expect(x.gpu).toBe(GPU);
    expect(x.evidence).toContain("/etc/modprobe.d/blacklist.conf:1: blacklist nouveau");
    expect(x.evidence).toContain("dmesg: nouveau 0000:01:00.0: NVIDIA TU102 (162000a1)");
    expect(x.fix).toEqual(["update-initramfs -u -k all", "reboot"]);
  });

  it("nouveau loaded and not blacklisted: adds the blacklist", () => {
    const f = facts(healthyFacts, (f) => {
      f.lsmod!.push({ name: "nouveau", size: 2306048, usedBy: [] });
      f.modprobe = [];
    });
    expect(only(f, "nouveau-loaded").fix[0]).toMatch(
      /blacklist nouveau.*>> \/etc\/modprobe\.d\/blacklist\.conf/,
    );
  });

  it("bound to vfio-pci by modprobe.d options + softdep: names file:line, deletes those lines", () => {
    const f = facts(healthyFacts, (f) => {
      f.pci![0]!.driverInUse = "vfio-pci";
      f.modprobe!.push({
        path: "/etc/modprobe.d/vfio.conf",
        blacklist: [],
        options: [{ module: "vfio-pci", args: "ids=10de:1e07,10de:10f7 disable_vga=1", line: 1 }],
        softdeps: [{ module: "nvidia", spec: "pre: vfio-pci", line: 2 }],
        installs: [],
        aliases: [],
      });
    });
    const x = only(f, "vfio-bound");
    expect(x.severity).toBe("error");
    expect(x.evidence).toEqual([
      "lspci -Dnnk: 0000:01:00.0 Kernel driver in use: vfio-pci",
      "/etc/modprobe.d/vfio.conf:1: options vfio-pci ids=10de:1e07,10de:10f7 disable_vga=1",
      "/etc/modprobe.d/vfio.conf:2: softdep nvidia pre: vfio-pci",
    ]);
    expect(x.fix).toEqual([
      "sed -i -e '2d' -e '1d' /etc/modprobe.d/vfio.conf",
      "update-initramfs -u -k all",
      "reboot",
    ]);
    expect(codes(f)).not.toContain("driver-not-loaded"); // the cause is already named
  });

  it("bound via vfio-pci.ids= on the cmdline: GRUB edit without the token", () => {
    const f = facts(healthyFacts, (f) => {
      f.pci![0]!.driverInUse = "vfio-pci";
      f.cmdline!.push("vfio-pci.ids=10de:1e07,10de:10f7");
      f.grub = {
        ...(f.grub as Extract<typeof f.grub, { present: true }>),
        cmdlineLinuxDefault: ["quiet", "intel_iommu=on", "iommu=pt", "vfio-pci.ids=10de:1e07,10de:10f7"],
      };
    });
    const x = only(f, "vfio-bound");
    expect(x.evidence).toContain("/proc/cmdline: vfio-pci.ids=10de:1e07,10de:10f7");
    expect(x.fix).toContain(
      'Edit /etc/default/grub line 9 to read: GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"',
    );
  });

  it("bound because a running VM passes the whole GPU through", () => {
    const f = facts(healthyFacts, (f) => {
      f.pci![0]!.driverInUse = "vfio-pci";
      f.vms![0]!.hostpci = [
        {
          index: 0,
          raw: "0000:01:00,pcie=1,x-vga=1",
          address: "0000:01:00",
          mapping: null,
          mdev: null,
          pcie: true,
          xvga: true,
        },
      ];
      f.qmList![0]!.status = "running";
    });
    const x = only(f, "vfio-bound");
    expect(x.evidence).toContain(
      "/etc/pve/qemu-server/100.conf: hostpci0: 0000:01:00,pcie=1,x-vga=1  (whole GPU passed through, VM running)",
    );
    expect(x.fix[0]).toBe("qm stop 100");
  });

  it("leftover config not in effect yet: warning", () => {
    const f = facts(healthyFacts, (f) => {
      f.modprobe![0]!.blacklist.push({ module: "nvidia", line: 2 });
    });
    const x = only(f, "vfio-config-leftover");
    expect(x.severity).toBe("warning");
    expect(x.evidence).toContain("/etc/modprobe.d/blacklist.conf:2: blacklist nvidia");
  });
});
