import type { Command } from "@commander-js/extra-typings";
import type { CliContext, ExitCode } from "../context.ts";
import { registerApply } from "./apply.ts";
import { registerCatalog } from "./catalog.ts";
import { registerCompletion } from "./completion.ts";
import { registerDashboard } from "./dashboard.ts";
import { registerDoctor } from "./doctor.ts";
import { registerGatherScript } from "./gather-script.ts";
import { registerInit } from "./init.ts";
import { registerInspect } from "./inspect.ts";
import { registerOverride } from "./override.ts";
import { registerPlace } from "./place.ts";
import { registerPlan } from "./plan.ts";
import { registerProfile } from "./profile.ts";
import { registerSim } from "./sim.ts";
import { registerSupportBundle } from "./support-bundle.ts";
import { registerUninstall } from "./uninstall.ts";
import { registerVm } from "./vm.ts";

export type Registrar = (program: Command, ctx: CliContext, setExit: (code: ExitCode) => void) => void;

/** Every subcommand, in the order `vgpuctl --help` lists them (lazy.ts: the same, loaded on demand). */
const REGISTRARS: Registrar[] = [
  registerInspect,
  registerDoctor,
  registerSupportBundle,
  registerGatherScript,
  registerInit,
  registerPlan,
  registerApply,
  registerPlace,
  registerUninstall,
  registerOverride,
  registerProfile,
  registerVm,
  registerDashboard,
  registerCatalog,
  registerSim,
  registerCompletion,
];

export function registerCommands(program: Command, ctx: CliContext, setExit: (code: ExitCode) => void): void {
  for (const register of REGISTRARS) register(program, ctx, setExit);
}
