import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** One usable line of an OpenSSH known_hosts file. */
export interface KnownHostEntry {
  marker: "cert-authority" | "revoked" | null;
  /** The host field as written: comma-separated patterns, or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  /** The key blob (SSH wire format), decoded from base64. */
  key: Buffer;
  line: number;
}

/** Parse known_hosts text. Pure; malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry["marker"] = null;
    if (fields[0]?.startsWith("@")) {
      const m = fields.shift()!;
      if (m === "@cert-authority") marker = "cert-authority";
      else if (m === "@revoked") marker = "revoked";
      else return;
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    out.push({ marker, hosts, keyType, key: Buffer.from(b64, "base64"), line: i + 1 });
  });
  return out;
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(hostname: string, port: number): string {
  return port === 22 ? hostname : `[${hostname}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`,
    "i",
  );
  return re.test(name);
}

/** Does the host field of an entry name this host (`hostname`, port)? */
export function hostFieldMatches(hosts: string, hostname: string, port: number): boolean {
  const name = knownHostsName(hostname, port);
  if (hosts.startsWith("|1|")) {
    const [, , salt, hash] = hosts.split("|");
    if (!salt || !hash) return false;
    const want = Buffer.from(hash, "base64");
    const got = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest();
    return want.length === got.length && timingSafeEqual(want, got);
  }
  let matched = false;
  for (const pat of hosts.split(",")) {
    if (!pat) continue;
    const negated = pat.startsWith("!");
    const p = negated ? pat.slice(1) : pat;
    // a plain pattern (no [..]:port) only names port 22, exactly like OpenSSH
    if (wildcardMatch(p, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

export type HostKeyVerdict =
  | { kind: "known"; entry: KnownHostEntry }
  | { kind: "unknown" }
  | { kind: "revoked"; entry: KnownHostEntry }
  | { kind: "changed"; entries: KnownHostEntry[] };

/** The SSH key type (first string of the wire blob), e.g. "ssh-ed25519". */
export function keyBlobType(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const n = blob.readUInt32BE(0);
  if (n <= 0 || n > 64 || blob.length < 4 + n) return null;
  return blob.subarray(4, 4 + n).toString("latin1");
}

/**
 * Check the key a server offered against known_hosts entries (plain, `[host]:port` and hashed).
 * "changed" = this host is known with a key of the same type that differs (possible MITM).
 */
export function verifyHostKey(
  entries: KnownHostEntry[],
  hostname: string,
  port: number,
  offered: Buffer,
): HostKeyVerdict {
  const mine = entries.filter(
    (e) => e.marker !== "cert-authority" && hostFieldMatches(e.hosts, hostname, port),
  );
  const revoked = mine.find((e) => e.marker === "revoked" && e.key.equals(offered));
  if (revoked) return { kind: "revoked", entry: revoked };
  const known = mine.find((e) => e.marker === null && e.key.equals(offered));
  if (known) return { kind: "known", entry: known };
  const type = keyBlobType(offered);
  const sameType = mine.filter((e) => e.marker === null && keyBlobType(e.key) === type);
  if (sameType.length > 0) return { kind: "changed", entries: sameType };
  return { kind: "unknown" };
}

/** Host key algorithms ssh2 should ask for, so a known key's type is negotiated first. */
export function preferredHostKeyAlgorithms(
  entries: KnownHostEntry[],
  hostname: string,
  port: number,
): string[] {
  const types = new Set(
    entries
      .filter((e) => e.marker === null && hostFieldMatches(e.hosts, hostname, port))
      .map((e) => keyBlobType(e.key))
      .filter((t): t is string => t !== null),
  );
  const algs: string[] = [];
  for (const t of types) {
    if (t === "ssh-rsa") algs.push("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa");
    else algs.push(t);
  }
  return algs;
}

/** OpenSSH-style fingerprint: `SHA256:` + unpadded base64 of the key blob's SHA-256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}
