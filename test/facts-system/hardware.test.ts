import { describe, expect, it } from "vitest";
import { parseDkmsStatus } from "../../src/facts/system/dkms.ts";
import { parseDmesg, stripDmesgPrefix } from "../../src/facts/system/dmesg.ts";
import { parseDpkgQueryW } from "../../src/facts/system/dpkg.ts";
import { cpuVendorFromLscpu } from "../../src/facts/system/lscpu.ts";
import { parseLsmod } from "../../src/facts/system/lsmod.ts";
import { parseLspciDnnk } from "../../src/facts/system/lspci.ts";
import { parseMokutilSbState } from "../../src/facts/system/mokutil.ts";
import { fixture } from "./fixture.ts";

describe("dmesg", () => {
  it("finds Intel VT-d enabled in the seed guide output", () => {
    const d = parseDmesg(fixture("dmesg-seed-intel.txt"));
    expect(d.dmarEnabled).toBe(true);
    expect(d.amdViEnabled).toBe(false);
    // "DMAR: IOMMU enabled" only echoes intel_iommu=on (printed even with VT-d off in firmware): not proof.
    expect(d.iommuEnabledLines).toEqual(["DMAR: Intel(R) Virtualization Technology for Directed I/O"]);
    // "x2apic is disabled because BIOS…" is not an IOMMU-disabled line
    expect(d.iommuDisabledLines).toEqual([]);
    expect(d.lines[0]).toBe(
      "ACPI: DMAR 0x000000009CC98B68 0000B8 (v01 INTEL  BDW      00000001 INTL 00000001)",
    );
    expect(d.lines).toHaveLength(24);
  });

  it("does not take the cmdline echo 'DMAR: IOMMU enabled' as proof (firmware VT-d off)", () => {
    const d = parseDmesg("[    0.020766] DMAR: IOMMU enabled\n[    0.100000] Linux version 5.15.108-1-pve\n");
    expect(d.dmarEnabled).toBe(false);
    expect(d.iommuEnabledLines).toEqual([]);
  });

  it("finds AMD-Vi on an AMD host", () => {
    const d = parseDmesg(fixture("dmesg-amd-vi.txt"));
    expect(d.amdViEnabled).toBe(true);
    expect(d.dmarEnabled).toBe(false);
    expect(d.iommuEnabledLines).toContain("pci 0000:00:00.2: AMD-Vi: Found IOMMU cap 0x40");
  });

  it("collects NVRM, vfio and nouveau lines", () => {
    // source: https://github.com/jurkovic-nikola/OpenLinkHub/pull/174 (NVRM line);
    // https://github.com/CachyOS/CachyOS-PKGBUILDS/pull/1769 (VFIO lines, timestamps re-added in dmesg form)
    const d = parseDmesg(
      [
        "[10582.980815] NVRM: GPU 0000:01:00.0 is already bound to vfio-pci.",
        "[    4.101010] VFIO - User Level meta-driver version: 0.3",
        "[    4.202020] vfio-pci 0000:01:00.0: vgaarb: deactivate vga console",
        "[    3.303030] nouveau 0000:01:00.0: NVIDIA TU102 (162000a1)", // nouveau's probe message format
      ].join("\n"),
    );
    expect(d.nvrm).toEqual(["NVRM: GPU 0000:01:00.0 is already bound to vfio-pci."]);
    expect(d.vfio).toHaveLength(2);
    expect(d.nouveau).toEqual(["nouveau 0000:01:00.0: NVIDIA TU102 (162000a1)"]);
  });

  it("strips `dmesg -T` prefixes and finds signature/lockdown lines", () => {
    // source: kernel message texts "Lockdown: …: unsigned module loading is restricted" and
    // "module verification failed" (linux security/lockdown, kernel/module/signing.c)
    const d = parseDmesg(
      [
        "[Tue Jan 31 12:00:01 2023] Lockdown: modprobe: unsigned module loading is restricted; see man kernel_lockdown.7",
        "[Tue Jan 31 12:00:02 2023] nvidia: module verification failed: signature and/or required key missing - tainting kernel",
        "[Tue Jan 31 12:00:03 2023] DMAR: IOMMU disabled",
      ].join("\n"),
    );
    expect(d.moduleSignature).toHaveLength(2);
    expect(d.moduleSignature[0]).toMatch(/^Lockdown: modprobe/);
    expect(d.iommuDisabledLines).toEqual(["DMAR: IOMMU disabled"]);
    expect(d.dmarEnabled).toBe(false);
  });

  it("strips the timestamp only", () => {
    expect(stripDmesgPrefix("[    0.020766] DMAR: IOMMU enabled")).toBe("DMAR: IOMMU enabled");
    expect(stripDmesgPrefix("no prefix here")).toBe("no prefix here");
  });
});

