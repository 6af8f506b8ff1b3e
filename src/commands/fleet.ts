/**
 * Running one piece of work on many hosts (issue 15 "Fleet"): at most `parallel` at a time, each with a
 * time limit, every host's outcome kept (one failing never hides another), progress as hosts start and
 * finish, and a summary table. Pure apart from the timers.
 */
import { UserError } from "../util/errors.ts";

export const DEFAULT_PARALLEL = 8;
export const DEFAULT_TIMEOUT_SEC = 600;

export interface FleetOptions {
  /** hosts worked on at once (default 8) */
  parallel?: number;
  /** seconds one host may take (default 600) */
  timeoutSec?: number;
  onProgress?: (e: FleetEvent) => void;
}

export type FleetEvent =
  | { spec: string; state: "start" }
  | { spec: string; state: "done" | "failed"; ms: number; message?: string };

export type FleetOutcome<T> =
  | { spec: string; ok: true; value: T; ms: number }
  | { spec: string; ok: false; error: Error; ms: number };

/** The --parallel / --timeout options every multi-host command takes (commander option specs). */
export const FLEET_FLAGS = [
  ["--parallel <n>", `hosts worked on at once (default ${DEFAULT_PARALLEL})`],
  ["--timeout <seconds>", `time one host may take (default ${DEFAULT_TIMEOUT_SEC})`],
] as const;

/** Validate --parallel / --timeout values from the command line. */
export function fleetOptions(raw: {
  parallel?: string;
  timeout?: string;
}): Pick<FleetOptions, "parallel" | "timeoutSec"> {
  return { parallel: wholeOption("parallel", raw.parallel), timeoutSec: wholeOption("timeout", raw.timeout) };
}

/** A command-line option that must be a whole number ≥ 1 (undefined when not given). */
export function wholeOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new UserError(
      `--${name} ${JSON.stringify(v)} is not a whole number of at least 1`,
      `e.g. --${name} 8`,
    );
  return n;
}

function withTimeout<T>(work: Promise<T>, spec: string, sec: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new UserError(`${spec}: no answer within ${sec} s`, "raise --timeout, or check the host")),
      sec * 1000,
    );
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

/** Run `work` for every spec; outcomes in the order of `specs`. */
export async function runFleet<T>(
  specs: readonly string[],
  work: (spec: string, index: number) => Promise<T>,
  opts: FleetOptions = {},
): Promise<Array<FleetOutcome<T>>> {
  const parallel = Math.max(1, opts.parallel ?? DEFAULT_PARALLEL);
  const timeoutSec = opts.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
  const out: Array<FleetOutcome<T>> = new Array(specs.length);
  let next = 0;
  const worker = async () => {
    while (next < specs.length) {
      const i = next++;
      const spec = specs[i]!;
      opts.onProgress?.({ spec, state: "start" });
      const t0 = performance.now();
      try {
        const value = await withTimeout(
          Promise.resolve().then(() => work(spec, i)),
          spec,
          timeoutSec,
        );
        const ms = performance.now() - t0;
        out[i] = { spec, ok: true, value, ms };
        opts.onProgress?.({ spec, state: "done", ms });
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        const ms = performance.now() - t0;
        out[i] = { spec, ok: false, error, ms };
        opts.onProgress?.({ spec, state: "failed", ms, message: error.message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, specs.length) }, worker));
  return out;
}

/** One line per host for a terminal: "⟳ sim:a@3", "✓ sim:a@3 1.2 s", "✗ sim:a@4 0.3 s: refused". */
export function progressLine(e: FleetEvent): string {
  if (e.state === "start") return `… ${e.spec}\n`;
  const secs = `${(e.ms / 1000).toFixed(1)} s`;
  return e.state === "done"
    ? `✓ ${e.spec} ${secs}\n`
    : `✗ ${e.spec} ${secs}: ${firstLine(e.message ?? "")}\n`;
}

function firstLine(s: string): string {
  return s.split("\n")[0]!;
}

/** The summary table after a multi-host run: host, status, time, and the first line of any error. */
export function summaryTable(
  rows: Array<{ spec: string; status: string; ms: number; error?: string }>,
): string {
  const w = Math.max(4, ...rows.map((r) => r.spec.length));
  const sw = Math.max(6, ...rows.map((r) => r.status.length));
  const lines = [`${"HOST".padEnd(w)}  ${"STATUS".padEnd(sw)}  TIME     ERROR`];
  for (const r of rows)
    lines.push(
      `${r.spec.padEnd(w)}  ${r.status.padEnd(sw)}  ${`${(r.ms / 1000).toFixed(1)} s`.padEnd(7)}  ${r.error ? firstLine(r.error) : ""}`.trimEnd(),
    );
  const failed = rows.filter((r) => r.error !== undefined);
  lines.push(
    `${rows.length} host(s): ${rows.length - failed.length} completed, ${failed.length} failed${failed.length ? ` (${failed.map((r) => r.spec).join(", ")})` : ""}`,
  );
  return `${lines.join("\n")}\n`;
}

/** runFleet's outcomes as Promise.allSettled gives them (for commands that already work with those). */
export async function settleFleet<T>(
  specs: readonly string[],
  work: (spec: string, index: number) => Promise<T>,
  opts: FleetOptions = {},
): Promise<Array<PromiseSettledResult<T>>> {
  const out = await runFleet(specs, work, opts);
  return out.map((o) =>
    o.ok ? { status: "fulfilled", value: o.value } : { status: "rejected", reason: o.error },
  );
}
