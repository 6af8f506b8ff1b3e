/**
 * iommu-disabled: the IOMMU is not active. Two distinct causes with different fixes:
 *  - the kernel was not asked to enable it (Intel before kernel 6.8 needs `intel_iommu=on`;
 *    Proxmox VE kernels 6.8+ turn VT-d on by default — PVE 8.2 release notes), or it was turned off
 *    explicitly (`intel_iommu=off`, `amd_iommu=off`, `iommu=off`);
 *  - the kernel asked but the firmware has VT-d / AMD-Vi switched off (no "DMAR: IOMMU enabled" /
 *    "AMD-Vi: …" lines in a dmesg that still holds the boot messages).
 * AMD: the IOMMU is on by default; `amd_iommu=on` is not a valid value ("amd_iommu=on does not
 * exist", polloloco README — research/installers.md §3.2) and is ignored.
 * Severity: mdev vGPU works without an IOMMU (the seed guide calls it "usually not required"), so it is
 * a warning — except for SR-IOV GPUs (Ampere and newer), whose virtual functions need it.
 */
import { deriveIommu } from "../facts/derive.ts";
import type { Facts } from "../facts/types.ts";
import { kernelAtLeast } from "../knowledge/drivers.ts";
import { cmdlineFix, finding, hostView } from "./context.ts";
import type { Finding, Kb } from "./types.ts";

const OFF = /^(intel_iommu|amd_iommu|iommu)=off$/;

export function checkIommu(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  const st = deriveIommu(f);
  if (st.enabled === true) return [];
  const cmd = f.cmdline;
  const offTokens = cmd?.filter((t) => OFF.test(t)) ?? [];
  const intelDefaultOn = kernelAtLeast(v.kernel, 6, 8);
  const intelMissing =
    f.cpuVendor === "intel" && cmd !== null && !cmd.includes("intel_iommu=on") && intelDefaultOn === false;
  // With dmesg unknown (not captured, or rotated past boot) only a definite cmdline cause is reported.
  if (st.enabled === null && offTokens.length === 0 && !intelMissing) return [];

  const sriovGpus = (v.gpus ?? []).filter((g) => g.cls?.needsSriov);
  const severity = sriovGpus.length > 0 ? "error" : "warning";
  const why =
    sriovGpus.length > 0
      ? `${sriovGpus.map((g) => g.label).join(", ")} creates vGPUs on SR-IOV virtual functions, which need the IOMMU`
      : "mdev vGPUs can work without it, but PCI passthrough and SR-IOV GPUs need it, and the guide enables it";
  const cmdEvidence = cmd ? [`/proc/cmdline: ${cmd.join(" ")}`] : [];
  const dmesgEvidence = st.enabled === false ? st.evidence : [];

  if (offTokens.length > 0) {
    return [
      finding(
        "iommu-disabled",
        severity,
        `IOMMU is switched off on the kernel command line (${offTokens.join(" ")})`,
        [...cmdEvidence, ...dmesgEvidence, why],
        cmdlineFix(v, f.cpuVendor === "intel" ? ["intel_iommu=on", "iommu=pt"] : ["iommu=pt"], offTokens),
      ),
    ];
  }
  if (intelMissing) {
    return [
      finding(
        "iommu-disabled",
        severity,
        `IOMMU is not enabled: intel_iommu=on is not on the kernel command line (Intel CPU, kernel ${v.kernel} < 6.8 does not enable VT-d by default)`,
        [...cmdEvidence, ...dmesgEvidence, why],
        [
          ...cmdlineFix(v, ["intel_iommu=on", "iommu=pt"]),
          'Check after the reboot: dmesg | grep -e DMAR -e IOMMU  (expect "DMAR: IOMMU enabled")',
        ],
      ),
    ];
  }
  // Asked for (or on by default) but the boot log shows no enablement: firmware.
  const isAmd = f.cpuVendor === "amd";
  const fwName = isAmd
    ? 'IOMMU / AMD-Vi (often under "AMD CBS" or "NBIO"), together with SVM'
    : f.cpuVendor === "intel"
      ? 'Intel VT-d ("Virtualization Technology for Directed I/O")'
      : "VT-d (Intel) or IOMMU/AMD-Vi (AMD)";
  const asked = isAmd
    ? "AMD CPUs enable the IOMMU by default; nothing is needed on the command line"
    : cmd?.includes("intel_iommu=on")
      ? "intel_iommu=on is on the kernel command line"
      : `kernel ${v.kernel ?? "?"} enables VT-d by default`;
  const fix = [`Enter the firmware (BIOS/UEFI) setup and enable ${fwName}`, "reboot"];
  if (f.cpuVendor === "intel" && !cmd?.includes("intel_iommu=on"))
    fix.unshift(...cmdlineFix(v, ["intel_iommu=on"]).filter((s) => s !== "reboot"));
  fix.push(`Check after the reboot: dmesg | grep -e DMAR -e IOMMU${isAmd ? " -e AMD-Vi" : ""}`);
  return [
    finding(
      "iommu-disabled",
      severity,
      `IOMMU is not active although the kernel asks for it: ${isAmd ? "AMD-Vi" : "VT-d"} is probably disabled in the firmware`,
      [...cmdEvidence, asked, ...dmesgEvidence, why],
      fix,
    ),
  ];
}
