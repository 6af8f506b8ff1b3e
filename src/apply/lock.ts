/**
 * /var/lib/vgpuctl/lock: keeps two applies (or an apply and an uninstall) from interleaving on
 * one host. Taken with an exclusive create (Host.createExclusive), so two runs never both hold it.
 * A lock is stale when its heartbeat is old, or its owner process is known to be dead.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Host } from "../hosts/host.ts";
import { UserError } from "../util/errors.ts";
import { LOCK_PATH, sha256 } from "./journal.ts";

export interface LockOwner {
  hostname: string;
  pid: number;
}

export interface LockInfo {
  token: string;
  owner: LockOwner;
  command: string;
  startedAt: string;
  heartbeatAt: string;
}

export interface LockOptions {
  command: string;
  now?: () => Date;
  owner?: LockOwner;
  /** A lock whose heartbeat is older than this is stale (default 60 min: driver builds are slow). */
  staleAfterMs?: number;
  /** true/false when the owner's liveness is known, null when it is not (another machine). */
  isOwnerAlive?: (lock: LockInfo) => boolean | null;
  /** Take the lock even if it looks live (`--break-lock`). */
  breakLock?: boolean;
  /**
   * heartbeat() rewrites the lock at most this often (default 60 s: a remote write is a round trip,
   * and staleness is judged in tens of minutes).
   */
  heartbeatEveryMs?: number;
}

export interface LockHandle {
  token: string;
  /** Refresh the lock's heartbeat (skipped when the last one is recent, unless `force`). */
  heartbeat(opts?: { force?: boolean }): Promise<void>;
  /** Give the lock up (once: later calls do nothing). */
  release(): Promise<void>;
  /** release() was called */
  readonly released: boolean;
}

/** Tokens of locks held by live runs in this process. */
const ACTIVE = new Set<string>();

export function defaultIsOwnerAlive(lock: LockInfo): boolean | null {
  if (lock.owner.hostname !== hostname()) return null;
  if (lock.owner.pid === process.pid) return ACTIVE.has(lock.token);
  try {
    process.kill(lock.owner.pid, 0);
    return true;
  } catch (e) {
    // kill(2) with signal 0: ESRCH = no such process; EPERM = it exists but is not ours to signal
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    if (code === "EPERM") return true;
    throw e;
  }
}

export async function readLock(host: Host): Promise<LockInfo | null> {
  return parseLock(await host.readFile(LOCK_PATH));
}

/** The lock file's content; null when absent or garbage (not JSON, or not the shape vgpuctl writes: stale). */
function parseLock(text: string | null): LockInfo | null {
  if (text === null) return null;
  let l: unknown;
  try {
    l = JSON.parse(text);
  } catch (e) {
    if (e instanceof SyntaxError) return null; // garbage (e.g. a write cut short): stale
    throw e;
  }
  return isLockInfo(l) ? l : null;
}

function isLockInfo(l: unknown): l is LockInfo {
  if (typeof l !== "object" || l === null) return false;
  const { token, owner, heartbeatAt } = l as Partial<LockInfo>;
  return (
    typeof token === "string" &&
    typeof heartbeatAt === "string" &&
    typeof owner === "object" &&
    owner !== null &&
    typeof owner.hostname === "string" &&
    Number.isSafeInteger(owner.pid) &&
    owner.pid > 0
  );
}

/**
 * Take the host's lock. The lock file is created with Host.createExclusive, so of two runs racing
 * for a free lock exactly one gets it (one round trip on a remote host). A lock held by a live run
 * refuses; a stale one (dead owner, old heartbeat, garbage) is broken and taken — by one run only,
 * see breakStale; `breakLock` removes whatever lock there is first.
 */
