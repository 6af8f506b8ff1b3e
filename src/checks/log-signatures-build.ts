/**
 * Driver build failure signatures in nvidia-installer.log, what nvidia-installer printed, DKMS output and
 * make.log. The first matching signature (most specific first) decides the finding; its evidence quotes the
 * matching lines. Sources: the comment on each signature.
 */
import type { FailureLog } from "../facts/system/failure-log.ts";
import { finding, type HostView } from "./context.ts";
import type { Finding, FindingCode } from "./types.ts";

interface BuildSignature {
  re: RegExp;
  code: FindingCode;
  title: (kernel: string) => string;
  fix: (kernel: string, v: HostView) => string[];
}

const HEADERS_PKG = (k: string) => (/-pve$/.test(k) ? `proxmox-headers-${k}` : `linux-headers-${k}`);

const SIGNATURES: BuildSignature[] = [
  {
    // nvidia-installer's module signing with a PEM certificate (anomixer/proxmox-vgpu-installer#14: "Abort!!! …
    // module-signing.crt is not a valid x509 certificate in DER format")
    re: /is not a valid x509 certificate in DER format/,
    code: "secure-boot",
    title: () =>
      "The driver's modules could not be signed for Secure Boot: the signing certificate is not in DER format",
    fix: () => [
      "openssl x509 -in module-signing.crt -outform DER -out module-signing.der",
      "Run the driver installer again with --module-signing-secret-key=<key> --module-signing-public-key=module-signing.der",
      "mokutil --import module-signing.der, then reboot and enroll the key in the MOK manager",
    ],
  },
  {
    // nvidia-installer: "ERROR: The Nouveau kernel driver is currently in use by your system."
    re: /The Nouveau kernel driver is currently in use/,
    code: "nouveau-loaded",
    title: () => "nvidia-installer stopped: the nouveau driver is in use",
    fix: () => [
      'printf "blacklist nouveau\\noptions nouveau modeset=0\\n" > /etc/modprobe.d/blacklist-nouveau.conf',
      "update-initramfs -u -k all",
      "reboot, then run the installer again",
    ],
  },
  {
    // nvidia-installer: "Unable to find the kernel source tree for the currently running kernel",
    // "The kernel source path '…' does not exist", "The kernel header file '…/version.h' does not exist"
    re: /Unable to find the kernel source tree|kernel source path '[^']*' does not exist|kernel header file '[^']*' does not exist|[Kk]ernel headers for kernel \S+ cannot be found/,
    code: "headers-missing",
    title: (k) => `The driver build found no kernel headers${k ? ` for ${k}` : ""}`,
    fix: (k) => [
      `apt install ${k ? HEADERS_PKG(k) : "proxmox-headers-$(uname -r)"}`,
      "Run the driver installer again",
    ],
  },
  {
    // the original vgpu_unlock's install steps left unedited: "/bin/sh: 1: cannot open path_to_vgpu_unlock: No such
    // file" in make.log (DualCoder/vgpu_unlock#4, the maintainer's reading of the make.log)
    re: /cannot open path_to_vgpu_unlock/,
    code: "driver-build-failed",
    title: () =>
      "The driver build failed: the vgpu_unlock placeholder path <path_to_vgpu_unlock> was left in the driver's sources",
    fix: () => [
      "Replace <path_to_vgpu_unlock> with the real folder of vgpu_unlock in the lines added to the driver's nvidia/os-interface.c and nvidia/nvidia.Kbuild (vgpu_unlock README, Installation)",
      "Build again (dkms install -m nvidia -v <version>) — or use vgpu_unlock-rs, which needs no source edits",
    ],
  },
  {
    // make.log against a kernel whose API moved: anomixer/proxmox-vgpu-installer#7 (6.17: the driver's own
    // headers are not found under the new kbuild), #18; DualCoder/vgpu_unlock#84 (mdev create() signature),
    // VGPU-Community-Drivers/Merged-Rust-Drivers#1 (mdev_parent_ops.open_device)
    re: /error: implicit declaration of function|error: too (?:few|many) arguments to function|has no member named|error: unknown type name|from incompatible pointer type|ERROR: modpost: "[^"]+" \[[^\]]+\] undefined!|fatal error: (?:os-interface|nv-[\w-]+|nvidia-[\w-]+|conftest[\w/-]*)\.h: No such file or directory/,
    code: "kernel-unsupported",
    title: (k) =>
      `The NVIDIA driver's source does not build against ${k ? `kernel ${k}` : "this kernel"}: the kernel's API or build system changed`,
    fix: (k, v) => [
      "Boot a kernel this driver branch supports and pin it: proxmox-boot-tool kernel list; proxmox-boot-tool kernel pin <version>; reboot",
      `Or install a driver branch (or vgpu-proxmox patch) made for kernel ${k || "this kernel"}${v.release ? ` — vGPU ${v.release.vgpuRelease} is too old for it` : ""}`,
      "vgpuctl inspect   (lists the releases known to build on this kernel)",
    ],
  },
  {
    // gcc older than the one the kernel was built with: "cc: error: unrecognized command-line option
    // '-ftrivial-auto-var-init=zero'" (gcc-11 vs a kernel built by gcc-12 — widely reported for DKMS and .run builds)
    re: /unrecognized command[- ]line option|cc: not found|gcc: command not found|Unable to find the compiler/,
    code: "driver-build-failed",
    title: (k) =>
      `The driver build failed in the compiler${k ? ` (kernel ${k})` : ""}: it is not the one the kernel was built with`,
    fix: () => [
      "cat /proc/version   (names the gcc that built the running kernel, e.g. gcc-12)",
      "apt install build-essential gcc-12   (that version), then build with it: CC=gcc-12 ./NVIDIA-Linux-…run --dkms, or make it the default gcc",
      "Run the driver installer again (or dkms autoinstall)",
    ],
  },
  {
    // DKMS: "Error! Bad return status for module build on kernel: 5.15.27-1-pve (x86_64)" (wvthoog/nvidia_vgpu_proxmox_7#1);
    // nvidia-installer: 'An error occurred while performing the step: "Building kernel modules"' (ProTechEx/vgpu-proxmox#1)
    re: /Bad return status for module build on kernel|An error occurred while performing the step: "Building kernel modules"|\*\*\* \[[^\]]+\] Error \d+/,
    code: "driver-build-failed",
    title: (k) => `The NVIDIA kernel module failed to build${k ? ` for kernel ${k}` : ""}`,
    fix: (k) => [
      "Read the first error in the build log: grep -m5 -e 'error:' -e 'Error ' /var/lib/dkms/nvidia/*/build/make.log /var/log/nvidia-installer.log",
      `Headers for the kernel: apt install ${k ? HEADERS_PKG(k) : "proxmox-headers-$(uname -r)"}; a kernel too new for the driver: see kernel-unsupported`,
    ],
  },
];

/** The kernel the log builds for: "Kernel source path: '/lib/modules/K/build'", "/usr/src/linux-headers-K", DKMS's "kernel: K". */
function kernelOf(lines: readonly string[]): string {
  for (const l of lines) {
    const m =
      /\/lib\/modules\/([^/'\s]+)\/build/.exec(l) ??
      /\/usr\/src\/linux-headers-([^/'\s]+)/.exec(l) ??
      /on kernel: (\S+)/.exec(l) ??
      /KERNEL_UNAME=(\S+)/.exec(l) ??
      /(?:^|\s)-k\s+([^\s`'":]+)/.exec(l);
    if (m) return m[1]!;
  }
  return "";
}

export function buildSignature(v: HostView, log: FailureLog): Finding | null {
  const sig = SIGNATURES.find((s) => log.lines.some((l) => s.re.test(l)));
  if (!sig) return null;
  const kernel = kernelOf([log.source, ...log.lines]) || (v.kernel ?? "");
  const quoted = log.lines.filter((l) => sig.re.test(l)).slice(0, 4);
  return finding(
    sig.code,
    "error",
    sig.title(kernel),
    quoted.map((l) => `${log.source}: ${l.trim()}`),
    sig.fix(kernel, v),
  );
}
