/**
 * SR-IOV virtual functions (Ampere and newer native boards offer vGPU types only on VFs):
 * `pve-nvidia-sriov@ALL.service` from pve-nvidia-vgpu-helper enables them at every boot.
 */
import type { PlanContext } from "../context.ts";
import { PassOutput } from "./output.ts";

export const SRIOV_UNIT = "pve-nvidia-sriov@ALL.service";

export function sriovPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  if (!ctx.sriov) return out;
  const sriov = ctx.facts.sriov ?? [];
  const missingVfs = ctx.gpus.filter(
    (g) => g.cls.needsSriov && !sriov.some((s) => s.address === g.pci.address && (s.numVfs ?? 0) > 0),
  );
  const noneAtAll = ctx.entry.sriov && ctx.gpus.length > 0 && sriov.every((s) => (s.numVfs ?? 0) === 0);
  if (missingVfs.length === 0 && !noneAtAll) return out;
  if (ctx.pveMajor < 8)
    out.note(`SR-IOV on Proxmox VE 7 needs ${SRIOV_UNIT} from pve-nvidia-vgpu-helper (PVE 8+)`);
  out.step({
    id: "sriov",
    title: "Enable SR-IOV virtual functions at boot (pve-nvidia-sriov@ALL)",
    why: "Ampere and newer boards offer vGPU types only on SR-IOV virtual functions",
    changes: [{ kind: "command", argv: ["systemctl", "enable", SRIOV_UNIT] }],
    reboot: true,
    undo: {
      description: "disable pve-nvidia-sriov@ALL",
      commands: [["systemctl", "disable", SRIOV_UNIT]],
      regenerate: [],
    },
  });
  return out;
}
