/**
 * Runs vgpuctl's real program (buildProgram: global options, output, host opening) with this issue's
 * registrars added, behind the same error boundary as main(). The lead wires the registrars into
 * src/cli/commands/index.ts; until then tests reach them this way.
 */
import { CommanderError } from "@commander-js/extra-typings";
import { registerOverride } from "../../src/cli/commands/override.ts";
import { registerProfile } from "../../src/cli/commands/profile.ts";
import { registerVm } from "../../src/cli/commands/vm.ts";
import type { CliContext, ExitCode } from "../../src/cli/context.ts";
import { buildProgram } from "../../src/cli/main.ts";
import { colorsFor } from "../../src/cli/output.ts";
import { openHost } from "../../src/hosts/open.ts";
import { NotCapturedError, UserError } from "../../src/util/errors.ts";

export interface Run {
  code: number;
  out: string;
  err: string;
}

export async function cli6(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  let out = "";
  let err = "";
  const ctx: CliContext = {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    env,
    colors: colorsFor({ isTTY: false }, { NO_COLOR: "1" }),
    cwd: process.cwd(),
    openHost: (spec, opts) => openHost(spec, { ...opts, env }),
  };
  let exit: ExitCode = 0;
  const setExit = (c: ExitCode) => {
    exit = Math.max(exit, c) as ExitCode;
  };
  const program = buildProgram(ctx, setExit);
  const existing = new Set(program.commands.map((c) => c.name()));
  for (const register of [registerOverride, registerProfile, registerVm]) {
    // once the lead wires them into index.ts they are already there
    const probe =
      register === registerOverride ? "override" : register === registerProfile ? "profile" : "vm";
    if (!existing.has(probe)) register(program, ctx, setExit);
  }
  try {
    await program.parseAsync(["node", "vgpuctl", ...args]);
    return { code: exit, out, err };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode === 0 ? 0 : 2, out, err };
    if (e instanceof UserError || e instanceof NotCapturedError) {
      err += `error: ${e.message}\n`;
      if (e instanceof UserError && e.hint) err += `  fix: ${e.hint}\n`;
      return { code: 2, out, err };
    }
    throw e;
  }
}
