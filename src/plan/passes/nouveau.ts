/** nouveau kept off the GPU: a modprobe.d blacklist (`blacklist nouveau`, `options nouveau modeset=0`). */
import type { Facts } from "../../facts/types.ts";
import { addBlacklist } from "../../formats/modules/modprobe.ts";
import { fileChange } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import { INITRAMFS, NOUVEAU_BLACKLIST } from "../paths.ts";
import { PassOutput } from "./output.ts";

function nouveauBlacklisted(f: Facts): boolean {
  return (f.modprobe ?? []).some((m) => m.blacklist.some((b) => b.module === "nouveau"));
}

/** nouveau is blacklisted but still loaded (or driving a GPU): the blacklist waits for a reboot. */
export function nouveauStillLoaded(ctx: PlanContext): boolean {
  const f = ctx.facts;
  const loaded =
    (f.lsmod ?? []).some((m) => m.name === "nouveau") || ctx.all.some((p) => p.driverInUse === "nouveau");
  return nouveauBlacklisted(f) && loaded;
}

export function nouveauBlacklistPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  if (ctx.facts.modprobe === null) {
    out.block(
      "not-captured",
      "/etc/modprobe.d could not be read",
      ["/etc/modprobe.d not captured"],
      ["re-run as root"],
    );
    return out;
  }
  if (nouveauBlacklisted(ctx.facts)) return out;
  const before = out.need(ctx.input.file, NOUVEAU_BLACKLIST);
  const after = addBlacklist(
    before ?? "# written by vgpuctl: the NVIDIA vGPU host driver needs nouveau kept off the GPU\n",
    "nouveau",
    "modeset=0",
  );
  out.step({
    id: "nouveau-blacklist",
    title: "Blacklist the nouveau driver",
    why: "nouveau would claim the GPU at boot and keep the NVIDIA vGPU driver from loading",
    changes: [fileChange(NOUVEAU_BLACKLIST, before, after, 0o644)],
    reboot: true,
    undo: { description: `remove ${NOUVEAU_BLACKLIST}`, commands: [], regenerate: [INITRAMFS] },
  });
  return out;
}