export async function acquireLock(host: Host, opts: LockOptions): Promise<LockHandle> {
  const create = host.createExclusive?.bind(host);
  if (!create)
    throw new UserError(
      `cannot take ${LOCK_PATH} on ${host.name}: this kind of host cannot create a file exclusively`,
    );
  const now = opts.now ?? (() => new Date());
  const staleAfter = opts.staleAfterMs ?? 60 * 60 * 1000;
  const isAlive = opts.isOwnerAlive ?? defaultIsOwnerAlive;
  const info: LockInfo = {
    token: randomUUID(),
    owner: opts.owner ?? { hostname: hostname(), pid: process.pid },
    command: opts.command,
    startedAt: now().toISOString(),
    heartbeatAt: now().toISOString(),
  };
  const text = () => `${JSON.stringify(info)}\n`;
  if (opts.breakLock) await host.remove(LOCK_PATH);
  // Live before it exists: another run of this process that reads the new lock must not take it for
  // a crashed run's (defaultIsOwnerAlive).
  ACTIVE.add(info.token);
  try {
    // a few rounds: a lock released, or a stale one broken, between two of our calls is retried
    for (let round = 0; round < 4; round++) {
      if (await create(LOCK_PATH, text(), { mode: 0o600 })) return handle(host, info, opts, now);
      const raw = await host.readFile(LOCK_PATH);
      if (raw === null) continue; // released meanwhile: try again
      const existing = parseLock(raw);
      if (existing) {
        const alive = isAlive(existing);
        const age = now().getTime() - Date.parse(existing.heartbeatAt);
        const stale = alive === false || !(age < staleAfter);
        if (!stale) throw held(host, existing);
      }
      if (!(await breakStale(host, raw, text(), create)))
        throw new UserError(
          `another vgpuctl run is taking over the stale ${LOCK_PATH} on ${host.name}`,
          "wait for it to finish; if no other vgpuctl runs, re-run with --break-lock",
        );
    }
  } catch (e) {
    ACTIVE.delete(info.token);
    throw e;
  }
  ACTIVE.delete(info.token);
  throw new UserError(`lost the race for ${LOCK_PATH} on ${host.name} to another vgpuctl run`, "try again");
}

function held(host: Host, l: LockInfo): UserError {
  return new UserError(
    `another vgpuctl ${l.command} (pid ${l.owner.pid} on ${l.owner.hostname}, started ${l.startedAt}) holds ${LOCK_PATH} on ${host.name}`,
    "wait for it to finish; if it is gone, re-run with --break-lock",
  );
}

/**
 * Remove the stale lock whose content is `raw` — if it is still that lock. Only one run may do so
 * per stale lock: it first creates `lock.break-<hash of raw>` exclusively, and removes the claim
 * only after the stale lock is gone. A run that gets the claim later reads the lock again and finds
 * either nothing or a new lock (the stale content never comes back: tokens are unique), so it never
 * removes a lock another run has just taken. The new lock itself is then taken by createExclusive
 * (the caller's next round), which exactly one run wins. false: another run holds the claim.
 */
async function breakStale(
  host: Host,
  raw: string,
  claimText: string,
  create: NonNullable<Host["createExclusive"]>,
): Promise<boolean> {
  const claim = `${LOCK_PATH}.break-${sha256(raw).slice(0, 16)}`;
  if (!(await create(claim, claimText, { mode: 0o600 }))) return false;
  try {
    if ((await host.readFile(LOCK_PATH)) === raw) await host.remove(LOCK_PATH);
  } finally {
    await host.remove(claim);
  }
  return true;
}

function handle(host: Host, info: LockInfo, opts: LockOptions, now: () => Date): LockHandle {
  let released = false;
  return {
    token: info.token,
    get released() {
      return released;
    },
    async heartbeat(o: { force?: boolean } = {}) {
      const t = now();
      if (!o.force && t.getTime() - Date.parse(info.heartbeatAt) < (opts.heartbeatEveryMs ?? 60_000)) return;
      info.heartbeatAt = t.toISOString();
      await host.writeFile(LOCK_PATH, `${JSON.stringify(info)}\n`, { mode: 0o600 });
    },
    async release() {
      if (released) return;
      released = true;
      ACTIVE.delete(info.token);
      const cur = await readLock(host);
      if (cur?.token === info.token) await host.remove(LOCK_PATH);
    },
  };
}
