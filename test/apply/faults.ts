/** Fault triggers the apply tests need beyond the spec forms of src/hosts/fault-host.ts. */
import { JOURNAL_PATH } from "../../src/apply/journal.ts";
import type { FaultTrigger } from "../../src/hosts/fault-host.ts";

/**
 * Die in the middle of the Nth step: right after the first change (a write or an exec) that follows
 * the journal write naming that step as in progress — so the journal still says "in progress".
 */
export function dieInStep(n: number): FaultTrigger {
  let started = 0;
  let current: string | null = null;
  let armed = false;
  return {
    after(op) {
      if (armed) return "die";
      if (op.kind === "write" && op.path === JOURNAL_PATH && op.content !== null) {
        const id = (JSON.parse(op.content) as { inProgress: { step: { id: string } } | null }).inProgress
          ?.step.id;
        if (id !== undefined && id !== current && ++started === n) armed = true;
        current = id ?? null;
      }
      return null;
    },
  };
}
