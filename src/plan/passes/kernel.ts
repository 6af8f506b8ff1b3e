/**
 * Kernel against driver: the running kernel and the next boot's kernel must be in the range of the
 * driver release vgpu.yaml installs (knowledge/drivers.ts). When one is not and an installed kernel is,
 * the plan pins that one (`proxmox-boot-tool kernel pin`, Proxmox VE admin guide "Host Bootloader",
 * https://pve.proxmox.com/wiki/Host_Bootloader#sysboot_kernel_pin): the next boot — the setup's one reboot —
 * and every later one use it, newer kernels still install but are not booted (a held kernel upgrade) until
 * `proxmox-boot-tool kernel unpin` (which `vgpuctl uninstall` runs: the pin is a journaled step).
 * Without an installed kernel in range: a refusal naming the kernel series to install and pin.
 */
import type { DriverRelease } from "../../knowledge/drivers.ts";
import { kernelInRange } from "../../knowledge/drivers.ts";
import { featuresTooNewFor, zfsOfKernel } from "../../knowledge/kernel-zfs.ts";
import type { PlanContext } from "../context.ts";
import type { HostIdentity } from "./host.ts";
import { PassOutput } from "./output.ts";

/** An installed kernel in the driver's range, to pin instead of the kernels outside it. */
export interface KernelPin {
  kernel: string;
  outside: string[];
}

/**
 * Returns the installed kernel to pin (null: none needed, or none fits and the plan is blocked). `installing`:
 * the driver is installed by this plan, which builds it for the running kernel — that one must be in range.
 */
export function checkDriverKernels(
  host: HostIdentity,
  rel: DriverRelease,
  driverVersion: string,
  out: PassOutput,
  installing = false,
): KernelPin | null {
  const { running, bootKernel, kernels, pveMajor } = host;
  const outside: string[] = [];
  for (const k of new Set([running, bootKernel])) {
    const ok = kernelInRange(rel, k);
    if (ok === false) outside.push(k);
    else if (ok === null) out.note(`kernel ${k}: not known whether driver ${driverVersion} supports it`);
  }
  if (outside.length === 0) return null;
  const range = `vGPU ${rel.vgpuRelease}: kernels ${rel.kernelRange}`;
  const pick = kernels.filter((x) => kernelInRange(rel, x) === true).at(-1);
  // the installer builds the module for the running kernel: outside the range, it fails before any reboot
  const runningOutside = outside.includes(running) && installing;
  if (pick && !runningOutside) {
    if (zfsRefuses(host, pick, out)) return null;
    out.note(
      `kernel ${outside.join(" and ")} is outside the range of driver ${driverVersion} (${range}): ${pick} is installed and pinned; kernel upgrades still install but are not booted until \`proxmox-boot-tool kernel unpin\` (vgpuctl uninstall unpins)`,
    );
    return { kernel: pick, outside };
  }
  const k = outside[0]!;
  if (pick) {
    out.block(
      "kernel-unsupported",
      `Kernel ${running} is outside the range of driver ${driverVersion} (${range}): the installer cannot build the module for it`,
      [`running kernel ${running}`],
      [`proxmox-boot-tool kernel pin ${pick}`, "reboot, then re-run"],
    );
    return null;
  }
  out.block(
    "kernel-unsupported",
    `Kernel ${k} is outside the range of driver ${driverVersion} (${range}) and no installed kernel is in it`,
    outside.map((x) => `${x === running ? "running" : "default boot"} kernel ${x}`),
    [
      `install a ${rel.kernel.max ?? rel.kernel.min} series kernel with its headers (apt install ${pveMajor >= 8 ? "proxmox-kernel" : "pve-kernel"}-${rel.kernel.max ?? rel.kernel.min} ${pveMajor >= 8 ? "proxmox-headers" : "pve-headers"}-${rel.kernel.max ?? rel.kernel.min}), then re-run: vgpuctl pins it`,
      "or choose a driver release made for this kernel",
    ],
  );
  return null;
}

/**
 * `zfs-pool-too-new`: the root pool has features active that `kernel`'s ZFS cannot import (knowledge/kernel-zfs.ts):
 * pinning it would leave the host unbootable. Returns whether it refused.
 */
function zfsRefuses(host: HostIdentity, kernel: string, out: PassOutput): boolean {
  const pool = host.rootPool;
  if (!pool) return false;
  const tooNew = featuresTooNewFor(kernel, pool.features);
  if (tooNew.length === 0) return false;
  out.block(
    "zfs-pool-too-new",
    `Kernel ${kernel} cannot import the root pool ${pool.name}: it has ZFS features active that ${kernel}'s ZFS ${zfsOfKernel(kernel)} lacks`,
    tooNew.map((t) => `zpool get: ${pool.name} feature@${t.feature} active (OpenZFS ${t.zfs})`),
    [
      `do not pin ${kernel}: choose a driver release whose kernel range includes ${host.running} (vgpuctl doctor lists them)`,
    ],
  );
  return true;
}

/** kernel-pin: the installed kernel in the driver's range, pinned for the setup's reboot and after. */
export function kernelPinPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  if (!ctx.driver.pin) return out;
  const { kernel: pin, outside } = ctx.driver.pin;
  out.step({
    id: "kernel-pin",
    title: `Pin kernel ${pin} (proxmox-boot-tool kernel pin)`,
    why: `driver ${ctx.driver.version}'s kernel range excludes ${outside.join(" and ")}; the next boot and every later one use ${pin} until unpinned (newer kernels still install: a held kernel upgrade)`,
    changes: [{ kind: "command", argv: ["proxmox-boot-tool", "kernel", "pin", pin] }],
    reboot: true,
    // doctor's kernel-unsupported (the running kernel) is what this pin fixes at the reboot
    fixes: ["kernel-unsupported", "dkms-not-built"],
    undo: {
      description: "proxmox-boot-tool kernel unpin",
      commands: [["proxmox-boot-tool", "kernel", "unpin"]],
      regenerate: [],
    },
  });
  return out;
}
