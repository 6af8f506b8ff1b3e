/**
 * TLS for the Proxmox VE API: either verify against a CA (the cluster's /etc/pve/pve-root-ca.pem, or
 * the system store when none is given), or pin the node certificate's SHA-256 fingerprint. Pinning
 * turns chain verification off for that one connection only and checks the peer certificate's
 * fingerprint right after the handshake, before undici writes any request; a mismatch destroys the
 * socket. Nothing here touches process-wide TLS settings.
 */
import type { TLSSocket } from "node:tls";
import { Agent, buildConnector } from "undici";
import { UserError } from "../util/errors.ts";
import { PveTlsPinError } from "./errors.ts";

export type PveTls = { ca?: string } | { fingerprint: string };

/** "aa:bb:…" / "AABB…" → "AA:BB:…" (32 bytes); throws UserError when it is not a SHA-256 fingerprint. */
export function normalizeFingerprint(fp: string): string {
  const hex = fp
    .trim()
    .replace(/^sha256[:=]\s*/i, "")
    .replace(/[:\s]/g, "")
    .toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new UserError(
      `"${fp}" is not a SHA-256 certificate fingerprint (32 hex bytes, e.g. AA:BB:…)`,
      "read it with `pvenode cert info` on the node (the pveproxy-ssl.pem or pve-ssl.pem entry)",
    );
  }
  return hex.match(/../g)!.join(":");
}

export interface AgentOptions {
  /** connect timeout, ms */
  connectTimeoutMs?: number;
}

export function createPveAgent(tls: PveTls | undefined, opts: AgentOptions = {}): Agent {
  const timeout = opts.connectTimeoutMs ?? 10_000;
  if (tls && "fingerprint" in tls) {
    const expected = normalizeFingerprint(tls.fingerprint);
    // no TLS session resumption: a resumed session carries no peer certificate to check
    const base = buildConnector({ rejectUnauthorized: false, timeout, maxCachedSessions: 0 });
    const connect: buildConnector.connector = (options, callback) => {
      if (options.protocol !== "https:") {
        callback(new UserError("a pinned fingerprint needs an https:// URL"), null);
        return;
      }
      base(options, (err, socket) => {
        if (err || !socket) {
          callback(err ?? new Error("connection failed"), null);
          return;
        }
        const peer = (socket as TLSSocket).getPeerCertificate?.();
        const actual =
          peer && typeof peer.fingerprint256 === "string" ? peer.fingerprint256.toUpperCase() : null;
        if (actual !== expected) {
          socket.destroy();
          callback(new PveTlsPinError(expected, actual, options.hostname), null);
          return;
        }
        callback(null, socket);
      });
    };
    return new Agent({ connect });
  }
  const ca = tls && "ca" in tls ? tls.ca : undefined;
  if (ca !== undefined && !/-----BEGIN CERTIFICATE-----/.test(ca)) {
    throw new UserError(
      "the CA given for the Proxmox VE API is not a PEM certificate",
      "use /etc/pve/pve-root-ca.pem from a cluster node",
    );
  }
  return new Agent({ connect: { rejectUnauthorized: true, timeout, ...(ca !== undefined ? { ca } : {}) } });
}
