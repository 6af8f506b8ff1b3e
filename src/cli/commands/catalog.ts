import {
  type CatalogDrivers,
  type CatalogGpu,
  type CatalogVram,
  catalogDrivers,
  catalogGpu,
  catalogVram,
} from "../../commands/catalog.ts";
import { formatSize } from "../../report/units.ts";
import type { GlobalOptions } from "../context.ts";
import { type Colors, table } from "../output.ts";
import { printJson } from "../with-host.ts";
import type { Registrar } from "./index.ts";

/** `vgpuctl catalog gpu|drivers|vram`: the knowledge base, no host needed. */
export const registerCatalog: Registrar = (program, ctx) => {
  const catalog = program
    .command("catalog")
    .description(
      "what vgpuctl knows, no host needed: GPU support and vGPU types, driver releases, VRAM overrides",
    );

  catalog
    .command("gpu")
    .description("vGPU support of a GPU by PCI device id (the 4 hex digits after 10de: in `lspci -nn`)")
    .argument("<device-id>", "PCI device id, e.g. 1e07")
    .option(
      "--subsystem <id>",
      "PCI subsystem device id, to tell boards sharing a device id apart (e.g. 12ba)",
    )
    .action((deviceId, opts, cmd) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const result = catalogGpu(deviceId, { subsystemId: opts.subsystem ?? null });
      if (g.json) printJson(ctx, result);
      else ctx.out(renderGpu(result, ctx.colors));
    });

  catalog
    .command("drivers")
    .description("NVIDIA vGPU releases: host driver, kernels, Proxmox VE, unlock patch, caveats")
    .option("--kernel <release>", "only releases known to work on this kernel (as `uname -r` prints it)")
    .option("--unlock", "only releases with a vgpu_unlock patch (consumer cards)")
    .action((opts, cmd) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const result = catalogDrivers({ kernel: opts.kernel ?? null, unlock: opts.unlock === true });
      if (g.json) printJson(ctx, result);
      else ctx.out(renderDrivers(result, ctx.colors));
    });

  catalog
    .command("vram")
    .description("framebuffer / framebuffer_reservation for a vGPU VRAM size (profile_override.toml)")
    .argument("<size>", 'VRAM of the vGPU, e.g. "3G", "512M", "1.5G"')
    .action((size, _opts, cmd) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const result = catalogVram(size);
      if (g.json) printJson(ctx, result);
      else ctx.out(renderVram(result, ctx.colors));
    });
};

export function renderGpu(r: CatalogGpu, c: Colors): string {
  const support =
    r.support === "native"
      ? c.green("native vGPU")
      : r.support === "unlock"
        ? c.cyan("vGPU via vgpu_unlock")
        : c.red("no vGPU");
  const lines: string[] = [];
  lines.push(`${c.bold(r.name ?? "unknown GPU")}  ${c.dim(`[10de:${r.deviceId}]`)}`);
  lines.push(
    table(
      [
        ["Support", support],
        ["Reason", r.supportReason],
        ["Generation", r.generation ? `${r.generation}${r.chip ? ` (${r.chip})` : ""}` : c.dim("unknown")],
        ["VRAM", r.vramMiB !== null ? formatSize(r.vramMiB) : c.dim("unknown")],
        [
          "Spoofed as",
          r.spoofAs
            ? `${r.spoofAs.name} [10de:${r.spoofAs.deviceId}${r.spoofAs.subsystemId ? ` subsystem ${r.spoofAs.subsystemId}` : ""}]`
            : c.dim("—"),
        ],
        ["SR-IOV", r.needsSriov ? c.yellow("needed (vGPUs live on virtual functions)") : "not needed"],
        ["Releases", r.driverReleases.length ? r.driverReleases.join(", ") : c.dim("none")],
      ],
      "  ",
    ),
  );
  if (r.types.length > 0) {
    lines.push("");
    lines.push(`vGPU types (${r.types.length}):`);
    const rows = [[c.dim("type"), c.dim("name"), c.dim("framebuffer"), c.dim("max instances")]];
    for (const t of r.types)
      rows.push([t.type, t.name, formatSize(t.framebufferMiB), String(t.maxInstances)]);
    lines.push(table(rows, "  "));
  } else if (r.support !== "unsupported") {
    lines.push("");
    lines.push(
      c.dim("No time-sliced vGPU types in vgpuctl's table for this board (compute/MIG-only boards)."),
    );
  }
  return `${lines.join("\n")}\n`;
}

