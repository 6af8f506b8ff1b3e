/**
 * `vgpuctl doctor`: one capture of the host → Facts → every check (src/checks) → findings, errors first.
 * The JSON shape is DESIGN.md's `{ host, findings: [{code, severity, title, evidence, fix}] }`
 * (plus `gpu` on GPU-specific findings and `notes` — what could not be determined).
 */

import { runChecks } from "../checks/index.ts";
import type { Finding, Kb } from "../checks/types.ts";
import { parseFacts } from "../facts/index.ts";
import type { Facts } from "../facts/types.ts";
import { GATHER_SPEC } from "../hosts/gather-spec.ts";
import type { Host } from "../hosts/host.ts";
import { notesOnce } from "../report/notes.ts";

export interface DoctorReport {
  host: string;
  findings: Finding[];
  /** evidence that was not captured or could not be read (Facts.notes) */
  notes: string[];
}

export interface DoctorOptions {
  /** only report findings of at least this severity */
  minSeverity?: "error" | "warning" | "info";
  /** a different knowledge base (tests) */
  kb?: Kb;
}

export async function runDoctor(
  opts: DoctorOptions,
  deps: { host: Host },
): Promise<DoctorReport & { facts: Facts }> {
  const capture = await deps.host.capture(GATHER_SPEC);
  const facts = parseFacts(capture);
  return { ...buildDoctorReport(facts, opts), facts };
}

const RANK = { error: 0, warning: 1, info: 2 } as const;

/** Pure: Facts → the report. */
export function buildDoctorReport(facts: Facts, opts: DoctorOptions = {}): DoctorReport {
  const all = opts.kb ? runChecks(facts, opts.kb) : runChecks(facts);
  const min = RANK[opts.minSeverity ?? "info"];
  return {
    host: facts.host,
    findings: all.filter((f) => RANK[f.severity] <= min),
    notes: notesOnce(facts.notes),
  };
}

export function hasErrors(r: { findings: Finding[] }): boolean {
  return r.findings.some((f) => f.severity === "error");
}
