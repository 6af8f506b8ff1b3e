/** The simulator's render of one command on a scenario, optionally changed first (driver version…). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import type { SimState } from "../../src/hosts/sim/state.ts";

export async function simHost(scenario: string, change: (s: SimState) => void = () => {}): Promise<SimHost> {
  const dir = await mkdtemp(join(tmpdir(), "vgpuctl-conformance-"));
  try {
    const s = (await SimHost.open(scenario, { stateDir: dir, spec: `sim:${scenario}` })).snapshot();
    change(s);
    return SimHost.fromState(s);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Run command lines in order; the last one's stdout (each earlier one must succeed). */
export async function simOutput(host: SimHost, ...commands: string[]): Promise<string> {
  let out = "";
  for (const c of commands) {
    const r = await host.exec(["sh", "-c", c]);
    if (r.exitCode !== 0) throw new Error(`${c}: exit ${r.exitCode}: ${r.stderr}${r.stdout}`);
    out = r.stdout;
  }
  return out;
}
