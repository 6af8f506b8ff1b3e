/**
 * Findings: what `vgpuctl doctor` reports (DESIGN.md "Finding codes" — codes are stable, never renamed).
 * A check is a pure function of the host's Facts plus the knowledge base; it never does I/O.
 */
import type { Facts } from "../facts/types.ts";

export type Severity = "error" | "warning" | "info";

/** Every code a check can emit (DESIGN.md table + additions). A new code is added here, never renamed. */
export const FINDING_CODES = [
  "gpu-unsupported",
  "kernel-unsupported",
  "headers-missing",
  "secure-boot",
  "iommu-disabled",
  "iommu-cmdline-wrong-bootloader",
  "vfio-module-missing",
  "nouveau-loaded",
  "vfio-bound",
  "driver-missing",
  "driver-not-loaded",
  "driver-open-flavour",
  "driver-branch-drops-gpu",
  "unlock-missing",
  "unlock-disabled-consumer",
  "unlock-enabled-native",
  "unlock-version-mismatch",
  "mdev-types-empty",
  "sriov-vfs-missing",
  "vgpud-rejected-gpu",
  "mixed-types",
  "vram-overcommit",
  "override-invalid",
  "duplicate-mdev-uuid",
  "vm-start-failed",
  // additions
  "gpu-missing",
  "cmdline-not-applied",
  "dkms-not-built",
  "next-kernel-unsupported",
  "next-kernel-dkms-missing",
  "vfio-config-leftover",
  "driver-not-vgpu",
  "vgpu-mgr-inactive",
  "unlock-config-invalid",
  "vm-mdev-type-unavailable",
  "vm-full-passthrough",
  "vm-uses-physical-function",
  "duplicate-smbios-uuid",
  "stale-mdev",
  "driver-build-failed",
  "override-unread",
  "apt-enterprise-only",
  // two outputs disagree about the same fact (GPU ids, driver version/kind/flavour): says which it believed
  "evidence-conflict",
  "check-failed",
] as const;

export type FindingCode = (typeof FINDING_CODES)[number];

export interface Finding {
  /** Stable kebab-case code, e.g. "iommu-disabled" (one of FINDING_CODES) */
  code: FindingCode;
  severity: Severity;
  /** One line, specific to this host ("IOMMU is not enabled: intel_iommu=on is not on the kernel command line") */
  title: string;
  /** Quoted lines that prove it: dmesg lines, cmdline, "file:line: text", command output */
  evidence: string[];
  /** What to do, in order: exact commands or file edits for THIS host */
  fix: string[];
  /** PCI address of the GPU concerned, when the finding is about one GPU */
  gpu?: string;
}

export const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** What the knowledge base says about one GPU (src/knowledge/gpus.ts classifyGpu). */
export interface KbGpu {
  deviceId: string;
  name: string | null;
  /** knowledge-base id, e.g. "turing" */
  generation: string | null;
  /** display form, e.g. "Turing" */
  generationLabel: string | null;
  vramMiB: number | null;
  support: "native" | "unlock" | "unsupported";
  supportReason: string;
  spoofAs: { deviceId: string; name: string } | null;
  needsSriov: boolean;
}

/** A vGPU software release (src/knowledge/drivers.ts), reduced to what checks need. */
export interface KbRelease {
  /** "15.1" */
  vgpuRelease: string;
  /** "525.85.07" */
  driverVersion: string;
  /** Human text of the kernels it is known to build on, e.g. "5.14 – 6.0" */
  kernelRange: string | null;
}

/** src/knowledge/drivers.ts kernelVerdict: inRange as kernelInRange, plus how it is known and why. */
export interface KbKernelVerdict {
  inRange: boolean | null;
  status: "documented" | "reported working" | "reported failing" | "unknown";
  evidence: string[];
  sources: string[];
}

/** A vGPU type (src/knowledge/vgpu-types.ts), reduced to what checks need. */
export interface KbType {
  /** "nvidia-259" */
  type: string;
  name: string;
  /** profile size: framebuffer + reservation, MiB */
  profileMiB: number | null;
  /** the profile's own framebuffer / framebuffer_reservation, bytes (what a partial override keeps) */
  framebufferBytes: number | null;
  reservationBytes: number | null;
  maxInstances: number | null;
}

export interface OverrideIssueLike {
  severity: "error" | "warning" | "info";
  line: number | null;
  column: number | null;
  key: string | null;
  message: string;
  fix: string | null;
}

/** The knowledge a check may consult. `defaultKb` binds it to src/knowledge; tests may pass another. */
export interface Kb {
  classifyGpu(input: {
    deviceId: string;
    subsystemVendorId?: string | null;
    subsystemDeviceId?: string | null;
  }): KbGpu | null;
  releaseForDriverVersion(version: string): KbRelease | null;
  /** true/false when known, null when the knowledge base has no data for that release */
  kernelInRange(release: KbRelease, kernel: string): boolean | null;
  /**
   * How sure the knowledge base is about a kernel for this release and setup (`unlock`: patched driver for a
   * consumer card; `generation` of that card). Optional: without it a `false` from kernelInRange is taken as documented.
   */
  kernelVerdict?(
    release: KbRelease,
    kernel: string,
    setup: { unlock?: boolean; generation?: string | null },
  ): KbKernelVerdict;
  /** `deviceId`: the board whose profiles are used (the spoof target for unlocked cards) */
  releaseDropsGeneration(release: KbRelease, generation: string, deviceId?: string | null): boolean;
  /** Releases known to work on this kernel, newest first; `unlock` keeps only releases with an unlock patch */
  compatibleReleases(
    kernel: string,
    opts?: { unlock?: boolean; generation?: string; deviceId?: string },
  ): KbRelease[];
  findType(idOrName: string): KbType | null;
  /** The device id of the one board with exactly this name ("GeForce GTX 1080"), null when none or several */
  deviceIdForName?(name: string): string | null;
  /** A device id standing for the class (generation, support) of a GPU known only by its name, even cut short ("GeForce GTX 105...") */
  classDeviceIdForName?(name: string): string | null;
  validateOverride(text: string): OverrideIssueLike[];
}

export type Check = (facts: Facts, kb: Kb) => Finding[];
