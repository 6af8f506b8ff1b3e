/**
 * `vgpuctl inspect`: one capture of the host → typed facts → the DESIGN.md inspect report
 * (built by the pure src/report/inspect-report.ts).
 */
import { parseFacts } from "../facts/index.ts";
import type { Facts } from "../facts/types.ts";
import { GATHER_SPEC } from "../hosts/gather-spec.ts";
import type { Host } from "../hosts/host.ts";
import { buildInspectReport, type InspectReport } from "../report/inspect-report.ts";

export type { InspectGpu, InspectReport, InspectVram } from "../report/inspect-report.ts";
export { buildInspectReport } from "../report/inspect-report.ts";

export async function runInspect(
  _opts: Record<string, never>,
  deps: { host: Host },
): Promise<{ report: InspectReport; facts: Facts }> {
  const capture = await deps.host.capture(GATHER_SPEC);
  const facts = parseFacts(capture);
  return { report: buildInspectReport(facts), facts };
}
