import { registerCommands } from "./commands/index.ts";
import type { CliContext, ExitCode } from "./context.ts";
import { baseProgram, runProgram, type SetExit } from "./program.ts";

/** vgpuctl with every subcommand registered. */
export function buildProgram(ctx: CliContext, setExit: SetExit) {
  const program = baseProgram(ctx);
  registerCommands(program, ctx, setExit);
  return program;
}

/**
 * Runs vgpuctl in this process with every subcommand loaded (sources via tsx, tests, bench).
 * The built CLI starts from entry.ts instead, which loads only the subcommand argv names.
 */
export async function main(argv: string[], partial?: Partial<CliContext>): Promise<ExitCode> {
  return runProgram(argv, partial, buildProgram);
}
