/**
 * Packages: kernel headers for the running and the next boot's kernel, dkms and build tools when
 * the driver is installed, mdevctl, git / curl for vgpu_unlock-rs, pve-nvidia-vgpu-helper for SR-IOV.
 */
import type { HostEntry } from "../../desired/schema.ts";
import type { Facts } from "../../facts/types.ts";
import { compareKernel } from "../../knowledge/drivers.ts";
import { noUndo } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import type { Step } from "../types.ts";
import type { DriverDecision } from "./driver.ts";
import type { Gpu } from "./gpus.ts";
import { PassOutput } from "./output.ts";
import type { UnlockDecision } from "./unlock-build.ts";

export interface PackageNeeds {
  entry: HostEntry;
  facts: Facts;
  pveMajor: number;
  running: string;
  bootKernel: string;
  sriov: boolean;
  native: Gpu[];
  driver: DriverDecision;
  unlock: UnlockDecision;
}

/** The packages to install ([] with a blocker when the installed ones are unknown). */
export function missingPackages(n: PackageNeeds, out: PassOutput): string[] {
  const installed = n.facts.packages;
  if (installed === null) {
    out.block(
      "not-captured",
      "The installed packages are unknown",
      ["`dpkg-query -W` was not captured"],
      ["re-run as root"],
    );
    return [];
  }
  const has = (p: string) => p in installed;
  const pkgs: string[] = [];
  if (n.driver.needed) pkgs.push(...headerPackages(n, has));
  if ((n.driver.needed || n.unlock.build) && !has("build-essential")) pkgs.push("build-essential");
  if (!has("mdevctl")) pkgs.push("mdevctl");
  if (n.unlock.sourceMissing && n.entry.vgpuUnlock?.git && !has("git")) pkgs.push("git");
  if (n.unlock.needRust && !has("curl")) pkgs.push("curl");
  if (((n.sriov && n.pveMajor >= 8) || proxmoxWay(n)) && !has(HELPER)) pkgs.push(HELPER);
  return pkgs;
}

const HELPER = "pve-nvidia-vgpu-helper";

/**
 * Native cards are set up the way Proxmox documents it from pve-manager 8.3.4 on, which recommends
 * pve-nvidia-vgpu-helper (pve-manager debian/changelog 8.3.4, research/proxmox.md §2).
 */
export function proxmoxWay(n: Pick<PackageNeeds, "facts" | "native">): boolean {
  const manager = n.facts.pve?.manager;
  return n.native.length > 0 && manager !== undefined && compareKernel(manager, "8.3.4") >= 0;
}

/** Headers for the running and the next boot's kernel, the headers meta package, dkms. */
function headerPackages(n: PackageNeeds, has: (p: string) => boolean): string[] {
  const pkgs: string[] = [];
  const headers = (k: string) => (n.pveMajor >= 8 ? `proxmox-headers-${k}` : `pve-headers-${k}`);
  const hasHeaders = (k: string) => has(`proxmox-headers-${k}`) || has(`pve-headers-${k}`);
  for (const k of new Set([n.running, n.bootKernel])) if (!hasHeaders(k)) pkgs.push(headers(k));
  const meta = n.pveMajor >= 8 ? "proxmox-default-headers" : "pve-headers";
  if (!has(meta) && !has("pve-headers") && !has("proxmox-default-headers")) pkgs.push(meta);
  if (!has("dkms")) pkgs.push("dkms");
  return pkgs;
}

/** Why each package is installed (only those installed are named). */
function whyPackages(pkgs: string[]): string {
  const has = (re: RegExp) => pkgs.some((p) => re.test(p));
  const reasons: string[] = [];
  if (has(/headers|^dkms$/))
    reasons.push("DKMS builds the NVIDIA module against the kernel headers (running and next-boot kernel)");
  if (pkgs.includes("build-essential")) reasons.push("build-essential compiles it (and vgpu_unlock-rs)");
  if (pkgs.includes("mdevctl")) reasons.push("mdevctl lists and manages vGPUs");
  if (pkgs.includes("git")) reasons.push("git fetches vgpu_unlock-rs");
  if (pkgs.includes("curl")) reasons.push("curl fetches the Rust installer");
  if (pkgs.includes(HELPER))
    reasons.push(
      "pve-nvidia-vgpu-helper ships the unit that enables the SR-IOV virtual functions at boot (pve-nvidia-sriov@.service) and is what Proxmox documents for native cards",
    );
  return reasons.join("; ");
}

export function packagesPass(ctx: PlanContext, prior: readonly Step[] = []): PassOutput {
  const out = new PassOutput();
  const pkgs = ctx.packages;
  // the repository step right before refreshes the lists already: one `apt-get update`, not two
  const updated = prior.some((s) =>
    s.changes.some((c) => c.kind === "command" && c.argv.join(" ") === "apt-get update"),
  );
  if (pkgs.length > 0)
    out.step({
      id: "packages",
      title: `Install ${pkgs.join(", ")}`,
      why: whyPackages(pkgs),
      changes: [
        ...(updated ? [] : [{ kind: "command" as const, argv: ["apt-get", "update"] }]),
        { kind: "package", install: pkgs },
      ],
      reboot: false,
      undo: noUndo(`apt-get remove ${pkgs.join(" ")} (only packages vgpuctl installed)`),
    });
  if (pkgs.includes(HELPER) && proxmoxWay(ctx))
    out.note(
      "pve-nvidia-vgpu-helper is installed as Proxmox documents for native cards; its `setup` asks questions on a terminal, so vgpuctl does what Proxmox documents it to do (blacklist nouveau, install the kernel headers and DKMS) in its own steps",
    );
  return out;
}
