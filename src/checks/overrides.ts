/**
 * override-invalid: /etc/vgpu_unlock/profile_override.toml is unparsable, has wrong value types (`true`
 * where vgpu_unlock-rs wants 1 — a decode error that fails every VM start), unknown keys (silently
 * ignored), or a framebuffer without its reservation (research/unlock.md §1.5, §4 #5, §7).
 * The file is re-read at each VM start: no daemon restart is needed after fixing it.
 */
import type { Facts } from "../facts/types.ts";
import { finding } from "./context.ts";
import type { Finding, Kb } from "./types.ts";

const PATH = "/etc/vgpu_unlock/profile_override.toml";

export function checkOverrides(f: Facts, kb: Kb): Finding[] {
  const po = f.profileOverride;
  if (!po?.present) return [];
  let issues = kb.validateOverride(po.text);
  if (issues.length === 0 && po.error) {
    issues = [
      {
        severity: "error",
        line: po.error.line,
        column: po.error.column,
        key: null,
        message: po.error.message,
        fix: null,
      },
    ];
  }
  const relevant = issues.filter((i) => i.severity !== "info");
  if (relevant.length === 0) return [];
  const errors = relevant.filter((i) => i.severity === "error");
  const lines = po.text.split(/\r?\n/);
  const evidence = relevant.slice(0, 10).map((i) => {
    const at = i.line ? `${PATH}:${i.line}${i.column ? `:${i.column}` : ""}` : PATH;
    const src = i.line ? lines[i.line - 1]?.trim() : undefined;
    return `${at}: ${i.message}${src ? `   | ${src}` : ""}`;
  });
  if (relevant.length > 10) evidence.push(`… and ${relevant.length - 10} more`);
  const fix = [
    ...new Set(relevant.flatMap((i) => (i.fix ? [`${i.line ? `line ${i.line}: ` : ""}${i.fix}`] : []))),
  ];
  fix.push("The file is re-read at every VM start; restart the affected VMs after fixing it");
  return [
    finding(
      "override-invalid",
      errors.length > 0 ? "error" : "warning",
      errors.length > 0
        ? `${PATH} has ${errors.length} error${errors.length > 1 ? "s" : ""}: VMs with a vGPU fail to start (or get wrong settings) until it is fixed`
        : `${PATH} has ${relevant.length} problem${relevant.length > 1 ? "s" : ""} that make overrides not apply as intended`,
      evidence,
      fix,
    ),
  ];
}
