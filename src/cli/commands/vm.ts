import type { Command } from "@commander-js/extra-typings";
import {
  type MappingCreateResult,
  type MappingListReport,
  runMappingCreate,
  runMappingList,
} from "../../commands/mapping.ts";
import {
  runVmAttach,
  runVmAttachApi,
  runVmDetach,
  runVmList,
  type VmAttachResult,
  type VmListReport,
} from "../../commands/vm.ts";
import { formatSize } from "../../report/units.ts";
import { UserError } from "../../util/errors.ts";
import type { CliContext, GlobalOptions } from "../context.ts";
import { type Colors, table } from "../output.ts";
import { printJson, withHost } from "../with-host.ts";
import type { Registrar } from "./index.ts";

export const registerVm: Registrar = (program, ctx) => {
  const cmd = program.command("vm").description("vGPUs of Proxmox VE VMs: list, attach, detach");

  cmd
    .command("list")
    .description("VMs with their vGPUs (type, GPU, VRAM after overrides)")
    .action(async (_o, c) => {
      const g = c.optsWithGlobals() as unknown as GlobalOptions;
      const r = await withHost(ctx, g, (host) => runVmList({}, { host }));
      if (g.json) printJson(ctx, r);
      else ctx.out(renderVmList(r, ctx.colors));
    });

  cmd
    .command("attach")
    .description("give a VM a vGPU (qm set VMID --hostpciN …); refuses what would fail at VM start")
    .argument("<vmid>", "Proxmox VE VM id")
    .requiredOption("--type <type>", "vGPU type: nvidia-N or a profile name such as RTX6000-4Q")
    .option(
      "--gpu <addr>",
      "GPU address (default: one already carrying the type, else an empty one); on SR-IOV GPUs a free virtual function, never the physical function (default: a free VF is picked)",
    )
    .option("--mapping <id>", "cluster PCI resource mapping (writes mapping=ID,mdev=…)")
    .option("--index <n>", "hostpci slot (default: the lowest free one)")
    .option("--vram <size>", "VRAM for this VM, e.g. 2G (a [vm.VMID] override)")
    .option("--display <WxH>", "max resolution for this VM (a [vm.VMID] override)")
    .option("--displays <n>", "number of virtual displays for this VM")
    .option("--pcie", "add pcie=1 (needs a q35 VM; default: exactly when the VM is q35)")
    .option("--no-pcie", "never add pcie=1")
    .option("--dry-run", "show what would be done")
    .option("--api <url>", "Proxmox VE API, e.g. https://pve:8006 (cluster mode)")
    .option("--token-file <file>", "with --api: file holding user@realm!tokenid=secret")
    .option("--fingerprint <sha256>", "with --api: pinned SHA-256 fingerprint of the node certificate")
    .option("--ca <file>", "with --api: cluster CA (PEM), e.g. a copy of /etc/pve/pve-root-ca.pem")
    .option("--node <node>", "with --api: the node the VM is on")
    .addHelpText(
      "after",
      `
Refused, with the reason: a second vGPU type on a GPU, more instances than the type allows, more
VRAM than the GPU has (overrides counted), pcie=1 on a non-q35 VM, a hostpci slot in use, an mdev
UUID that already exists. A running VM gets the change as pending (applied at its next start).

Examples:
  vgpuctl vm attach 100 --type nvidia-259
  vgpuctl vm attach 101 --type RTX6000-4Q --vram 2G --display 1920x1080
  vgpuctl vm attach 102 --type "NVIDIA A16-4Q"            (SR-IOV: writes hostpciN: <free VF>,mdev=nvidia-713)
  vgpuctl vm attach 100 --type nvidia-259 --mapping vgpu --api https://pve1:8006 \\
      --token-file ~/.config/vgpuctl/token --fingerprint AA:BB:…`,
    )
    .action(async (vmid, o, c) => {
      const g = c.optsWithGlobals() as unknown as GlobalOptions;
      const base = {
        vmid,
        type: o.type,
        gpu: o.gpu,
        mapping: o.mapping,
        index: o.index,
        vram: o.vram,
        display: o.display,
        displays: o.displays,
        pcie: o.pcie as boolean | undefined,
        dryRun: o.dryRun,
      };
      let r: VmAttachResult;
      if (o.api) {
        if (!o.tokenFile) throw new UserError("--api needs --token-file");
        r = await runVmAttachApi({
          ...base,
          api: o.api,
          tokenFile: o.tokenFile,
          fingerprint: o.fingerprint,
          caFile: o.ca,
          node: o.node,
        });
      } else r = await withHost(ctx, g, (host) => runVmAttach(base, { host }));
      if (g.json) printJson(ctx, r);
      else ctx.out(renderAttach(r, ctx.colors));
    });

  registerMapping(cmd, ctx);

  cmd
    .command("detach")
    .description("remove a VM's vGPU (qm set VMID --delete hostpciN)")
    .argument("<vmid>", "Proxmox VE VM id")
    .option("--index <n>", "only this hostpci slot")
    .option("--dry-run", "show what would be done")
    .action(async (vmid, o, c) => {
      const g = c.optsWithGlobals() as unknown as GlobalOptions;
      const r = await withHost(ctx, g, (host) =>
        runVmDetach({ vmid, index: o.index, dryRun: o.dryRun }, { host }),
      );
      if (g.json) printJson(ctx, r);
      else ctx.out(`${r.dryRun ? ctx.colors.dim(`dry run: ${r.command}\n`) : ""}${r.message}\n`);
    });
};

