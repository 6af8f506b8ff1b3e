/**
 * Driver rollback during an upgrade in place (plan/passes/driver-upgrade.ts): when the new driver fails to
 * install, or is not loaded after the reboot, the previous driver is re-installed from the installer
 * `driver-keep-previous` kept — the undo commands of the journaled `driver-remove` step, the same ones
 * `vgpuctl uninstall` runs. The journal then forgets the driver steps that were undone (the kept installer
 * stays recorded, so uninstall still removes it), and apply stops with one line saying what happened.
 */
import { formatCommand } from "../facts/capture.ts";
import { deriveDriver } from "../facts/derive.ts";
import type { Facts } from "../facts/types.ts";
import type { Step } from "../plan/types.ts";
import { UserError } from "../util/errors.ts";
import type { ExecContext } from "./executor.ts";
import { saveJournal } from "./journal.ts";

/** Steps of the new driver that a rollback undoes (newest first in the journal). */
const DRIVER_STEPS = new Set(["driver-remove", "driver-patch", "driver-install"]);

export class DriverRolledBackError extends UserError {
  constructor(
    readonly why: string,
    readonly restored: string,
  ) {
    super(
      `the new driver did not come up (${why}); rolled back: the previous driver was re-installed from ${restored}`,
      "the host runs its previous driver again; fix the cause (see /var/log/nvidia-installer.log) and re-run apply",
    );
    this.name = "DriverRolledBackError";
  }
}

/** Whether this run replaced the driver, so a failure of the new one can be rolled back. */
export function canRollBack(ctx: ExecContext): boolean {
  return ctx.journal.entries.some((e) => e.id === "driver-remove");
}

/** Run `body` (a step); when it is the new driver's install and it fails, roll back and say so. */
export async function withDriverRollback(ctx: ExecContext, step: Step, body: () => Promise<void>) {
  if (step.id !== "driver-install" || !canRollBack(ctx)) return body();
  try {
    await body();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw await rollBackDriver(ctx, e.message.split("\n")[0]!);
  }
}

/**
 * Re-install the previous driver: remove what the new one left (nvidia-uninstall; "command not found"
 * = nothing left), run driver-remove's undo, drop the undone driver steps from the journal.
 */
export async function rollBackDriver(ctx: ExecContext, why: string): Promise<DriverRolledBackError> {
  const j = ctx.journal;
  const removed = j.entries.find((e) => e.id === "driver-remove");
  if (!removed) throw new UserError(`cannot roll back: ${why}`, "no driver-remove step in the journal");
  ctx.log?.(`↺ rolling back to the previous driver: ${why}`);
  const left = await ctx.host.exec(["nvidia-uninstall", "--silent"]);
  if (left.exitCode !== 0 && left.exitCode !== 127)
    throw new UserError(
      `the new driver did not come up (${why}); rollback: nvidia-uninstall failed (${left.stderr.trim()})`,
      "remove the driver by hand, then re-install the previous one from /var/lib/vgpuctl/previous-driver/",
    );
  for (const argv of removed.undo.commands) {
    ctx.log?.(`  $ ${formatCommand(argv)}`);
    const r = await ctx.host.exec(argv);
    if (r.exitCode !== 0)
      throw new UserError(
        `the new driver did not come up (${why}) and the rollback failed too: \`${formatCommand(argv)}\` exited with ${r.exitCode}: ${r.stderr.trim()}`,
        `the previous driver's installer is ${removed.undo.commands[0]?.[1] ?? "in /var/lib/vgpuctl/previous-driver/"}; re-install it by hand`,
      );
  }
  j.entries = j.entries.filter((e) => !DRIVER_STEPS.has(e.id));
  if (j.inProgress && DRIVER_STEPS.has(j.inProgress.step.id)) j.inProgress = null;
  // the previous driver is loaded again at once: a reboot is owed only for steps still in the journal
  if (!j.entries.some((e) => e.reboot && e.bootId === j.reboot.bootId))
    j.reboot = { required: false, bootId: null };
  await saveJournal(ctx.host, j, ctx.now());
  return new DriverRolledBackError(why, removed.undo.commands[0]?.[1] ?? "the kept installer");
}

/**
 * After the reboot of a run that installed a new driver in place of the old one: when no driver is loaded,
 * roll back (throws DriverRolledBackError); otherwise nothing.
 */
export async function rollBackIfNotLoaded(ctx: ExecContext, facts: Facts): Promise<void> {
  if (!ctx.completed.includes("driver-install") || !canRollBack(ctx)) return;
  const drv = deriveDriver(facts);
  if (drv && drv.loaded !== false) return;
  const why = drv
    ? `driver ${drv.version} is not loaded after the reboot`
    : "no NVIDIA driver after the reboot";
  throw await rollBackDriver(ctx, why);
}
