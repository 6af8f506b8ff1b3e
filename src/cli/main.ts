import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { openHost } from "../hosts/open.ts";
import { NotCapturedError, UserError } from "../util/errors.ts";
import { registerCommands } from "./commands/index.ts";
import { type CliContext, type ExitCode, terminalConfirm } from "./context.ts";
import { colorsFor } from "./output.ts";

export function buildProgram(ctx: CliContext, setExit: (code: ExitCode) => void) {
  const program = new Command()
    .name("vgpuctl")
    .description("Set up and run NVIDIA vGPU on Proxmox VE hosts")
    .version("0.1.0")
    .addOption(
      new Option(
        "-H, --host <spec>",
        "host: local | ssh://[user@]host[:port] | bundle:PATH | sim:SCENARIO | demo",
      )
        .default("local")
        .env("VGPUCTL_HOST"),
    )
    .option(
      "--root <dir>",
      "with --host local: prefix every file path with DIR (offline editing, tests): files only; no commands are run",
    )
    .option("--json", "machine-readable JSON output")
    .option("--no-color", "never colour the output")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) })
    .exitOverride();
  registerCommands(program, ctx, setExit);
  return program;
}

/** The single error boundary: user errors are one clear line and exit 2; bugs keep their stack. */
export async function main(argv: string[], partial?: Partial<CliContext>): Promise<ExitCode> {
  const env = partial?.env ?? process.env;
  // `vgpuctl … | head`: a closed pipe ends the output quietly, as git and coreutils do.
  if (!partial?.out) process.stdout.on("error", exitQuietlyOnEpipe);
  const noColorFlag = argv.includes("--no-color") ? false : undefined;
  const ctx: CliContext = {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    env,
    colors: colorsFor(process.stdout, env, noColorFlag),
    cwd: process.cwd(),
    openHost: (spec, opts) => openHost(spec, { ...opts, env }),
    confirm: terminalConfirm(),
    ...partial,
  };
  let exit: ExitCode = 0;
  const program = buildProgram(ctx, (code) => {
    exit = Math.max(exit, code) as ExitCode;
  });
  try {
    await program.parseAsync(argv);
    return exit;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help / --version exit with code 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UserError || e instanceof NotCapturedError) {
      const c = colorsFor(process.stderr, env, noColorFlag);
      ctx.err(`${c.red("error:")} ${e.message}\n`);
      if (e instanceof UserError && e.hint) ctx.err(`  ${c.dim("fix:")} ${e.hint}\n`);
      return 2;
    }
    ctx.err(
      `vgpuctl: internal error (please report it with the command you ran):\n${(e as Error)?.stack ?? e}\n`,
    );
    return 2;
  }
}

function exitQuietlyOnEpipe(e: NodeJS.ErrnoException): void {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
}
