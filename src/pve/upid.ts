/**
 * Proxmox task ids: `UPID:<node>:<pid 8 hex>:<pstart 8-9 hex>:<starttime 8 hex>:<type>:<id>:<user>:`
 * (pve-common src/PVE/UPID.pm; research/proxmox.md §1f). `user` may be a token id `user@realm!token`.
 */

export interface Upid {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  /** task start, seconds since the epoch */
  starttime: number;
  /** worker type, e.g. "qmstart", "qmconfig" */
  type: string;
  /** worker id (often the VMID), may be "" */
  id: string;
  /** "root@pam" or, for tokens, "root@pam!vgpuctl" */
  user: string;
  /** the token name when `user` is a token id */
  tokenid: string | null;
}

const UPID_RE =
  /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

/** Parse a UPID; null when it is not one. */
export function parseUpid(upid: string): Upid | null {
  if (typeof upid !== "string") return null;
  const m = UPID_RE.exec(upid.trim());
  if (!m) return null;
  const user = m[7]!;
  const bang = user.indexOf("!");
  return {
    upid: upid.trim(),
    node: m[1]!,
    pid: Number.parseInt(m[2]!, 16),
    pstart: Number.parseInt(m[3]!, 16),
    starttime: Number.parseInt(m[4]!, 16),
    type: m[5]!,
    id: m[6]!,
    user,
    tokenid: bang >= 0 ? user.slice(bang + 1) : null,
  };
}

export function isUpid(value: unknown): value is string {
  return typeof value === "string" && parseUpid(value) !== null;
}
