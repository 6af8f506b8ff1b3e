/** A simulated host's state as the e2e tests read it: the simulator's own state file (host side). */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface SimFiles {
  files: Record<string, string>;
  dirs: string[];
  /** Boots of the simulated host: reboots counted on the host side, not by apply's report. */
  bootCount: number;
  mixedSizeGpus?: string[];
}

export const statePath = (dir: string, scenario: string) => join(dir, `${scenario}.json`);

export function simState(dir: string, scenario: string): SimFiles {
  return JSON.parse(readFileSync(statePath(dir, scenario), "utf8")) as SimFiles;
}

/** The host's files without vgpuctl's own state and the logs tools append to (/var/log). */
export function hostFiles(
  s: Pick<SimFiles, "files">,
  opts: { keepVgpuctl?: boolean } = {},
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(s.files).filter(
      ([p]) => !p.startsWith("/var/log/") && (opts.keepVgpuctl || !p.startsWith("/var/lib/vgpuctl/")),
    ),
  );
}
