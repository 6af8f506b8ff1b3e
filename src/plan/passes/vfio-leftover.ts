/**
 * Leftover PCI passthrough: /etc/modprobe.d configuration (`options vfio-pci ids=`, `softdep nvidia
 * pre: vfio-pci`, `blacklist nvidia`) that hands the set-up GPUs to vfio-pci at boot is removed.
 * The ids come from the NVIDIA functions on the cards being set up; an id another NVIDIA card (not
 * set up) shares is never removed: that would take its passthrough away too, so the GPU's binding
 * becomes a blocker instead.
 */
import { nvidiaGpuFunctions } from "../../facts/derive.ts";
import type { Facts, PciFunction } from "../../facts/types.ts";
import { removeVfioLeftovers } from "../../formats/modules/modprobe.ts";
import { fileChange } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import { INITRAMFS } from "../paths.ts";
import type { Change } from "../types.ts";
import type { Gpu } from "./gpus.ts";
import { type Block, PassOutput } from "./output.ts";

export interface Leftover {
  /** vendor:device ids of every NVIDIA function on the cards being set up (GPU, audio, USB…) */
  ids: string[];
  /** the set-up GPUs vfio-pci holds now */
  bound: string[];
  label: string;
}

export function vfioLeftover(f: Facts, gpus: Gpu[], block: Block): Leftover {
  const slot = (a: string) => a.slice(0, a.lastIndexOf("."));
  const idOf = (p: PciFunction) => `${p.vendorId}:${p.deviceId}`.toLowerCase();
  const cards = new Set(gpus.map((g) => slot(g.pci.address)));
  const nvidia = (f.pci ?? []).filter((p) => p.vendorId.toLowerCase() === "10de");
  const mine = nvidia.filter((p) => cards.has(slot(p.address)));
  const others = nvidia.filter((p) => !cards.has(slot(p.address)));
  const ids: string[] = [];
  for (const p of mine) {
    const id = idOf(p);
    if (ids.includes(id)) continue;
    const twin = others.find((o) => idOf(o) === id);
    if (!twin) {
      ids.push(id);
      continue;
    }
    if (p.driverInUse === "vfio-pci" && nvidiaGpuFunctions([p]).length > 0)
      block(
        "vfio-bound",
        `${p.address} is bound to vfio-pci by its device id ${id}, which ${twin.address} (not set up here) shares`,
        [`lspci -Dnnk: ${p.address} Kernel driver in use: vfio-pci`, `${twin.address} ${twin.description}`],
        [
          `removing ${id} from vfio-pci's ids would take ${twin.address}'s passthrough away too: bind ${twin.address} by address instead (driver_override), then re-run`,
        ],
      );
  }
  return {
    ids,
    bound: gpus.filter((g) => g.pci.driverInUse === "vfio-pci").map((g) => g.pci.address),
    label: gpus.map((g) => `${g.pci.address} [${idOf(g.pci)}]`).join(", ") || "the NVIDIA GPU",
  };
}

export function vfioLeftoverPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  const changes: Change[] = [];
  for (const mf of ctx.facts.modprobe ?? []) {
    const before = ctx.input.file(mf.path);
    if (typeof before !== "string") continue;
    const after = removeVfioLeftovers(before, ctx.leftover.ids);
    if (after !== before) changes.push(fileChange(mf.path, before, after));
  }
  if (changes.length === 0) return out;
  out.step({
    id: "vfio-leftover",
    title: `Remove the leftover PCI-passthrough binding (vfio-pci) of ${ctx.leftover.label}`,
    why: "leftover passthrough configuration (`options vfio-pci ids=`, `softdep nvidia pre: vfio-pci`, `blacklist nvidia`) hands the GPU to vfio-pci at boot, so the NVIDIA vGPU driver never gets it (doctor: vfio-bound / vfio-config-leftover)",
    changes,
    reboot: true,
    fixes: ["vfio-bound", "vfio-config-leftover"],
    undo: {
      description: `restore ${changes.map((c) => (c as { path: string }).path).join(", ")}`,
      commands: [],
      regenerate: [INITRAMFS],
    },
  });
  return out;
}
