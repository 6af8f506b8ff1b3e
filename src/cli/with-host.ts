import type { Host } from "../hosts/host.ts";
import type { CliContext, GlobalOptions } from "./context.ts";

/** Open the --host, run `fn`, always close it (ssh connections, sim state flush). */
export async function withHost<T>(
  ctx: CliContext,
  g: GlobalOptions,
  fn: (host: Host) => Promise<T>,
): Promise<T> {
  const host = await ctx.openHost(g.host, { root: g.root });
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(`${JSON.stringify(value, null, 2)}\n`);
}
