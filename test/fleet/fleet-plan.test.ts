/**
 * Fleets (issue 15): `plan` over 32 hosts — sim:seed-fresh@1 … @30 (independent copies, each its own
 * state file), one SSH host that does not answer (a closed port on 127.0.0.1) and one whose host key
 * changed (a real OpenSSH server, test/helpers/sshd.ts, whose known_hosts entry holds another key).
 * The 30 still complete; the summary names the 2; the exit status is the worst (2).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { runFleet, summaryTable } from "../../src/commands/fleet.ts";
import { openHost } from "../../src/hosts/open.ts";
import { makeKeyPair, startSshd, type TestSshd } from "../helpers/sshd.ts";

let sshd: TestSshd;
let dir: string;

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

beforeAll(async () => {
  sshd = await startSshd();
  dir = mkdtempSync(join(tmpdir(), "vgpuctl-fleet-"));
});

afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("plan over a fleet", () => {
  it("30 simulated copies complete while an unreachable host and a changed host key fail, named in the summary", async () => {
    const closed = await closedPort();
    const other = makeKeyPair(dir, "other_host_key");
    const knownHosts = join(dir, "known_hosts");
    writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${other.pub}\n`); // not the server's key
    const unreachable = `ssh://${sshd.user}@127.0.0.1:${closed}`;
    const changed = `ssh://${sshd.user}@127.0.0.1:${sshd.port}`;
    const sims = Array.from({ length: 30 }, (_, i) => `sim:seed-fresh@${i + 1}`);
    const specs = [...sims.slice(0, 10), unreachable, ...sims.slice(10, 20), changed, ...sims.slice(20)];
    writeFileSync(join(dir, "vgpu.yaml"), `hosts:\n${specs.map((s) => `  - host: ${s}\n`).join("")}`);
    const simDir = join(dir, "sim");
    const env = {
      HOME: sshd.dir,
      USER: sshd.user,
      VGPUCTL_SIM_DIR: simDir,
      VGPUCTL_KNOWN_HOSTS: knownHosts,
      VGPUCTL_SSH_IDENTITY: sshd.identityPath,
      NO_COLOR: "1",
    };
    let out = "";
    let err = "";
    const code = await main(["node", "vgpuctl", "plan", "-f", join(dir, "vgpu.yaml"), "--timeout", "60"], {
      env,
      cwd: dir,
      out: (s) => {
        out += s;
      },
      err: (s) => {
        err += s;
      },
      openHost: (s, o) => openHost(s, { ...o, env }),
    });
    expect(code).toBe(2);
    expect(out).toMatch(/32 host\(s\): 30 completed, 2 failed \(/);
    const failedLine = out.split("\n").find((l) => l.includes("2 failed"))!;
    expect(failedLine).toContain(unreachable);
    expect(failedLine).toContain(changed);
    for (const s of sims) expect(out).toMatch(new RegExp(`^${s}\\s+(planned|blocked)\\s`, "m"));
    expect(err).toMatch(/host key/i);
    // every copy kept its own state file
    expect(readdirSync(simDir).filter((f) => /^seed-fresh@\d+\.json$/.test(f))).toHaveLength(30);
    expect(existsSync(join(simDir, "seed-fresh.json"))).toBe(false);
  }, 120_000);

  it("runs at most --parallel hosts at once and keeps every outcome in order", async () => {
    let running = 0;
    let most = 0;
    const outcomes = await runFleet(
      ["a", "b", "c", "d", "e", "f"],
      async (spec) => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (spec === "c") throw new Error("c is down");
        return spec.toUpperCase();
      },
      { parallel: 2 },
    );
    expect(most).toBe(2);
    expect(outcomes.map((o) => (o.ok ? o.value : o.error.message))).toEqual([
      "A",
      "B",
      "c is down",
      "D",
      "E",
      "F",
    ]);
  });

  it("a host that takes longer than --timeout fails with the limit named; the others finish", async () => {
    const outcomes = await runFleet(
      ["slow", "fast"],
      (spec) => new Promise((r) => setTimeout(() => r(spec), spec === "slow" ? 5_000 : 1)),
      { timeoutSec: 1 },
    );
    expect(outcomes[0]).toMatchObject({ ok: false });
    expect(!outcomes[0]!.ok && outcomes[0]!.error.message).toBe("slow: no answer within 1 s");
    expect(outcomes[1]).toMatchObject({ ok: true, value: "fast" });
    expect(summaryTable([{ spec: "slow", status: "failed", ms: 1000, error: "x" }])).toContain(
      "1 failed (slow)",
    );
  });
});
