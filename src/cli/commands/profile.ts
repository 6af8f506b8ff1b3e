import { type ProfileSuggestResult, runProfileSuggest } from "../../commands/profile.ts";
import { formatSize } from "../../report/units.ts";
import type { GlobalOptions } from "../context.ts";
import type { Colors } from "../output.ts";
import { printJson, withHost } from "../with-host.ts";
import type { Registrar } from "./index.ts";

export const registerProfile: Registrar = (program, ctx, setExit) => {
  const cmd = program.command("profile").description("choose vGPU types");
  cmd
    .command("suggest")
    .description("the vGPU type for a guest OS and workload, and why")
    .requiredOption("--os <os>", "guest OS: windows | linux")
    .requiredOption("--workload <w>", "desktop | cad | gaming | compute")
    .option("--vram <size>", "VRAM the VM should get, e.g. 4G")
    .option("--gpu <addr>", "GPU address (default: the first GPU offering vGPU types)")
    .addHelpText(
      "after",
      `
Rules (polloloco's "NVIDIA vGPU on Proxmox" guide, gitlab.com/polloloco/vgpu-proxmox, "Important notes"): Q can be slow in OpenGL/games (B or A instead); C works on
Linux guests only, A on Windows guests only; one type per GPU, so a VM that needs another size gets
the GPU's type with a per-VM VRAM override. Exit code 1 when no type fits.

Example:
  vgpuctl profile suggest --os windows --workload gaming --vram 4G`,
    )
    .action(async (opts, c) => {
      const g = c.optsWithGlobals() as unknown as GlobalOptions;
      const r = await withHost(ctx, g, (host) => runProfileSuggest(opts, { host }));
      if (g.json) printJson(ctx, r);
      else ctx.out(renderSuggestion(r, ctx.colors));
      if (!r.type) setExit(1);
    });
};

export function renderSuggestion(r: ProfileSuggestResult, c: Colors): string {
  const lines: string[] = [];
  if (!r.type) lines.push(c.red("No suitable vGPU type."));
  else
    lines.push(
      `${c.bold(r.type)}${r.name ? ` (${r.name})` : ""}${r.gpu ? ` on GPU ${r.gpu.address}` : ""}, ${formatSize(r.vramMiB)}${
        r.overrideVramMiB !== null ? c.dim(" via a per-VM override") : ""
      }`,
    );
  for (const why of r.reasons) lines.push(`  - ${why}`);
  for (const w of r.warnings) lines.push(c.yellow(`  ! ${w}`));
  for (const a of r.overrideArgs) lines.push(c.dim(`  consider: ${a}`));
  if (r.alternatives.length > 0)
    lines.push(
      `  alternatives: ${r.alternatives.map((a) => `${a.type}${a.name ? ` (${a.name})` : ""}`).join(", ")}`,
    );
  for (const n of r.next) lines.push(`  next: ${n}`);
  return `${lines.join("\n")}\n`;
}
