import { Option } from "@commander-js/extra-typings";
import type { Finding } from "../../checks/types.ts";
import type { DoctorReport } from "../../commands/doctor.ts";
import { hasErrors, runDoctor } from "../../commands/doctor.ts";
import type { GlobalOptions } from "../context.ts";
import { withHostOrPaste } from "../host-or-paste.ts";
import type { Colors } from "../output.ts";
import { printJson } from "../with-host.ts";
import type { Registrar } from "./index.ts";

export const registerDoctor: Registrar = (program, ctx, setExit) => {
  program
    .command("doctor")
    .description("find what stands between this host and working vGPUs, with the evidence and the exact fix")
    .addOption(
      new Option("--severity <level>", "only show findings of at least this severity")
        .choices(["error", "warning", "info"])
        .default("info"),
    )
    .option("--verbose", "list every piece of evidence that could not be captured")
    .option("--paste <file>", "diagnose outputs pasted into a text file (- = stdin) instead of a host")
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const {
        result: report,
        paste,
        pasteHeader,
      } = await withHostOrPaste(ctx, g, opts.paste, (host) =>
        runDoctor({ minSeverity: opts.severity as "error" | "warning" | "info" }, { host }),
      );
      const pasted = paste ? { paste: { segments: paste.segments } } : {};
      if (g.json)
        printJson(ctx, { host: report.host, findings: report.findings, notes: report.notes, ...pasted });
      else ctx.out(pasteHeader + renderDoctor(report, ctx.colors, { verbose: Boolean(opts.verbose) }));
      if (hasErrors(report)) setExit(1);
    });
};

const LABEL = { error: "ERROR", warning: "WARNING", info: "INFO" } as const;

function looksLikeCommand(s: string): boolean {
  return /^(apt|update-grub|update-initramfs|proxmox-boot-tool|systemctl|modprobe|dkms|mokutil|sed|printf|echo|mkdir|cd|test|qm|mdevctl|nvidia-smi|nvidia-uninstall|journalctl|dmesg|cat|chmod|reboot|\.\/|rm|git|zpool)\b/.test(
    s,
  );
}

export function renderDoctor(r: DoctorReport, c: Colors, o: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  const count = (s: Finding["severity"]) => r.findings.filter((f) => f.severity === s).length;
  const [e, w, i] = [count("error"), count("warning"), count("info")];
  lines.push(c.bold(`Doctor for ${r.host}`));
  if (r.findings.length === 0) lines.push(c.green("No problems found."));
  else
    lines.push(
      [
        e ? c.red(`${e} error${e > 1 ? "s" : ""}`) : null,
        w ? c.yellow(`${w} warning${w > 1 ? "s" : ""}`) : null,
        i ? c.cyan(`${i} note${i > 1 ? "s" : ""}`) : null,
      ]
        .filter(Boolean)
        .join(", "),
    );
  for (const sev of ["error", "warning", "info"] as const) {
    const group = r.findings.filter((f) => f.severity === sev);
    if (group.length === 0) continue;
    const paint = sev === "error" ? c.red : sev === "warning" ? c.yellow : c.cyan;
    lines.push("");
    for (const f of group) {
      lines.push(`${paint(c.bold(LABEL[sev]))} ${c.dim(`[${f.code}]`)} ${f.title}`);
      if (f.evidence.length) {
        lines.push(`  ${c.dim("evidence:")}`);
        for (const ev of f.evidence) lines.push(`    ${ev}`);
      }
      if (f.fix.length) {
        lines.push(`  ${c.dim("fix:")}`);
        for (const step of f.fix)
          lines.push(looksLikeCommand(step.trimStart()) ? `    ${c.green("$")} ${step}` : `    ${step}`);
      }
    }
  }
  if (r.notes.length > 0) {
    lines.push("");
    const shown = o.verbose ? r.notes : r.notes.slice(0, 5);
    lines.push(c.dim(`Not checked (evidence not captured or unreadable, ${r.notes.length}):`));
    for (const n of shown) lines.push(c.dim(`  - ${n}`));
    if (shown.length < r.notes.length)
      lines.push(c.dim(`  … ${r.notes.length - shown.length} more (--verbose, or --json "notes")`));
  }
  return `${lines.join("\n")}\n`;
}
