/** `dmesg`: boot messages that depend on CPU vendor, firmware IOMMU, cmdline, Secure Boot and GPU drivers. */
import {
  bootModules,
  cmdlineHas,
  iommuState,
  kernelAtLeast,
  secureBootActive,
  vgpuVerdict,
} from "../logic.ts";
import type { SimState } from "../state.ts";
import { allPciFunctions } from "./pci.ts";
import { unameVersion } from "./system.ts";

export function renderDmesg(s: SimState): string {
  const lines: string[] = [];
  let t = -0.000011;
  // a record with embedded newlines: util-linux dmesg indents its continuation lines under the text
  const at = (sec: number, text: string) => {
    t = Math.max(t + 0.000011, sec);
    const stamp = `[${t.toFixed(6).padStart(12)}] `;
    lines.push(stamp + (text.includes("\n") ? text.split("\n").join(`\n${" ".repeat(stamp.length)}`) : text));
  };
  const gcc =
    s.pve.debian === "bullseye"
      ? "gcc (Debian 10.2.1-6) 10.2.1 20210110, GNU ld (GNU Binutils for Debian) 2.35.2"
      : s.pve.debian === "trixie"
        ? "gcc (Debian 14.2.0-19) 14.2.0, GNU ld (GNU Binutils for Debian) 2.44"
        : "gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40";
  at(0, `Linux version ${s.kernel.running} (build@proxmox) (${gcc}) ${unameVersion(s)} ()`);
  at(0, `Command line: ${s.cmdline}`);
  if (s.boot.efi) at(0, `efi: EFI v2.70 by American Megatrends`);
  if (s.boot.efi) at(0, `secureboot: Secure boot ${secureBootActive(s) ? "enabled" : "disabled"}`);
  if (secureBootActive(s))
    at(0, "Kernel is locked down from EFI Secure Boot mode; see man kernel_lockdown.7");

  const io = iommuState(s);
  const intel = s.cpu.vendor === "intel";
  if (intel && s.firmwareIommu) {
    at(0.007235, "ACPI: DMAR 0x000000009CC98B68 0000B8 (v01 INTEL  BDW      00000001 INTL 00000001)");
    at(0.007255, "ACPI: Reserving DMAR table memory at [mem 0x9cc98b68-0x9cc98c1f]");
  }
  at(0.0191, `Kernel command line: ${s.cmdline}`);
  if (intel && cmdlineHas(s, "intel_iommu=on")) at(0.020766, "DMAR: IOMMU enabled");
  if (intel && cmdlineHas(s, "intel_iommu=off")) at(0.020766, "DMAR: IOMMU disabled");
  if (intel && s.firmwareIommu) {
    at(0.062294, "DMAR: Host address width 39");
    at(0.062296, "DMAR: DRHD base: 0x000000fed90000 flags: 0x0");
    at(0.0623, "DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap c0000020660462 ecap f0101a");
    at(0.062302, "DMAR: DRHD base: 0x000000fed91000 flags: 0x1");
    at(0.062305, "DMAR: dmar1: reg_base_addr fed91000 ver 1:0 cap d2008c20660462 ecap f010da");
    at(0.062307, "DMAR: RMRR base: 0x0000009cc18000 end: 0x0000009cc25fff");
    at(0.062312, "DMAR-IR: IOAPIC id 8 under DRHD base  0xfed91000 IOMMU 1");
    at(0.062314, "DMAR-IR: HPET id 0 under DRHD base 0xfed91000");
    at(0.062797, "DMAR-IR: Enabled IRQ remapping in xapic mode");
  }
  const functions = allPciFunctions(s); // once: nothing here changes the state
  for (const f of functions)
    at(0.21, `pci ${f.address}: [${f.vendorId}:${f.deviceId}] type 00 class ${f.sysfsClass}`);
  at(
    0.29,
    `iommu: Default domain type: ${io.passthrough ? "Passthrough (set via kernel command line)" : "Translated "}`,
  );
  if (intel && io.active) {
    at(0.302431, "DMAR: No ATSR found");
    at(0.302432, "DMAR: No SATC found");
    at(0.302437, "DMAR: dmar0: Using Queued invalidation");
    at(0.302443, "DMAR: dmar1: Using Queued invalidation");
  }
  if (!intel && s.firmwareIommu && !cmdlineHas(s, "amd_iommu=off")) {
    at(0.41, "pci 0000:00:00.2: AMD-Vi: IOMMU performance counters supported");
  }
  if (io.active) {
    let group = 0;
    for (const f of functions) at(0.33, `pci ${f.address}: Adding to iommu group ${group++}`);
  }
  if (intel && io.active) at(0.333474, "DMAR: Intel(R) Virtualization Technology for Directed I/O");
  if (!intel && io.active) {
    at(0.41, "pci 0000:00:00.2: AMD-Vi: Found IOMMU cap 0x40");
    at(0.41, "AMD-Vi: Extended features (0x58f77ef22294a5a, 0x0): PPR NX GT IA PC GA_vAPIC");
    at(0.41, "AMD-Vi: Interrupt remapping enabled");
    at(0.41, "perf/amd_iommu: Detected AMD IOMMU #0 (2 banks, 4 counters/bank).");
    if (!kernelAtLeast(s.kernel.running, 6, 6)) at(0.62, "AMD-Vi: AMD IOMMUv2 loaded and initialized");
  }
  if (bootModules(s).some((m) => m.startsWith("vfio")) || s.gpus.some((g) => g.driver === "vfio-pci")) {
    at(2.1, "VFIO - User Level meta-driver version: 0.3");
  }
  for (const g of s.gpus) {
    if (g.driver === "vfio-pci")
      at(
        2.2,
        `vfio-pci ${g.address}: vgaarb: changed VGA decodes: olddecodes=io+mem,decodes=io+mem:owns=none`,
      );
    if (g.driver === "nouveau") {
      at(3.9, `nouveau ${g.address}: NVIDIA ${g.chipset}`);
      at(3.95, `nouveau ${g.address}: bios: version ${g.vbios}`);
      at(4.1, `nouveau ${g.address}: DRM: VRAM: ${g.vramMiB} MiB`);
      at(4.2, `[drm] Initialized nouveau 1.3.1 20120801 for ${g.address} on minor 1`);
      if (s.consoleFb === "nouveaudrmfb")
        at(4.25, `nouveau ${g.address}: [drm] fb0: nouveaudrmfb frame buffer device`);
    }
  }
  // the BMC's graphics (drm fbdev emulation) registers the console framebuffer
  const bmc = s.consoleFb === "astdrmfb" ? s.pci.find((f) => f.driver === "ast") : undefined;
  if (bmc) at(4.3, `ast ${bmc.address}: [drm] fb0: astdrmfb frame buffer device`);
  const drv = s.driver;
  if (drv && !s.driverLoaded && secureBootActive(s) && !drv.signed) {
    at(5.1, "Lockdown: modprobe: unsigned module loading is restricted; see man kernel_lockdown.7");
  }
  const probeFails =
    drv &&
    !s.driverLoaded &&
    !(secureBootActive(s) && !drv.signed) &&
    s.gpus.some((g) => g.driver === "nouveau");
  if (probeFails) nouveauOwnsGpus(at, s.gpus.filter((g) => g.driver === "nouveau").length);
  if (drv && s.driverLoaded) {
    at(5.12, "nvidia: loading out-of-tree module taints kernel.");
    at(5.12, `nvidia: module license 'NVIDIA' taints kernel.`);
    at(5.12, "Disabling lock debugging due to kernel taint");
    if (!drv.signed)
      at(5.13, "nvidia: module verification failed: signature and/or required key missing - tainting kernel");
    at(5.2, "nvidia-nvlink: Nvlink Core is being initialized, major device number 236");
    for (const g of s.gpus.filter((x) => x.driver === "nvidia")) {
      at(5.21, `nvidia ${g.address}: vgaarb: changed VGA decodes: olddecodes=io+mem,decodes=none:owns=none`);
    }
    const kind = drv.flavour === "open" ? "Open Kernel Module for x86_64" : "UNIX x86_64 Kernel Module";
    at(5.25, `NVRM: loading NVIDIA ${kind}  ${drv.version}  ${drv.buildDate}`);
    for (const g of s.gpus.filter((x) => x.driver === "nvidia")) {
      const v = vgpuVerdict(s, g);
      if (v.ok) at(5.6, `NVRM: GPU at ${g.address} has software scheduler ENABLED with policy BEST_EFFORT.`);
      if (v.ok) at(5.7, `nvidia ${g.address}: MDEV: Registered`);
    }
  }
  for (const x of s.extraDmesg) at(t + 0.5, x);
  return `${lines.join("\n")}\n`;
}

