import type { Host } from "../hosts/host.ts";
import type { Colors } from "./output.ts";

/** What every CLI command gets: I/O sinks and the host opener. Tests pass their own. */
export interface CliContext {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  colors: Colors;
  cwd: string;
  openHost: (spec: string, opts: { root?: string }) => Promise<Host>;
}

export interface GlobalOptions {
  host: string;
  root?: string;
  json?: boolean;
  color?: boolean;
}

/** Exit status per DESIGN.md: 0 ok, 1 problems found (error findings / failed verification), 2 could not run. */
export type ExitCode = 0 | 1 | 2;
