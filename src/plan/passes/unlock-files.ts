/**
 * vgpu_unlock's files: systemd drop-ins preloading the library into nvidia-vgpud and
 * nvidia-vgpu-mgr, config.toml's `unlock` (false for natively supported boards — seed guide "Have a
 * vgpu supported card?"), and an empty profile_override.toml for `vgpuctl override`.
 */
import { UNLOCK_UNITS } from "../../facts/derive.ts";
import { dropinPath, setServiceEnvironment } from "../../formats/systemd/dropin.ts";
import { fileChange } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import { DAEMON_RELOAD, PROFILE_OVERRIDE, UNLOCK_CONFIG } from "../paths.ts";
import type { Change } from "../types.ts";
import { setUnlock, unlockValue } from "../unlock-config.ts";
import { PassOutput } from "./output.ts";

export function unlockFilesPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  // preloaded for the consumer GPUs (or `unlock: on`), or only so the overrides are read (forOverrides)
  const useUnlock = ctx.unlock.preload;
  if (!useUnlock && ctx.unlock.state.preloadedIn.length === 0) return out;
  const changes: Change[] = [];
  if (useUnlock) changes.push(...dropinChanges(ctx, out));
  // unlock = false for natively supported boards (seed guide "Have a vgpu supported card?").
  const spoof = ctx.useUnlock ? ctx.consumer.length > 0 : false;
  const before = out.need(ctx.input.file, UNLOCK_CONFIG);
  if ((before !== null || !spoof) && unlockValue(before) !== spoof) {
    const after = setUnlock(before ?? "", spoof);
    if (after !== before) changes.push(fileChange(UNLOCK_CONFIG, before, after, 0o644));
  }
  if (useUnlock && out.need(ctx.input.file, PROFILE_OVERRIDE) === null)
    changes.push(
      fileChange(
        PROFILE_OVERRIDE,
        null,
        "# vgpu_unlock-rs profile overrides ([profile.nvidia-N], [vm.VMID]); see `vgpuctl override`\n",
        0o644,
      ),
    );
  if (changes.length === 0) return out;
  out.step({
    id: "unlock-files",
    title: "Preload vgpu_unlock into nvidia-vgpud and nvidia-vgpu-mgr",
    why: ctx.unlock.forOverrides
      ? "profile_override.toml is read only by vgpu_unlock-rs: both daemons load it (systemd drop-ins), with `unlock = false` so the natively supported GPUs are not spoofed (as the guide does)"
      : useUnlock
        ? "both daemons must load libvgpu_unlock_rs.so (systemd drop-ins); config.toml sets whether it spoofs the GPU"
        : "natively supported GPUs must not be spoofed: `unlock = false`",
    changes: [...changes, { kind: "command", argv: DAEMON_RELOAD }],
    reboot: true,
    undo: {
      description: "restore the drop-ins and config.toml",
      commands: [],
      regenerate: [DAEMON_RELOAD],
    },
  });
  return out;
}

/**
 * ld.so(8) "LD_PRELOAD": "The items of the list can be separated by spaces or colons, and there is
 * no support for escaping either separator." A library path with either cannot be preloaded, however
 * the drop-in quotes it (issue 13 item 11); `%` and quotes are fine (the drop-in escapes them).
 */
export function preloadablePath(library: string): boolean {
  return !/[\s:]/.test(library);
}

function dropinChanges(ctx: PlanContext, out: PassOutput): Change[] {
  const library = ctx.unlock.library ?? ctx.unlock.builtLibrary;
  const changes: Change[] = [];
  if (!preloadablePath(library)) {
    const field = ctx.unlock.library ? "vgpuUnlock.library" : "vgpuUnlock.source";
    out.block(
      "unlock-library-path",
      `vgpu_unlock library path ${JSON.stringify(library)} cannot be preloaded: LD_PRELOAD splits it at the space or colon`,
      [
        `${field} in vgpu.yaml gives ${JSON.stringify(library)}`,
        "ld.so(8): LD_PRELOAD items are separated by spaces or colons, with no escaping",
      ],
      [`set ${field} to a path without spaces or colons (e.g. /opt/vgpu_unlock-rs)`],
    );
    return changes;
  }
  for (const unit of UNLOCK_UNITS) {
    const path = dropinPath(unit);
    const before = out.need(ctx.input.file, path);
    const after = setServiceEnvironment(before ?? "", "LD_PRELOAD", library);
    if (after !== before) changes.push(fileChange(path, before, after, 0o644));
  }
  return changes;
}
