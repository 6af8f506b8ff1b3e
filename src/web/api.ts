/**
 * The dashboard's JSON API shapes (GET /api/hosts, POST /api/refresh).
 * Type-only: imported by the server and by the browser UI.
 */
import type { Finding } from "../checks/types.ts";
import type { InspectReport } from "../report/inspect-report.ts";

export interface DashboardHostOk {
  /** the --host spec it was opened from */
  spec: string;
  ok: true;
  /** `vgpuctl inspect --json` for this host */
  inspect: InspectReport;
  /** `vgpuctl doctor --json` for this host (all severities) */
  doctor: { findings: Finding[]; notes: string[] };
  gatheredAt: string;
}

export interface DashboardHostFailed {
  spec: string;
  ok: false;
  /** why the host could not be read (one line, no stack) */
  error: string;
  hint: string | null;
  gatheredAt: string;
}

export type DashboardHost = DashboardHostOk | DashboardHostFailed;

export interface DashboardPayload {
  format: "vgpuctl-dashboard/1";
  /** the dashboard never changes anything on the hosts */
  readOnly: true;
  generatedAt: string;
  hosts: DashboardHost[];
}
