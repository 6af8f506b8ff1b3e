import type { UninstallResult } from "../../apply/run.ts";
import { FLEET_FLAGS, fleetOptions } from "../../commands/fleet.ts";
import { loadDesired, selectEntries } from "../../commands/plan.ts";
import { runUninstallHosts, type UninstallOutcome } from "../../commands/uninstall.ts";
import { formatCommand } from "../../facts/capture.ts";
import { UserError } from "../../util/errors.ts";
import type { GlobalOptions } from "../context.ts";
import { fleetReporter } from "../fleet-output.ts";
import type { Colors } from "../output.ts";
import { printJson } from "../with-host.ts";
import { confirmer } from "./apply.ts";
import type { Registrar } from "./index.ts";
import { explicitHost, hostOpener, readTextFile, renderPlan } from "./plan.ts";

export const registerUninstall: Registrar = (program, ctx, setExit) => {
  program
    .command("uninstall")
    .description(
      "revert everything vgpuctl did on the host (or every host of -f FILE): files restored byte-for-byte, its packages removed, driver uninstalled",
    )
    .option("-f, --file <path>", "undo on every host of this desired state file (with --host: that one)")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--reboot", "reboot when needed")
    .option("--dry-run", "only show what would be undone")
    .option("--break-lock", "take the host's lock even if another run seems to hold it")
    .option(FLEET_FLAGS[0][0], FLEET_FLAGS[0][1])
    .option(FLEET_FLAGS[1][0], FLEET_FLAGS[1][1])
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const fleet = fleetReporter(ctx);
      const specs = opts.file
        ? selectEntries(
            await loadDesired(opts.file, { cwd: ctx.cwd, readText: readTextFile }),
            explicitHost(cmd as never, g),
          ).map((e) => e.host)
        : [g.host];
      const options = {
        reboot: Boolean(opts.reboot),
        dryRun: Boolean(opts.dryRun),
        breakLock: Boolean(opts.breakLock),
        ...fleetOptions(opts),
        onProgress: fleet.progress,
      };
      // not confirmed (no --yes, no terminal): refuse, naming the VMs whose vGPU lines it would remove
      const ask = opts.dryRun
        ? undefined
        : await refuseNamingVms(
            () => confirmer(ctx, g, Boolean(opts.yes), "uninstall"),
            async () =>
              runUninstallHosts(specs, { ...options, dryRun: true }, { openHost: hostOpener(ctx, g) }),
          );
      const outcomes = await runUninstallHosts(specs, options, {
        openHost: hostOpener(ctx, g),
        confirm: ask,
        log: g.json ? undefined : (host, line) => ctx.err(`${ctx.colors.dim(`[${host}]`)} ${line}\n`),
      });
      if (outcomes.length === 1 && outcomes[0]!.kind === "failed") throw outcomes[0]!.error;
      const json = (o: UninstallOutcome) => {
        if (o.kind !== "done")
          return {
            host: o.host,
            undone: [],
            reboots: 0,
            rebooted: false,
            nothingToDo: false,
            ...(o.kind === "failed" ? { error: o.error.message } : {}),
            next: o.kind === "held" ? o.reason : ((o.error as { hint?: string }).hint ?? null),
          };
        const r = o.result;
        return {
          host: r.host,
          undone: r.undone,
          reboots: r.reboots,
          rebooted: r.rebooted,
          nothingToDo: r.nothingToDo,
          next: withNext(r, o.spec),
          ...(opts.dryRun ? { steps: r.plan.steps } : {}),
        };
      };
      if (g.json) printJson(ctx, outcomes.length === 1 ? json(outcomes[0]!) : outcomes.map(json));
      for (const o of outcomes) {
        if (o.kind === "done") {
          if (!g.json) ctx.out(renderUninstall(o.result, o.spec, Boolean(opts.dryRun), ctx.colors));
        } else if (o.kind === "held") ctx.err(`${ctx.colors.yellow(`${o.host}:`)} ${o.reason}\n`);
        else {
          const hint = (o.error as { hint?: string }).hint;
          ctx.err(
            `${ctx.colors.red("error:")} ${o.host}: ${o.error.message}\n${hint ? `  ${ctx.colors.dim("fix:")} ${hint}\n` : ""}`,
          );
        }
      }
      if (outcomes.length > 1)
        (g.json ? ctx.err : ctx.out)(
          fleet.summary(
            outcomes.map((o) => ({
              spec: o.spec,
              status: o.kind === "done" ? "undone" : o.kind,
              error: o.kind === "failed" ? o.error.message : undefined,
            })),
          ),
        );
      if (outcomes.some((o) => o.kind === "failed")) setExit(2);
    });
};

/** The exact way on when a reboot is still owed. */
function withNext(r: UninstallResult, spec: string): string | null {
  if (!r.next) return null;
  if (r.reboots > 0 && !r.rebooted)
    return `reboot ${r.host} to finish (the restored boot configuration, modules and blacklist take effect then): run \`reboot\` on it${sshReboot(spec)}`;
  return r.next;
}

function sshReboot(spec: string): string {
  const m = /^ssh:\/\/([^:/]+)(?::(\d+))?/.exec(spec);
  if (!m) return "";
  return ` (e.g. \`${formatCommand(["ssh", ...(m[2] ? ["-p", m[2]] : []), m[1]!, "reboot"])}\`)`;
}

function renderUninstall(r: UninstallResult, spec: string, dryRun: boolean, c: Colors): string {
  if (dryRun) return renderPlan(r.plan, c, "Uninstall plan");
  if (r.nothingToDo) return `Nothing to undo on ${r.host}: vgpuctl has not changed it.\n`;
  const next = withNext(r, spec);
  return `${c.bold(`Uninstalled from ${r.host}: ${r.undone.length} step(s) undone${r.rebooted ? ", rebooted" : ""}`)}\n${next ? `${c.yellow(`Next: ${next}`)}\n` : ""}`;
}

/**
 * The confirmation question, or (no --yes and nobody to ask) the refusal — which names the VMs whose
 * vGPU lines the uninstall would remove (issue 13 #9), from a dry run.
 */
async function refuseNamingVms<T>(confirm: () => T, dryRun: () => Promise<UninstallOutcome[]>): Promise<T> {
  try {
    return confirm();
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    const vms = (await dryRun()).flatMap((o) =>
      o.kind === "done"
        ? o.result.plan.notes.filter((n) => /^VMs? \d/.test(n)).map((n) => `${o.host}: ${n}`)
        : [],
    );
    if (vms.length === 0) throw e;
    throw new UserError(`${e.message}\n${vms.map((v) => `  ${v}`).join("\n")}`, e.hint);
  }
}