/**
 * udev loads the installed nvidia module for the GPU while nouveau owns it: the module's probe routine is
 * never called and it gives up. Text and line breaks: NVIDIA's kernel-open/nvidia/nv.c (nv_printf of
 * "NVRM: This can occur when a driver such as: \nNVRM: nouveau, …"; one record, so dmesg prints the
 * continuation lines indented under the text); real pastes in test/fixtures/conformance/SOURCES.md.
 */
function nouveauOwnsGpus(at: (sec: number, text: string) => void, count: number): void {
  at(5.2, "nvidia-nvlink: Nvlink Core is being initialized, major device number 236");
  at(5.2, `NVRM: The NVIDIA probe routine was not called for ${count} device(s).`);
  at(
    5.2,
    "NVRM: This can occur when a driver such as: \nNVRM: nouveau, rivafb, nvidiafb or rivatv \nNVRM: was loaded and obtained ownership of the NVIDIA device(s).",
  );
  at(
    5.2,
    "NVRM: Try unloading the conflicting kernel module (and/or\nNVRM: reconfigure your kernel without the conflicting\nNVRM: driver(s)), then try loading the NVIDIA kernel module\nNVRM: again.",
  );
  at(5.2, "NVRM: No NVIDIA devices probed.");
  at(5.2, "nvidia-nvlink: Unregistered Nvlink Core, major device number 236");
}
