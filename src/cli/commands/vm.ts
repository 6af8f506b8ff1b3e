import {
  runVmAttach,
  runVmAttachApi,
  runVmDetach,
  runVmList,
  type VmAttachResult,
  type VmListReport,
} from "../../commands/vm.ts";
import { UserError } from "../../util/errors.ts";
import type { GlobalOptions } from "../context.ts";
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
    .option("--gpu <addr>", "GPU address (default: one already carrying the type, else an empty one)")
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
        v.mapping ? `mapping=${v.mapping}` : (v.gpu ?? "?"),
        v.vramMiB !== null ? `${v.vramMiB} MiB${v.vramFrom ? c.dim(` ${v.vramFrom}`) : ""}` : "?",
      ]);
    }
  }
  const lines = [c.bold(`VMs on ${r.host}`), table(rows, "  ")];
  for (const g of r.gpus) {
    lines.push(
      `GPU ${g.address} ${g.name}: ${g.types.length > 0 ? g.types.join(", ") : c.dim("no vGPU assigned")}, ${g.assignedMiB}${g.vramMiB !== null ? ` of ${g.vramMiB}` : ""} MiB assigned`,
    );
  }
  return `${lines.join("\n")}\n`;
}
