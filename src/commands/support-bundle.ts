/**
 * `vgpuctl support-bundle -o FILE.tar.gz|DIR`: capture everything doctor/inspect look at, redact secrets
 * (always — there is no opt-out), write the bundle (DESIGN.md "Bundle format"). The bundle replays with
 * `--host bundle:PATH`.
 */

import { writeBundle } from "../hosts/bundle/bundle-io.ts";
import { type Capture, formatCommand } from "../hosts/capture.ts";
import { GATHER_SPEC } from "../hosts/gather-spec.ts";
import type { Host } from "../hosts/host.ts";
import { redactCapture } from "../redact/index.ts";
import { UserError } from "../util/errors.ts";

export interface SupportBundleSummary {
  path: string;
  host: string;
  capturedAt: string;
  /** commands that ran and exited 0 */
  commands: string[];
  /** commands that ran but failed, with the exit code (127 = not installed on the host) */
  failed: Array<{ cmd: string; exitCode: number }>;
  /** commands of the gather spec that are not in the capture at all */
  notCaptured: string[];
  files: number;
  /** gather paths with nothing under them (absent on the host) */
  absentPaths: string[];
  /** kinds of secrets replaced by placeholders */
  redacted: string[];
  notes: string[];
}

export async function runSupportBundle(
  opts: { out: string },
  deps: { host: Host },
): Promise<SupportBundleSummary> {
  if (!opts.out)
    throw new UserError("support-bundle needs an output path", "vgpuctl support-bundle -o bundle.tar.gz");
  const raw = await deps.host.capture(GATHER_SPEC);
  const capture = redactCapture(raw);
  await writeBundle(capture, opts.out);
  return summarize(capture, opts.out);
}

/** Pure: what a (redacted) capture holds, against what the gather spec asked for. */
export function summarize(capture: Capture, path: string): SupportBundleSummary {
  const byCmd = new Map(capture.commands.map((c) => [c.cmd.trim().replace(/\s+/g, " "), c]));
  const wanted = GATHER_SPEC.commands.map((a) => formatCommand(a));
  const notCaptured = wanted.filter((c) => !byCmd.has(c));
  const failed = capture.commands
    .filter((c) => c.exitCode !== 0)
    .map((c) => ({ cmd: c.cmd, exitCode: c.exitCode }));
  const files = Object.keys(capture.files);
  const absentPaths = GATHER_SPEC.paths.filter(
    (p) =>
      capture.capturedPaths.some((cp) => cp === p) && !files.some((f) => f === p || f.startsWith(`${p}/`)),
  );
  return {
    path,
    host: capture.host,
    capturedAt: capture.capturedAt,
    commands: capture.commands.filter((c) => c.exitCode === 0).map((c) => c.cmd),
    failed,
    notCaptured,
    files: files.length,
    absentPaths,
    redacted: capture.redacted,
    notes: capture.notes,
  };
}
