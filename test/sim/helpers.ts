import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";

const dirs: string[] = [];

/** A fresh temporary state dir (never the real home), removed after each test. */
export async function tempStateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "vgpuctl-sim-"));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

export async function openSim(scenario: string, stateDir?: string): Promise<SimHost> {
  const dir = stateDir ?? (await tempStateDir());
  return SimHost.open(scenario, { stateDir: dir, spec: `sim:${scenario}` });
}

export async function run(host: SimHost, cmd: string) {
  return host.exec(cmd.split(" "));
}
