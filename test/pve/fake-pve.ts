/**
 * A fake Proxmox VE API on 127.0.0.1 over HTTPS with a self-signed certificate made by `openssl req -x509`
 * at test time. Routes answer with the documented response shapes (see test/fixtures/pve/SOURCES.md).
 *
 * Every request is first checked against the parameter schema Proxmox publishes (test/pve/pve-schema.ts over
 * test/fixtures/pve/api-schema.json): an endpoint vgpuctl does not know answers 501, a parameter PVE would
 * refuse answers 400 "Parameter verification failed." with the per-parameter `errors`, and qemu-server's
 * `hostpciN` permission rule for API tokens answers 500 — before any route handler runs. What was refused
 * is kept in `rejected`, so a test can assert that vgpuctl sent nothing a real cluster refuses.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ApiSchema,
  decodeUrlencoded,
  type Errors,
  loadApiSchema,
  type Params,
  SchemaValidator,
} from "./pve-schema.ts";

export interface Cert {
  key: string;
  cert: string;
  fingerprint256: string;
}

export function makeCert(dir: string, name: string): Cert {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      crt,
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { stdio: "ignore" },
  );
  const cert = readFileSync(crt, "utf8");
  return { key: readFileSync(key, "utf8"), cert, fingerprint256: new X509Certificate(cert).fingerprint256 };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "vgpuctl-pve-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface Reply {
  status?: number;
  reason?: string;
  json?: unknown;
}

export type Handler = (req: Recorded) => Reply;

/** A request the double refused the way Proxmox VE would (400 parameters, 500 qemu-server rule, 501 route). */
export interface Rejected {
  method: string;
  path: string;
  /** HTTP status, or "task" when PVE accepts the request and its worker task fails */
  status: number | "task";
  message: string;
  errors: Errors | null;
}

let sharedSchema: ApiSchema | null = null;

function sharedApiSchema(): ApiSchema {
  if (!sharedSchema) sharedSchema = loadApiSchema();
  return sharedSchema;
}

export class FakePve {
  readonly requests: Recorded[] = [];
  readonly rejected: Rejected[] = [];
  tlsConnections = 0;
  tcpConnections = 0;
  private readonly routes = new Map<string, Handler>();
  /** fixed 401/403 answers: authentication and permission checks come before parameter verification */
  private readonly denials = new Map<string, Reply>();
  private server: Server | null = null;
  private readonly validator: SchemaValidator;

  constructor(
    private readonly cert: Cert,
    schema: ApiSchema = sharedApiSchema(),
  ) {
    this.validator = new SchemaValidator(schema);
  }

  /** `on("GET /api2/json/version", …)`; path matched without the query string */
  on(route: string, handler: Handler | Reply): this {
    this.routes.set(route, typeof handler === "function" ? handler : () => handler);
    if (typeof handler !== "function" && (handler.status === 401 || handler.status === 403))
      this.denials.set(route, handler);
    else this.denials.delete(route);
    return this;
  }

