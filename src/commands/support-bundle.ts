/**
 * `vgpuctl support-bundle -o FILE.tar.gz|DIR`: capture everything doctor/inspect look at, redact secrets
 * (always — there is no opt-out), write the bundle (DESIGN.md "Bundle format"). The bundle replays with
 * `--host bundle:PATH`.
 */

import { type Capture, formatCommand, isUnder, parseNotInstalledNote } from "../facts/capture.ts";
import { writeBundle } from "../hosts/bundle/bundle-io.ts";
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
  /** commands that ran but failed, with the exit code (their output is in the bundle) */
  failed: Array<{ cmd: string; exitCode: number }>;
  /** commands whose program is not installed on the host (not in the bundle: unknown when replayed) */
  notInstalled: string[];
  /** other commands of the gather spec that are not in the capture (not run, or lost) */
  notCaptured: string[];
  files: number;
  /** gather paths with nothing under them (absent on the host) */
  absentPaths: string[];
  /** paths that exist but could not be read (unknown when replayed: run as root to include them) */
  unreadablePaths: string[];
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
  const notInstalledNotes = new Set(
    capture.notes.map(parseNotInstalledNote).filter((c): c is string => c !== null),
  );
  const missing = wanted.filter((c) => !byCmd.has(c));
  const notInstalled = missing.filter((c) => notInstalledNotes.has(c));
  const notCaptured = missing.filter((c) => !notInstalledNotes.has(c));
  const failed = capture.commands
    .filter((c) => c.exitCode !== 0)
    .map((c) => ({ cmd: c.cmd, exitCode: c.exitCode }));
  const files = Object.keys(capture.files);
  const unreadablePaths = capture.unreadable ?? [];
  const absentPaths = GATHER_SPEC.paths.filter(
    (p) =>
      capture.capturedPaths.some((cp) => cp === p) &&
      !files.some((f) => f === p || f.startsWith(`${p}/`)) &&
      !unreadablePaths.some((u) => isUnder(p, u) || isUnder(u, p)),
  );
  return {
    path,
    host: capture.host,
    capturedAt: capture.capturedAt,
    commands: capture.commands.filter((c) => c.exitCode === 0).map((c) => c.cmd),
    failed,
    notInstalled,
    notCaptured,
    files: files.length,
    absentPaths,
    unreadablePaths,
    redacted: capture.redacted,
    notes: capture.notes,
  };
}
