import { spawn } from "node:child_process";
import { DEFAULT_DASHBOARD_PORT, startDashboard } from "../../commands/dashboard.ts";
import { UserError } from "../../util/errors.ts";
import { loadUiAssets } from "../../web/assets.ts";
import type { GlobalOptions } from "../context.ts";
import { printJson } from "../with-host.ts";
import type { Registrar } from "./index.ts";

function collectHosts(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value.trim()))
    throw new UserError(`--port ${value} is not a port number`, "use 0 … 65535 (0 picks a free port)");
  return Number(value);
}

/**
 * Best effort: the dashboard keeps running (and printed its URL) whether or not a browser opens; when
 * none opens, one line on stderr says why (no opener installed, or it failed to start).
 */
export function openBrowser(url: string, err: (text: string) => void): void {
  const cmd =
    process.platform === "darwin"
      ? ["open", url]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", "", url]
        : ["xdg-open", url];
  const failed = (e: unknown) =>
    err(
      `note: could not open a browser (${cmd[0]}: ${e instanceof Error ? e.message : String(e)}); open ${url}\n`,
    );
  // spawn reports a missing opener (ENOENT) through "error", not by throwing
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: "ignore", detached: true });
  child.on("error", failed);
  child.unref();
}

export const registerDashboard: Registrar = (program, ctx) => {
  program
    .command("dashboard")
    .description(
      "serve a read-only web dashboard: per host its status, each GPU's vGPU split (which VM has which share), and the doctor's findings",
    )
    .option(
      "--hosts <specs>",
      "hosts to show, comma-separated or repeated (default: the --host)",
      collectHosts,
    )
    .option("--port <n>", `port to listen on; 0 picks a free one (default ${DEFAULT_DASHBOARD_PORT})`)
    .option("--listen <addr>", "address to bind (default 127.0.0.1: only this machine can connect)")
    .option("--open", "open the dashboard in a web browser")
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const hostFromGlobal = program.getOptionValueSource("host") !== "default";
      const listed = opts.hosts ?? [];
      const hosts = listed.length > 0 ? [...listed] : [g.host];
      if (listed.length > 0 && hostFromGlobal && !hosts.includes(g.host)) hosts.unshift(g.host);
      const port = opts.port === undefined ? DEFAULT_DASHBOARD_PORT : parsePort(opts.port);
      const listen = opts.listen ?? "127.0.0.1";
      const running = await startDashboard(
        { hosts, port, listen },
        { openHost: (spec) => ctx.openHost(spec, { root: g.root }), assets: loadUiAssets },
      );
      if (g.json) printJson(ctx, { url: running.url, hosts, readOnly: true });
      else {
        ctx.out(`vgpuctl dashboard: ${running.url}\n`);
        ctx.out(`  hosts: ${hosts.join(", ")} (read-only; press Ctrl-C to stop)\n`);
      }
      if (!running.loopbackOnly)
        ctx.err(
          `warning: listening on ${listen}: anyone who can reach this address sees the hosts' details (there is no login)\n`,
        );
      // read the hosts now so the first page load is quick
      // (best effort: a failure here is what the page shows when it asks again)
      void Promise.resolve(running.app.request(new URL("/api/hosts", running.url).href)).catch((e: unknown) =>
        ctx.err(`note: reading the hosts ahead failed: ${e instanceof Error ? e.message : String(e)}\n`),
      );
      if (opts.open) openBrowser(running.url, ctx.err);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await running.close();
    });
};
