/**
 * plan with top-level `vms:` reads each host once (issue 15): the hosts are gathered once, the placement is
 * built from those facts, and each host is planned from the same facts. Counted on the host side: two
 * simulated seed-configured hosts (RTX 2080 Ti with vgpu_unlock, VMs 100 and 101; src/hosts/sim/scenarios)
 * each behind its own real OpenSSH server on 127.0.0.1 (test/e2e/sim-over-ssh.ts), whose sim-shell counts
 * every command it runs (serverExecCount). A host that cannot be opened is reported as failed and the
 * placement uses the other one, with a plan note naming the host it could not consider.
 */
import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlan } from "../../src/commands/plan.ts";
import { openHost } from "../../src/hosts/open.ts";
import { serverExecCount } from "../../src/hosts/sim/sim-shell.ts";
import { type SimOverSsh, startSimOverSsh } from "../e2e/sim-over-ssh.ts";
import { tempSimDir } from "../helpers/cli.ts";

const SCENARIO = "seed-configured";
let remotes: SimOverSsh[] = [];
let dir: string;

beforeAll(async () => {
  dir = tempSimDir();
  remotes = [
    await startSimOverSsh({ simDir: tempSimDir(), scenario: SCENARIO }),
    await startSimOverSsh({ simDir: tempSimDir(), scenario: SCENARIO }),
  ];
}, 120_000);
afterAll(async () => {
  await Promise.all(remotes.map((r) => r.stop()));
});

/** Each ssh:// spec opened with its own server's client settings (identity, known_hosts). */
const deps = {
  cwd: "/",
  readText: (p: string) => readFile(p, "utf8"),
  openHost: (spec: string) => {
    const r = remotes.find((x) => x.spec === spec) ?? remotes[0]!;
    return openHost(spec, { env: { ...process.env, ...r.clientEnv } });
  },
};

/** Plan FILE with fresh sim states behind both servers; the commands each server ran for it. */
async function planCounting(file: string) {
  const simDirs = remotes.map(() => tempSimDir());
  remotes.forEach((r, i) => {
    r.configure({ simDir: simDirs[i]!, scenario: SCENARIO });
  });
  const path = join(dir, `vgpu-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, file);
  const plans = await runPlan({ file: path, hostSpec: null, timeoutSec: 60 }, deps);
  return { plans, trips: simDirs.map((d) => serverExecCount(d, SCENARIO)) };
}

const hosts = () => `hosts:\n${remotes.map((r) => `  - host: ${r.spec}\n`).join("")}`;

describe("plan with top-level vms: gathers each host once", () => {
  it("the hosts see as many round trips as for a plan without top-level vms, and the VMs are attached", {
    timeout: 120_000,
  }, async () => {
    const without = await planCounting(hosts());
    const withVms = await planCounting(
      `${hosts()}vms:\n  - { vmid: 100, vram: 4G }\n  - { vmid: 101, vram: 4G, notWith: [100] }\n`,
    );
    expect(without.trips.every((n) => n >= 1)).toBe(true);
    expect(withVms.trips).toEqual(without.trips);
    const commands = withVms.plans.flatMap((p) => {
      if (!("plan" in p)) throw p.error;
      return p.plan.steps.flatMap((s) =>
        s.changes.map((c) => (c.kind === "command" ? c.argv.join(" ") : "")),
      );
    });
    expect(commands.filter((c) => /^qm set 10[01] --hostpci\d+ .*mdev=nvidia-/.test(c))).toHaveLength(2);
  });

  it("a host that cannot be opened is reported failed; the VMs go to the other, with a note naming the one left out", {
    timeout: 120_000,
  }, async () => {
    const unreachable = "sim:no-such-scenario"; // fails to open, as a host that cannot be reached
    const { plans } = await planCounting(
      `hosts:\n  - host: ${remotes[0]!.spec}\n  - host: ${unreachable}\nvms:\n  - { vmid: 100, vram: 4G }\n`,
    );
    expect(plans).toHaveLength(2);
    const [ok, failed] = plans;
    if (!ok || !("plan" in ok)) throw new Error("the reachable host was not planned");
    expect(failed && "error" in failed && failed.spec).toBe(unreachable);
    expect(ok.plan.notes.join("\n")).toContain(`top-level vms: could not consider ${unreachable}`);
    const commands = ok.plan.steps.flatMap((s) =>
      s.changes.map((c) => (c.kind === "command" ? c.argv.join(" ") : "")),
    );
    expect(commands.some((c) => /^qm set 100 --hostpci\d+ .*mdev=nvidia-/.test(c))).toBe(true);
  });
});
