/**
 * gpu-unsupported: the card cannot do vGPU at all (GeForce Ampere/Ada/Blackwell, GTX 970, Kepler…),
 *   with the knowledge base's reason. Error when no NVIDIA GPU on the host can do vGPU; a warning for an
 *   extra unsupported card next to a usable one (it just cannot be split).
 * gpu-missing (extra): lspci shows no NVIDIA GPU at all.
 */
import { vgpudRejections } from "../facts/derive.ts";
import type { Facts } from "../facts/types.ts";
import { finding, type GpuView, hostView } from "./context.ts";
import type { Finding, Kb } from "./types.ts";

export function checkGpus(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  // no output names a GPU (facts/identity.ts: lspci, nvidia-smi, nvidia-vgpud's rejections, the kernel log, …)
  if (!v.gpus) return [];
  if (v.gpus.length === 0) {
    const nvidia = (f.pci ?? []).filter((p) => p.vendorId === "10de");
    return [
      finding(
        "gpu-missing",
        "error",
        "No NVIDIA GPU found on this host",
        nvidia.length
          ? nvidia.map(
              (p) =>
                `lspci -Dnnk: ${p.address} ${p.className} [${p.classCode}]: ${p.description} (not a display controller)`,
            )
          : ["lspci -Dnnk lists no device with vendor id 10de"],
        [
          "Check that the card is seated and powered, and that the slot is enabled in the firmware setup",
          'Some boards hide a GPU unless "Above 4G decoding" is enabled in the firmware setup',
        ],
      ),
    ];
  }
  const usable = v.gpus.filter((g) => g.cls && g.cls.support !== "unsupported");
  const out: Finding[] = [];
  for (const g of v.gpus) {
    if (g.cls?.support !== "unsupported") continue;
    const sev = usable.length === 0 ? "error" : "warning";
    out.push(
      finding(
        "gpu-unsupported",
        sev,
        `${g.label} cannot do vGPU: ${g.cls.supportReason}`,
        [
          g.source === "lspci -Dnnk"
            ? `lspci -Dnnk: ${g.address} ${g.fn.className} [${g.fn.classCode}]: ${g.fn.description} [${g.fn.vendorId}:${g.fn.deviceId}]${
                g.fn.subsystemVendorId
                  ? ` (subsystem ${g.fn.subsystemVendorId}:${g.fn.subsystemDeviceId})`
                  : ""
              }`
            : identifiedBy(f, g),
          `${g.cls.name ?? "this GPU"}${g.cls.generationLabel ? `: ${g.cls.generationLabel} generation` : ""}`,
        ],
        usable.length > 0
          ? [
              `Use ${usable.map((u) => u.label).join(", ")} for vGPU; ${g.address} can still be passed through whole to one VM`,
            ]
          : [
              "No software fix: vGPU needs a Maxwell 2.0 (not GTX 970), Pascal or Turing consumer card with vgpu_unlock, or an NVIDIA vGPU-certified data-center card",
              `${g.address} can still be passed through whole to one VM (hostpciN: ${g.address},pcie=1)`,
            ],
        g.address,
      ),
    );
  }
  return out;
}

/** Without lspci: the line of the output that identified the GPU (nvidia-vgpud's rejection), else what it says. */
function identifiedBy(f: Facts, g: GpuView): string {
  const vgpud =
    g.source === "nvidia-vgpud" ? vgpudRejections(f).find((r) => r.address === g.address) : undefined;
  if (vgpud) return `journal nvidia-vgpud: ${vgpud.line}`;
  return `${g.source}: ${g.address} ${g.fn.description}${g.fn.deviceId ? ` [${g.fn.vendorId}:${g.fn.deviceId}]` : ""}`;
}
