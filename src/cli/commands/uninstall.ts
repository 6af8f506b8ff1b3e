import { runUninstall } from "../../commands/uninstall.ts";
import type { GlobalOptions } from "../context.ts";
import { printJson, withHost } from "../with-host.ts";
import { confirmer } from "./apply.ts";
import type { Registrar } from "./index.ts";
import { renderPlan } from "./plan.ts";

export const registerUninstall: Registrar = (program, ctx) => {
  program
    .command("uninstall")
    .description(
      "revert everything vgpuctl did on the host: files restored byte-for-byte, its packages removed, driver uninstalled",
    )
    .option("-y, --yes", "do not ask for confirmation")
    .option("--reboot", "reboot when needed")
    .option("--dry-run", "only show what would be undone")
    .option("--break-lock", "take the host's lock even if another run seems to hold it")
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const r = await withHost(ctx, g, (host) =>
        runUninstall(
          { reboot: Boolean(opts.reboot), dryRun: Boolean(opts.dryRun), breakLock: Boolean(opts.breakLock) },
          {
            host,
            confirm: opts.dryRun ? undefined : confirmer(ctx, g, Boolean(opts.yes), "uninstall"),
            log: g.json ? undefined : (line) => ctx.err(`${ctx.colors.dim(`[${host.name}]`)} ${line}\n`),
          },
        ),
      );
      if (g.json)
        printJson(ctx, {
          host: r.host,
          undone: r.undone,
          reboots: r.reboots,
          rebooted: r.rebooted,
          nothingToDo: r.nothingToDo,
          next: r.next,
          ...(opts.dryRun ? { steps: r.plan.steps } : {}),
        });
      else if (opts.dryRun) ctx.out(renderPlan(r.plan, ctx.colors, "Uninstall plan"));
      else if (r.nothingToDo) ctx.out(`Nothing to undo on ${r.host}: vgpuctl has not changed it.\n`);
      else
        ctx.out(
          `${ctx.colors.bold(`Uninstalled from ${r.host}: ${r.undone.length} step(s) undone${r.rebooted ? ", rebooted" : ""}`)}\n${r.next ? `${ctx.colors.yellow(`Next: ${r.next}`)}\n` : ""}`,
        );
    });
};
