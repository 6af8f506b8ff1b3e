// The apply lock (/var/lib/vgpuctl/lock) is exclusive: of two runs racing for it, exactly one holds it.
// The races are made deterministic with a Host wrapper that holds one run's writes back until the
// other run has the lock: the interleaving "A reads, B reads, A writes and re-reads, B writes and
// re-reads" under which a read → write → read-back lock let both runs through.
// Hosts: the simulated seed-fresh host (DESIGN.md scenario, examples/seed-host.yaml) and a
// `local --root DIR` host on a temp dir.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LOCK_PATH } from "../../src/apply/journal.ts";
import { acquireLock, type LockHandle, type LockOptions } from "../../src/apply/lock.ts";
import { applyHost, type PlanDeps } from "../../src/apply/run.ts";
import { gatherForPlan } from "../../src/commands/plan.ts";
import { parseDesired } from "../../src/desired/parse.ts";
import type { Host } from "../../src/hosts/host.ts";
import { LocalHost } from "../../src/hosts/local-host.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";

const REPO = join(import.meta.dirname, "..", "..");
const MUTATING = new Set(["writeFile", "createExclusive", "remove"]);

/**
 * `host` as one run sees it: its writes wait for `gate`; `onFirstCall` fires once its first call was
 * made (a write: issued; a read: answered), so the other run can be held back until then.
 */
function gated(host: Host, gate: Promise<void>, onFirstCall: () => void = () => {}): Host {
  let first = true;
  return new Proxy(host, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== "function") return v;
      return async (...args: unknown[]) => {
        const call = () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (MUTATING.has(String(prop))) {
          if (first) {
            first = false;
            onFirstCall();
          }
          await gate;
          return call();
        }
        const r = await call();
        if (first) {
          first = false;
          onFirstCall();
        }
        return r;
      };
    },
  });
}

/** Run A and B for the same lock; B's writes wait until A has it, A's wait until B made its first call. */
async function race(host: Host, opts: Omit<LockOptions, "command"> = {}) {
  let bStarted!: () => void;
  let aHolds!: () => void;
  const bFirst = new Promise<void>((r) => (bStarted = r));
  const aDone = new Promise<void>((r) => (aHolds = r));
  const a = acquireLock(gated(host, bFirst), { ...opts, command: "apply" }).finally(() => aHolds());
  const b = acquireLock(gated(host, aDone, bStarted), { ...opts, command: "apply" });
  const settled = await Promise.allSettled([a, b]);
  const held = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const refused = settled.flatMap((s) => (s.status === "rejected" ? [(s.reason as Error).message] : []));
  return { held, refused };
}

const simHost = () => SimHost.fromState(buildScenarioState("seed-fresh"));
function localRoot(): { host: LocalHost; root: string } {
  const root = mkdtempSync(join(tmpdir(), "vgpuctl-lock-"));
  return { host: new LocalHost({ root, spec: "local" }), root };
}

async function releaseAll(hs: LockHandle[]) {
  for (const h of hs) await h.release();
}

describe("two runs taking a free lock at the same time: exactly one holds it", () => {
  for (const [name, make] of [
    ["sim:seed-fresh", () => simHost()],
    ["local --root", () => localRoot().host],
  ] as const)
    it(name, async () => {
      const host = make();
      const { held, refused } = await race(host);
      expect(held).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatch(
        /^another vgpuctl apply \(pid \d+ on .*\) holds \/var\/lib\/vgpuctl\/lock on /,
      );
      expect(JSON.parse((await host.readFile(LOCK_PATH))!).token).toBe(held[0]!.token);
      await releaseAll(held);
      expect(await host.readFile(LOCK_PATH)).toBeNull();
    });

  it("many runs at once on a local root: one holds it, the file is complete, no temp files are left", async () => {
    const { host, root } = localRoot();
    const settled = await Promise.allSettled(
      Array.from({ length: 8 }, () => acquireLock(host, { command: "apply" })),
    );
    const held = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    expect(held).toHaveLength(1);
    const onDisk = JSON.parse(readFileSync(join(root, LOCK_PATH), "utf8"));
    expect(onDisk).toMatchObject({ token: held[0]!.token, command: "apply", owner: { pid: process.pid } });
    expect(readdirSync(join(root, "var/lib/vgpuctl"))).toEqual(["lock"]);
    await releaseAll(held);
  });
});

