// Entry of the built CLI (dist/): loads only the subcommand the command line names (lazy.ts).
import { registrarsFor } from "./commands/lazy.ts";
import { baseProgram, runProgram } from "./program.ts";

runProgram(process.argv, undefined, async (ctx, setExit) => {
  const program = baseProgram(ctx);
  for (const register of await registrarsFor(process.argv)) register(program, ctx, setExit);
  return program;
}).then((code) => {
  process.exitCode = code;
});
