/**
 * Host identity: a Proxmox VE host, its major version, the running kernel and the kernel the next
 * boot uses, Secure Boot. Without Proxmox or a known running kernel there is nothing to plan.
 */
import type { Facts } from "../../facts/types.ts";
import { installedKernels, nextBootKernel } from "../../knowledge/drivers.ts";
import type { PassOutput } from "./output.ts";

export interface HostIdentity {
  pveMajor: number;
  running: string;
  /** Installed kernels, oldest first. */
  kernels: string[];
  bootKernel: string;
  /** The root pool's feature states when / is on ZFS (root=ZFS=POOL/…), else null/absent. */
  rootPool?: { name: string; features: Record<string, string> } | null;
  /** Kernel image packages the repositories offer (passes/kernel.ts installs one in the driver's range). */
  repoKernels?: Facts["repoKernels"];
}

export function assessHost(f: Facts, out: PassOutput): HostIdentity | null {
  if (!f.pve) {
    out.block(
      "not-proxmox",
      "This is not a Proxmox VE host",
      [f.notes.find((n) => /pveversion/.test(n)) ?? "`pveversion -v` did not report a pve-manager version"],
      ["vgpuctl sets up Proxmox VE hosts only; check the --host / `host:` you named"],
    );
    return null;
  }
  const pveMajor = Number.parseInt(f.pve.manager, 10) || 0;
  const running = f.uname?.release ?? f.pve.runningKernel;
  if (!running) {
    out.block(
      "kernel-unknown",
      "The running kernel is unknown",
      ["`uname -r` was not captured"],
      ["re-run as root"],
    );
    return null;
  }
  // The next boot's kernel: the pinned one, else the newest one installed (dpkg / pveversion packages
  // and the ESPs' kernels, knowledge/drivers.ts nextBootKernel); the running one when none is known.
  const kernels = installedKernels(f);
  const bootKernel = nextBootKernel(f) ?? running;
  if (kernels.length > 0 && bootKernel !== running)
    out.note(
      f.kernelPin === bootKernel
        ? `the next boot uses kernel ${bootKernel} (pinned; running ${running})`
        : `the next boot uses kernel ${bootKernel} (newest installed; running ${running})${f.kernelPin === undefined ? " unless a kernel is pinned" : ""}`,
    );
  checkSecureBoot(f, out);
  return {
    pveMajor,
    running,
    kernels,
    bootKernel,
    rootPool: rootPoolOf(f),
    repoKernels: f.repoKernels ?? null,
  };
}

function checkSecureBoot(f: Facts, out: PassOutput): void {
  // Secure Boot on: the modules are signed and the key enrolled (passes/secure-boot.ts)
  if (f.secureBoot === null) out.note("Secure Boot state unknown (mokutil not available); assuming off");
}

/** The pool / is on (`root=ZFS=rpool/ROOT/pve-1` on the running command line) and its captured features. */
function rootPoolOf(f: Facts): HostIdentity["rootPool"] {
  const root = (f.cmdline ?? []).map((t) => /^root=ZFS=([^/\s]+)/.exec(t)?.[1]).find(Boolean);
  const features = root ? f.zpoolFeatures?.[root] : undefined;
  return root && features ? { name: root, features } : null;
}
