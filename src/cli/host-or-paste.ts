/**
 * `--paste`/`--from-paste` or `--host`: which host a command runs on. The paste's code (src/paste, the
 * bundle reader and its tar/zlib libraries: cli/paste-input.ts) is imported only when a paste is given,
 * so `inspect --host …` never loads it (issue 16: a command loads what it needs).
 */
import type { Host } from "../hosts/host.ts";
import type { PasteResult } from "../paste/index.ts";
import type { CliContext, GlobalOptions } from "./context.ts";
import { withHost } from "./with-host.ts";

export interface HostOrPasteResult<T> {
  result: T;
  /** the paste, or null when the command ran on --host */
  paste: PasteResult | null;
  /** the recognition report printed before the diagnosis ("" without a paste) */
  pasteHeader: string;
}

/** Run `fn` on the pasted host when `pastePath` is given, else on --host; the paste (or null) comes back too. */
export async function withHostOrPaste<T>(
  ctx: CliContext,
  g: GlobalOptions,
  pastePath: string | undefined,
  fn: (host: Host) => Promise<T>,
): Promise<HostOrPasteResult<T>> {
  if (pastePath === undefined) return { result: await withHost(ctx, g, fn), paste: null, pasteHeader: "" };
  const { openPaste, renderPasteHeader } = await import("./paste-input.ts");
  const { host, paste } = await openPaste(pastePath, ctx);
  return { result: await fn(host), paste, pasteHeader: renderPasteHeader(paste) };
}
