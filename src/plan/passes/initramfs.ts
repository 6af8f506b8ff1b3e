/**
 * One initramfs rebuild after every step that changes what it holds (module list, nouveau
 * blacklist, vfio-pci options, a new driver), or one a crash left owed (the journal knows).
 */
import { noUndo } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import { INITRAMFS } from "../paths.ts";
import type { Step } from "../types.ts";
import { PassOutput } from "./output.ts";

const CHANGES_INITRAMFS = new Set(["vfio-modules", "nouveau-blacklist", "vfio-leftover"]);

export function initramfsPass(ctx: PlanContext, prior: readonly Step[]): PassOutput {
  const out = new PassOutput();
  if (prior.some((s) => CHANGES_INITRAMFS.has(s.id)) || ctx.driver.needed || ctx.input.pending?.initramfs)
    out.step({
      id: "initramfs",
      title: "Rebuild the initramfs",
      why: "the module list, the nouveau blacklist and the vfio-pci options are read from the initramfs at boot",
      changes: [{ kind: "command", argv: INITRAMFS }],
      reboot: true,
      undo: noUndo("rebuilt again at the end of uninstall"),
    });
  return out;
}
