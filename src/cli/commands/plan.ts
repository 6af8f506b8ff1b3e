import { open } from "node:fs/promises";
import type { Command } from "@commander-js/extra-typings";
import { FLEET_FLAGS, fleetOptions } from "../../commands/fleet.ts";
import { planJson, type ReadText, runPlan, splitLines } from "../../commands/plan.ts";
import { formatCommand } from "../../facts/capture.ts";
import type { Change, Plan } from "../../plan/types.ts";
import type { CliContext, GlobalOptions } from "../context.ts";
import { fleetReporter } from "../fleet-output.ts";
import type { Colors } from "../output.ts";
import { printJson } from "../with-host.ts";
import type { Registrar } from "./index.ts";

/** The --host given on the command line or in VGPUCTL_HOST (not the "local" default), else null. */
export function explicitHost(
  cmd: Command<unknown[], Record<string, unknown>, Record<string, unknown>>,
  g: GlobalOptions,
): string | null {
  const src = cmd.getOptionValueSourceWithGlobals("host");
  return src === "cli" || src === "env" ? g.host : null;
}

/** How the CLI reads vgpu.yaml: the local file system. */
/** The largest vgpu.yaml or inventory read: a hand-written or saved file is far below it. */
export const MAX_TEXT_FILE_BYTES = 64 * 1024 * 1024;

/** Read a text file, refusing one larger than MAX_TEXT_FILE_BYTES (also a device or pipe that never ends). */
export const readTextFile: ReadText = async (path) => {
  const fh = await open(path, "r");
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead, buffer } = await fh.read({ buffer: Buffer.alloc(1 << 20) });
      if (bytesRead === 0) return Buffer.concat(chunks).toString("utf8");
      total += bytesRead;
      if (total > MAX_TEXT_FILE_BYTES)
        throw new Error(`larger than ${MAX_TEXT_FILE_BYTES / 1024 / 1024} MiB`);
      chunks.push(buffer.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
};

export function hostOpener(ctx: CliContext, g: GlobalOptions) {
  return (spec: string) => ctx.openHost(spec, { root: spec === "local" ? g.root : undefined });
}

export const registerPlan: Registrar = (program, ctx, setExit) => {
  program
    .command("plan")
    .description(
      "show what `apply` would change on each host of vgpu.yaml: file diffs, packages, commands, reboots",
    )
    .option("-f, --file <path>", "desired state file", "vgpu.yaml")
    .option(FLEET_FLAGS[0][0], FLEET_FLAGS[0][1])
    .option(FLEET_FLAGS[1][0], FLEET_FLAGS[1][1])
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const fleet = fleetReporter(ctx);
      const plans = await runPlan(
        {
          file: opts.file,
          hostSpec: explicitHost(cmd as never, g),
          ...fleetOptions(opts),
          onProgress: fleet.progress,
        },
        { cwd: ctx.cwd, openHost: hostOpener(ctx, g), readText: readTextFile },
      );
      if (plans.length === 1 && "error" in plans[0]!) throw plans[0].error;
      const json = (p: (typeof plans)[number]) =>
        "error" in p ? { host: p.host, steps: [], reboots: 0, error: p.error.message } : planJson(p.plan);
      if (g.json) printJson(ctx, plans.length === 1 ? json(plans[0]!) : plans.map(json));
      for (const p of plans) {
        if ("error" in p) {
          const hint = (p.error as { hint?: string }).hint;
          ctx.err(
            `${ctx.colors.red("error:")} ${p.host}: ${p.error.message}\n${hint ? `  ${ctx.colors.dim("fix:")} ${hint}\n` : ""}`,
          );
        } else if (!g.json) ctx.out(renderPlan(p.plan, ctx.colors));
      }
      if (plans.length > 1)
        (g.json ? ctx.err : ctx.out)(
          fleet.summary(
            plans.map((p) => ({
              spec: p.spec,
              status: "error" in p ? "failed" : p.plan.blockers.length ? "blocked" : "planned",
              error: "error" in p ? p.error.message : undefined,
            })),
          ),
        );
      if (plans.some((p) => "error" in p)) setExit(2);
      else if (plans.some((p) => "plan" in p && p.plan.blockers.length > 0)) setExit(1);
    });
};

export function renderChange(c: Change, col: Colors): string[] {
  switch (c.kind) {
    case "file":
      return c.diff
        .split("\n")
        .filter((l) => !/^(Index:|={10,})/.test(l) && l !== "")
        .map((l) =>
          l.startsWith("+++") || l.startsWith("---")
            ? col.bold(l)
            : l.startsWith("+")
              ? col.green(l)
              : l.startsWith("-")
                ? col.red(l)
                : l.startsWith("@@")
                  ? col.cyan(l)
                  : l,
        );
    case "package":
      if ("install" in c) return [`${col.green("+ packages:")} ${c.install.join(" ")}`];
      if ("remove" in c) return [`${col.red("- packages:")} ${c.remove.join(" ")}`];
      return [`${col.red("- packages, unless something else needs them:")} ${c.removeUnneeded.join(" ")}`];
    case "command":
      return [`$ ${formatCommand(c.argv)}`];
  }
}

export function renderPlan(p: Plan, col: Colors, verb = "Plan"): string {
  const L: string[] = [];
  L.push(col.bold(`${verb} for ${p.host}: ${p.steps.length} step(s), ${p.reboots} reboot(s)`));
  if (p.blockers.length > 0) {
    L.push(col.red(`Cannot apply — ${p.blockers.length} problem(s) the plan cannot fix:`));
    for (const b of p.blockers) {
      L.push(`  ${col.red("✗")} [${b.code}] ${b.title}`);
      for (const e of b.evidence) L.push(`      ${col.dim(e)}`);
      for (const f of b.fix) L.push(`      ${col.cyan("fix:")} ${f}`);
    }
  }
  if (p.steps.length === 0 && p.blockers.length === 0)
    L.push(col.green("Nothing to do: the host is in the desired state."));
  p.steps.forEach((s, i) => {
    L.push("");
    L.push(
      `${col.bold(`${i + 1}. ${s.title}`)}${s.reboot ? col.yellow("  [takes effect after reboot]") : ""}${s.afterReboot ? col.yellow("  [runs after the reboot]") : ""}  ${col.dim(`(${s.id})`)}`,
    );
    L.push(`   ${col.dim(s.why)}`);
    for (const c of s.changes) for (const l of renderChange(c, col)) L.push(`   ${l}`);
  });
  if (p.split && p.split.length > 0) {
    L.push("", col.bold("vGPU split once applied:"));
    for (const l of splitLines(p.split)) L.push(`  ${l}`);
  }
  if (p.reboots > 0)
    L.push(
      "",
      col.yellow(
        verb === "Uninstall plan"
          ? "One reboot at the end (uninstall --reboot does it)."
          : "One reboot at the end (apply --reboot does it and then verifies).",
      ),
    );
  for (const n of p.notes) L.push(col.dim(`note: ${n}`));
  return `${L.join("\n")}\n`;
}
