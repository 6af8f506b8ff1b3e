/**
 * A small typed client for the Proxmox VE API (research/proxmox.md §1): API-token auth, TLS by CA or
 * pinned fingerprint, errors mapped to actionable UserErrors, task waiting, and the handful of
 * endpoints vgpuctl needs. Requests go through one undici Agent per client.
 */

import type { Dispatcher } from "undici";
import type { PciDevice } from "../facts/types.ts";
import { hideApiTokens } from "../redact/api-token.ts";
import { UserError } from "../util/errors.ts";
import {
  PveApiError,
  PveAuthError,
  PveConcurrentEditError,
  PveConnectionError,
  type PveErrorDetails,
  PvePermissionError,
  PveTaskError,
  PveTlsPinError,
} from "./errors.ts";
import {
  assertMappingId,
  formatMapEntry,
  normalizeMappings,
  type PciMappingSpec,
  type PveMapping,
} from "./mappings.ts";
import { normalizeMdevTypes, type PveMdevType } from "./mdev.ts";
import { createPveAgent, type PveTls } from "./tls.ts";
import { parseUpid } from "./upid.ts";

export interface PveToken {
  /** "root@pam" */
  user: string;
  /** "vgpuctl" */
  tokenId: string;
  secret: string;
}

export interface PveClientOptions {
  /** "https://pve1:8006" (a trailing "/api2/json" is accepted) */
  baseUrl: string;
  token: PveToken;
  /** CA (PEM) to verify against, or the node certificate's SHA-256 fingerprint; default: system CAs */
  tls?: PveTls;
  /** per-request timeout, ms (default 30 s) */
  timeoutMs?: number;
  /** for tests: a ready dispatcher (e.g. undici MockAgent) instead of the TLS agent */
  dispatcher?: Dispatcher;
  /** for tests: how waitForTask sleeps */
  sleep?: (ms: number) => Promise<void>;
}

export type PveParamValue = string | number | boolean | null | undefined | ReadonlyArray<string | number>;
export type PveParams = Record<string, PveParamValue>;

export interface PveEnvelope<T> {
  data: T;
  total?: number;
  errors?: Record<string, string>;
  message?: string;
}

export interface TaskStatus {
  upid: string;
  node: string;
  status: "running" | "stopped" | string;
  exitstatus?: string;
  type?: string;
  id?: string;
  user?: string;
  [key: string]: unknown;
}

export interface WaitForTaskOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** how many log lines to include when the task failed (default 20) */
  logLines?: number;
}

export interface PveNode {
  node: string;
  status?: string;
  [key: string]: unknown;
}

export interface VmConfig {
  /** config keys as returned (hostpci0, name, memory, …) without `digest` */
  config: Record<string, string | number>;
  /** SHA1 digest of the config file, to send back with the update */
  digest: string | null;
}

/** A PCI function as /nodes/{node}/hardware/pci lists it (the type lives with the facts: facts/types.ts). */
export type { PciDevice };

