/**
 * Fleet timings (issue 15): `plan` over 1, 8 and 32 simulated hosts (sim:seed-fresh@N, each its own
 * state), and over 32 SSH connections to a real OpenSSH server on 127.0.0.1 (test/helpers/sshd.ts; the
 * "host" is this machine, not a Proxmox VE node, so its plans are blocked or fail — the time to reach,
 * gather and plan 32 hosts is what is measured). In-process CLI, default --parallel (8).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { main } from "../src/cli/main.ts";
import { openHost } from "../src/hosts/open.ts";
import type { TestSshd } from "../test/helpers/sshd.ts";

export interface FleetRow {
  name: string;
  hosts: number;
  ms: number;
  exit: number;
  summary: string;
}

async function planFleet(
  name: string,
  specs: string[],
  env: NodeJS.ProcessEnv,
  dir: string,
): Promise<FleetRow> {
  const file = join(dir, `${specs.length}-${name.replace(/\W+/g, "-")}.yaml`);
  writeFileSync(file, `hosts:\n${specs.map((s) => `  - host: ${s}\n`).join("")}`);
  let out = "";
  const t0 = performance.now();
  const exit = await main(["node", "vgpuctl", "plan", "-f", file], {
    env,
    cwd: dir,
    out: (s) => {
      out += s;
    },
    err: () => {},
    openHost: (s, o) => openHost(s, { ...o, env }),
  });
  const ms = Math.round(performance.now() - t0);
  const summary = out.split("\n").find((l) => /host\(s\):/.test(l)) ?? "(one host: no summary)";
  return { name, hosts: specs.length, ms, exit, summary };
}

export async function benchFleet(sshd: TestSshd | null): Promise<FleetRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "vgpuctl-bench-fleet-"));
  const env: NodeJS.ProcessEnv = {
    HOME: sshd?.dir ?? dir,
    USER: sshd?.user ?? "root",
    PATH: process.env.PATH,
    VGPUCTL_SIM_DIR: join(dir, "sim"),
    ...(sshd ? { VGPUCTL_KNOWN_HOSTS: sshd.knownHostsPath, VGPUCTL_SSH_IDENTITY: sshd.identityPath } : {}),
    NO_COLOR: "1",
  };
  const rows: FleetRow[] = [];
  try {
    for (const n of [1, 8, 32]) {
      const specs = Array.from({ length: n }, (_, i) => `sim:seed-fresh@${i + 1}`);
      rows.push(await planFleet(`plan, sim:seed-fresh@1…@${n}`, specs, env, dir));
    }
    if (sshd) {
      const spec = `ssh://${sshd.user}@127.0.0.1:${sshd.port}`;
      rows.push(await planFleet("plan, 32 × ssh to 127.0.0.1", Array(32).fill(spec), env, dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function formatFleet(rows: FleetRow[]): string[] {
  return rows.map((r) => `  ${r.name.padEnd(34)} ${`${r.ms} ms`.padStart(9)}  exit ${r.exit}  ${r.summary}`);
}
