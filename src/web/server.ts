/**
 * The dashboard server: a hono app that reads every host once (the same capture → Facts → inspect
 * report + doctor findings as `vgpuctl inspect` / `vgpuctl doctor`), caches the result, and serves it
 * with the UI. Read-only: it only ever calls Host.capture; nothing is written to a host.
 *
 *   GET  /              the UI (index.html), GET /assets/* its scripts and styles
 *   GET  /api/hosts     cached DashboardPayload (gathered on first request)
 *   POST /api/refresh   gather every host again, return the new payload
 *   GET  /healthz       "ok"
 */
import { Hono } from "hono";
import { buildDoctorReport } from "../commands/doctor.ts";
import { runInspect } from "../commands/inspect.ts";
import type { Host } from "../hosts/host.ts";
import { Redactor } from "../redact/index.ts";
import { NotCapturedError, UserError } from "../util/errors.ts";
import type { DashboardHost, DashboardPayload } from "./api.ts";
import type { UiAssets } from "./assets.ts";

export interface DashboardAppOptions {
  /** --host specs, shown in this order */
  hosts: string[];
  /** opens one host (the CLI passes its ctx.openHost); the dashboard closes it after reading */
  openHost: (spec: string) => Promise<Host>;
  /** the built UI; a function is called once, on the first page request (on-demand build from sources) */
  assets?: UiAssets | (() => Promise<UiAssets>);
  /**
   * Host header names the server answers to (DNS-rebinding protection). Default: loopback names only.
   * `null` accepts any (the CLI uses it for `--listen 0.0.0.0`).
   */
  allowedHostnames?: string[] | null;
  now?: () => Date;
}

export const LOOPBACK_HOSTNAMES = ["127.0.0.1", "localhost", "[::1]", "::1"];

const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/**
 * Read one host: one capture → inspect report + doctor findings. Never throws: a host that cannot be
 * read (or closed) is shown as failed with the reason — a bug as an "internal error", never as a finding.
 */
export async function gatherHost(
  spec: string,
  openHost: (spec: string) => Promise<Host>,
  now: () => Date = () => new Date(),
): Promise<DashboardHost> {
  let host: Host | null = null;
  let result: DashboardHost;
  try {
    host = await openHost(spec);
    const { report, facts } = await runInspect({}, { host });
    const doctor = buildDoctorReport(facts);
    result = {
      spec,
      ok: true,
      inspect: report,
      doctor: { findings: doctor.findings, notes: doctor.notes },
      gatheredAt: now().toISOString(),
    };
  } catch (e) {
    result = failedHost(spec, e, now);
  }
  try {
    await host?.close();
  } catch (e) {
    // after a failed read, that failure is the one to show; after a good one the host was not left cleanly
    if (result.ok) result = failedHost(spec, e, now, "closing the connection failed: ");
  }
  return result;
}

function failedHost(spec: string, e: unknown, now: () => Date, what = ""): DashboardHost {
  const known = e instanceof UserError || e instanceof NotCapturedError;
  const message = e instanceof Error ? e.message : String(e);
  return {
    spec,
    ok: false,
    error: `${what}${known ? "" : "internal error (please report it): "}${message}`,
    hint: e instanceof UserError ? (e.hint ?? null) : null,
    gatheredAt: now().toISOString(),
  };
}

/** Every string of `value` through one Redactor (tokens, passwords, keys, MACs, serials, public IPs). */
export function redactDeep<T>(value: T, r: Redactor = new Redactor()): T {
  if (typeof value === "string") return r.redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, r)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, r);
    return out as T;
  }
  return value;
}

function originHost(origin: string): string | null {
  // "null" (sandboxed frames, file://) is never same-origin
  return URL.canParse(origin) ? new URL(origin).host : null;
}

export function createDashboardApp(opts: DashboardAppOptions): Hono {
  const now = opts.now ?? (() => new Date());
  const allowed =
    opts.allowedHostnames === null
      ? null
      : new Set((opts.allowedHostnames ?? LOOPBACK_HOSTNAMES).map((h) => h.toLowerCase()));
  let cached: Promise<DashboardPayload> | null = null;
  let inFlight: Promise<DashboardPayload> | null = null;

  const gatherAll = (): Promise<DashboardPayload> => {
    if (inFlight) return inFlight;
    const p = Promise.all(opts.hosts.map((spec) => gatherHost(spec, opts.openHost, now))).then(
      (hosts): DashboardPayload =>
        redactDeep({
          format: "vgpuctl-dashboard/1",
          readOnly: true,
          generatedAt: now().toISOString(),
          hosts,
        }),
    );
    inFlight = p;
    void p.finally(() => {
      if (inFlight === p) inFlight = null;
    });
    cached = p;
    return p;
  };

  let assetsPromise: Promise<UiAssets> | null = null;
  const loadAssets = (): Promise<UiAssets> => {
    if (!opts.assets) return Promise.reject(new Error("this server was started without the UI"));
    if (!assetsPromise) {
      const a = opts.assets;
      assetsPromise = typeof a === "function" ? a() : Promise.resolve(a);
      assetsPromise.catch(() => {
        assetsPromise = null; // let a later request retry
      });
    }
    return assetsPromise;
  };

  const app = new Hono();

  app.use("*", async (c, next) => {
    // the node server builds the request URL from the Host header
    const url = new URL(c.req.url);
    if (allowed && !allowed.has(url.hostname.toLowerCase()))
      return c.text("vgpuctl dashboard: unexpected Host header\n", 421);
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      // no cross-site POSTs (a page elsewhere must not make the dashboard re-read hosts)
      const origin = c.req.header("origin");
      if (origin && originHost(origin) !== url.host)
        return c.text("vgpuctl dashboard: cross-origin request refused\n", 403);
    }
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
  });

  app.get("/healthz", (c) => c.text("ok\n"));

  app.get("/api/hosts", async (c) => {
    const payload = await (cached ?? gatherAll());
    c.header("Cache-Control", "no-store");
    return c.json(payload);
  });

  app.post("/api/refresh", async (c) => {
    const payload = await gatherAll();
    c.header("Cache-Control", "no-store");
    return c.json(payload);
  });

  app.all("/api/*", (c) => c.json({ error: "not found" }, 404));

  app.get("*", async (c) => {
    let assets: UiAssets;
    try {
      assets = await loadAssets();
    } catch (e) {
      return c.text(`vgpuctl dashboard: the UI is not available: ${(e as Error).message}\n`, 503);
    }
    const path = c.req.path === "/" ? "/index.html" : c.req.path;
    const asset = Object.hasOwn(assets, path) ? assets[path] : undefined;
    if (!asset) return c.text("not found\n", 404);
    c.header("Content-Type", asset.contentType);
    // hashed file names under /assets/ never change; index.html must always be fresh
    c.header(
      "Cache-Control",
      path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
    );
    return c.body(asset.body);
  });

  return app;
}