export interface PveClient {
  readonly baseUrl: string;
  request<T = unknown>(method: HttpMethod, path: string, params?: PveParams): Promise<PveEnvelope<T>>;
  get<T = unknown>(path: string, params?: PveParams): Promise<T>;
  post<T = unknown>(path: string, params?: PveParams): Promise<T>;
  put<T = unknown>(path: string, params?: PveParams): Promise<T>;
  delete<T = unknown>(path: string, params?: PveParams): Promise<T>;
  /** Poll a task until it stops; resolves on "OK"/"WARNINGS: n", throws PveTaskError (with the log tail) otherwise. */
  waitForTask(node: string, upid: string, opts?: WaitForTaskOptions): Promise<TaskStatus>;
  /** The last `lines` lines of a task log. */
  taskLogTail(node: string, upid: string, lines?: number): Promise<string[]>;
  listNodes(): Promise<PveNode[]>;
  getVmConfig(node: string, vmid: number): Promise<VmConfig>;
  /** PUT the config; `digest` from getVmConfig (null = no concurrency check). Throws PveConcurrentEditError on a digest mismatch. */
  setVmConfig(node: string, vmid: number, params: PveParams, digest: string | null): Promise<void>;
  /**
   * POST the config (the asynchronous API): when Proxmox VE answers with a task id (UPID) the task is
   * waited for, and a failed task throws PveTaskError with the last lines of its log. Resolves to the
   * task status, or null when PVE finished within its background delay and returned no task.
   */
  updateVmConfig(
    node: string,
    vmid: number,
    params: PveParams,
    digest: string | null,
    wait?: WaitForTaskOptions,
  ): Promise<TaskStatus | null>;
  listPciDevices(node: string): Promise<PciDevice[]>;
  /** mdev types of a PCI device ("0000:01:00.0") or of a mapping id, normalised over the three API dialects. */
  listPciMdevTypes(node: string, pciIdOrMapping: string): Promise<PveMdevType[]>;
  listPciMappings(checkNode?: string): Promise<PveMapping[]>;
  createPciMapping(spec: PciMappingSpec): Promise<void>;
  close(): Promise<void>;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

const USER_RE = /^[^\s@!:=]+@[^\s@!:=]+$/;
const TOKEN_ID_RE = /^[A-Za-z][A-Za-z0-9._-]*$/;
const PCI_ID_RE = /^(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9a-fA-F]$/;
/**
 * A digest mismatch: pve-common PVE::Tools::assert_if_modified ("detected modified configuration - file changed
 * by other user? Try again.", e.g. cluster mappings) and qemu-server Qemu.pm's VM config update
 * ("checksum mismatch (file change by other user?)").
 */
const CONCURRENT_RE =
  /detected modified configuration|file changed by other user|checksum mismatch \(file change by other user/i;

/** Roles that carry a privilege (pveum.adoc), for hints. */
const ROLE_FOR_PRIVILEGE: Record<string, string> = {
  "VM.Config.HWType": "PVEVMAdmin",
  "VM.Config.HW": "PVEVMAdmin",
  "VM.Config.Options": "PVEVMAdmin",
  "VM.PowerMgmt": "PVEVMUser",
  "VM.Audit": "PVEAuditor",
  "Sys.Audit": "PVEAuditor",
  "Sys.Modify": "PVESysAdmin",
  "Mapping.Use": "PVEMappingUser",
  "Mapping.Audit": "PVEMappingUser",
  "Mapping.Modify": "PVEMappingAdmin",
};

export function encodeParams(params: PveParams | undefined): URLSearchParams {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const item of v) out.append(k, String(item));
    else if (typeof v === "boolean") out.append(k, v ? "1" : "0");
    else out.append(k, String(v));
  }
  return out;
}

function seg(s: string | number): string {
  return encodeURIComponent(String(s));
}

/** "Permission check failed (/vms/100, VM.Config.HW)" → path + privileges */
export function parsePermissionMessage(msg: string): { aclPath: string | null; privileges: string[] } {
  const m = /Permission check failed\s*\(([^,)]+),\s*([^)]*)\)/i.exec(msg);
  if (!m) return { aclPath: null, privileges: [] };
  const privileges = m[2]!
    .split(/\s*(?:\||,|\bor\b|\band\b)\s*/)
    .map((p) => p.trim())
    .filter((p) => /^[A-Z][A-Za-z]*\.[A-Za-z.]+$/.test(p));
  return { aclPath: m[1]!.trim(), privileges };
}

/**
 * qemu-server `src/PVE/API2/Qemu.pm` `check_hostpci_perm` lets only root@pam set a hostpciN that names a PCI
 * address (`host`, the default key); everyone else needs `mapping=`. An API token's user is its token id
 * (`root@pam!vgpuctl`; pve-manager PVE/HTTPServer.pm), so over the API only mappings can be attached.
 * Refused here, before the request, instead of as a failed config task.
 */
function assertTokenMaySetHostpci(params: PveParams, tokenName: string): void {
  for (const [key, value] of Object.entries(params)) {
    if (!/^hostpci\d+$/.test(key) || typeof value !== "string") continue;
    const host = value
      .split(",")
      .map((p) => p.trim())
      .find((p) => p !== "" && (!p.includes("=") || p.startsWith("host=")));
    if (host === undefined) continue;
    throw new UserError(
      `Proxmox VE lets only root@pam itself set ${key} to a PCI address (${host.replace(/^host=/, "")}), not the API token ${tokenName}; nothing was changed`,
      "attach a cluster resource mapping instead (vgpuctl vm mapping create …, then --mapping ID), or attach on the node over ssh as root (--host ssh://root@NODE)",
    );
  }
}

