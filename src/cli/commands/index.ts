import type { Command } from "@commander-js/extra-typings";
import type { CliContext, ExitCode } from "../context.ts";
import { registerCatalog } from "./catalog.ts";
import { registerDoctor } from "./doctor.ts";
import { registerInspect } from "./inspect.ts";
import { registerSim } from "./sim.ts";
import { registerSupportBundle } from "./support-bundle.ts";

export type Registrar = (program: Command, ctx: CliContext, setExit: (code: ExitCode) => void) => void;

/** Every subcommand, in the order `vgpuctl --help` lists them. */
const REGISTRARS: Registrar[] = [registerInspect, registerDoctor, registerSupportBundle, registerCatalog, registerSim];

export function registerCommands(program: Command, ctx: CliContext, setExit: (code: ExitCode) => void): void {
  for (const register of REGISTRARS) register(program, ctx, setExit);
}
