/**
 * Start time as users meet it (issue 16): the command `npm install -g` of the packed tarball gives,
 * the single executable (when `npm run build:exe` made it), and `node bin/vgpuctl.js` in this clone
 * after `npm run build` — each next to `node -e 0`, measured side by side: every round runs every
 * command once, in turn, so a busy machine slows all of them alike. Ratios are of medians.
 * Targets (not asserted anywhere): installed `--version` ≤ 2×, `inspect --host demo --json` ≤ 3×.
 * `npx tsx bench/start.ts [N]` (after `npm run build`, and `npm run build:exe` for the executable's rows)
 * runs only this part and replaces the "start" list of bench/results.json; `npm run bench` runs it all.
 * With valgrind on PATH each command also runs under callgrind (median of CALLGRIND_RUNS runs): its
 * instruction count does not move with the machine's load (wall-clock ratios on a busy machine do), so
 * it is the figure to compare builds by; BENCH_CALLGRIND=0 skips it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

export interface StartResult {
  name: string;
  medianMs: number;
  minMs: number;
  /** median / median of `node -e 0` */
  vsNode: number;
  /** fastest run / fastest run of `node -e 0`: on a busy machine the runs least slowed by others */
  vsNodeMin: number;
  runs: number;
  /** instructions one run executes (callgrind, every process of the command; median of CALLGRIND_RUNS runs), when valgrind is there */
  instructions?: number;
  /** instructions / those of `node -e 0` */
  vsNodeInstructions?: number;
}

interface Candidate {
  name: string;
  cmd: string;
  args: string[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** npm pack (dist/ is built) + npm install -g into a temporary prefix, offline: the package has no dependencies. */
function installPackage(repo: string, work: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_")));
  const npm = (args: string[], cwd: string) => {
    const r = spawnSync("npm", args, { cwd, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`npm ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const tarball = npm(["pack", "--ignore-scripts", "--silent", "--pack-destination", work], repo);
  const prefix = join(work, "prefix");
  npm(
    ["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", join(work, tarball)],
    work,
  );
  return join(prefix, "bin", "vgpuctl");
}

/**
 * Callgrind runs per command: one run's count moves by up to ±8 % between runs of the same command
 * (`node -e 0`: 82–98 M; hash seeds, background threads), so each figure is the median of these.
 */
const CALLGRIND_RUNS = 3;

/** Median instructions of CALLGRIND_RUNS runs of `cmd args`. */
function medianInstructionsOf(c: Candidate, env: NodeJS.ProcessEnv, cwd: string): number {
  return median(Array.from({ length: CALLGRIND_RUNS }, () => instructionsOf(c, env, cwd)));
}

/** Instructions `cmd args` executes (callgrind, children included: `#!/usr/bin/env node` execs node). */
function instructionsOf(c: Candidate, env: NodeJS.ProcessEnv, cwd: string): number {
  const r = spawnSync(
    "valgrind",
    ["--tool=callgrind", "--callgrind-out-file=/dev/null", "--trace-children=yes", c.cmd, ...c.args],
    { env, cwd, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`callgrind ${c.name} exited ${r.status}: ${r.stderr}`);
  const counts = [...r.stderr.matchAll(/Collected : (\d+)/g)].map((m) => Number(m[1]));
  if (counts.length === 0) throw new Error(`callgrind ${c.name}: no "Collected" line in ${r.stderr}`);
  return counts.reduce((a, b) => a + b, 0);
}

/** Whether to count instructions: valgrind is on PATH and BENCH_CALLGRIND is not 0. */
function withCallgrind(): boolean {
  if (process.env.BENCH_CALLGRIND === "0") return false;
  return spawnSync("valgrind", ["--version"], { stdio: "ignore" }).status === 0;
}

export function benchStart(repo: string, n: number): StartResult[] {
  const work = mkdtempSync(join(tmpdir(), "vgpuctl-bench-start-"));
  try {
    const installed = installPackage(repo, work);
    const exe = join(repo, "dist", `vgpuctl-${process.platform}-${process.arch}`);
    const inspect = ["inspect", "--host", "demo", "--json"];
    const candidates: Candidate[] = [
      { name: "node -e 0", cmd: process.execPath, args: ["-e", "0"] },
      { name: "installed: vgpuctl --version", cmd: installed, args: ["--version"] },
      { name: "installed: vgpuctl inspect --host demo --json", cmd: installed, args: inspect },
      {
        name: "clone: node bin/vgpuctl.js --version",
        cmd: process.execPath,
        args: [join(repo, "bin", "vgpuctl.js"), "--version"],
      },
      ...(existsSync(exe)
        ? [
            { name: "executable: vgpuctl-linux-x64 --version", cmd: exe, args: ["--version"] },
            { name: "executable: vgpuctl-linux-x64 inspect --host demo --json", cmd: exe, args: inspect },
          ]
        : []),
    ];
    const env = {
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
      HOME: work,
      NO_COLOR: "1",
      VGPUCTL_SIM_DIR: join(work, "sim"),
    };
    const times = candidates.map(() => [] as number[]);
    for (let round_ = 0; round_ < n + 1; round_++) {
      candidates.forEach((c, i) => {
        const t0 = performance.now();
        const r = spawnSync(c.cmd, c.args, { env, cwd: work, stdio: ["ignore", "ignore", "pipe"] });
        const ms = performance.now() - t0;
        if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr}`);
        if (round_ > 0) times[i]!.push(ms); // the first round warms the file cache
      });
    }
    const base = median(times[0]!);
    const baseMin = Math.min(...times[0]!);
    const counts = withCallgrind() ? candidates.map((c) => medianInstructionsOf(c, env, work)) : null;
    return candidates.map((c, i) => ({
      name: c.name,
      medianMs: round(median(times[i]!)),
      minMs: round(Math.min(...times[i]!)),
      vsNode: round(median(times[i]!) / base, 2),
      vsNodeMin: round(Math.min(...times[i]!) / baseMin, 2),
      runs: times[i]!.length,
      ...(counts ? { instructions: counts[i]!, vsNodeInstructions: round(counts[i]! / counts[0]!, 2) } : {}),
    }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `npx tsx bench/start.ts [N]`: this part alone, into bench/results.json's "start" (the rest kept). */
function runAlone(): void {
  const repo = resolve(import.meta.dirname, "..");
  const n = Math.max(1, Number(process.argv[2]) || Number(process.env.BENCH_N) || 7);
  const start = benchStart(repo, n);
  const file = join(repo, "bench", "results.json");
  const old = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const out = { ...old, startDate: new Date().toISOString(), startN: n, start };
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  for (const r of start)
    console.log(
      `${r.name.padEnd(56)} ${`${r.medianMs} ms`.padStart(10)}  ${r.vsNode}× (fastest ${r.vsNodeMin}×)${
        r.instructions
          ? `  ${(r.instructions / 1e6).toFixed(1)} M instructions, ${r.vsNodeInstructions}×`
          : ""
      }`,
    );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) runAlone();
