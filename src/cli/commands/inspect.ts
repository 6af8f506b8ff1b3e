import type { InspectReport } from "../../commands/inspect.ts";
import { runInspect } from "../../commands/inspect.ts";
import { GENERATION_LABEL, type Generation } from "../../knowledge/gpus.ts";
import { formatSize, gpuVramText } from "../../report/units.ts";
import type { GlobalOptions } from "../context.ts";
import { withHostOrPaste } from "../host-or-paste.ts";
import { saveLastInspection } from "../last-inspect.ts";
import { type Colors, table } from "../output.ts";
import { printJson } from "../with-host.ts";
import type { Registrar } from "./index.ts";

export const registerInspect: Registrar = (program, ctx) => {
  program
    .command("inspect")
    .description(
      "show the host: Proxmox VE, kernel, bootloader, IOMMU, GPUs and their vGPU support, driver, unlock, vGPU types, VMs",
    )
    .option("--paste <file>", "read outputs pasted into a text file (- = stdin) instead of a host")
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const { result, paste, pasteHeader } = await withHostOrPaste(ctx, g, opts.paste, (host) =>
        runInspect({}, { host }),
      );
      const report = result.report;
      // completion's VM ids and types come from the user's own host, not from a pasted post
      if (!paste) saveLastInspection(report, ctx.env, ctx.err);
      if (g.json) printJson(ctx, paste ? { ...report, paste: { segments: paste.segments } } : report);
      else ctx.out(pasteHeader + renderInspect(report, ctx.colors));
    });
};

const unknown = (c: Colors) => c.dim("unknown");

const DRIVER_KIND = {
  "vgpu-host": "vGPU host driver",
  regular: "regular driver (not the vGPU host driver)",
  "grid-guest": "GRID guest driver",
} as const;

function yesNo(c: Colors, v: boolean | null, yes = "yes", no = "no"): string {
  return v === null ? unknown(c) : v ? c.green(yes) : c.yellow(no);
}

/** An SR-IOV GPU's virtual functions: how many, which carry or are assigned a vGPU; the mixed-size mode. */
function renderVfs(g: InspectReport["gpus"][number], c: Colors): string[] {
  const lines: string[] = [];
  if (g.mixedSizes && (g.mixedSizes.supported !== null || g.mixedSizes.enabled !== null)) {
    const mode =
      g.mixedSizes.enabled === true
        ? c.green("enabled")
        : g.mixedSizes.supported === false
          ? "not supported (one framebuffer size per GPU)"
          : "disabled (one framebuffer size per GPU)";
    lines.push(`  mixed vGPU sizes: ${mode}`);
  }
  if (!g.vfs || g.vfs.length === 0) return lines;
  const used = g.vfs.filter((v) => v.currentType !== null || v.vmid !== null);
  const free = g.vfs.length - used.length;
  lines.push(`  virtual functions: ${g.vfs.length} (${used.length} in use or assigned, ${free} free)`);
  if (used.length > 0)
    lines.push(
      table(
        used.map((v) => [
          v.address,
          v.currentType ?? c.dim("not running"),
          v.vmid !== null ? `VM ${v.vmid}` : c.dim("no VM config names it"),
        ]),
        "    ",
      ),
    );
  return lines;
}

/** Which outputs named the GPU (when not lspci alone) and where they disagree, with the one believed. */
function renderIdentity(g: InspectReport["gpus"][number], c: Colors): string[] {
  const id = g.identity;
  if (!id || (id.conflicts.length === 0 && id.sources.length === 1 && id.sources[0] === "lspci")) return [];
  const lines = [`  ${c.dim("named by:")} ${id.sources.join(", ")}`];
  for (const k of id.conflicts)
    lines.push(
      `  ${c.yellow("outputs disagree")} on the ${k.field === "deviceId" ? "device id" : "subsystem id"}: ${k.values
        .map((v) => `${v.value} (${v.source})`)
        .join(" vs ")}; believed ${k.believed}: ${k.why}`,
    );
  return lines;
}

/** Outputs that disagree about the driver, with the one believed. */
function renderDriverConflicts(r: InspectReport, c: Colors): string[] {
  return (r.driver?.conflicts ?? []).map(
    (k) =>
      `  ${c.yellow("outputs disagree")} on the driver ${k.field}: ${k.values
        .map((v) => `${v.value} (${v.source})`)
        .join(" vs ")}; believed ${k.believed}: ${k.why}`,
  );
}

