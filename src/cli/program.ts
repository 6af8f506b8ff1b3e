import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import pkg from "../../package.json" with { type: "json" };
import { hideApiTokens } from "../redact/api-token.ts";
import { NotCapturedError, UserError } from "../util/errors.ts";
import { type CliContext, type ExitCode, terminalConfirm } from "./context.ts";
import { colorsFor, terminalSafe } from "./output.ts";
import { terminalSecret } from "./secret-prompt.ts";
import { cliStdout } from "./stdout.ts";

/** The version `vgpuctl --version` prints: package.json's, the one source of truth. */
export const VERSION: string = pkg.version;

export type SetExit = (code: ExitCode) => void;

/** vgpuctl with its global options and no subcommands yet (main.ts or entry.ts adds them). */
export function baseProgram(ctx: CliContext) {
  return (
    new Command()
      .name("vgpuctl")
      .description("Set up and run NVIDIA vGPU on Proxmox VE hosts")
      .version(VERSION)
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
      // `vgpuctl doctor --help` lists --host / --json too (subcommands inherit this setting)
      .configureHelp({ showGlobalOptions: true })
      .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) })
      .exitOverride()
  );
}

export type Program = ReturnType<typeof baseProgram>;

/**
 * The single error boundary: user errors are one clear line and exit 2; bugs keep their stack.
 * `build` makes the program (all subcommands, or only the one argv names).
 */
export async function runProgram(
  argv: string[],
  partial: Partial<CliContext> | undefined,
  build: (ctx: CliContext, setExit: SetExit) => Program | Promise<Program>,
): Promise<ExitCode> {
  const env = partial?.env ?? process.env;
  // `vgpuctl … | head`: a closed pipe ends the output quietly, as git and coreutils do (stdout.ts).
  const stdout = partial?.out ? undefined : cliStdout();
  const noColorFlag = argv.includes("--no-color") ? false : undefined;
  const given: CliContext = {
    out: (s) => stdout?.write(s),
    err: (s) => process.stderr.write(s),
    env,
    colors: colorsFor(stdout ?? process.stdout, env, noColorFlag),
    cwd: process.cwd(),
    // loaded on first use: `--version` or `sim list` never load the SSH, bundle and sim code
    openHost: async (spec, opts) => (await import("../hosts/open.ts")).openHost(spec, { ...opts, env }),
    ...partial,
  };
  // process.stderr (a stream, made on first access) only when something is printed there
  let errColoursMade: ReturnType<typeof colorsFor> | undefined;
  const errColours = () => {
    errColoursMade ??= colorsFor(process.stderr, env, noColorFlag);
    return errColoursMade;
  };
  // the one boundary every printed line passes: control characters from host data are shown, not
  // run, and no Proxmox VE API token secret is printed (issue 13 items 12, 16)
  const printable = (s: string, colours: boolean) => terminalSafe(hideApiTokens(s), colours);
  const ctx: CliContext = {
    ...given,
    out: (s) => given.out(printable(s, given.colors.isColorSupported)),
    err: (s) => given.err(printable(s, errColours().isColorSupported || given.colors.isColorSupported)),
    // only apply and uninstall ask: process.stdin (a stream on fd 0, for a terminal with node:tty and
    // node:net) is opened when they do, not at every start. A getter here, on the context commands get:
    // spreading an object with a getter (`...given`) would call it, opening stdin at every start.
    get confirm() {
      if (partial && "confirm" in partial) return partial.confirm;
      const confirm = terminalConfirm();
      // the question is asked on process.stdout: our lines go there too, in order with it
      if (confirm) stdout?.useStream();
      return confirm;
    },
    // a hidden prompt for a one-time secret (MOK password): stdin is touched only when apply asks
    get askSecret() {
      return partial && "askSecret" in partial
        ? partial.askSecret
        : terminalSecret(process.stdin, process.stderr, env);
    },
  };
  let exit: ExitCode = 0;
  const setExit: SetExit = (code) => {
    exit = Math.max(exit, code) as ExitCode;
  };
  try {
    const program = await build(ctx, setExit);
    await program.parseAsync(argv);
    return exit;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help / --version exit with code 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UserError || e instanceof NotCapturedError) {
      const c = errColours();
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