describe("a stale lock is broken by one run only", () => {
  const stale = `${JSON.stringify({
    token: "dead-run",
    owner: { hostname: "admin-laptop", pid: 4242 },
    command: "apply",
    startedAt: "2020-01-01T00:00:00Z",
    heartbeatAt: "2020-01-01T00:00:00Z",
  })}\n`;

  for (const [name, make] of [
    ["sim:seed-fresh", () => simHost()],
    ["local --root", () => localRoot().host],
  ] as const)
    it(`${name}: both see the stale lock; the one that breaks it later does not remove the new one`, async () => {
      const host = make();
      await host.writeFile(LOCK_PATH, stale, { mode: 0o600 });
      const { held, refused } = await race(host);
      expect(held).toHaveLength(1);
      expect(refused[0]).toMatch(/holds \/var\/lib\/vgpuctl\/lock|taking over the stale/);
      expect(JSON.parse((await host.readFile(LOCK_PATH))!).token).toBe(held[0]!.token);
      // the claim used to break it is gone
      expect(await host.list("/var/lib/vgpuctl")).toEqual(["lock"]);
      await releaseAll(held);
    });

  it("garbage in the lock file counts as stale; --break-lock takes a live lock", async () => {
    const host = simHost();
    await host.writeFile(LOCK_PATH, "{not json", { mode: 0o600 });
    const a = await acquireLock(host, { command: "apply" });
    await expect(acquireLock(host, { command: "uninstall" })).rejects.toThrow(/another vgpuctl apply/);
    const b = await acquireLock(host, { command: "uninstall", breakLock: true });
    expect(JSON.parse((await host.readFile(LOCK_PATH))!).token).toBe(b.token);
    await a.release(); // no longer its lock: left alone
    expect(JSON.parse((await host.readFile(LOCK_PATH))!).command).toBe("uninstall");
    await b.release();
    expect(await host.readFile(LOCK_PATH)).toBeNull();
  });

  it("a host that cannot create a file exclusively is refused, not locked unsafely", async () => {
    const host = simHost();
    const without = new Proxy(host, {
      get: (t, p, r) => (p === "createExclusive" ? undefined : Reflect.get(t, p, r)),
    }) as Host;
    await expect(acquireLock(without, { command: "apply" })).rejects.toThrow(
      /cannot create a file exclusively/,
    );
  });
});

describe("two applies at once on one simulated host", () => {
  it("exactly one proceeds; the other stops before changing anything", async () => {
    const entry = parseDesired(readFileSync(join(REPO, "examples", "seed-host.yaml"), "utf8")).hosts[0]!;
    const host = simHost();
    let bStarted!: () => void;
    let aLocked!: () => void;
    const bFirst = new Promise<void>((r) => (bStarted = r));
    const aHasLock = new Promise<void>((r) => (aLocked = r));
    // A's first write (its lock) waits for B to start; B's writes wait until A holds the lock
    const hostA = gated(host, bFirst);
    const hostB = gated(host, aHasLock, bStarted);
    const deps = (h: Host): PlanDeps => ({ host: h, gather: gatherForPlan });
    const watchA = new Proxy(hostA, {
      get(t, p, r) {
        const v = Reflect.get(t, p, r);
        if (p !== "readFile" && p !== "createExclusive" && p !== "writeFile") return v;
        return async (...args: unknown[]) => {
          const out = await (v as (...a: unknown[]) => Promise<unknown>)(...args);
          if (args[0] === LOCK_PATH && (p === "createExclusive" ? out === true : p === "readFile")) aLocked();
          return out;
        };
      },
    });
    const results = await Promise.allSettled([
      applyHost(entry, deps(watchA), { reboot: false }),
      applyHost(entry, deps(hostB), { reboot: false }),
    ]);
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
    expect(ok).toHaveLength(1);
    expect(failed).toEqual([
      expect.stringMatching(
        /^another vgpuctl apply \(pid \d+ on .*\) holds \/var\/lib\/vgpuctl\/lock on seed-fresh/,
      ),
    ]);
    expect(await host.readFile(LOCK_PATH)).toBeNull();
  });
});
