import type { Host } from "../hosts/host.ts";
import { type Colors, terminalSafe } from "./output.ts";

/** What every CLI command gets: I/O sinks and the host opener. Tests pass their own. */
export interface CliContext {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  colors: Colors;
  cwd: string;
  openHost: (spec: string, opts: { root?: string }) => Promise<Host>;
  /**
   * Ask the person running vgpuctl a yes/no question (apply / uninstall before changing a host);
   * the question is the whole prompt, e.g. "Apply on pve1 (9 step(s))? [y/N] ". Absent: there is no
   * one to ask (no terminal), so those commands need --yes.
   */
  confirm?: (question: string) => Promise<boolean>;
  /** Ask for a secret on the terminal, not echoed (cli/secret-prompt.ts); absent: no terminal, or CI=true. */
  askSecret?: import("./secret-prompt.ts").AskSecret;
}

/** main()'s default `confirm`: a question on the terminal, or none when stdin is not a terminal. */
export function terminalConfirm(
  input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
  output: NodeJS.WritableStream = process.stdout,
): CliContext["confirm"] {
  if (!input.isTTY) return undefined;
  return async (question) => {
    // loaded when a question is asked: a start without one does not load readline
    const { createInterface } = await import("node:readline/promises");
    const rl = createInterface({ input, output });
    try {
      // the question names the host: shown through the same neutralising as every other line
      return /^y(es)?$/i.test((await rl.question(terminalSafe(question, false))).trim());
    } finally {
      rl.close();
    }
  };
}

export interface GlobalOptions {
  host: string;
  root?: string;
  json?: boolean;
  color?: boolean;
}

/** Exit status per DESIGN.md: 0 ok, 1 problems found (error findings / failed verification), 2 could not run. */
export type ExitCode = 0 | 1 | 2;
