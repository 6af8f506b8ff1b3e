/**
 * A fake Proxmox VE API on 127.0.0.1 over HTTPS with a self-signed certificate made by `openssl req -x509`
 * at test time. Routes answer with the documented response shapes (see test/fixtures/pve/SOURCES.md).
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

export class FakePve {
  readonly requests: Recorded[] = [];
  tlsConnections = 0;
  tcpConnections = 0;
  private readonly routes = new Map<string, Handler>();
  private server: Server | null = null;

  constructor(private readonly cert: Cert) {}

  /** `on("GET /api2/json/version", …)`; path matched without the query string */
  on(route: string, handler: Handler | Reply): this {
    this.routes.set(route, typeof handler === "function" ? handler : () => handler);
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
        const path = rec.url.split("?")[0]!;
        const handler = this.routes.get(`${rec.method} ${decodeURIComponent(path)}`);
        const reply: Reply = handler
          ? handler(rec)
          : { status: 501, reason: `Method '${rec.method} ${path}' not implemented` };
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

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(import.meta.dirname, "..", "fixtures", "pve", name), "utf8"));
}