  async start(): Promise<string> {
    this.server = createServer({ key: this.cert.key, cert: this.cert.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const rec: Recorded = {
          method: req.method ?? "",
          url: req.url ?? "",
          authorization: req.headers.authorization,
          contentType: req.headers["content-type"],
          body: Buffer.concat(chunks).toString("utf8"),
        };
        this.requests.push(rec);
        const reply = this.answer(rec);
        const status = reply.status ?? 200;
        const body = reply.json === undefined ? "" : JSON.stringify(reply.json);
        res.writeHead(status, reply.reason ?? (status === 200 ? "OK" : "Error"), {
          "content-type": "application/json;charset=UTF-8",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      });
    });
    this.server.on("connection", () => {
      this.tcpConnections++;
    });
    this.server.on("secureConnection", () => {
      this.tlsConnections++;
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The API server's order: authentication and permissions (a fixed 401/403 reply), route, parameters, handler. */
  private answer(rec: Recorded): Reply {
    const [rawPath, query = ""] = rec.url.split("?") as [string, string?];
    const path = decodeURIComponent(rawPath);
    const handler = this.routes.get(`${rec.method} ${path}`);
    const refusal = this.refusal(rec, path.replace(/^\/api2\/json/, ""), query);
    if (!refusal)
      return handler ? handler(rec) : { status: 501, reason: `no handler for ${rec.method} ${path}` };
    const denial = this.denials.get(`${rec.method} ${path}`);
    if (denial) return denial;
    this.rejected.push({ method: rec.method, path, ...refusal });
    if (refusal.status === "task") return { json: { data: this.failedTask(rec, path, refusal.message) } };
    return {
      status: refusal.status,
      reason: refusal.message,
      json: {
        data: null,
        ...(refusal.errors ? { errors: refusal.errors } : {}),
        message: `${refusal.message}\n`,
      },
    };
  }

  /** Why Proxmox VE would refuse this request, or null. */
  private refusal(rec: Recorded, relPath: string, query: string): Omit<Rejected, "method" | "path"> | null {
    const route = this.validator.route(rec.method, relPath);
    if (!route)
      return { status: 501, message: `Method '${rec.method} ${relPath}' not implemented`, errors: null };
    // pve-manager PVE/HTTPServer.pm rest_handler: raise_perm_exc for an endpoint without `allowtoken` (first line)
    if (
      rec.authorization?.startsWith("PVEAPIToken=") &&
      !this.validator.schema.endpoints[route.key]?.allowtoken
    )
      return {
        status: 403,
        message: `Permission check failed (URI '${relPath}' not available with API token, need proper ticket.`,
        errors: null,
      };
    const params: Params = { ...requestBody(rec), ...decodeUrlencoded(query) };
    let errors: Errors;
    try {
      errors = this.validator.validate(route.key, route.uriParams, params);
    } catch (e) {
      return { status: 500, message: (e as Error).message, errors: null };
    }
    if (Object.keys(errors).length > 0)
      return { status: 400, message: "Parameter verification failed.", errors };
    const denied = route.key.endsWith("/qemu/{vmid}/config") ? hostpciTokenRule(rec, params) : null;
    if (!denied) return null;
    // PUT runs the update in the request (an error answer), POST in a qmconfig worker (a failed task)
    return { status: rec.method === "POST" ? "task" : 500, message: denied, errors: null };
  }

  /** A qmconfig task that failed with `message`: its UPID, with status and log routes to poll. */
  private failedTask(rec: Recorded, path: string, message: string): string {
    const [, node = "pve", vmid = "0"] = /\/nodes\/([^/]+)\/qemu\/(\d+)\//.exec(path) ?? [];
    const user = /^PVEAPIToken=([^=]+)=/.exec(rec.authorization ?? "")?.[1] ?? "root@pam";
    const n = this.rejected.length.toString(16).padStart(8, "0");
    // UPID layout: pve-common src/PVE/UPID.pm (node:pid:pstart:starttime:type:id:user:)
    const upid = `UPID:${node}:${n}:0000F00D:6650B2C3:qmconfig:${vmid}:${user}:`;
    const base = `/api2/json/nodes/${node}/tasks/${upid}`;
    this.on(`GET ${base}/status`, {
      json: {
        data: { upid, node, status: "stopped", exitstatus: message, type: "qmconfig", id: vmid, user },
      },
    });
    this.on(`GET ${base}/log`, {
      json: { data: [{ n: 1, t: `TASK ERROR: ${message}` }], total: 1 },
    });
    return upid;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** extract_params: a form (or JSON) body for POST/PUT */
function requestBody(rec: Recorded): Params {
  if (rec.method !== "POST" && rec.method !== "PUT") return {};
  if (/^application\/json/.test(rec.contentType ?? "")) return JSON.parse(rec.body) as Params;
  return decodeUrlencoded(rec.body);
}

/**
 * qemu-server `src/PVE/API2/Qemu.pm` `check_hostpci_perm`, run for every hostpciN of a config update by a
 * user other than root@pam — and an API token's user is its token id (`root@pam!vgpuctl`, pve-manager
 * PVE/HTTPServer.pm: "the token-ID … is the user for token based authentication"). So over a token only
 * `mapping=` passes; a raw PCI address is root@pam's alone. Messages are the Perl die texts.
 */
function hostpciTokenRule(rec: Recorded, params: Params): string | null {
  if (!rec.authorization?.startsWith("PVEAPIToken=")) return null;
  for (const [key, value] of Object.entries(params)) {
    if (!/^hostpci\d+$/.test(key) || typeof value !== "string") continue;
    const parts = value.split(",").filter((p) => p.trim() !== "");
    const host = parts.some((p) => !p.includes("=") || p.startsWith("host="));
    const mapping = parts.some((p) => p.startsWith("mapping="));
    if (host) return `only root can set '${key}' config for non-mapped devices`;
    if (!mapping) return "either 'host' or 'mapping' must be set.";
  }
  return null;
}

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(import.meta.dirname, "..", "fixtures", "pve", name), "utf8"));
}
