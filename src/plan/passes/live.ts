/**
 * No reboot where none is needed (issue 10 §3). The setup's boot-time changes (driver built with
 * DKMS, vfio modules, nouveau blacklist, initramfs, SR-IOV unit) normally take effect at one reboot.
 * When the host's own evidence shows it is safe — the IOMMU is active in this boot (dmesg), and
 * nouveau, if loaded, drives no framebuffer (/proc/fb lists no nouveau fb) and no module uses it —
 * the same state is reached now: nouveau unloaded (`modprobe -r nouveau`), the vfio modules and the
 * driver loaded, the vGPU services started, the VFs enabled (`systemctl enable --now
 * pve-nvidia-sriov@ALL.service`). The boot-time changes stay for the next boot. Otherwise the plan
 * keeps its one reboot, and says why.
 */
import { deriveIommu } from "../../facts/derive.ts";
import { vfioModulesFor } from "../../formats/modules/etc-modules.ts";
import type { PlanContext } from "../context.ts";
import { VGPU_SERVICES } from "../paths.ts";
import type { Change, Step } from "../types.ts";
import { SRIOV_UNIT } from "./sriov.ts";
import { vendorVfioOnly } from "./vfio-modules.ts";

/** Steps whose boot-time effect can be had now: everything else needs the reboot. */
const LIVE_STEPS = new Set(["driver-install", "sriov", "vfio-modules", "nouveau-blacklist", "initramfs"]);

/** What shows the setup can be loaded now (`evidence`), and what stands against it (`against`). */
export function liveEvidence(ctx: PlanContext): { evidence: string[]; against: string[] } {
  const f = ctx.facts;
  const iommu = deriveIommu(f);
  const evidence: string[] = [];
  const against: string[] = [];
  if (iommu.enabled === true)
    evidence.push(`the IOMMU is active in this boot (dmesg: ${iommu.evidence[0] ?? "enabled"})`);
  else against.push("the IOMMU is not known to be active in this boot (dmesg)");
  const nouveau = (f.lsmod ?? []).find((m) => m.name === "nouveau");
  const fb = ctx.input.file("/proc/fb");
  if (f.lsmod === null) against.push("the loaded modules are unknown (lsmod)");
  else if (!nouveau) evidence.push("nouveau is not loaded");
  else if (typeof fb !== "string")
    against.push("whether nouveau drives the console is unknown (/proc/fb not captured)");
  else if (/nouveau/i.test(fb))
    against.push(
      `nouveau drives a framebuffer, the console (/proc/fb: ${fb
        .split("\n")
        .find((l) => /nouveau/i.test(l))
        ?.trim()})`,
    );
  else if (nouveau.usedBy.length > 0) against.push(`modules use nouveau (${nouveau.usedBy.join(", ")})`);
  else
    evidence.push(
      `nouveau drives no framebuffer (/proc/fb: ${fb.trim().replaceAll("\n", "; ") || "empty"}), so it can be unloaded`,
    );
  if (ctx.useUnlock) against.push("vgpu_unlock setups are loaded at the next boot");
  return { evidence, against };
}

/**
 * Steps, with the reboot replaced by loading the setup now when it can be: the steps that needed
 * the reboot keep their boot-time changes (reboot: false) and one `load-now` step follows.
 */
export function liveOrReboot(ctx: PlanContext, steps: Step[]): { steps: Step[]; notes: string[] } {
  const rebooting = steps.filter((s) => s.reboot);
  if (rebooting.length === 0) return { steps, notes: [] };
  const blocking = rebooting.filter((s) => !LIVE_STEPS.has(s.id));
  if (blocking.length > 0) return { steps, notes: [] };
  const ev = liveEvidence(ctx);
  if (ev.against.length > 0)
    return { steps, notes: [`1 reboot: the setup cannot be loaded now — ${ev.against.join("; ")}`] };
  const sriov = steps.some((s) => s.id === "sriov");
  const kept = steps.filter((s) => s.id !== "sriov").map((s) => (s.reboot ? nowAndAtBoot(s) : s));
  const load = loadNowStep(ctx, sriov, ev.evidence);
  return {
    steps: load ? [...kept, load] : kept,
    notes: [`no reboot: ${ev.evidence.join("; ")}; the boot-time changes take effect at the next boot`],
  };
}

/** A step whose change the reboot would have put into effect: the load-now step does that now. */
function nowAndAtBoot(s: Step): Step {
  if (s.id !== "driver-install") return { ...s, reboot: false };
  return {
    ...s,
    reboot: false,
    why: "the vGPU host driver creates the vGPU types; DKMS rebuilds it for new kernels. It is built now and loaded below, once nouveau is unloaded",
  };
}

/** What the reboot would have brought, done now: only what is not so already (running VMs keep their vGPUs). */
function loadNowStep(ctx: PlanContext, sriov: boolean, because: string[]): Step | null {
  const loaded = new Set((ctx.facts.lsmod ?? []).map((m) => m.name));
  const changes: Change[] = [];
  const parts: string[] = [];
  const command = (...argv: string[]) => changes.push({ kind: "command", argv });
  if (loaded.has("nouveau")) {
    command("modprobe", "-r", "nouveau");
    parts.push("unload nouveau");
  }
  const vfio = vendorVfioOnly(ctx, ctx.running)
    ? []
    : vfioModulesFor(ctx.running).filter((m) => !loaded.has(m));
  for (const m of vfio) command("modprobe", m);
  if (vfio.length > 0) parts.push(`load ${vfio.join(", ")}`);
  if (ctx.driver.needed || ctx.driver.installed?.loaded !== true) {
    command("modprobe", "nvidia");
    command("modprobe", "nvidia_vgpu_vfio");
    command("systemctl", "restart", ...VGPU_SERVICES);
    parts.push("load the NVIDIA vGPU driver and start its services");
  }
  if (sriov) {
    command("systemctl", "enable", "--now", SRIOV_UNIT);
    parts.push(`enable the SR-IOV virtual functions (${SRIOV_UNIT}, also at every boot)`);
  }
  if (changes.length === 0) return null;
  const title = parts.join(", ");
  return {
    id: "load-now",
    title: `${title[0]!.toUpperCase()}${title.slice(1)} now (no reboot)`,
    why: because.join("; "),
    changes,
    reboot: false,
    undo: sriov
      ? {
          description: `disable ${SRIOV_UNIT} (the driver itself goes with nvidia-uninstall)`,
          commands: [["systemctl", "disable", SRIOV_UNIT]],
          regenerate: [],
        }
      : { description: "the driver goes with nvidia-uninstall", commands: [], regenerate: [] },
  };
}
