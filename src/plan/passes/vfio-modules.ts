/**
 * The vfio modules in /etc/modules for the next boot's kernel (vfio_virqfd dropped on kernels ≥ 6.2,
 * where it was merged into vfio and fails systemd-modules-load). Not on a host whose GPUs are all
 * SR-IOV boards on a kernel ≥ 6.8: NVIDIA's vendor-specific VFIO owns the VFs, and pve-docs
 * (qm-pci-passthrough.adoc, 9.1.3) says the vfio modules are not needed for vGPUs (as doctor does).
 */
import {
  addModules,
  kernelBefore,
  listedModules,
  removeModules,
  vfioModulesFor,
} from "../../formats/modules/etc-modules.ts";
import { kernelAtLeast } from "../../knowledge/drivers.ts";
import { fileChange } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import { INITRAMFS } from "../paths.ts";
import { PassOutput } from "./output.ts";

export function vfioModulesPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  const before = out.need(ctx.input.file, "/etc/modules");
  const boot = ctx.bootKernel;
  const loadList = new Set((ctx.facts.modulesLoad ?? []).map((m) => m.module.replaceAll("-", "_")));
  const inEtcModules = listedModules(before ?? "");
  for (const m of inEtcModules) loadList.add(m.replaceAll("-", "_"));
  const missing = vendorVfioOnly(ctx, boot) ? [] : vfioModulesFor(boot).filter((m) => !loadList.has(m));
  const stale = !kernelBefore(boot, 6, 2) && inEtcModules.includes("vfio_virqfd") ? ["vfio_virqfd"] : [];
  if (missing.length === 0 && stale.length === 0) return out;
  const after = removeModules(addModules(before ?? "", missing), stale);
  out.step({
    id: "vfio-modules",
    title: `Load ${missing.length ? missing.join(", ") : "vfio modules"} at boot${stale.length ? " (drop vfio_virqfd)" : ""}`,
    why:
      stale.length > 0
        ? `vGPU needs the vfio modules at boot; vfio_virqfd no longer exists on kernel ${boot} (merged into vfio in 6.2) and fails systemd-modules-load`
        : "vGPU (mdev) devices are handed to VMs through vfio",
    changes: [fileChange("/etc/modules", before, after)],
    reboot: true,
    undo: { description: "restore /etc/modules", commands: [], regenerate: [INITRAMFS] },
  });
  return out;
}

/** Every GPU set up is an SR-IOV board and `kernel` ≥ 6.8: the vendor-specific VFIO needs no vfio modules. */
export function vendorVfioOnly(ctx: PlanContext, kernel: string): boolean {
  const capable = ctx.gpus.filter((g) => g.cls.support !== "unsupported");
  return kernelAtLeast(kernel, 6, 8) === true && capable.length > 0 && capable.every((g) => g.cls.needsSriov);
}