describe("lspci -Dnnk", () => {
  it("parses the domain form", () => {
    // source: device line and Kernel modules line quoted in the task brief (seed guide host: RTX 2080 Ti, 10de:1e07);
    // the same Kernel modules line on a real vGPU host: search index id 38817475848. Subsystem name illustrative.
    const text = [
      "0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A] [10de:1e07] (rev a1)",
      "\tSubsystem: Micro-Star International Co., Ltd. [MSI] TU102 [GeForce RTX 2080 Ti Rev. A] [1462:3715]",
      "\tKernel driver in use: nvidia",
      "\tKernel modules: nvidiafb, nouveau, nvidia_vgpu_vfio, nvidia",
    ].join("\n");
    const [f] = parseLspciDnnk(text);
    expect(f).toEqual({
      address: "0000:01:00.0",
      className: "VGA compatible controller",
      classCode: "0300",
      description: "NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A]",
      vendorId: "10de",
      deviceId: "1e07",
      revision: "a1",
      subsystemVendorId: "1462",
      subsystemDeviceId: "3715",
      subsystemName: "Micro-Star International Co., Ltd. [MSI] TU102 [GeForce RTX 2080 Ti Rev. A]",
      driverInUse: "nvidia",
      kernelModules: ["nvidiafb", "nouveau", "nvidia_vgpu_vfio", "nvidia"],
    });
  });

  it("adds the 0000: domain to lspci -nnk output", () => {
    const fs = parseLspciDnnk(fixture("lspci-nnk-no-domain.txt"));
    expect(fs.map((f) => f.address)).toEqual(["0000:01:00.0", "0000:01:00.1"]);
    expect(fs[0]?.description).toBe("NVIDIA Corporation TU117M [GeForce GTX 1650 Mobile / Max-Q]");
    expect(fs[1]?.driverInUse).toBe("snd_hda_intel");
    expect(fs[1]?.subsystemDeviceId).toBe("85fc");
  });

  it("reads output pasted without indentation", () => {
    const fs = parseLspciDnnk(fixture("lspci-nnk-unindented.txt"));
    expect(fs).toHaveLength(2);
    expect(fs[0]).toMatchObject({
      address: "0000:3e:00.0",
      deviceId: "2206",
      subsystemVendorId: "1458",
      driverInUse: "nvidia",
    });
    expect(fs[0]?.kernelModules).toEqual(["nouveau", "nvidia_drm", "nvidia"]);
  });

  it("skips devices printed without [vendor:device] ids (plain lspci -v)", () => {
    expect(parseLspciDnnk(fixture("lspci-v-no-ids.txt"))).toEqual([]);
  });
});

describe("lsmod", () => {
  it("parses modules and users", () => {
    const m = parseLsmod(fixture("lsmod-vgpu.txt"));
    expect(m.map((x) => x.name)).toEqual(["nvidia_vgpu_vfio", "nvidia", "mdev", "drm"]);
    expect(m[1]).toEqual({ name: "nvidia", size: 39145472, usedBy: [] });
    expect(m[3]?.usedBy).toEqual(["drm_kms_helper", "nvidia", "mgag200"]);
  });
});

