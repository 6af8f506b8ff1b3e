import {
  type OverrideChangeResult,
  type OverrideShowResult,
  runOverrideSet,
  runOverrideShow,
  runOverrideUnset,
} from "../../commands/override.ts";
import { formatIssue } from "../../formats/profile-override/index.ts";
import type { GlobalOptions } from "../context.ts";
import type { Colors } from "../output.ts";
import { printJson, withHost } from "../with-host.ts";
import type { Registrar } from "./index.ts";

const TARGET_HELP = "one of --type nvidia-N | --vm VMID | --mdev UUID";

export const registerOverride: Registrar = (program, ctx) => {
  const cmd = program
    .command("override")
    .description(
      "edit vgpu_unlock-rs overrides (/etc/vgpu_unlock/profile_override.toml), validated before writing",
    );

  cmd
    .command("set")
    .description(`set overrides for a vGPU type, a VM or an mdev (${TARGET_HELP})`)
    .option("--type <type>", "all vGPUs of this type, e.g. nvidia-259")
    .option("--vm <vmid>", "the vGPU of this Proxmox VE VM")
    .option("--mdev <uuid>", "the mdev with this UUID")
    .option("--vram <size>", "VRAM, e.g. 3G or 1536M (writes framebuffer + framebuffer_reservation)")
    .option("--display <WxH>", "max resolution, e.g. 1920x1080 (also writes max_pixels)")
    .option("--displays <n>", "number of virtual displays (num_displays)")
    .option("--frl <on|off>", "frame rate limiter")
    .option("--cuda <on|off>", "CUDA in the guest")
    .option("--dry-run", "only show the diff")
    .addHelpText(
      "after",
      `
Only the new or changed lines are written; comments, order and hex literals stay. The file is
validated first and the previous version copied to /var/backups/vgpuctl/.

Examples:
  vgpuctl override set --vm 100 --vram 3G --display 1920x1080
  vgpuctl override set --type nvidia-259 --frl off --dry-run
  vgpuctl override set --host local --root /srv/copy --vm 100 --vram 2G   (edit a copy offline)`,
    )
    .action(async (opts, c) => {
      const g = c.optsWithGlobals() as unknown as GlobalOptions;
      const r = await withHost(ctx, g, (host) => runOverrideSet(opts, { host }));
      if (g.json) printJson(ctx, r);
      else ctx.out(renderChange(r, ctx.colors));
    });

  cmd
    .command("unset")
    .description(`remove overrides (the whole section, or only --key K…) (${TARGET_HELP})`)
    .option("--type <type>", "the [profile.nvidia-N] section")
    .option("--vm <vmid>", "the [vm.VMID] section")
    .option("--mdev <uuid>", "the [mdev.UUID] section")
    .option("--key <keys...>", "only these keys, e.g. --key framebuffer framebuffer_reservation")
    .option("--dry-run", "only show the diff")
    .action(async (opts, c) => {
      const g = c.optsWithGlobals() as unknown as GlobalOptions;
      const r = await withHost(ctx, g, (host) =>
        runOverrideUnset(
          { type: opts.type, vm: opts.vm, mdev: opts.mdev, keys: opts.key, dryRun: opts.dryRun },
          { host },
        ),
      );
      if (g.json) printJson(ctx, r);
      else ctx.out(renderChange(r, ctx.colors));
    });

  cmd
    .command("show")
    .description("show the override sections and any problems in them")
    .action(async (_opts, c) => {
      const g = c.optsWithGlobals() as unknown as GlobalOptions;
      const r = await withHost(ctx, g, (host) => runOverrideShow({}, { host }));
      if (g.json) printJson(ctx, r);
      else ctx.out(renderShow(r, ctx.colors));
    });
};

function colorDiff(diff: string, c: Colors): string {
  return diff
    .split("\n")
    .map((l) =>
      l.startsWith("+++") || l.startsWith("---")
        ? c.bold(l)
        : l.startsWith("+")
          ? c.green(l)
          : l.startsWith("-")
            ? c.red(l)
            : l.startsWith("@@")
              ? c.cyan(l)
              : l,
    )
    .join("\n");
}

export function renderChange(r: OverrideChangeResult, c: Colors): string {
  const lines: string[] = [];
  for (const n of r.notes) lines.push(c.dim(`note: ${n}`));
  if (!r.changed) {
    lines.push(`[${r.target.kind}.${r.target.key}]: nothing to change in ${r.path}`);
    return `${lines.join("\n")}\n`;
  }
  lines.push(colorDiff(r.diff.trimEnd(), c));
  for (const w of r.warnings.filter((i) => i.severity === "warning"))
    lines.push(c.yellow(`warning: ${formatIssue(w)}`));
  if (r.dryRun) lines.push(c.dim("dry run: nothing was written"));
  else
    lines.push(
      `${c.green("written")} ${r.path}${r.backup ? c.dim(` (previous version: ${r.backup})`) : ""}; ${
        r.unlockPreloaded === false
          ? c.yellow("it has no effect until vgpu_unlock-rs is preloaded (see the note above)")
          : "vgpu_unlock-rs reads it at the next VM start"
      }`,
    );
  return `${lines.join("\n")}\n`;
}

export function renderShow(r: OverrideShowResult, c: Colors): string {
  if (!r.present) return `${r.path} does not exist (no overrides)\n`;
  const lines: string[] = [c.bold(r.path)];
  if (r.sections.length === 0 && !r.error) lines.push(c.dim("  no sections"));
  for (const s of r.sections) {
    lines.push(`  [${s.kind}.${s.key}]${c.dim(`  line ${s.line}`)}`);
    for (const [k, v] of Object.entries(s.values)) {
      const shown =
        typeof v === "number" && /framebuffer|pci|bar1|mappable/.test(k)
          ? `0x${v.toString(16).toUpperCase()}`
          : JSON.stringify(v);
      lines.push(`    ${k} = ${shown}`);
    }
  }
  const errors = r.issues.filter((i) => i.severity === "error");
  const warnings = r.issues.filter((i) => i.severity === "warning");
  for (const i of errors) lines.push(c.red(`  error: ${formatIssue(i)}`));
  for (const i of warnings) lines.push(c.yellow(`  warning: ${formatIssue(i)}`));
  if (r.issues.length === 0) lines.push(c.green("  valid"));
  return `${lines.join("\n")}\n`;
}
