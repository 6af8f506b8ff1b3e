/**
 * `vgpuctl dashboard`: serve the read-only web dashboard (src/web) for one or more hosts.
 * Binds 127.0.0.1 unless told otherwise; `port: 0` picks a free port (the URL says which).
 */
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { Hono } from "hono";
import type { Host } from "../hosts/host.ts";
import { UserError } from "../util/errors.ts";
import type { UiAssets } from "../web/assets.ts";
import { createDashboardApp, LOOPBACK_HOSTNAMES } from "../web/server.ts";

export const DEFAULT_DASHBOARD_PORT = 8765;

export interface DashboardOptions {
  hosts: string[];
  /** 0: any free port */
  port: number;
  /** address to bind; default 127.0.0.1 */
  listen?: string;
}

export interface DashboardDeps {
  openHost: (spec: string) => Promise<Host>;
  assets: UiAssets | (() => Promise<UiAssets>);
}

export interface RunningDashboard {
  url: string;
  address: string;
  port: number;
  /** true when bound to a loopback address only */
  loopbackOnly: boolean;
  app: Hono;
  close(): Promise<void>;
}

export function isLoopback(addr: string): boolean {
  const a = addr.toLowerCase().replace(/^\[|\]$/g, "");
  return a === "localhost" || a === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

function isWildcard(addr: string): boolean {
  const a = addr.replace(/^\[|\]$/g, "");
  return a === "0.0.0.0" || a === "::" || a === "";
}

/** Validate --port / --listen / the host list; UserError with a fix for anything wrong. */
export function checkDashboardOptions(o: DashboardOptions): void {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)
    throw new UserError(`--port ${o.port} is not a port number`, "use 0 … 65535 (0 picks a free port)");
  if (o.hosts.length === 0) throw new UserError("no hosts to show", "pass --host SPEC or --hosts A,B");
  const dup = o.hosts.find((h, i) => o.hosts.indexOf(h) !== i);
  if (dup) throw new UserError(`host ${dup} is listed twice`);
}

export async function startDashboard(o: DashboardOptions, deps: DashboardDeps): Promise<RunningDashboard> {
  checkDashboardOptions(o);
  const listen = (o.listen ?? "127.0.0.1").replace(/^\[|\]$/g, "");
  const allowedHostnames = isWildcard(listen)
    ? null
    : isLoopback(listen)
      ? LOOPBACK_HOSTNAMES
      : [...LOOPBACK_HOSTNAMES, listen.includes(":") ? `[${listen}]` : listen];
  const app = createDashboardApp({
    hosts: o.hosts,
    openHost: deps.openHost,
    assets: deps.assets,
    allowedHostnames,
  });
  const server = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE")
        reject(
          new UserError(
            `port ${o.port} on ${listen} is already in use`,
            "pick another with --port N, or --port 0 for any free port",
          ),
        );
      else if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND")
        reject(new UserError(`cannot listen on ${listen}: no such local address`, "check --listen"));
      else if (e.code === "EACCES")
        reject(new UserError(`not allowed to listen on port ${o.port}`, "use a port above 1023"));
      else reject(e);
    };
    server.once("error", onError);
    server.listen(o.port, listen, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const info = server.address() as AddressInfo;
  const shownHost = isWildcard(listen)
    ? "127.0.0.1"
    : info.family === "IPv6"
      ? `[${info.address}]`
      : info.address;
  const url = `http://${shownHost}:${info.port}/`;
  return {
    url,
    address: info.address,
    port: info.port,
    loopbackOnly: isLoopback(listen),
    app,
    close: () =>
      new Promise<void>((resolve) => {
        const s = server as unknown as { close(cb: () => void): void; closeAllConnections?: () => void };
        s.close(() => resolve());
        s.closeAllConnections?.();
      }),
  };
}
