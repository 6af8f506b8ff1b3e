import { FLEET_FLAGS, fleetOptions, wholeOption } from "../../commands/fleet.ts";
import { type PlaceJson, runPlace } from "../../commands/place.ts";
import type { GlobalOptions } from "../context.ts";
import { type Colors, table } from "../output.ts";
import { printJson } from "../with-host.ts";
import type { Registrar } from "./index.ts";
import { hostOpener, readTextFile } from "./plan.ts";

export const registerPlace: Registrar = (program, ctx, setExit) => {
  program
    .command("place")
    .description(
      "plan where the top-level vms: of vgpu.yaml go on the cluster (most VMs, fewest GPUs), touching no host",
    )
    .option("-f, --file <path>", "desired state file", "vgpu.yaml")
    .option("--inventory <file>", "saved `inspect --json` output (one object or an array, one per node)")
    .option("--rebalance", "move VMs that already have a vGPU when that places more")
    .option(
      "--time-limit <seconds>",
      "time the exact solver may take before the best placement so far is used (default 2)",
    )
    .option(FLEET_FLAGS[0][0], FLEET_FLAGS[0][1])
    .option(FLEET_FLAGS[1][0], FLEET_FLAGS[1][1])
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const result = await runPlace(
        {
          file: opts.file,
          inventory: opts.inventory,
          rebalance: opts.rebalance === true,
          solverTimeSec: wholeOption("time-limit", opts.timeLimit),
          ...fleetOptions(opts),
        },
        { cwd: ctx.cwd, openHost: hostOpener(ctx, g), readText: readTextFile },
      );
      if (g.json) printJson(ctx, result);
      else ctx.out(renderPlace(result, ctx.colors));
      if (result.unplaced.length > 0) setExit(1);
    });
};

export function renderPlace(r: PlaceJson, c: Colors): string {
  const lines: string[] = [];
  if (r.placed.length > 0)
    lines.push(
      table([
        ["VM", "HOST", "GPU", "TYPE"],
        ...r.placed.map((p) => [String(p.vmid), p.host, p.gpu, p.name ?? p.type]),
      ]),
    );
  for (const u of r.unplaced) lines.push(`${c.yellow("not placed:")} VM ${u.vmid}: ${u.reason}`);
  const how =
    r.method === "exact"
      ? r.gpusProven
        ? "optimal"
        : "most VMs placed (proven); fewer GPUs not ruled out within the time limit"
      : `${r.method}${r.note ? ` (${r.note})` : ""}`;
  lines.push(
    `${r.placed.length} placed (at most ${r.bound} can be), ${r.unplaced.length} not, on ${r.gpusUsed} GPU(s) — ${how}`,
  );
  return `${lines.join("\n")}\n`;
}