/** What every request needs: where, who, how long, over which connection pool. */
interface PveConn {
  origin: string;
  prefix: string;
  tokenName: string;
  authorization: string;
  timeoutMs: number;
  dispatcher: Dispatcher;
  ownsDispatcher: boolean;
  sleep: (ms: number) => Promise<void>;
  /** Whatever the server said, without the token secret (a server may echo the request). */
  hide: (text: string) => string;
}

/** Check the token and URL (refusing anything but https) and set up the connection. */
function connectionOf(options: PveClientOptions): PveConn {
  const { token } = options;
  if (!USER_RE.test(token.user)) {
    throw new UserError(
      `invalid Proxmox VE user ${JSON.stringify(token.user)}`,
      "use user@realm, e.g. root@pam",
    );
  }
  if (!TOKEN_ID_RE.test(token.tokenId)) {
    throw new UserError(
      `invalid API token id ${JSON.stringify(token.tokenId)}`,
      "the part after '!' in user@realm!tokenid, e.g. vgpuctl",
    );
  }
  if (!token.secret || /\s/.test(token.secret))
    throw new UserError("the API token secret is empty or contains spaces");

  const given = options.baseUrl.includes("://") ? options.baseUrl : `https://${options.baseUrl}`;
  if (!URL.canParse(given))
    throw new UserError(
      `invalid Proxmox VE URL ${JSON.stringify(options.baseUrl)}`,
      "e.g. https://pve1:8006",
    );
  const base = new URL(given);
  if (base.protocol !== "https:") {
    throw new UserError(
      `refusing to send the API token over ${base.protocol}//`,
      "Proxmox VE serves its API over https on port 8006",
    );
  }
  if (!base.port && !options.baseUrl.match(/:\d+/)) base.port = "8006";
  const origin = base.origin;
  const prefix = `${base.pathname.replace(/\/+$/, "").replace(/\/api2\/json$/, "")}/api2/json`;
  const tokenName = `${token.user}!${token.tokenId}`;
  const authorization = `PVEAPIToken=${tokenName}=${token.secret}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const ownsDispatcher = !options.dispatcher;
  const dispatcher: Dispatcher =
    options.dispatcher ?? createPveAgent(options.tls, { connectTimeoutMs: Math.min(timeoutMs, 10_000) });
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const hide = (text: string) => hideApiTokens(text, [token.secret]);
  return { origin, prefix, tokenName, authorization, timeoutMs, dispatcher, ownsDispatcher, sleep, hide };
}

function connectionError(c: PveConn, err: unknown): Error {
  if (err instanceof PveTlsPinError || err instanceof UserError) return err;
  const e = err as { code?: string; message?: string; cause?: unknown };
  if (e?.cause instanceof PveTlsPinError) return e.cause;
  const code = e?.code ?? null;
  const msg = c.hide(e?.message ?? String(err));
  const where = c.origin;
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/.test(code)) {
    return new PveConnectionError(
      `TLS verification of ${where} failed (${code}); nothing was sent`,
      "give the cluster CA (/etc/pve/pve-root-ca.pem) or pin the node certificate's SHA-256 fingerprint from `pvenode cert info`",
      code,
    );
  }
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ENETUNREACH") {
    return new PveConnectionError(
      `cannot reach the Proxmox VE API at ${where} (${code})`,
      "check the host name and that pveproxy listens on port 8006",
      code,
    );
  }
  if (code && /TIMEOUT/.test(code)) {
    return new PveConnectionError(
      `the Proxmox VE API at ${where} did not answer in time (${code})`,
      undefined,
      code,
    );
  }
  return new PveConnectionError(`request to ${where} failed: ${msg}`, undefined, code);
}

function apiError(
  c: PveConn,
  method: string,
  path: string,
  status: number,
  statusText: string,
  body: unknown,
): PveApiError {
  const env = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const bodyMsg = typeof env.message === "string" ? c.hide(env.message.trim()) : "";
  const pveMessage = bodyMsg || c.hide(statusText.trim()) || null;
  const shown = (v: unknown) => c.hide(String(v).trim());
  const errors =
    typeof env.errors === "object" && env.errors !== null && !Array.isArray(env.errors)
      ? Object.fromEntries(
          Object.entries(env.errors as Record<string, unknown>).map(([k, v]) => [c.hide(k), shown(v)]),
        )
      : Array.isArray(env.errors)
        ? Object.fromEntries((env.errors as unknown[]).map((v, i) => [String(i), shown(v)]))
        : null;
  const details: PveErrorDetails = { status, method, path, pveMessage, errors };
  const said = pveMessage ? `: ${pveMessage}` : "";
  const allText = [pveMessage ?? "", ...Object.values(errors ?? {})].join("\n");

  if (status === 401) {
    return new PveAuthError(
      `Proxmox VE rejected the API token ${c.tokenName} (401${said})`,
      details,
      "check the token id and secret (Datacenter → Permissions → API Tokens); the secret is shown only once, an expired or deleted token needs a new one",
    );
  }
  if (status === 403) {
    const { aclPath, privileges } = parsePermissionMessage(pveMessage ?? "");
    const privText = privileges.length > 0 ? privileges.join(" or ") : "a privilege";
    const role = privileges.map((p) => ROLE_FOR_PRIVILEGE[p]).find(Boolean);
    return new PvePermissionError(
      aclPath
        ? `permission denied: token ${c.tokenName} lacks ${privText} on ${aclPath} (needed for ${method} ${path})`
        : `permission denied for ${method} ${path}${said}`,
      details,
      aclPath,
      privileges,
      aclPath
        ? `grant it, e.g. pveum acl modify ${aclPath} --tokens '${c.tokenName}' --roles ${role ?? `<a role with ${privText}>`}; a privilege-separated token needs the ACL on the token itself`
        : "check the token's ACLs (Datacenter → Permissions)",
    );
  }
  if (CONCURRENT_RE.test(allText)) {
    return new PveConcurrentEditError(
      `the configuration behind ${method} ${path} was changed by someone else after it was read (digest mismatch); nothing was changed`,
      details,
      "read it again and re-apply",
    );
  }
  if (status === 400 && errors) {
    const list = Object.entries(errors)
      .map(([k, v]) => `${k}: ${v}`)
      .join("; ");
    return new PveApiError(`Proxmox VE rejected the parameters of ${method} ${path}: ${list}`, details);
  }
  if (status === 501) {
    return new PveApiError(
      `${method} ${path} is not available on this Proxmox VE version${said}`,
      details,
      "upgrade Proxmox VE or use the older interface",
    );
  }
  if (status === 595) {
    return new PveApiError(
      `Proxmox VE could not reach the node for ${method} ${path}${said}`,
      details,
      "check that the node is online in the cluster",
    );
  }
  return new PveApiError(`Proxmox VE ${method} ${path} failed (${status}${said})`, details);
}

async function request<T>(
  c: PveConn,
  method: HttpMethod,
  path: string,
  params?: PveParams,
): Promise<PveEnvelope<T>> {
  if (!path.startsWith("/")) throw new Error(`API path must start with '/': ${path}`);
  const encoded = encodeParams(params);
  const query = (method === "GET" || method === "DELETE") && encoded.size > 0 ? `?${encoded}` : "";
  const hasBody = (method === "POST" || method === "PUT") && encoded.size > 0;
  const headers: Record<string, string> = { authorization: c.authorization, accept: "application/json" };
  if (hasBody) headers["content-type"] = "application/x-www-form-urlencoded";
  let res: Dispatcher.ResponseData;
  try {
    res = await c.dispatcher.request({
      origin: c.origin,
      path: `${c.prefix}${path}${query}`,
      method,
      headers,
      body: hasBody ? encoded.toString() : undefined,
      headersTimeout: c.timeoutMs,
      bodyTimeout: c.timeoutMs,
    });
  } catch (e) {
    throw connectionError(c, e);
  }
  const text = await res.body.text();
  let body: unknown = null;
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch (e) {
      // not JSON (a proxy's HTML error page, a cut answer): the status decides below, and a 2xx
      // without a JSON envelope is refused as "not a Proxmox VE JSON response"
      if (!(e instanceof SyntaxError)) throw e;
    }
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw apiError(c, method, path, res.statusCode, res.statusText ?? "", body);
  }
  if (typeof body !== "object" || body === null || !("data" in body)) {
    throw new PveApiError(`unexpected answer to ${method} ${path}: not a Proxmox VE JSON response`, {
      status: res.statusCode,
      method,
      path,
      pveMessage: null,
      errors: null,
    });
  }
  return body as PveEnvelope<T>;
}

/** The `data` of an answer. */
async function dataOf<T>(c: PveConn, method: HttpMethod, path: string, params?: PveParams): Promise<T> {
  return (await request<T>(c, method, path, params)).data;
}

async function taskLogTail(c: PveConn, node: string, upid: string, lines = 20): Promise<string[]> {
  const path = `/nodes/${seg(node)}/tasks/${seg(upid)}/log`;
  const first = await request<Array<{ n: number; t: string }>>(c, "GET", path, { start: 0, limit: 500 });
  let entries = Array.isArray(first.data) ? first.data : [];
  const total = typeof first.total === "number" ? first.total : entries.length;
  if (total > entries.length) {
    const last = await request<Array<{ n: number; t: string }>>(c, "GET", path, {
      start: Math.max(0, total - lines),
      limit: lines,
    });
    entries = Array.isArray(last.data) ? last.data : entries;
  }
  return entries
    .map((e) => (typeof e?.t === "string" ? c.hide(e.t) : ""))
    .filter((t) => t !== "no content")
    .slice(-lines);
}

async function waitForTask(
  c: PveConn,
  node: string,
  upid: string,
  opts: WaitForTaskOptions = {},
): Promise<TaskStatus> {
  const parsed = parseUpid(upid);
  if (!parsed) throw new UserError(`not a Proxmox VE task id: ${JSON.stringify(upid)}`);
  const interval = opts.intervalMs ?? 1000;
  const timeout = opts.timeoutMs ?? 10 * 60_000;
  const started = Date.now();
  const what = `task ${parsed.type}${parsed.id ? ` ${parsed.id}` : ""} on ${node}`;
  for (;;) {
    const st = await dataOf<TaskStatus>(c, "GET", `/nodes/${seg(node)}/tasks/${seg(upid)}/status`);
    if (st && st.status === "stopped") {
      const exit = typeof st.exitstatus === "string" ? c.hide(st.exitstatus) : null;
      if (exit === "OK" || (exit !== null && /^WARNINGS: \d+$/.test(exit))) return st;
      let tail: string[] = [];
      let noLog = "";
      try {
        tail = await taskLogTail(c, node, upid, opts.logLines ?? 20);
      } catch (e) {
        // the log only adds to the task's failure reported below: an API answer (403 — another
        // user's task log needs Sys.Audit on /nodes/<node>, pve-manager API2/Tasks.pm read_task_log —
        // or a 5xx) or a lost connection is named there; a bug propagates
        if (!(e instanceof UserError)) throw e;
        noLog = ` (its log could not be read: ${e.message})`;
      }
      if (exit && CONCURRENT_RE.test(exit)) {
        throw new PveConcurrentEditError(
          `${what} failed: the configuration was changed by someone else after it was read (${exit})`,
          { status: 500, method: "TASK", path: upid, pveMessage: exit, errors: null },
          "read it again and re-apply",
        );
      }
      const logText = tail.length > 0 ? `\n${tail.map((l) => `  | ${l}`).join("\n")}` : "";
      throw new PveTaskError(
        `${what} failed: ${exit ?? "unknown exit status"}${noLog}${logText}`,
        upid,
        exit,
        tail,
        `full log: Datacenter → Tasks in the UI, or pvenode task log ${upid}`,
      );
    }
    if (Date.now() - started + interval > timeout) {
      throw new PveTaskError(
        `${what} still running after ${Math.round(timeout / 1000)} s`,
        upid,
        null,
        [],
        `it keeps running on the node; follow it with pvenode task status ${upid}`,
      );
    }
    await c.sleep(interval);
  }
}

async function getVmConfig(c: PveConn, node: string, vmid: number): Promise<VmConfig> {
  const data = await dataOf<Record<string, string | number> | null>(
    c,
    "GET",
    `/nodes/${seg(node)}/qemu/${seg(vmid)}/config`,
  );
  const config: Record<string, string | number> = { ...(data ?? {}) };
  const digest = typeof config.digest === "string" ? config.digest : null;
  delete config.digest;
  return { config, digest };
}

async function setVmConfig(
  c: PveConn,
  node: string,
  vmid: number,
  params: PveParams,
  digest: string | null,
): Promise<void> {
  const path = `/nodes/${seg(node)}/qemu/${seg(vmid)}/config`;
  assertTokenMaySetHostpci(params, c.tokenName);
  try {
    await dataOf<null>(c, "PUT", path, { ...params, ...(digest ? { digest } : {}) });
  } catch (e) {
    if (e instanceof PveConcurrentEditError) throw concurrentEdit(e, node, vmid);
    throw e;
  }
}

function concurrentEdit(e: PveConcurrentEditError, node: string, vmid: number): PveConcurrentEditError {
  return new PveConcurrentEditError(
    `VM ${vmid} on ${node} was changed by someone else after vgpuctl read its configuration; nothing was changed`,
    { status: e.status, method: e.method, path: e.path, pveMessage: e.pveMessage, errors: e.errors },
    "run the command again to re-read the configuration",
  );
}

async function updateVmConfig(
  c: PveConn,
  node: string,
  vmid: number,
  params: PveParams,
  digest: string | null,
  wait?: WaitForTaskOptions,
): Promise<TaskStatus | null> {
  const path = `/nodes/${seg(node)}/qemu/${seg(vmid)}/config`;
  assertTokenMaySetHostpci(params, c.tokenName);
  let upid: unknown;
  try {
    upid = await dataOf<unknown>(c, "POST", path, { ...params, ...(digest ? { digest } : {}) });
  } catch (e) {
    if (e instanceof PveConcurrentEditError) throw concurrentEdit(e, node, vmid);
    throw e;
  }
  if (typeof upid !== "string" || upid === "") return null;
  const taskNode = parseUpid(upid)?.node ?? node;
  try {
    return await waitForTask(c, taskNode, upid, wait);
  } catch (e) {
    if (e instanceof PveConcurrentEditError) throw concurrentEdit(e, node, vmid);
    throw e;
  }
}

async function listPciMdevTypes(c: PveConn, node: string, pciIdOrMapping: string): Promise<PveMdevType[]> {
  const isPci = PCI_ID_RE.test(pciIdOrMapping);
  try {
    return normalizeMdevTypes(
      await dataOf<unknown>(c, "GET", `/nodes/${seg(node)}/hardware/pci/${seg(pciIdOrMapping)}/mdev`),
    );
  } catch (e) {
    if (!isPci && e instanceof PveApiError && e.status === 400) {
      throw new PveApiError(
        `${node} does not accept a mapping id (${pciIdOrMapping}) when listing mdev types`,
        { status: e.status, method: e.method, path: e.path, pveMessage: e.pveMessage, errors: e.errors },
        "mapping ids need pve-manager 8.2.9 or newer; list the types of a PCI address (e.g. 0000:01:00.0) instead",
      );
    }
    throw e;
  }
}

export function createPveClient(options: PveClientOptions): PveClient {
  const c = connectionOf(options);
  const get = <T>(path: string, params?: PveParams) => dataOf<T>(c, "GET", path, params);
  const post = <T>(path: string, params?: PveParams) => dataOf<T>(c, "POST", path, params);
  return {
    baseUrl: `${c.origin}${c.prefix}`,
    request: (method, path, params) => request(c, method, path, params),
    get,
    post,
    put: (path, params) => dataOf(c, "PUT", path, params),
    delete: (path, params) => dataOf(c, "DELETE", path, params),
    waitForTask: (node, upid, opts) => waitForTask(c, node, upid, opts),
    taskLogTail: (node, upid, lines) => taskLogTail(c, node, upid, lines),
    listNodes: () => get<PveNode[]>("/nodes").then((d) => (Array.isArray(d) ? d : [])),
    getVmConfig: (node, vmid) => getVmConfig(c, node, vmid),
    setVmConfig: (node, vmid, params, digest) => setVmConfig(c, node, vmid, params, digest),
    updateVmConfig: (node, vmid, params, digest, wait) => updateVmConfig(c, node, vmid, params, digest, wait),
    listPciDevices: (node) =>
      get<PciDevice[]>(`/nodes/${seg(node)}/hardware/pci`, { "pci-class-blacklist": "" }).then((d) =>
        Array.isArray(d) ? d : [],
      ),
    listPciMdevTypes: (node, id) => listPciMdevTypes(c, node, id),
    listPciMappings: async (checkNode) =>
      normalizeMappings(
        await get<unknown>("/cluster/mapping/pci", checkNode ? { "check-node": checkNode } : undefined),
      ),
    createPciMapping: async (spec) => {
      assertMappingId(spec.id);
      if (spec.entries.length === 0) throw new UserError(`mapping ${spec.id} needs at least one device`);
      await post<null>("/cluster/mapping/pci", {
        id: spec.id,
        map: spec.entries.map(formatMapEntry),
        mdev: spec.mdev,
        description: spec.description,
        "live-migration-capable": spec.liveMigrationCapable,
      });
    },
    close: async () => {
      if (c.ownsDispatcher) await c.dispatcher.close();
    },
  };
}
