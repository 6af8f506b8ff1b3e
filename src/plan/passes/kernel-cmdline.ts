/**
 * The kernel command line, in one file edit and one update-grub / proxmox-boot-tool refresh: the
 * IOMMU parameters (when the IOMMU is not active), parameters written to the file of the bootloader
 * this host does not boot with moved over (doctor's iommu-cmdline-wrong-bootloader), and the set-up
 * GPUs' ids taken out of a leftover `vfio-pci.ids=` (doctor's vfio-bound).
 */
import type { HostEntry } from "../../desired/schema.ts";
import {
  type Bootloader,
  deriveBootloader,
  deriveIommu,
  IOMMU_PARAM,
  type IommuState,
} from "../../facts/derive.ts";
import type { Facts } from "../../facts/types.ts";
import {
  editKernelCmdline,
  kernelCmdlineTokens,
  tokensSatisfy,
  vfioIdsEdit,
} from "../../formats/bootloader/cmdline.ts";
import { editGrubCmdline, grubTokens } from "../../formats/bootloader/grub.ts";
import { fileChange } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import { GRUB_DEFAULT, KERNEL_CMDLINE } from "../paths.ts";
import type { Change, Step } from "../types.ts";
import { PassOutput } from "./output.ts";

export interface BootDecision {
  bootloader: Bootloader | null;
  iommu: IommuState;
  /** Parameters the IOMMU needs on the command line ([] when it is active or `iommu: off`). */
  iommuParams: string[];
}

export function decideIommu(entry: HostEntry, f: Facts, out: PassOutput): BootDecision {
  const bootloader = deriveBootloader(f);
  const iommu = deriveIommu(f);
  let iommuParams: string[] = [];
  if (entry.iommu === "on" || (entry.iommu === "auto" && iommu.enabled !== true)) {
    if (f.cpuVendor === "intel") iommuParams = ["intel_iommu=on", "iommu=pt"];
    else if (f.cpuVendor === "amd")
      iommuParams = ["iommu=pt"]; // AMD-Vi is on by default; `amd_iommu=on` is not a valid value
    else
      out.block(
        "cpu-unknown",
        "The CPU vendor is unknown, so the IOMMU parameters are too",
        ["lscpu was not captured"],
        ["set `iommu: off` to skip, or make lscpu available"],
      );
    if (!bootloader)
      out.block(
        "bootloader-unknown",
        "Cannot tell whether the host boots with GRUB or systemd-boot",
        ["proxmox-boot-tool status not captured"],
        ["set `iommu: off` to skip the kernel parameters"],
      );
  }
  return { bootloader, iommu, iommuParams };
}

/** Kernel parameters that belong to this setup (checks/bootloader.ts looks for the same ones). */
const RELEVANT_PARAM = (t: string) =>
  IOMMU_PARAM.test(t) || /^(vfio-pci\.ids|vfio_pci\.ids|modprobe\.blacklist|nouveau\.modeset)=/.test(t);

/** Tokens of both GRUB command-line variables, or of /etc/kernel/cmdline. */
function cmdlineFileTokens(path: string, text: string | null | undefined): string[] {
  if (typeof text !== "string") return [];
  return path === GRUB_DEFAULT
    ? [...grubTokens(text, "GRUB_CMDLINE_LINUX"), ...grubTokens(text, "GRUB_CMDLINE_LINUX_DEFAULT")]
    : kernelCmdlineTokens(text);
}

/** One edit of a command-line file; GRUB: `add` goes to GRUB_CMDLINE_LINUX_DEFAULT, ids leave both variables. */
function editCmdlineFile(
  path: string,
  text: string,
  edit: { add: string[]; remove: string[]; vfioIds: string[] },
): string {
  if (path === GRUB_DEFAULT) {
    let out = text;
    for (const v of ["GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"] as const) {
      const ids = vfioIdsEdit(grubTokens(out, v), edit.vfioIds);
      out = editGrubCmdline(out, v, {
        add: [...(v === "GRUB_CMDLINE_LINUX_DEFAULT" ? edit.add : []), ...ids.add],
        remove: [...edit.remove, ...ids.remove],
      });
    }
    return out;
  }
  const ids = vfioIdsEdit(kernelCmdlineTokens(text), edit.vfioIds);
  return editKernelCmdline(text, { add: [...edit.add, ...ids.add], remove: [...edit.remove, ...ids.remove] });
}

