/**
 * vgpu_unlock-rs on a driver upgrade: when the new branch sends RM structs of a later generation than the old one
 * (knowledge/unlock-structs.ts: 17.x, 18.x, 19.0, 19.1+ each changed the type-info size), the checkout is updated
 * (`git pull --ff-only`, or fetch + checkout of vgpu.yaml's `ref`) and rebuilt before the new driver is installed.
 *
 * Always on such a branch change, without asking which version is built: the library in target/release carries no
 * revision, and the checkout's HEAD is not proof of what was last built — nor does a commit id say which struct
 * sizes it knows without the upstream history. Updating is cheap (one pull, one cargo build) and safe: a newer
 * vgpu_unlock-rs still accepts every older size, so the rollback to the previous driver keeps working with it.
 */
import { releaseForDriverVersion } from "../../knowledge/drivers.ts";
import { unlockRebuildNeeded, unlockStructsFor } from "../../knowledge/unlock-structs.ts";
import { noUndo } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import { CARGO } from "../paths.ts";
import type { Change } from "../types.ts";
import type { PassOutput } from "./output.ts";

/** The old and new vGPU releases of a driver replacement whose structs need a newer vgpu_unlock-rs, else null. */
function branchChange(ctx: PlanContext): { from: string; to: string } | null {
  const old = ctx.driver.replace;
  if (!old || !ctx.driver.version) return null;
  const from = releaseForDriverVersion(old.version)?.vgpuRelease;
  const to = releaseForDriverVersion(ctx.driver.version)?.vgpuRelease;
  if (!from || !to || !unlockRebuildNeeded(from, to)) return null;
  return { from, to };
}

/** `unlock-update` (before unlock-build / the driver): pull the checkout and rebuild it for the new branch. */
export function unlockUpdateStep(ctx: PlanContext, out: PassOutput): void {
  const u = ctx.unlock;
  if (!u.preload || u.library || u.sourceMissing) return;
  const change = branchChange(ctx);
  if (!change) return;
  const { from, to } = change;
  const structs = unlockStructsFor(to);
  if (structs && !structs.upstream)
    out.note(
      `vGPU ${to} sends ${structs.typeInfoSize}-byte type-info structs that upstream vgpu_unlock-rs does not know yet (mbilker/vgpu_unlock-rs#53): profile overrides are skipped until it does`,
    );
  if (ctx.input.probes[`${u.source}/.git/HEAD`]?.exists === false) {
    out.note(
      `vGPU ${from} → ${to} needs a newer vgpu_unlock-rs, and ${u.source} is not a git checkout: replace it with a current one and rebuild (cargo build --release)`,
    );
    return;
  }
  const ref = ctx.entry.vgpuUnlock?.ref;
  const changes: Change[] = ref
    ? [
        { kind: "command", argv: ["git", "-C", u.source, "fetch", "--tags", "origin"] },
        { kind: "command", argv: ["git", "-C", u.source, "checkout", ref, "--"] },
      ]
    : [{ kind: "command", argv: ["git", "-C", u.source, "pull", "--ff-only"] }];
  // a build planned anyway (unlock-build) follows this step
  if (!u.build)
    changes.push({
      kind: "command",
      argv: [CARGO, "build", "--release", "--manifest-path", `${u.source}/Cargo.toml`],
    });
  out.step({
    id: "unlock-update",
    title: `Update and rebuild vgpu_unlock-rs for vGPU ${to}`,
    why: `the driver goes from vGPU ${from} to ${to}, whose RM structs (type-info size ${structs?.typeInfoSize ?? "unknown"}) an older vgpu_unlock-rs does not recognise (profile overrides would be skipped). Which version is built cannot be read from the host, so it is updated on every such branch change; newer versions still handle the older sizes`,
    changes,
    reboot: false,
    undo: noUndo(`the updated vgpu_unlock-rs stays in ${u.source}: it also handles driver ${from}`),
  });
}
