/**
 * Kernel against driver: the running kernel and the next boot's kernel must be in the range of the
 * driver release vgpu.yaml installs (knowledge/drivers.ts); otherwise pin an installed kernel that is,
 * or install one.
 */
import type { DriverRelease } from "../../knowledge/drivers.ts";
import { kernelInRange } from "../../knowledge/drivers.ts";
import type { HostIdentity } from "./host.ts";
import type { PassOutput } from "./output.ts";

export function checkDriverKernels(
  host: HostIdentity,
  rel: DriverRelease,
  driverVersion: string,
  out: PassOutput,
): void {
  const { running, bootKernel, kernels, pveMajor } = host;
  for (const k of new Set([running, bootKernel])) {
    const ok = kernelInRange(rel, k);
    if (ok === false) {
      const inRange = kernels.filter((x) => kernelInRange(rel, x) === true);
      out.block(
        "kernel-unsupported",
        `Kernel ${k} is outside the range of driver ${driverVersion} (vGPU ${rel.vgpuRelease}: kernels ${rel.kernelRange})`,
        [`${k === running ? "running" : "default boot"} kernel ${k}`],
        inRange.length > 0
          ? [`proxmox-boot-tool kernel pin ${inRange[inRange.length - 1]}`, "reboot, then re-run"]
          : [
              `install a ${rel.kernel.max ?? rel.kernel.min} series kernel (e.g. apt install ${pveMajor >= 8 ? "proxmox-kernel" : "pve-kernel"}-${rel.kernel.max ?? rel.kernel.min}) and pin it with proxmox-boot-tool kernel pin <version>`,
              "or choose a driver release made for this kernel",
            ],
      );
    } else if (ok === null) out.note(`kernel ${k}: not known whether driver ${driverVersion} supports it`);
  }
}
