import { simStateDir } from "../../hosts/open.ts";
import { listScenarios, resetScenario, setScenarioFaults } from "../../hosts/sim/sim-host.ts";
import type { GlobalOptions } from "../context.ts";
import { table } from "../output.ts";
import { printJson } from "../with-host.ts";
import type { Registrar } from "./index.ts";

export const registerSim: Registrar = (program, ctx) => {
  const sim = program
    .command("sim")
    .description("the built-in simulated Proxmox VE hosts (--host sim:SCENARIO, --host demo)");

  sim
    .command("list")
    .description("list the simulated scenarios")
    .action((_opts, cmd) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const scenarios = listScenarios();
      if (g.json) {
        printJson(ctx, scenarios);
        return;
      }
      ctx.out(`${table(scenarios.map((s) => [ctx.colors.bold(s.name), s.description]))}\n`);
      ctx.out(ctx.colors.dim(`\nstate kept in ${simStateDir(ctx.env)}; use with --host sim:NAME\n`));
    });

  sim
    .command("reset")
    .description("forget the changes made to a simulated host; it starts again from its scenario")
    .argument("<scenario>", "scenario name (see `vgpuctl sim list`)")
    .action(async (name, _opts, cmd) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      await resetScenario(simStateDir(ctx.env), name);
      if (g.json) printJson(ctx, { reset: name });
      else ctx.out(`sim:${name} reset to its initial state\n`);
    });

  sim
    .command("fault")
    .description(
      "make a simulated host misbehave, for trying out failure handling (no SPEC clears the faults)",
    )
    .argument("<scenario>", "scenario name")
    .argument(
      "[spec...]",
      "fail:PROG[:N] | drop-connection[:N] (the host); crash-after:N | crash-before:PROG | crash-after-write:N | crash-after-exec:N | fail-write:N | fail-exec:N (the client: src/hosts/fault-host.ts)",
    )
    .action(async (name, specs, _opts, cmd) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const active = await setScenarioFaults(simStateDir(ctx.env), name, specs);
      if (g.json) printJson(ctx, { scenario: name, faults: active });
      else ctx.out(active.length ? `sim:${name} faults: ${active.join(", ")}\n` : `sim:${name}: no faults\n`);
    });
};
