import { createInterface } from "node:readline/promises";
import type { ApplyResult } from "../../apply/run.ts";
import { applyJson, runApply } from "../../commands/apply.ts";
import type { Plan } from "../../plan/types.ts";
import { UserError } from "../../util/errors.ts";
import type { CliContext, GlobalOptions } from "../context.ts";
import type { Colors } from "../output.ts";
import { printJson } from "../with-host.ts";
import type { Registrar } from "./index.ts";
import { explicitHost, hostOpener, renderPlan } from "./plan.ts";

/** Ask on the terminal; refuse (UserError) when there is none and --yes was not given. */
export function confirmer(ctx: CliContext, g: GlobalOptions, yes: boolean, what: string) {
  if (yes) return undefined;
  if (g.json || !process.stdin.isTTY)
    throw new UserError(
      `${what} changes the host and needs confirmation`,
      `review the plan, then re-run with --yes`,
    );
  return async (host: string, plan: Plan): Promise<boolean> => {
    ctx.out(renderPlan(plan, ctx.colors));
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      const a = await rl.question(`Apply these ${plan.steps.length} step(s) to ${host}? [y/N] `);
      return /^y(es)?$/i.test(a.trim());
    } finally {
      rl.close();
    }
  };
}

export const registerApply: Registrar = (program, ctx, setExit) => {
  program
    .command("apply")
    .description(
      "make each host of vgpu.yaml match it: backups, journal, lock; resumes after interruption; one reboot",
    )
    .option("-f, --file <path>", "desired state file", "vgpu.yaml")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--reboot", "reboot when needed, wait for the host, then verify")
    .option("--break-lock", "take the host's lock even if another run seems to hold it")
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const results = await runApply(
        {
          file: opts.file,
          hostSpec: explicitHost(cmd as never, g),
          reboot: Boolean(opts.reboot),
          breakLock: Boolean(opts.breakLock),
        },
        {
          cwd: ctx.cwd,
          openHost: hostOpener(ctx, g),
          confirm: confirmer(ctx, g, Boolean(opts.yes), "apply"),
          log: g.json ? undefined : (host, line) => ctx.err(`${ctx.colors.dim(`[${host}]`)} ${line}\n`),
        },
      );
      if (g.json) printJson(ctx, results.length === 1 ? applyJson(results[0]!) : results.map(applyJson));
      else for (const r of results) ctx.out(renderApply(r, ctx.colors));
      if (results.some((r) => !r.verified && r.reboots === 0 && r.next !== "not confirmed")) setExit(1);
    });
};

export function renderApply(r: ApplyResult, c: Colors): string {
  const L: string[] = [];
  L.push(c.bold(`Applied to ${r.host}: ${r.applied.length} step(s)${r.rebooted ? ", rebooted once" : ""}`));
  if (r.applied.length > 0) L.push(`  ${r.applied.join(", ")}`);
  if (r.verification) {
    for (const gpu of r.verification.gpus)
      L.push(
        `  ${gpu.ok ? c.green("✓") : c.red("✗")} ${gpu.address} ${gpu.name}: ${gpu.ok ? `${gpu.wanted ?? "vGPU types"} offered (${gpu.offered.length} type(s))` : gpu.problem}`,
      );
    for (const p of r.verification.problems.filter((p) => !/^0000:/.test(p))) L.push(`  ${c.red("✗")} ${p}`);
    L.push(r.verified ? c.green("Verified: vGPU is working as described.") : c.red("Not verified."));
  }
  if (r.next) L.push(c.yellow(`Next: ${r.next}`));
  return `${L.join("\n")}\n`;
}