/** The files of this host's bootloader and of the other one, and what moves between them. */
interface CmdlineFiles {
  grub: boolean;
  activePath: string;
  otherPath: string;
  /** Where the parameters go, for titles. */
  where: string;
  regen: string[];
  /** Content of the active file: null = absent, undefined = not captured. */
  activeRaw: string | null | undefined;
  otherText: string | null | undefined;
  activeTokens: string[];
  /** Parameters in the other bootloader's file that never reached the running kernel. */
  misplaced: string[];
  /** What of `misplaced` moves to the active file (set-up GPUs' ids left out). */
  moved: string[];
  /** Everything added to the active file. */
  add: string[];
}

function cmdlineFiles(ctx: PlanContext, bootloader: Bootloader): CmdlineFiles {
  const grub = bootloader === "grub";
  const [activePath, otherPath] = grub ? [GRUB_DEFAULT, KERNEL_CMDLINE] : [KERNEL_CMDLINE, GRUB_DEFAULT];
  const activeRaw = ctx.input.file(activePath);
  const otherText = ctx.input.file(otherPath);
  const activeTokens = cmdlineFileTokens(activePath, activeRaw);
  const runningCmdline = ctx.facts.cmdline;
  const running = new Set(runningCmdline ?? []);
  const misplaced =
    runningCmdline === null
      ? []
      : cmdlineFileTokens(otherPath, otherText).filter(
          (t) => RELEVANT_PARAM(t) && !running.has(t) && !activeTokens.includes(t),
        );
  const moved = misplaced.flatMap((t) => {
    const e = vfioIdsEdit([t], ctx.leftover.ids);
    return e.remove.length > 0 ? [] : e.add.length > 0 ? e.add : [t];
  });
  return {
    grub,
    activePath,
    otherPath,
    where: grub ? "GRUB_CMDLINE_LINUX_DEFAULT" : KERNEL_CMDLINE,
    regen: grub ? ["update-grub"] : ["proxmox-boot-tool", "refresh"],
    activeRaw,
    otherText,
    activeTokens,
    misplaced,
    moved,
    add: [...ctx.boot.iommuParams, ...moved],
  };
}

/** The IOMMU parameters are in the bootloader's file already, but the running kernel did not get them. */
export function iommuConfiguredButNotLive(ctx: PlanContext): boolean {
  const { bootloader, iommuParams, iommu } = ctx.boot;
  if (!bootloader) return false;
  const c = cmdlineFiles(ctx, bootloader);
  if (c.activeRaw === undefined || (c.activeRaw === null && c.grub)) return false;
  const before = c.activeRaw ?? "";
  return (
    iommuParams.length > 0 &&
    editCmdlineFile(c.activePath, before, { add: iommuParams, remove: [], vfioIds: [] }) === before &&
    !tokensSatisfy(ctx.facts.cmdline ?? [], { add: iommuParams }) &&
    iommu.enabled !== true
  );
}

interface CmdlineEdit {
  changes: Change[];
  parts: string[];
  whys: string[];
  fixes: string[];
}