export function renderDrivers(r: CatalogDrivers, c: Colors): string {
  const lines: string[] = [];
  if (r.kernel) lines.push(c.bold(`vGPU releases known to work on kernel ${r.kernel}`));
  else lines.push(c.bold("vGPU releases (newest first)"));
  if (r.releases.length === 0) lines.push(c.yellow("  none"));
  else {
    const footnotes = sourceFootnotes(r.releases);
    const rows = [
      [
        c.dim("release"),
        c.dim("host driver"),
        c.dim("kernels"),
        c.dim("PVE"),
        c.dim("unlock patch"),
        c.dim("kernel claim"),
        c.dim("guest Linux"),
        c.dim("guest Windows"),
        c.dim("released"),
        c.dim("sources"),
      ],
    ];
    for (const x of r.releases) {
      rows.push([
        x.vgpuRelease,
        `${x.driverVersion}${x.sharesHostDriverWith.length ? c.dim(` (= ${x.sharesHostDriverWith.join(", ")})`) : ""}`,
        x.kernelRange ?? "?",
        x.pve.join(", ") || "?",
        x.patch
          ? `${x.patch.file}${x.patch.availability === "community-mirror" ? c.dim(" (mirror)") : ""}`
          : c.dim("none"),
        x.kernel.confidence,
        x.guestLinux ?? "?",
        x.guestWindows ?? "?",
        x.released ?? "?",
        x.sources.map((s) => `[${footnotes.get(s)}]`).join(""),
      ]);
    }
    lines.push(table(rows, "  "));
    lines.push("");
    lines.push(c.bold("Caveats"));
    // The same caveat applies to many releases: print each once with the releases it concerns.
    const byCaveat = new Map<string, string[]>();
    for (const x of r.releases)
      for (const cv of x.caveats) byCaveat.set(cv, [...(byCaveat.get(cv) ?? []), x.vgpuRelease]);
    for (const [cv, rels] of byCaveat) lines.push(`  ${c.dim(`[${rels.join(", ")}]`)} ${cv}`);
    lines.push("");
    lines.push(c.bold("Sources"));
    for (const [url, n] of footnotes) lines.push(`  [${n}] ${url}`);
  }
  if (r.unknown.length > 0) {
    lines.push("");
    lines.push(c.dim(`Kernel support unknown (no upper limit known) for: ${r.unknown.join(", ")}`));
  }
  return `${lines.join("\n")}\n`;
}

/** Every distinct source URL of the rows, numbered in order of first use. */
function sourceFootnotes(rows: ReadonlyArray<{ sources: string[] }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) for (const s of r.sources) if (!out.has(s)) out.set(s, out.size + 1);
  return out;
}

export function renderVram(r: CatalogVram, c: Colors): string {
  const lines = [
    c.bold(`vGPU with ${formatSize(r.vramMiB)} of VRAM`),
    table(
      [
        ["framebuffer", `${r.framebufferHex}  ${c.dim(`(${r.framebuffer} bytes)`)}`],
        ["framebuffer_reservation", `${r.reservationHex}  ${c.dim(`(${r.reservation} bytes)`)}`],
        [
          "rule",
          r.rule === "formula"
            ? "reservation = VRAM/16 + 64 MiB"
            : "NVIDIA's own profile values for this size (differ from the formula)",
        ],
      ],
      "  ",
    ),
    "",
    `Paste into a [profile.nvidia-N] or [vm.VMID] table of /etc/vgpu_unlock/profile_override.toml:`,
    ...r.overrideLines.map((l) => `  ${l}`),
  ];
  return `${lines.join("\n")}\n`;
}
