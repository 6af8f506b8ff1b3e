/**
 * sriov-vfs-missing: an Ampere-or-newer natively supported card creates its vGPUs on SR-IOV virtual
 * functions; without VFs there are no types (research/installers.md §3.3, §5 #15). sriov-manage is not
 * persistent; Proxmox's pve-nvidia-vgpu-helper ships pve-nvidia-sriov@.service for that.
 */
import type { Facts } from "../facts/types.ts";
import { finding, hostView } from "./context.ts";
import type { Finding, Kb } from "./types.ts";

export function checkSriov(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  if (!f.sriov || !v.gpus) return [];
  const out: Finding[] = [];
  for (const g of v.gpus) {
    if (!g.cls?.needsSriov || g.cls.support === "unsupported") continue;
    const s = f.sriov.find((x) => x.address === g.address);
    if (!s || s.numVfs === null || s.numVfs > 0) continue;
    const evidence = [
      `/sys/bus/pci/devices/${g.address}/sriov_numvfs: ${s.numVfs}`,
      `/sys/bus/pci/devices/${g.address}/sriov_totalvfs: ${s.totalVfs ?? "(absent)"}`,
      `${g.label}: ${g.cls.generationLabel ?? ""} card — vGPUs live on SR-IOV virtual functions`.trim(),
    ];
    if (s.totalVfs === 0 || s.totalVfs === null) {
      out.push(
        finding(
          "sriov-vfs-missing",
          "error",
          `${g.label} exposes no SR-IOV virtual functions at all`,
          evidence,
          [
            "Enable SR-IOV (and Above 4G decoding, ARI) in the firmware setup",
            "Boards with display outputs (e.g. RTX A5000/A6000) may need NVIDIA's Display Mode Selector to switch to a display-off mode",
            "reboot",
          ],
          g.address,
        ),
      );
      continue;
    }
    const helper = f.packages ? "pve-nvidia-vgpu-helper" in f.packages : null;
    const fix =
      helper === false
        ? [
            "apt install pve-nvidia-vgpu-helper   (ships pve-nvidia-sriov@.service)",
            "systemctl enable --now pve-nvidia-sriov@ALL.service",
          ]
        : [
            "systemctl enable --now pve-nvidia-sriov@ALL.service   (runs /usr/lib/nvidia/sriov-manage -e ALL at every boot)",
          ];
    fix.push(`cat /sys/bus/pci/devices/${g.address}/sriov_numvfs   (should be ${s.totalVfs})`);
    out.push(
      finding(
        "sriov-vfs-missing",
        "error",
        `SR-IOV virtual functions are not enabled on ${g.label} (0 of ${s.totalVfs})`,
        evidence,
        v.driver?.loaded === false ? ["Load the NVIDIA driver first (see driver-not-loaded)", ...fix] : fix,
        g.address,
      ),
    );
  }
  return out;
}
