/** What a planning pass produces, and the collector each pass fills. */
import type { Blocker, Step } from "../types.ts";

export interface PassResult {
  steps: Step[];
  blockers: Blocker[];
  notes: string[];
}

export type Block = (code: string, title: string, evidence: string[], fix: string[]) => void;

export class PassOutput implements PassResult {
  readonly steps: Step[] = [];
  readonly blockers: Blocker[] = [];
  readonly notes: string[] = [];

  readonly block: Block = (code, title, evidence, fix) => {
    this.blockers.push({ code, title, evidence, fix });
  };

  note(text: string): void {
    this.notes.push(text);
  }

  step(s: Step): void {
    this.steps.push(s);
  }

  /**
   * The captured content of a file the pass depends on (null = absent). Not captured: a
   * `not-captured` blocker, and null (the plan is blocked anyway).
   */
  need(file: (path: string) => string | null | undefined, path: string): string | null {
    const c = file(path);
    if (c !== undefined) return c;
    this.block(
      "not-captured",
      `${path} could not be read`,
      [`${path} was not captured from the host`],
      ["check that vgpuctl can read the file (run as root)"],
    );
    return null;
  }
}
