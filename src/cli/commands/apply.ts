import type { ApplyResult } from "../../apply/run.ts";
import { type ApplyOutcome, applyJson, runApply } from "../../commands/apply.ts";
import { FLEET_FLAGS, fleetOptions } from "../../commands/fleet.ts";
import type { Plan } from "../../plan/types.ts";
import { UserError } from "../../util/errors.ts";
import type { CliContext, ExitCode, GlobalOptions } from "../context.ts";
import { fleetReporter } from "../fleet-output.ts";
import type { Colors } from "../output.ts";
import { mokPasswordPrompt } from "../secret-prompt.ts";
import { printJson } from "../with-host.ts";
import type { Registrar } from "./index.ts";
import { explicitHost, hostOpener, readTextFile, renderPlan } from "./plan.ts";

/**
 * Ask once, for every host, through ctx.confirm; refuse (UserError) when there is no one to ask
 * (no terminal, or --json) and --yes was not given.
 */
export function confirmer(ctx: CliContext, g: GlobalOptions, yes: boolean, what: string) {
  if (yes) return undefined;
  const ask = ctx.confirm;
  if (g.json || !ask)
    throw new UserError(
      `${what} changes the host and needs confirmation`,
      `review the plan, then re-run with --yes`,
    );
  return async (plans: Array<{ host: string; plan: Plan }>): Promise<boolean> => {
    for (const p of plans)
      ctx.out(renderPlan(p.plan, ctx.colors, what === "uninstall" ? "Uninstall plan" : "Plan"));
    const where = plans.map((p) => `${p.host} (${p.plan.steps.length} step(s))`).join(", ");
    return ask(`${what === "uninstall" ? "Undo" : "Apply"} on ${where}? [y/N] `);
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
    .option("--stop-vms", "shut down VMs running on vGPUs when the driver must be replaced under them")
    .option(
      "--mok-password-file <path>",
      "Secure Boot: file holding the one-time MOK password (else $VGPUCTL_MOK_PASSWORD, else asked on a terminal); never stored",
    )
    .option(FLEET_FLAGS[0][0], FLEET_FLAGS[0][1])
    .option(FLEET_FLAGS[1][0], FLEET_FLAGS[1][1])
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const fleet = fleetReporter(ctx);
      const mokPassword = await mokPasswordOf(ctx, opts.mokPasswordFile);
      // neither given: a hidden prompt on the terminal when a step needs it (none without a TTY or with CI=true)
      const askMokPassword =
        mokPassword === undefined && ctx.askSecret ? mokPasswordPrompt(ctx.askSecret) : undefined;
      const outcomes = await runApply(
        {
          file: opts.file,
          hostSpec: explicitHost(cmd as never, g),
          reboot: Boolean(opts.reboot),
          breakLock: Boolean(opts.breakLock),
          stopVms: Boolean(opts.stopVms),
          mokPassword,
          ...fleetOptions(opts),
          onProgress: fleet.progress,
          askMokPassword,
        },
        {
          cwd: ctx.cwd,
          openHost: hostOpener(ctx, g),
          readText: readTextFile,
          confirm: confirmer(ctx, g, Boolean(opts.yes), "apply"),
          log: g.json ? undefined : (host, line) => ctx.err(`${ctx.colors.dim(`[${host}]`)} ${line}\n`),
        },
      );
      // One host that could not be applied: the single error boundary reports it (exit 2).
      if (outcomes.length === 1 && outcomes[0]!.kind === "failed") throw outcomes[0]!.error;
      if (g.json) printJson(ctx, outcomes.length === 1 ? applyJson(outcomes[0]!) : outcomes.map(applyJson));
      for (const o of outcomes) {
        if (o.kind === "done") {
          if (!g.json) ctx.out(renderApply(o.result, ctx.colors));
        } else ctx.err(renderNotApplied(o, ctx.colors));
      }
      if (outcomes.length > 1)
        (g.json ? ctx.err : ctx.out)(
          fleet.summary(
            outcomes.map((o) => ({
              spec: o.spec,
              status: o.kind === "done" ? (o.result.verified ? "applied" : "applied, not verified") : o.kind,
              error: o.kind === "failed" ? o.error.message : undefined,
            })),
          ),
        );
      setExit(applyExit(outcomes));
    });
};

/** The MOK password (Secure Boot enrolment): --mok-password-file (first line), else $VGPUCTL_MOK_PASSWORD. */
async function mokPasswordOf(ctx: CliContext, file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return ctx.env.VGPUCTL_MOK_PASSWORD || undefined;
  const text = await readTextFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new UserError(
      `cannot read the MOK password file ${file}: ${e.code ?? e.message}`,
      "check the path",
    );
  });
  const pw = text.split(/\r?\n/)[0] ?? "";
  if (pw === "")
    throw new UserError(`the MOK password file ${file} is empty`, "write the password on its first line");
  return pw;
}

/** 2 when a host could not be applied, 1 when one is blocked or failed verification, else 0. */
export function applyExit(outcomes: ApplyOutcome[]): ExitCode {
  let code: ExitCode = 0;
  for (const o of outcomes) {
    if (o.kind === "failed") code = 2;
    else if (o.kind === "blocked" && code < 1) code = 1;
    else if (
      o.kind === "done" &&
      !o.result.verified &&
      !(o.result.reboots > 0 && !o.result.rebooted) &&
      code < 1
    )
      code = 1;
  }
  return code;
}

export function renderNotApplied(o: Exclude<ApplyOutcome, { kind: "done" }>, c: Colors): string {
  if (o.kind === "blocked") {
    const L = [
      `${c.red("error:")} ${o.host}: cannot apply — ${o.blockers.length} problem(s) the plan cannot fix; nothing was changed:`,
    ];
    for (const b of o.blockers) {
      L.push(`  ${c.red("✗")} [${b.code}] ${b.title}`);
      for (const e of b.evidence) L.push(`      ${c.dim(e)}`);
      for (const f of b.fix) L.push(`      ${c.cyan("fix:")} ${f}`);
    }
    return `${L.join("\n")}\n`;
  }
  if (o.kind === "held") return `${c.yellow(`${o.host}:`)} ${o.reason}\n`;
  const hint = (o.error as { hint?: string }).hint;
  return `${c.red("error:")} ${o.host}: ${o.error.message}\n${hint ? `  ${c.dim("fix:")} ${hint}\n` : ""}`;
}

export function renderApply(r: ApplyResult, c: Colors): string {
  const L: string[] = [];
  L.push(
    c.bold(
      r.applied.length === 0 && !r.rebooted
        ? `No changes on ${r.host}: 0 steps applied, 0 reboots`
        : `Applied to ${r.host}: ${r.applied.length} step(s), ${r.rebooted ? "rebooted once" : r.reboots > 0 ? "1 reboot needed" : "0 reboots"}`,
    ),
  );
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