/** The edit of the active file: IOMMU parameters added, misplaced ones moved in, the GPUs' ids out. */
function editActiveFile(ctx: PlanContext, c: CmdlineFiles, before: string, e: CmdlineEdit): boolean {
  const { iommuParams } = ctx.boot;
  const vfioIds = ctx.leftover.ids;
  const after = editCmdlineFile(c.activePath, before, { add: c.add, remove: [], vfioIds });
  if (after === before) return false;
  e.changes.push(fileChange(c.activePath, c.activeRaw ?? null, after));
  const newIommu = iommuParams.filter((p) => !c.activeTokens.includes(p) && !c.moved.includes(p));
  if (newIommu.length > 0) e.parts.push(`Add ${newIommu.join(" ")} to ${c.where}`);
  if (iommuParams.some((p) => !c.activeTokens.includes(p)))
    e.whys.push("vGPU devices are passed to VMs through the IOMMU (VT-d / AMD-Vi)");
  if (c.moved.length > 0) {
    e.parts.push(
      `${e.parts.length ? "move" : "Move"} ${c.misplaced.join(" ")} from ${c.otherPath} to ${c.where}`,
    );
    e.whys.push(
      `${c.otherPath} is not read on this host (it boots with ${ctx.boot.bootloader}, which reads ${c.activePath}), so the parameters there never reached the kernel (doctor: iommu-cmdline-wrong-bootloader)`,
    );
    e.fixes.push("iommu-cmdline-wrong-bootloader");
  }
  const idsGone = after !== editCmdlineFile(c.activePath, before, { add: c.add, remove: [], vfioIds: [] });
  if (idsGone) {
    e.parts.push(`${e.parts.length ? "take" : "Take"} the GPU's ids out of vfio-pci.ids in ${c.where}`);
    e.whys.push(
      "`vfio-pci.ids=` on the kernel command line binds the GPU to vfio-pci (PCI passthrough) at boot (doctor: vfio-bound)",
    );
    e.fixes.push("vfio-bound", "vfio-config-leftover");
  }
  return true;
}

/** The misplaced parameters taken out of the other bootloader's file. */
function cleanOtherFile(c: CmdlineFiles, e: CmdlineEdit): void {
  if (c.misplaced.length === 0 || typeof c.otherText !== "string") return;
  const cleaned = editCmdlineFile(c.otherPath, c.otherText, { add: [], remove: c.misplaced, vfioIds: [] });
  if (cleaned === c.otherText) return;
  e.changes.push(fileChange(c.otherPath, c.otherText, cleaned));
  if (c.moved.length === 0) e.parts.push(`Remove ${c.misplaced.join(" ")} from ${c.otherPath}`);
  if (!e.fixes.includes("iommu-cmdline-wrong-bootloader")) e.fixes.push("iommu-cmdline-wrong-bootloader");
}

export function kernelCmdlinePass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  const bootloader = ctx.boot.bootloader;
  if (!bootloader) return out;
  const c = cmdlineFiles(ctx, bootloader);
  if (c.activeRaw === undefined) {
    if (c.add.length > 0) out.need(ctx.input.file, c.activePath); // blocks: not captured
    return out;
  }
  if (c.activeRaw === null && c.grub) {
    if (c.add.length > 0)
      out.block(
        "not-captured",
        "/etc/default/grub is missing on a GRUB host",
        ["/etc/default/grub absent"],
        ["restore it"],
      );
    return out;
  }
  const e: CmdlineEdit = { changes: [], parts: [], whys: [], fixes: [] };
  const activeChanged = editActiveFile(ctx, c, c.activeRaw ?? "", e);
  cleanOtherFile(c, e);
  if (e.changes.length > 0) out.step(cmdlineStep(c, e, activeChanged));
  return out;
}

function cmdlineStep(c: CmdlineFiles, e: CmdlineEdit, activeChanged: boolean): Step {
  const changes = activeChanged ? [...e.changes, { kind: "command" as const, argv: c.regen }] : e.changes;
  // "vfio-cmdline" when it only unbinds the GPU; "iommu-cmdline" whenever parameters are added or moved
  const iommuRelated = !(e.fixes.includes("vfio-bound") && e.parts.length === 1);
  return {
    id: iommuRelated ? "iommu-cmdline" : "vfio-cmdline",
    title: e.parts.join("; "),
    why: e.whys.join("; ") || `parameters for ${c.activePath} were left in ${c.otherPath}`,
    changes,
    reboot: activeChanged,
    ...(e.fixes.length > 0 ? { fixes: e.fixes } : {}),
    undo: {
      description: `restore ${changes.flatMap((x) => (x.kind === "file" ? [x.path] : [])).join(" and ")}${activeChanged ? ` and run ${c.regen.join(" ")}` : ""}`,
      commands: [],
      regenerate: activeChanged ? [c.regen] : [],
    },
  };
}
