/**
 * Plan = ordered Steps that take one host from its facts to the desired state (DESIGN.md
 * `vgpuctl plan --json`: { host, steps: [{id, title, why, changes, reboot}], reboots }).
 */

import type { SplitGpu } from "../place/split.ts";

export type Change =
  /** `before`/`after` null = the file is absent / removed. `diff` is a unified diff. */
  | { kind: "file"; path: string; before: string | null; after: string | null; diff: string; mode?: number }
  | { kind: "package"; install: string[] }
  | { kind: "package"; remove: string[] }
  /**
   * Uninstall only: remove those of `removeUnneeded` (packages apply brought in) that nothing else needs
   * when the step runs; `manual` (those apply asked for by name) are marked automatic first, and marked
   * manual again when they stay (apply/packages.ts).
   */
  | { kind: "package"; removeUnneeded: string[]; manual: string[] }
  /**
   * `stdinSecret`: the command reads a secret the user gives at apply time on stdin (mokutil --import asks
   * for the MOK password twice); it is never part of the plan, the journal or a log (apply/executor.ts).
   */
  | { kind: "command"; argv: string[]; stdinSecret?: "mok-password" };

export interface Undo {
  /** What undoing means, for people. */
  description: string;
  /** Run (in order) when this step is undone; files are restored from backups automatically. */
  commands: string[][];
  /** Regeneration commands run once at the end of an uninstall (update-grub, update-initramfs …). */
  regenerate: string[][];
}

export type StepId =
  | "repository"
  | "packages"
  | "rust-toolchain"
  | "unlock-source"
  | "unlock-build"
  | "unlock-files"
  | "driver-patch"
  | "driver-install"
  | "sriov"
  | "iommu-cmdline"
  | "vfio-modules"
  | "nouveau-blacklist"
  | "initramfs"
  | "reboot"
  | (string & {});

export interface Step {
  id: StepId;
  title: string;
  why: string;
  changes: Change[];
  /** Takes effect only after a reboot. */
  reboot: boolean;
  /**
   * Runs only after the setup's reboot (VM steps need the vGPU types the driver offers then):
   * apply skips it before the reboot and re-plans it afterwards.
   */
  afterReboot?: boolean;
  /**
   * Doctor finding codes this step resolves (e.g. `vfio-bound`): apply does not refuse on them
   * (plan/doctor-blockers.ts) because the plan itself fixes them.
   */
  fixes?: string[];
  undo: Undo;
}

/** Something the plan cannot fix: apply refuses to start (codes shared with doctor where they exist). */
export interface Blocker {
  code: string;
  title: string;
  evidence: string[];
  fix: string[];
}

export interface Plan {
  host: string;
  steps: Step[];
  /** 1 when any step needs a reboot (the plan is ordered so that one is enough), else 0. */
  reboots: number;
  blockers: Blocker[];
  /** Things the planner assumed or could not check. */
  notes: string[];
  /** How the GPUs are split between the VMs of vgpu.yaml once applied (only when it lists VMs). */
  split?: SplitGpu[];
}

/** What the host says about a file the plan depends on but facts do not cover (driver installer, patch…). */
export interface FileProbe {
  exists: boolean;
  /** lowercase hex, null when not computed (asked for but failed: see sha256Error) */
  sha256: string | null;
  /** Why the sha256 asked for could not be computed ("sha256sum: … Permission denied", "timed out" …). */
  sha256Error?: string;
  /** first bytes as text (for magic checks), null when not read */
  head: string | null;
}

/** Pending effects that only the journal knows about (a crash between a file edit and its regeneration). */
export interface JournalPending {
  /** A step that changes the initramfs content completed after the last `initramfs` step. */
  initramfs: boolean;
  /** A reboot-requiring step completed and the host has not rebooted since. */
  reboot: boolean;
  /** Doctor codes fixed by steps completed since the last reboot (they take effect at the next one). */
  fixes?: string[];
}

export interface PlanInput {
  facts: import("../facts/types.ts").Facts;
  /** Raw file content from the capture: string = content, null = absent, undefined = not captured. */
  file: (path: string) => string | null | undefined;
  /** Probes of paths named in the desired state (see probePaths()); missing key = not probed. */
  probes: Record<string, FileProbe>;
  pending?: JournalPending;
  /** apply --stop-vms: VMs running on vGPUs may be shut down to replace the driver under them. */
  stopVms?: boolean;
  /** apply: whether the user gave a MOK password (Secure Boot enrolment); undefined = only planning. */
  mokPassword?: boolean;
}
