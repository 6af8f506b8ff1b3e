/**
 * Kernel against driver: the running kernel and the next boot's kernel must be in the range of the
 * driver release vgpu.yaml installs (knowledge/drivers.ts). When one is not and an installed kernel is,
 * the plan pins that one (`proxmox-boot-tool kernel pin`, Proxmox VE admin guide "Host Bootloader",
 * https://pve.proxmox.com/wiki/Host_Bootloader#sysboot_kernel_pin): the next boot — the setup's one reboot —
 * and every later one use it, newer kernels still install but are not booted (a held kernel upgrade) until
 * `proxmox-boot-tool kernel unpin` (which `vgpuctl uninstall` runs: the pin is a journaled step).
 * Without an installed kernel in range: the newest kernel in range the repositories offer (`apt-cache pkgnames`,
 * facts/system/kernel-packages.ts) is installed with its headers — whose DKMS hook builds the driver for it —
 * and pinned. Without one there either: a refusal naming the kernel series to install and pin.
 */
import { headersOf, type RepoKernel } from "../../facts/system/kernel-packages.ts";
import type { DriverRelease } from "../../knowledge/drivers.ts";
import { kernelInRange } from "../../knowledge/drivers.ts";
import { featuresTooNewFor, zfsOfKernel } from "../../knowledge/kernel-zfs.ts";
import { noUndo } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import type { HostIdentity } from "./host.ts";
import { PassOutput } from "./output.ts";

/** A kernel in the driver's range to pin instead of the kernels outside it; `install`: not installed yet. */
export interface KernelPin {
  kernel: string;
  outside: string[];
  install?: { image: string; headers: string };
}

/** The newest kernel the repositories offer in the driver's range (not installed), or null. */
function repoPick(host: HostIdentity, rel: DriverRelease): RepoKernel | null {
  const offered = (host.repoKernels ?? []).filter(
    (k) => !host.kernels.includes(k.kernel) && kernelInRange(rel, k.kernel) === true,
  );
  return offered.at(-1) ?? null;
}

/** The running / next-boot kernels outside the driver's range (unknown ones are noted). */
function kernelsOutside(
  host: HostIdentity,
  rel: DriverRelease,
  driverVersion: string,
  out: PassOutput,
): string[] {
  const outside: string[] = [];
  for (const k of new Set([host.running, host.bootKernel])) {
    const ok = kernelInRange(rel, k);
    if (ok === false) outside.push(k);
    else if (ok === null) out.note(`kernel ${k}: not known whether driver ${driverVersion} supports it`);
  }
  return outside;
}

/**
 * Returns the kernel to pin — installed, or to install from the repositories (null: none needed, or none fits and
 * the plan is blocked). `installing`: the driver is installed by this plan, which builds it for the running
 * kernel — that one must be in range.
 */
export function checkDriverKernels(
  host: HostIdentity,
  rel: DriverRelease,
  driverVersion: string,
  out: PassOutput,
  installing = false,
): KernelPin | null {
  const { running } = host;
  const outside = kernelsOutside(host, rel, driverVersion, out);
  if (outside.length === 0) return null;
  const range = `vGPU ${rel.vgpuRelease}: kernels ${rel.kernelRange}`;
  const pick = host.kernels.filter((x) => kernelInRange(rel, x) === true).at(-1);
  const offered = pick ? null : repoPick(host, rel);
  const target = pick ?? offered?.kernel;
  // the installer builds the module for the running kernel: outside the range, it fails before any reboot
  const runningOutside = outside.includes(running) && installing;
  if (target && !runningOutside) {
    if (zfsRefuses(host, target, out)) return null;
    const how = offered
      ? `is not installed: the plan installs ${offered.package} with its headers and pins it`
      : "is installed and pinned";
    out.note(
      `kernel ${outside.join(" and ")} is outside the range of driver ${driverVersion} (${range}): ${target} ${how}; kernel upgrades still install but are not booted until \`proxmox-boot-tool kernel unpin\` (vgpuctl uninstall unpins)`,
    );
    const install = offered ? { install: { image: offered.package, headers: headersOf(offered) } } : {};
    return { kernel: target, outside, ...install };
  }
  blockKernel(host, rel, driverVersion, { outside, range, pick, offered }, out);
  return null;
}

/** `kernel-unsupported`: the running kernel cannot build the driver this plan installs, or no kernel in range exists. */
function blockKernel(
  host: HostIdentity,
  rel: DriverRelease,
  driverVersion: string,
  k: { outside: string[]; range: string; pick: string | undefined; offered: RepoKernel | null },
  out: PassOutput,
): void {
  const { running, pveMajor } = host;
  const { outside, range, pick, offered } = k;
  if (pick || offered) {
    const install = offered ? [`apt-get install ${offered.package} ${headersOf(offered)}`] : [];
    out.block(
      "kernel-unsupported",
      `Kernel ${running} is outside the range of driver ${driverVersion} (${range}): the installer cannot build the module for it`,
      [`running kernel ${running}`],
      [...install, `proxmox-boot-tool kernel pin ${pick ?? offered!.kernel}`, "reboot, then re-run"],
    );
    return;
  }
  const series = rel.kernel.max ?? rel.kernel.min;
  const [image, headers] =
    pveMajor >= 8 ? ["proxmox-kernel", "proxmox-headers"] : ["pve-kernel", "pve-headers"];
  const offeredNote = host.repoKernels ? "none of the kernels the repositories offer is in it either" : "";
  out.block(
    "kernel-unsupported",
    `Kernel ${outside[0]!} is outside the range of driver ${driverVersion} (${range}) and no installed kernel is in it`,
    [
      ...outside.map((x) => `${x === running ? "running" : "default boot"} kernel ${x}`),
      ...(offeredNote ? [offeredNote] : []),
    ],
    [
      `install a ${series} series kernel with its headers (apt install ${image}-${series} ${headers}-${series}), then re-run: vgpuctl pins it`,
      "or choose a driver release made for this kernel",
    ],
  );
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

/** kernel-install (when none installed fits), then kernel-pin: the kernel in the driver's range, pinned for the setup's reboot and after. */
export function kernelPinPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  if (!ctx.driver.pin) return out;
  const { kernel: pin, outside, install } = ctx.driver.pin;
  if (install)
    out.step({
      id: "kernel-install",
      title: `Install kernel ${pin} with its headers (${install.image})`,
      why: `no installed kernel is in driver ${ctx.driver.version}'s range; ${pin} is the newest the repositories offer in it. Installing its headers builds the driver for it (DKMS)`,
      changes: [
        { kind: "command", argv: ["apt-get", "update"] },
        { kind: "command", argv: ["apt-get", "install", "-y", install.image, install.headers] },
      ],
      reboot: false,
      // left installed by uninstall: after the reboot it is the running kernel (removing the running kernel's
      // package is what Proxmox's kernel auto-removal protection guards against), and once unpinned the newest
      // installed kernel boots again, so keeping it changes nothing
      undo: noUndo(
        `kernel ${pin} stays installed (apt-get remove ${install.image} ${install.headers} once it is not running)`,
      ),
    });
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