export function renderInspect(r: InspectReport, c: Colors): string {
  const lines: string[] = [];
  lines.push(c.bold(`Host ${r.host}`));
  const drv = r.driver
    ? `${r.driver.version}${r.driver.vgpuRelease ? ` (vGPU ${r.driver.vgpuRelease})` : ""}${r.driver.kind ? `, ${DRIVER_KIND[r.driver.kind]}` : ""}${r.driver.flavour ? `, ${r.driver.flavour}` : ""}${
        r.driver.loaded === false ? c.yellow(", not loaded") : ""
      }`
    : c.yellow("not installed");
  const unlock = r.unlock.enabled
    ? c.green(`enabled (${r.unlock.library ?? "library path unknown"})`)
    : r.unlock.installed
      ? c.yellow("installed, not enabled")
      : r.unlock.installed === false
        ? "not installed"
        : unknown(c);
  lines.push(
    table(
      [
        ["Proxmox VE", r.pve?.version ?? unknown(c)],
        ["Kernel", r.kernel.release ?? unknown(c)],
        ["Bootloader", r.bootloader ?? unknown(c)],
        ["CPU", r.cpuVendor ?? unknown(c)],
        [
          "IOMMU",
          `${yesNo(c, r.iommu.enabled, "enabled", "not enabled")}${r.iommu.cmdline.length ? c.dim(`  (${r.iommu.cmdline.join(" ")})`) : ""}`,
        ],
        ["Secure Boot", r.secureBoot === null ? unknown(c) : r.secureBoot ? c.yellow("on") : "off"],
        ["NVIDIA driver", drv],
        ["vgpu_unlock", unlock],
      ],
      "  ",
    ),
  );
  lines.push("");
  lines.push(...renderDriverConflicts(r, c));
  if (r.gpus.length === 0) lines.push(c.yellow("No NVIDIA GPU found."));
  for (const g of r.gpus) {
    const support =
      g.support === "native"
        ? c.green("native vGPU")
        : g.support === "unlock"
          ? c.cyan("vGPU via vgpu_unlock")
          : c.red("no vGPU");
    lines.push(
      `${c.bold(`GPU ${g.address}`)}  ${g.name}  ${c.dim(`[${g.vendorId}:${g.deviceId}]`)}${gen(g.generation)}${vram(g)}`,
    );
    const spoof =
      g.spoofAs && !g.supportReason.includes(g.spoofAs.name)
        ? ` ${c.dim(`(presented as ${g.spoofAs.name} [10de:${g.spoofAs.deviceId}])`)}`
        : "";
    lines.push(`  ${support}: ${g.supportReason}${spoof}`);
    lines.push(`  driver in use: ${g.driverInUse ?? c.dim("none")}`);
    lines.push(...renderIdentity(g, c));
    if (g.mdevTypes.length > 0) {
      lines.push(`  vGPU types (${g.mdevTypes.length}):`);
      const rows = [[c.dim("type"), c.dim("name"), c.dim("framebuffer"), c.dim("available/max")]];
      for (const t of g.mdevTypes)
        rows.push([
          t.type,
          t.name ?? "?",
          t.framebufferMiB !== null ? formatSize(t.framebufferMiB) : "?",
          `${t.availableInstances ?? "?"}/${t.maxInstances ?? "?"}`,
        ]);
      lines.push(table(rows, "    "));
    } else if (g.support !== "unsupported") lines.push(`  vGPU types: ${c.yellow("none offered")}`);
    lines.push(...renderVfs(g, c));
    if (g.vgpus.length > 0) {
      lines.push("  active vGPUs:");
      lines.push(
        table(
          g.vgpus.map((v) => [v.uuid, v.type ?? "?", v.vmid !== null ? `VM ${v.vmid}` : ""]),
          "    ",
        ),
      );
    }
    lines.push("");
  }
  if (r.vms.length > 0) {
    lines.push(c.bold("VMs"));
    const rows = [[c.dim("vmid"), c.dim("name"), c.dim("state"), c.dim("vGPU / PCI")]];
    for (const vm of r.vms) {
      const pci = vm.hostpci.map(
        (h) =>
          `hostpci${h.index}: ${h.mapping ? `mapping=${h.mapping}` : (h.address ?? "?")}${h.mdev ? ` ${h.mdev}` : ""}`,
      );
      rows.push([
        String(vm.vmid),
        vm.name ?? "",
        vm.running === null ? "" : vm.running ? "running" : "stopped",
        pci.join(", ") || c.dim("none"),
      ]);
    }
    lines.push(table(rows, "  "));
    lines.push("");
  }
  if (r.notes.length > 0) lines.push(c.dim(`Not determined: ${r.notes.length} item(s); see --json "notes".`));
  return `${lines.join("\n").trimEnd()}\n`;
}

/** "  Pascal": the generation's display name after the device id (its own column, not the driver's). */
function gen(generation: string | null): string {
  return generation ? `  ${GENERATION_LABEL[generation as Generation] ?? generation}` : "";
}

function vram(g: InspectReport["gpus"][number]): string {
  const text = gpuVramText(g, g.vramMiB);
  return text ? `  ${text}` : "";
}
