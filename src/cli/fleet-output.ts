/**
 * Multi-host output of the CLI (issue 15): on a terminal one progress line per host as it starts and
 * finishes (stderr), then a summary table naming every host that failed.
 */
import { type FleetEvent, progressLine, summaryTable } from "../commands/fleet.ts";
import type { CliContext } from "./context.ts";

export function fleetReporter(ctx: CliContext, tty: boolean = Boolean(process.stderr.isTTY)) {
  const ms = new Map<string, number>();
  return {
    progress: (e: FleetEvent) => {
      if (e.state !== "start") ms.set(e.spec, e.ms);
      if (tty && e.state !== "start") ctx.err(progressLine(e));
    },
    summary: (rows: Array<{ spec: string; status: string; error?: string }>) =>
      summaryTable(rows.map((r) => ({ ...r, ms: ms.get(r.spec) ?? 0 }))),
  };
}