describe("lscpu / cpuinfo", () => {
  it("reads the vendor", () => {
    // source: util-linux lscpu "Vendor ID:" line; /proc/cpuinfo "vendor_id" (search index id 56281116507 shows cpuinfo form)
    expect(
      cpuVendorFromLscpu("Architecture:            x86_64\nVendor ID:               GenuineIntel\n"),
    ).toBe("intel");
    expect(cpuVendorFromLscpu("Vendor ID:               AuthenticAMD\n")).toBe("amd");
    expect(cpuVendorFromLscpu("processor\t: 0\nvendor_id\t: AuthenticAMD\n")).toBe("amd");
    expect(cpuVendorFromLscpu("Vendor ID: ARM\n")).toBeNull();
    expect(cpuVendorFromLscpu("")).toBeNull();
  });
});

describe("dkms status", () => {
  it("new slash form with a warning", () => {
    expect(parseDkmsStatus(fixture("dkms-new-warning.txt"))).toEqual([
      {
        module: "i915-sriov-dkms",
        version: "2025.03.26",
        kernel: "6.11.11-1-pve",
        arch: "x86_64",
        status: "installed",
        warning: null,
      },
      {
        module: "i915-sriov-dkms",
        version: "2025.03.26",
        kernel: "6.11.11-2-pve",
        arch: "x86_64",
        status: "installed",
        warning: "(WARNING! Diff between built and installed module!)",
      },
    ]);
  });

  it("old comma form", () => {
    const e = parseDkmsStatus(fixture("dkms-old-comma.txt"));
    expect(e).toHaveLength(3);
    expect(e[2]).toEqual({
      module: "nvidia",
      version: "396.45",
      kernel: "4.17.14-202.fc28.x86_64",
      arch: "x86_64",
      status: "installed",
      warning: null,
    });
    // source: same issue (negativo17/nvidia-driver#56), after the fix
    expect(
      parseDkmsStatus(
        "nvidia, 396.45, 4.17.14-202.fc28.x86_64, x86_64: installed (original_module exists)",
      )[0]?.warning,
    ).toBe("(original_module exists)");
  });

  it("nvidia slash form and added-only entries", () => {
    expect(parseDkmsStatus(fixture("dkms-nvidia-new.txt"))[0]).toMatchObject({
      module: "nvidia",
      version: "535.86.05",
    });
    // source: dkms prints "<module>/<version>: added" before a build (dkms(8) status)
    expect(parseDkmsStatus("nvidia/550.54.10: added")).toEqual([
      { module: "nvidia", version: "550.54.10", kernel: null, arch: null, status: "added", warning: null },
    ]);
  });

  it("skips error text", () => {
    expect(parseDkmsStatus(fixture("dkms-error.txt"))).toEqual([]);
  });
});

describe("mokutil --sb-state", () => {
  it("reads the states", () => {
    // source: https://github.com/morrownr/rtl8852bu/issues/7 ("SecureBoot disabled"); mokutil(1) messages
    expect(parseMokutilSbState("SecureBoot enabled\n")).toBe(true);
    expect(parseMokutilSbState("SecureBoot disabled\n")).toBe(false);
    expect(parseMokutilSbState("EFI variables are not supported on this system\n")).toBe(false);
    expect(parseMokutilSbState("SecureBoot enabled\nSecureBoot validation is disabled in shim\n")).toBe(
      false,
    );
    expect(parseMokutilSbState("something else")).toBeNull();
  });
});

describe("dpkg-query -W", () => {
  it("reads name/version pairs and drops the arch qualifier", () => {
    // source: package names/versions from the list pasted in https://github.com/librenms/librenms/issues/4036
    // ("dpkg 1.17.26 amd64", "dmidecode 2.12-3 amd64", …), laid out as dpkg-query -W prints them
    // ("${binary:Package}\t${Version}"; an empty version for config-files-only packages)
    const p = parseDpkgQueryW(
      "dpkg\t1.17.26\ndmidecode:amd64\t2.12-3\ndoc-debian\t\ne2fsprogs\t1.42.12-1.1\n",
    );
    expect(p).toEqual({ dpkg: "1.17.26", dmidecode: "2.12-3", e2fsprogs: "1.42.12-1.1" });
  });
});
