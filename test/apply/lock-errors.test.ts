// The apply lock's owner check and its reading of the lock file: garbage (not JSON, or not the shape
// vgpuctl writes) is a stale lock, as documented in src/apply/lock.ts; kill(2)'s ESRCH/EPERM answer
// "is the owner alive"; any other failure is an error, never "the owner is dead, break its lock".
// Host: the simulated seed-fresh host (DESIGN.md scenario).
import { hostname } from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LOCK_PATH } from "../../src/apply/journal.ts";
import { acquireLock, defaultIsOwnerAlive, type LockInfo } from "../../src/apply/lock.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

const simHost = () => SimHost.fromState(buildScenarioState("seed-fresh"));

/** A lock on this machine held by process `pid` (not this one), with a fresh heartbeat. */
function lockOf(pid: number): LockInfo {
  const now = new Date().toISOString();
  return {
    token: "other-run",
    owner: { hostname: hostname(), pid },
    command: "apply",
    startedAt: now,
    heartbeatAt: now,
  };
}

function killFailingWith(code: string): void {
  vi.spyOn(process, "kill").mockImplementation(() => {
    throw Object.assign(new Error(`kill ${code}`), { code });
  });
}

describe("defaultIsOwnerAlive: kill(pid, 0)", () => {
  it("ESRCH (no such process): dead", () => {
    killFailingWith("ESRCH");
    expect(defaultIsOwnerAlive(lockOf(4242))).toBe(false);
  });

  it("EPERM (another user's process): alive", () => {
    killFailingWith("EPERM");
    expect(defaultIsOwnerAlive(lockOf(4242))).toBe(true);
  });

  it("any other failure is thrown, not taken for a dead owner whose lock may be broken", () => {
    killFailingWith("EINVAL");
    expect(() => defaultIsOwnerAlive(lockOf(4242))).toThrow("kill EINVAL");
  });
});

describe("a lock file that is not the shape vgpuctl writes is stale garbage", () => {
  const now = new Date().toISOString();
  for (const [what, content] of [
    ["no owner", { token: "t", command: "apply", startedAt: now, heartbeatAt: now }],
    ["a pid that is not a number", { ...lockOf(1), owner: { hostname: hostname(), pid: "4242" } }],
    ["pid 0 (kill(0, 0) signals our own process group: always 'alive')", lockOf(0)],
    ["no heartbeat", { ...lockOf(1), heartbeatAt: undefined }],
  ] as const) {
    it(`${what}: broken and taken`, async () => {
      const host = simHost();
      await host.writeFile(LOCK_PATH, `${JSON.stringify(content)}\n`, { mode: 0o600 });
      const h = await acquireLock(host, { command: "apply" });
      expect(JSON.parse((await host.readFile(LOCK_PATH))!).token).toBe(h.token);
      await h.release();
    });
  }
});
