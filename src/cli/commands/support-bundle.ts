import type { SupportBundleSummary } from "../../commands/support-bundle.ts";
import { runSupportBundle } from "../../commands/support-bundle.ts";
import { parseNotInstalledNote } from "../../facts/capture.ts";
import type { GlobalOptions } from "../context.ts";
import { withHostOrPaste } from "../host-or-paste.ts";
import type { Colors } from "../output.ts";
import { printJson } from "../with-host.ts";
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
    .option("--from-paste <file>", "make the bundle from outputs pasted into a text file (- = stdin)")
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const {
        result: summary,
        paste,
        pasteHeader,
      } = await withHostOrPaste(ctx, g, opts.fromPaste, (host) =>
        runSupportBundle({ out: opts.output }, { host }),
      );
      if (g.json) printJson(ctx, paste ? { ...summary, paste: { segments: paste.segments } } : summary);
      else ctx.out(pasteHeader + renderSupportBundle(summary, ctx.colors));
    });
};

export function renderSupportBundle(s: SupportBundleSummary, c: Colors): string {
  const lines: string[] = [];
  lines.push(`${c.green("Wrote")} ${c.bold(s.path)}  ${c.dim(`(host ${s.host}, captured ${s.capturedAt})`)}`);
  lines.push(`  ${s.commands.length} command outputs, ${s.files} files`);
  if (s.failed.length) {
    lines.push(`  ${c.yellow("commands that failed")} (their output is kept):`);
    for (const f of s.failed) lines.push(`    ${f.cmd}  ${c.dim(`exit ${f.exitCode}`)}`);
  }
  if (s.notInstalled.length) {
    lines.push(`  ${c.yellow("not installed on the host")} (left out; unknown when replayed):`);
    for (const cmd of s.notInstalled) lines.push(`    ${cmd}`);
  }
  // why a command was not run ("not run: CMD (REASON)" notes), shown next to it instead of as a note
  const notRun = new Map<string, string>();
  for (const n of s.notes) {
    const m = /^not run: (.*?) \((.*)\)$/.exec(n);
    if (m) notRun.set(m[1]!, m[2]!);
  }
  if (s.notCaptured.length) {
    lines.push(`  ${c.yellow("not captured")} (unknown when replayed):`);
    for (const cmd of s.notCaptured) {
      const why = notRun.get(cmd);
      lines.push(`    ${cmd}${why ? `  ${c.dim(why)}` : ""}`);
    }
  }
  if (s.absentPaths.length) lines.push(`  absent on the host: ${s.absentPaths.join(", ")}`);
  if (s.unreadablePaths.length) {
    lines.push(`  ${c.yellow("could not read")} (unknown when replayed; run as root to include them):`);
    for (const p of s.unreadablePaths) lines.push(`    ${p}`);
  }
  lines.push(
    s.redacted.length
      ? `  redacted: ${s.redacted.join(", ")} ${c.dim("(replaced by consistent placeholders)")}`
      : `  redacted: nothing found to redact ${c.dim("(tokens, passwords, MACs, serials, GPU UUIDs, public IPs are checked)")}`,
  );
  // notes already shown above (not installed, not run, could not read) are not repeated
  const shown = new Set(s.unreadablePaths.map((p) => `could not read ${p}`));
  for (const n of s.notes) {
    if (shown.has(n) || parseNotInstalledNote(n) !== null) continue;
    const m = /^not run: (.*?) \(/.exec(n);
    if (m && s.notCaptured.includes(m[1]!)) continue;
    lines.push(c.dim(`  note: ${n}`));
  }
  lines.push(c.dim(`Replay it with: vgpuctl doctor --host bundle:${s.path}`));
  return `${lines.join("\n")}\n`;
}
