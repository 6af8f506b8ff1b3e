/**
 * `npm run bench`: how fast vgpuctl is where it matters, measured against a real local sshd.
 *  - inspect over SSH (in-process CLI; round trips counted by SshHost.roundTrips), wall time
 *  - capture of GATHER_SPEC over SSH: round trips and wall time; connection setup time
 *  - cold start of the built CLI: `--version` and `inspect --host demo --json`
 *  - start time as installed (npm tarball), as the single executable and from the clone, side by side
 *    with `node -e 0` (bench/start.ts)
 * Medians of N runs (BENCH_N, default 7). Writes bench/results.json and prints a table.
 * Nothing here is a pass/fail limit; tests never assert wall-clock times.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { main } from "../src/cli/main.ts";
import { GATHER_SPEC } from "../src/hosts/gather-spec.ts";
import type { Host } from "../src/hosts/host.ts";
import { openHost } from "../src/hosts/open.ts";
import { SshHost } from "../src/hosts/ssh/ssh-host.ts";
import { startSshd } from "../test/helpers/sshd.ts";
import { benchApply, formatApplyRow } from "./apply.ts";
import { cliFleetRows } from "./cli-fleet.ts";
import { benchFleet, type FleetRow, formatFleet } from "./fleet.ts";
import { benchPlacement, formatPlacement } from "./placement.ts";
import { benchStart } from "./start.ts";

const REPO = resolve(import.meta.dirname, "..");
const CLI = join(REPO, "dist", "vgpuctl.cjs");
const N = Math.max(1, Number(process.env.BENCH_N) || 7);

interface Result {
  name: string;
  medianMs: number | null;
  minMs: number | null;
  roundTrips?: number | null;
  runs: number;
  error?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

async function measure(
  name: string,
  fn: () => Promise<{ roundTrips?: number } | undefined>,
): Promise<Result> {
  const times: number[] = [];
  let roundTrips: number | undefined;
  try {
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      const r = await fn();
      times.push(performance.now() - t0);
      if (r?.roundTrips !== undefined) roundTrips = r.roundTrips;
    }
  } catch (e) {
    return {
      name,
      medianMs: null,
      minMs: null,
      runs: times.length,
      error: (e as Error).message.split("\n")[0],
    };
  }
  return {
    name,
    medianMs: round(median(times)),
    minMs: round(Math.min(...times)),
    ...(roundTrips !== undefined ? { roundTrips } : {}),
    runs: times.length,
  };
}

function cold(args: string[], env: NodeJS.ProcessEnv): () => Promise<undefined> {
  return async () => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env, timeout: 60_000 });
    if (r.status !== 0) throw new Error(`vgpuctl ${args.join(" ")} exited ${r.status}: ${r.stderr.trim()}`);
    return undefined;
  };
}

async function run(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run \`npm run bench\` (it builds first)`);
  const results: Result[] = [];
  const placement = await benchPlacement();
  let fleet: FleetRow[] = [];
  const sshd = await startSshd();
  const simDir = mkdtempSync(join(tmpdir(), "vgpuctl-bench-sim-"));
  try {
    const env: NodeJS.ProcessEnv = {
      HOME: sshd.dir,
      USER: sshd.user,
      PATH: process.env.PATH,
      VGPUCTL_KNOWN_HOSTS: sshd.knownHostsPath,
      VGPUCTL_SSH_IDENTITY: sshd.identityPath,
      VGPUCTL_SIM_DIR: simDir,
      NO_COLOR: "1",
    };
    const target = { user: sshd.user, hostname: "127.0.0.1", port: sshd.port };
    const spec = `ssh://${sshd.user}@127.0.0.1:${sshd.port}`;

    results.push(
      await measure("ssh: inspect (in-process CLI)", async () => {
        let opened: Host | undefined;
        let stderr = "";
        const code = await main(["node", "vgpuctl", "inspect", "--host", spec, "--json"], {
          env,
          out: () => {},
          err: (s) => {
            stderr += s;
          },
          openHost: async (s, o) => {
            opened = await openHost(s, { ...o, env });
            return opened;
          },
        });
        if (code === 2) throw new Error(`inspect could not run: ${stderr.trim()}`);
        return { roundTrips: opened instanceof SshHost ? opened.roundTrips : undefined };
      }),
    );

    results.push(
      await measure("ssh: connect (tcp + handshake + auth)", async () => {
        const h = await SshHost.connect(target, { env, spec });
        await h.close();
        return undefined;
      }),
    );

    const host = await SshHost.connect(target, { env, spec });
    try {
      results.push(
        await measure("ssh: capture(GATHER_SPEC)", async () => {
          const before = host.roundTrips;
          await host.capture(GATHER_SPEC);
          return { roundTrips: host.roundTrips - before };
        }),
      );
      results.push(
        await measure("ssh: one exec (uname -r)", async () => {
          const before = host.roundTrips;
          await host.exec(["uname", "-r"]);
          return { roundTrips: host.roundTrips - before };
        }),
      );
    } finally {
      await host.close();
    }

    fleet = [...(await benchFleet(sshd)), ...cliFleetRows()];
    results.push(await measure("cold start: node dist/vgpuctl.cjs --version", cold(["--version"], env)));
    results.push(
      await measure(
        "cold start: node dist/vgpuctl.cjs inspect --host demo --json",
        cold(["inspect", "--host", "demo", "--json"], env),
      ),
    );
  } finally {
    await sshd.stop();
    rmSync(simDir, { recursive: true, force: true });
  }

  // a full apply over SSH: reboots and round trips, next to the seed guide's manual procedure (bench/apply.ts)
  const apply = await benchApply();
  const start = benchStart(REPO, N);
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    n: N,
    results,
    start,
    apply,
    placement,
    fleet,
  };
  writeFileSync(join(REPO, "bench", "results.json"), `${JSON.stringify(out, null, 2)}\n`);

  const rows = results.map((r) => [
    r.name,
    r.medianMs === null ? "—" : `${r.medianMs} ms`,
    r.minMs === null ? "—" : `${r.minMs} ms`,
    r.roundTrips === undefined || r.roundTrips === null ? "" : String(r.roundTrips),
    r.error ? `error: ${r.error}` : "",
  ]);
  const head = ["benchmark", `median (n=${N})`, "min", "round trips", ""];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log(line(head));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(r));
  console.log("\napply (seed-fresh over ssh) vs the seed guide by hand:");
  for (const a of apply) console.log(`  ${formatApplyRow(a, 46)}`);
  console.log(`\nstart time, side by side with node -e 0 (medians of ${N}):`);
  for (const r of start)
    console.log(
      `  ${r.name.padEnd(60)} ${`${r.medianMs} ms`.padStart(9)}  ${r.vsNode.toFixed(2)}× node -e 0`,
    );
  console.log("\nplacement (issue 15):");
  for (const l of formatPlacement(placement)) console.log(`  ${l}`);
  console.log("\nfleet:");
  for (const l of formatFleet(fleet)) console.log(l);
  console.log(`\nwritten: bench/results.json`);
}

await run();