const collect = (v: string, prev: string[]) => [...prev, v];

function registerMapping(cmd: Command, ctx: CliContext): void {
  const m = cmd
    .command("mapping")
    .description("cluster PCI resource mappings for vGPU (Proxmox VE API): create, list");

  m.command("create")
    .description("create a PCI mapping with mdev=1 from the nodes' hardware listings")
    .argument("<id>", "mapping id, e.g. rtx2080ti (letters, digits, - and _)")
    .requiredOption("--api <url>", "Proxmox VE API, e.g. https://pve1:8006")
    .requiredOption("--token-file <file>", "file holding user@realm!tokenid=secret")
    .option("--fingerprint <sha256>", "pinned SHA-256 fingerprint of the node certificate")
    .option("--ca <file>", "cluster CA (PEM), e.g. a copy of /etc/pve/pve-root-ca.pem")
    .option("--node <node>", "a node to map (repeat; default: every node of the cluster)", collect, [])
    .option("--gpu <addr>", "GPU address on each node (an SR-IOV physical function means all its VFs)")
    .option("--description <text>", "mapping description")
    .option("--dry-run", "show the entries; create nothing")
    .addHelpText(
      "after",
      `
Each entry copies vendor:device, subsystem id and IOMMU group from GET /nodes/NODE/hardware/pci,
as Proxmox VE checks them at VM start. Without --gpu every NVIDIA display function offering mediated
devices is mapped (on SR-IOV boards: the VFs). Refused: an existing id, a node without such a
device, different GPU models in one mapping (create one mapping per model with --node). Needs
Sys.Audit on / and Mapping.Modify on /mapping/pci (role PVEMappingAdmin).

Examples:
  vgpuctl vm mapping create rtx2080ti --api https://pve1:8006 --token-file ~/.config/vgpuctl/token \\
      --fingerprint AA:BB:… --node pve1 --node pve2 --dry-run
  vgpuctl vm mapping create a40 --api https://pve1:8006 --token-file T --ca pve-root-ca.pem --node pve3`,
    )
    .action(async (id, o, c) => {
      const g = c.optsWithGlobals() as unknown as GlobalOptions;
      const r = await runMappingCreate({
        id,
        api: o.api,
        tokenFile: o.tokenFile,
        fingerprint: o.fingerprint,
        caFile: o.ca,
        nodes: o.node,
        gpu: o.gpu,
        description: o.description,
        dryRun: o.dryRun,
      });
      if (g.json) printJson(ctx, r);
      else ctx.out(renderMappingCreate(r, ctx.colors));
    });

  m.command("list")
    .description("PCI mappings: id, description, mdev flag, entries per node")
    .requiredOption("--api <url>", "Proxmox VE API, e.g. https://pve1:8006")
    .requiredOption("--token-file <file>", "file holding user@realm!tokenid=secret")
    .option("--fingerprint <sha256>", "pinned SHA-256 fingerprint of the node certificate")
    .option("--ca <file>", "cluster CA (PEM), e.g. a copy of /etc/pve/pve-root-ca.pem")
    .option("--check-node <node>", "let that node check the entries against its hardware")
    .action(async (o, c) => {
      const g = c.optsWithGlobals() as unknown as GlobalOptions;
      const r = await runMappingList({
        api: o.api,
        tokenFile: o.tokenFile,
        fingerprint: o.fingerprint,
        caFile: o.ca,
        checkNode: o.checkNode,
      });
      if (g.json) printJson(ctx, r);
      else ctx.out(renderMappingList(r, ctx.colors));
    });
}

