import type { SupportBundleSummary } from "../../commands/support-bundle.ts";
import { runSupportBundle } from "../../commands/support-bundle.ts";
import type { GlobalOptions } from "../context.ts";
import type { Colors } from "../output.ts";
import { printJson, withHost } from "../with-host.ts";
import type { Registrar } from "./index.ts";

export const registerSupportBundle: Registrar = (program, ctx) => {
  program
    .command("support-bundle")
    .description(
      "capture everything vgpuctl looks at into a bundle (secrets, MACs, serials, public IPs redacted) to share or replay with --host bundle:PATH",
    )
    .requiredOption(
      "-o, --output <path>",
      "FILE.tar.gz (or .tgz) for an archive, any other path for a new directory",
    )
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const summary = await withHost(ctx, g, (host) => runSupportBundle({ out: opts.output }, { host }));
      if (g.json) printJson(ctx, summary);
      else ctx.out(renderSupportBundle(summary, ctx.colors));
    });
};

export function renderSupportBundle(s: SupportBundleSummary, c: Colors): string {
  const lines: string[] = [];
  lines.push(`${c.green("Wrote")} ${c.bold(s.path)}  ${c.dim(`(host ${s.host}, captured ${s.capturedAt})`)}`);
  lines.push(`  ${s.commands.length} command outputs, ${s.files} files`);
  if (s.failed.length) {
    lines.push(`  ${c.yellow("commands that failed")} (their output is kept; 127 = not installed):`);
    for (const f of s.failed) lines.push(`    ${f.cmd}  ${c.dim(`exit ${f.exitCode}`)}`);
  }
  if (s.notCaptured.length) {
    lines.push(`  ${c.yellow("not captured")} (unknown when replayed):`);
    for (const cmd of s.notCaptured) lines.push(`    ${cmd}`);
  }
  if (s.absentPaths.length) lines.push(`  absent on the host: ${s.absentPaths.join(", ")}`);
  lines.push(
    s.redacted.length
      ? `  redacted: ${s.redacted.join(", ")} ${c.dim("(replaced by consistent placeholders)")}`
      : `  redacted: nothing found to redact ${c.dim("(tokens, passwords, MACs, serials, GPU UUIDs, public IPs are checked)")}`,
  );
  for (const n of s.notes) lines.push(c.dim(`  note: ${n}`));
  lines.push(c.dim(`Replay it with: vgpuctl doctor --host bundle:${s.path}`));
  return `${lines.join("\n")}\n`;
}
