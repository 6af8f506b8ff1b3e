/**
 * Runs vgpuctl's real program in this process (buildProgram: global options, output, host opening, every
 * subcommand), behind the same error boundary as main(), capturing stdout/stderr and the exit code.
 */
import { CommanderError } from "@commander-js/extra-typings";
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

export async function runInProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
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
