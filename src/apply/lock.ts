/**
 * /var/lib/vgpuctl/lock: keeps two applies (or an apply and an uninstall) from interleaving on
 * one host. A lock is stale when its heartbeat is old, or its owner process is known to be dead.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Host } from "../hosts/host.ts";
import { UserError } from "../util/errors.ts";
import { LOCK_PATH } from "./journal.ts";

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
  release(): Promise<void>;
}

/** Tokens of locks held by live runs in this process (a crashed run's token is dropped). */
const ACTIVE = new Set<string>();

export function forgetLock(token: string): void {
  ACTIVE.delete(token);
}

export function defaultIsOwnerAlive(lock: LockInfo): boolean | null {
  if (lock.owner.hostname !== hostname()) return null;
  if (lock.owner.pid === process.pid) return ACTIVE.has(lock.token);
  try {
    process.kill(lock.owner.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function readLock(host: Host): Promise<LockInfo | null> {
  const text = await host.readFile(LOCK_PATH);
  if (text === null) return null;
  try {
    return JSON.parse(text) as LockInfo;
  } catch {
    return null; // garbage: treat as stale
  }
}

export async function acquireLock(host: Host, opts: LockOptions): Promise<LockHandle> {
  const now = opts.now ?? (() => new Date());
  const staleAfter = opts.staleAfterMs ?? 60 * 60 * 1000;
  const isAlive = opts.isOwnerAlive ?? defaultIsOwnerAlive;
  const existing = await readLock(host);
  if (existing && !opts.breakLock) {
    const alive = isAlive(existing);
    const age = now().getTime() - Date.parse(existing.heartbeatAt);
    const stale = alive === false || !(age < staleAfter);
    if (!stale)
      throw new UserError(
        `another vgpuctl ${existing.command} (pid ${existing.owner.pid} on ${existing.owner.hostname}, started ${existing.startedAt}) holds ${LOCK_PATH} on ${host.name}`,
        "wait for it to finish; if it is gone, re-run with --break-lock",
      );
  }
  const info: LockInfo = {
    token: randomUUID(),
    owner: opts.owner ?? { hostname: hostname(), pid: process.pid },
    command: opts.command,
    startedAt: now().toISOString(),
    heartbeatAt: now().toISOString(),
  };
  await host.writeFile(LOCK_PATH, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  const check = await readLock(host);
  if (check?.token !== info.token)
    throw new UserError(`lost the race for ${LOCK_PATH} on ${host.name} to another vgpuctl run`, "try again");
  ACTIVE.add(info.token);
  return {
    token: info.token,
    async heartbeat(o: { force?: boolean } = {}) {
      const t = now();
      if (!o.force && t.getTime() - Date.parse(info.heartbeatAt) < (opts.heartbeatEveryMs ?? 60_000)) return;
      info.heartbeatAt = t.toISOString();
      await host.writeFile(LOCK_PATH, `${JSON.stringify(info)}\n`, { mode: 0o600 });
    },
    async release() {
      ACTIVE.delete(info.token);
      const cur = await readLock(host);
      if (cur?.token === info.token) await host.remove(LOCK_PATH);
    },
  };
}