export function renderMappingCreate(r: MappingCreateResult, c: Colors): string {
  const lines: string[] = [];
  for (const gpu of r.gpus) {
    lines.push(
      `${gpu.node} ${gpu.address} ${gpu.name ?? gpu.id}${gpu.sriov ? `: ${gpu.functions.length} VF(s)` : ""}`,
    );
  }
  for (const e of r.entries) lines.push(`  map ${e.map}`);
  for (const w of r.warnings) lines.push(c.yellow(`warning: ${w}`));
  lines.push(r.created ? c.green(r.message) : r.message);
  if (r.dryRun) lines.push(c.dim(`dry run: nothing was created; by hand: ${r.pvesh}`));
  return `${lines.join("\n")}\n`;
}

export function renderMappingList(r: MappingListReport, c: Colors): string {
  if (r.mappings.length === 0) return `${c.dim("no PCI mappings visible to this token")}\n`;
  const lines: string[] = [];
  for (const m of r.mappings) {
    const flags = [m.mdev ? "mdev=1" : c.yellow("mdev=0 (not usable for vGPU)")];
    if (m.liveMigrationCapable) flags.push("live-migration-capable");
    lines.push(`${c.bold(m.id)}  ${flags.join(" ")}${m.description ? `  ${m.description}` : ""}`);
    const byNode = new Map<string, typeof m.entries>();
    for (const e of m.entries) byNode.set(e.node ?? "?", [...(byNode.get(e.node ?? "?") ?? []), e]);
    for (const [node, es] of byNode) {
      lines.push(`  ${node}: ${es.length} entr${es.length === 1 ? "y" : "ies"}`);
      for (const e of es) {
        lines.push(
          `    ${e.path ?? "?"} ${e.id ?? "?"}${e.subsystemId ? ` subsystem ${e.subsystemId}` : ""}${e.iommugroup !== null ? ` group ${e.iommugroup}` : ""}`,
        );
      }
    }
    for (const ch of m.checks) {
      const text = `  ${ch.severity}: ${ch.message}`;
      lines.push(ch.severity === "error" ? c.red(text) : c.yellow(text));
    }
  }
  return `${lines.join("\n")}\n`;
}

export function renderAttach(r: VmAttachResult, c: Colors): string {
  const lines: string[] = [];
  for (const n of r.notes) lines.push(c.dim(`note: ${n}`));
  if (r.command) lines.push(`${r.dryRun ? "would run" : "ran"}: ${r.command}`);
  if (r.override) {
    lines.push(r.override.diff.trimEnd());
    if (r.override.backup) lines.push(c.dim(`previous profile_override.toml: ${r.override.backup}`));
  }
  lines.push(r.pending ? c.yellow(r.message) : c.green(r.message));
  if (r.dryRun) lines.push(c.dim("dry run: nothing was changed"));
  return `${lines.join("\n")}\n`;
}

export function renderVmList(r: VmListReport, c: Colors): string {
  const rows = [[c.dim("vmid"), c.dim("name"), c.dim("state"), c.dim("vGPU"), c.dim("GPU"), c.dim("VRAM")]];
  for (const vm of r.vms) {
    const state = vm.running === null ? "" : vm.running ? "running" : "stopped";
    if (vm.vgpus.length === 0) rows.push([String(vm.vmid), vm.name ?? "", state, c.dim("none"), "", ""]);
    for (const v of vm.vgpus) {
      rows.push([
        String(vm.vmid),
        vm.name ?? "",
        state,
        `hostpci${v.index}: ${v.type}${v.typeName ? ` (${v.typeName})` : ""}${v.pendingRemoval ? c.yellow(" removal pending (next VM start)") : v.pending ? c.yellow(" pending") : ""}`,
        v.mapping ? `mapping=${v.mapping}` : `${v.gpu ?? "?"}${v.vf ? c.dim(` VF ${v.vf}`) : ""}`,
        v.vramMiB !== null ? `${formatSize(v.vramMiB)}${v.vramFrom ? c.dim(` ${v.vramFrom}`) : ""}` : "?",
      ]);
    }
  }
  const lines = [c.bold(`VMs on ${r.host}`), table(rows, "  ")];
  for (const g of r.gpus) {
    lines.push(
      `GPU ${g.address} ${g.name}: ${g.types.length > 0 ? g.types.join(", ") : c.dim("no vGPU assigned")}, ${formatSize(g.assignedMiB)}${g.vramMiB !== null ? ` of ${formatSize(g.vramMiB)}` : ""} assigned`,
    );
  }
  return `${lines.join("\n")}\n`;
}
