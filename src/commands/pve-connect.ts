/**
 * Opening the Proxmox VE API client from CLI options (shared by `vm attach --api` and `vm mapping`):
 * the token file and CA file are read here, and a missing file is a clear error before anything is sent.
 */
import { readFile } from "node:fs/promises";
import { createPveClient, type PveClient, type PveToken } from "../pve/index.ts";
import { UserError } from "../util/errors.ts";

export interface PveConnectOptions {
  api: string;
  tokenFile: string;
  fingerprint?: string;
  /** PEM file of the cluster CA */
  caFile?: string;
}

export interface PveDeps {
  client?: PveClient;
  readLocalFile?: (p: string) => Promise<string>;
}

export async function connectPve(o: PveConnectOptions, deps: PveDeps): Promise<PveClient> {
  if (deps.client) return deps.client;
  if (o.fingerprint !== undefined && o.caFile !== undefined)
    throw new UserError(
      "give either --fingerprint or --ca, not both",
      "--ca verifies against the cluster CA; --fingerprint pins one node's certificate",
    );
  const readFileOf = deps.readLocalFile ?? ((p: string) => readFile(p, "utf8"));
  const readLocal = async (p: string, what: string): Promise<string> => {
    try {
      return await readFileOf(p);
    } catch (e) {
      // a file the system cannot give (ENOENT, EACCES, EISDIR, …); anything else is a bug
      const code = (e as { code?: string })?.code;
      if (typeof code !== "string") throw e;
      throw new UserError(
        `cannot read the ${what} ${p} (${code}); nothing was sent`,
        what === "token file"
          ? "create it with one line user@realm!tokenid=secret (pveum user token add root@pam vgpuctl), readable only by you"
          : "copy /etc/pve/pve-root-ca.pem from a cluster node, or pin the certificate with --fingerprint",
      );
    }
  };
  return createPveClient({
    baseUrl: o.api,
    token: parseTokenFile(await readLocal(o.tokenFile, "token file")),
    tls: o.fingerprint
      ? { fingerprint: o.fingerprint }
      : o.caFile
        ? { ca: await readLocal(o.caFile, "CA file") }
        : undefined,
  });
}

/** `user@realm!tokenid=secret` (the form `pveum user token add` prints as full-tokenid + value). */
export function parseTokenFile(text: string): PveToken {
  const line = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l !== "" && !l.startsWith("#"));
  const m = line ? /^([^\s!=]+@[^\s!=]+)!([^\s=]+)=(\S+)$/.exec(line) : null;
  if (!m) {
    throw new UserError(
      "the token file must hold one line user@realm!tokenid=secret",
      "e.g. root@pam!vgpuctl=01234567-89ab-cdef-0123-456789abcdef (pveum user token add root@pam vgpuctl)",
    );
  }
  return { user: m[1]!, tokenId: m[2]!, secret: m[3]! };
}
