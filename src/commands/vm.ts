import { formatCommand } from "../facts/capture.ts";
import { mdevUuidFor } from "../facts/derive.ts";
import { normalisePciAddress } from "../facts/pci.ts";
import { parseHostpci } from "../facts/system/qemu-server.ts";
import type { Facts, HostpciEntry } from "../facts/types.ts";
import { OVERRIDE_PATH, setOverride } from "../formats/profile-override/index.ts";
import type { Host } from "../hosts/host.ts";
import { findType } from "../knowledge/vgpu-types.ts";
import { effectiveVramMiB } from "../knowledge/vram.ts";
import {
  type AttachPlan,
  addressOnGpu,
  buildPlacementModel,
  checkResolution,
  type DetachPlan,
  markPendingDeletes,
  mergeHostpci,
  type PlaceGpu,
  type PlacementModel,
  PlacementRefusal,
  pendingDeletes,
  planAttach,
  planDetach,
  resolveType,
  typeMiB,
} from "../place/index.ts";
import { PveApiError, type PveClient } from "../pve/index.ts";
import { NotCapturedError, UserError } from "../util/errors.ts";
import { runInspect } from "./inspect.ts";
import { sriovRoleOf } from "./mapping.ts";
import { overrideChangesFrom, unifiedDiff, writeWithBackup } from "./override.ts";
import { connectPve, type PveDeps } from "./pve-connect.ts";

export { parseTokenFile } from "./pve-connect.ts";

export interface VmListEntry {
  vmid: number;
  name: string | null;
  running: boolean | null;
  ostype: string | null;
  machine: string | null;
  vgpus: Array<{
    index: number;
    type: string;
    typeName: string | null;
    gpu: string | null;
    /** SR-IOV: the virtual function the hostpci entry names (`gpu` is its physical GPU) */
    vf: string | null;
    mapping: string | null;
    pending: boolean;
    /** a pending `delete:` removes it at the VM's next start */
    pendingRemoval: boolean;
    /** VRAM after overrides, MiB */
    vramMiB: number | null;
    /** the override section that sets it, e.g. "[vm.100]" */
    vramFrom: string | null;
  }>;
  otherPci: Array<{ index: number; raw: string }>;
}

export interface VmListReport {
  host: string;
  vms: VmListEntry[];
  gpus: Array<{
    address: string;
    name: string;
    vramMiB: number | null;
    types: string[];
    assignedMiB: number;
  }>;
}

export async function loadPlacement(host: Host): Promise<{ model: PlacementModel; facts: Facts }> {
  const { report, facts } = await runInspect({}, { host });
  const model = buildPlacementModel(report, facts);
  // The facts keep [PENDING] hostpci values but not its `delete:` line: read it for VMs whose
  // vGPU removal may be pending (running VMs with hostpci entries).
  for (const vm of model.vms) {
    if (vm.running === false || vm.hostpci.length === 0) continue;
    let text: string | null = null;
    try {
      text = await host.readFile(`/etc/pve/qemu-server/${vm.vmid}.conf`);
    } catch (e) {
      // a bundle that did not capture the file: its pending deletes are unknown, as with no file.
      // Any other failure (EACCES, a dropped connection) is an error, not "nothing pending".
      if (!(e instanceof NotCapturedError)) throw e;
    }
    if (text) markPendingDeletes(vm, pendingDeletes(text));
  }
  return { model, facts };
}

export function buildVmList(model: PlacementModel): VmListReport {
  const gpuOf = (addr: string | null): PlaceGpu | null =>
    addr ? (model.gpus.find((g) => addressOnGpu(addr, g)) ?? null) : null;
  const assigned = new Map<string, number>();
  const vms = model.vms.map((vm) => {
    const vgpus: VmListEntry["vgpus"] = [];
    const otherPci: VmListEntry["otherPci"] = [];
    for (const h of vm.hostpci) {
      if (!h.mdev) {
        otherPci.push({ index: h.index, raw: h.raw });
        continue;
      }
      const gpu = gpuOf(h.address);
      const uuid = mdevUuidFor(vm.vmid, h.index);
      const v = effectiveVramMiB(
        model.overrides,
        { vmid: vm.vmid, uuid, type: h.mdev },
        typeMiB(gpu, h.mdev),
        findType,
      );
      if (gpu && v.mib !== null) assigned.set(gpu.address, (assigned.get(gpu.address) ?? 0) + v.mib);
      vgpus.push({
        index: h.index,
        type: h.mdev,
        typeName: gpu?.types.find((t) => t.type === h.mdev)?.name ?? null,
        gpu: gpu?.address ?? h.address,
        vf: gpu?.vfs && h.address !== gpu.address ? h.address : null,
        mapping: h.mapping,
        pending: h.pending,
        pendingRemoval: h.pendingDelete === true,
        vramMiB: v.mib,
        vramFrom: v.from,
      });
    }
    return {
      vmid: vm.vmid,
      name: vm.name,
      running: vm.running,
      ostype: vm.ostype,
      machine: vm.machine,
      vgpus,
      otherPci,
    };
  });
  return {
    host: model.host,
    vms,
    gpus: model.gpus.map((g) => ({
      address: g.address,
      name: g.name,
      vramMiB: g.vramMiB,
      types: [...new Set(vms.flatMap((v) => v.vgpus.filter((x) => x.gpu === g.address).map((x) => x.type)))],
      assignedMiB: assigned.get(g.address) ?? 0,
    })),
  };
}

export async function runVmList(_o: Record<string, never>, deps: { host: Host }): Promise<VmListReport> {
  const { model } = await loadPlacement(deps.host);
  return buildVmList(model);
}

export interface VmAttachOptions {
  vmid: string;
  type: string;
  gpu?: string;
  mapping?: string;
  index?: string | number;
  vram?: string;
  display?: string;
  displays?: string | number;
  /** true = --pcie, false = --no-pcie, undefined = pcie=1 exactly on q35 */
  pcie?: boolean;
  dryRun?: boolean;
  now?: () => Date;
}

export interface VmAttachResult {
  host: string;
  vmid: number;
  /** "hostpci0" */
  key: string;
  /** "0000:01:00.0,mdev=nvidia-259,pcie=1" */
  value: string;
  type: string;
  typeName: string | null;
  gpu: string | null;
  mapping: string | null;
  pending: boolean;
  command: string | null;
  override: { diff: string; backup: string | null; written: boolean } | null;
  notes: string[];
  dryRun: boolean;
  /** what to tell the user, one line */
  message: string;
}

export function parseVmid(text: string | number): number {
  const s = String(text).trim();
  if (!/^[1-9]\d{2,8}$/.test(s))
    throw new UserError(
      `${JSON.stringify(String(text))} is not a VMID`,
      "Proxmox VE VMIDs are 100 … 999999999",
    );
  return Number(s);
}

function parseIndex(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v).trim();
  if (!/^\d+$/.test(s)) throw new UserError(`--index must be a number 0…15, got ${JSON.stringify(s)}`);
  return Number(s);
}

/** The result both attach paths (qm, API) report for a plan. */
function attachResult(
  plan: AttachPlan,
  at: { host: string; command: string; dryRun: boolean },
  override: VmAttachResult["override"] = null,
): VmAttachResult {
  return {
    host: at.host,
    vmid: plan.vmid,
    key: plan.key,
    value: plan.value,
    type: plan.type.type,
    typeName: plan.type.name,
    gpu: plan.gpu,
    mapping: plan.mapping,
    pending: plan.pending,
    command: at.command,
    override,
    notes: plan.notes,
    dryRun: at.dryRun,
    message: attachMessage(plan),
  };
}

function attachMessage(plan: AttachPlan): string {
  const where = plan.gpu ? `on GPU ${plan.gpu}` : `through mapping ${plan.mapping}`;
  const base = `VM ${plan.vmid}: ${plan.key} = ${plan.type.type}${plan.type.name ? ` (${plan.type.name})` : ""} ${where}`;
  return plan.pending
    ? `${base} — VM ${plan.vmid} is running: the change is pending and takes effect at next VM start`
    : `${base}; the vGPU is created when the VM starts`;
}

export async function runVmAttach(o: VmAttachOptions, deps: { host: Host }): Promise<VmAttachResult> {
  const { host } = deps;
  const vmid = parseVmid(o.vmid);
  const index = parseIndex(o.index);
  const changes = overrideChangesFrom({ vram: o.vram, display: o.display, displays: o.displays });
  const { model } = await loadPlacement(host);
  const plan = planAttach(model, {
    vmid,
    type: o.type,
    gpu: o.gpu,
    mapping: o.mapping,
    index,
    vramMiB: changes.vramMiB,
    pcie: o.pcie,
  });
  if (changes.display)
    checkResolution(changes.display, plan.type.maxResolution, plan.type.type, "its mdev type");

  // Prepare (and validate) the override before anything changes.
  let override: { before: string | null; after: string; diff: string } | null = null;
  if (Object.keys(changes).length > 0) {
    const before = await host.readFile(OVERRIDE_PATH);
    const edit = setOverride(before ?? "", { kind: "vm", key: String(vmid) }, changes);
    override = { before, after: edit.text, diff: unifiedDiff(OVERRIDE_PATH, before ?? "", edit.text) };
  }
  const argv = ["qm", "set", String(vmid), `--${plan.key}`, plan.value];
  const result = attachResult(
    plan,
    { host: model.host, command: formatCommand(argv), dryRun: Boolean(o.dryRun) },
    override ? { diff: override.diff, backup: null, written: false } : null,
  );
  if (o.dryRun) return result;

  // The override goes first: if `qm set` then fails, it is put back and nothing is half-done
  // (a VM attached with its override missing would start with the wrong VRAM).
  const write = override && result.override && override.after !== (override.before ?? "") ? override : null;
  if (write) {
    result.override!.backup = await writeWithBackup(host, OVERRIDE_PATH, write.before, write.after, o.now);
    result.override!.written = true;
  }
  const r = await host.exec(argv);
  if (r.exitCode !== 0) {
    if (write) {
      if (write.before === null) await host.remove(OVERRIDE_PATH);
      else await host.writeFile(OVERRIDE_PATH, write.before);
    }
    throw new UserError(
      `${formatCommand(argv)} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim() || "no output"}; nothing was changed${write ? ` (${OVERRIDE_PATH} put back as it was)` : ""}`,
    );
  }
  return result;
}

export interface VmDetachOptions {
  vmid: string;
  index?: string | number;
  dryRun?: boolean;
}

export interface VmDetachResult {
  host: string;
  vmid: number;
  removed: DetachPlan["removed"];
  pending: boolean;
  command: string;
  dryRun: boolean;
  message: string;
}

export async function runVmDetach(o: VmDetachOptions, deps: { host: Host }): Promise<VmDetachResult> {
  const vmid = parseVmid(o.vmid);
  const { model } = await loadPlacement(deps.host);
  const plan = planDetach(model, vmid, parseIndex(o.index));
  const argv = ["qm", "set", String(vmid), "--delete", plan.keys.join(",")];
  const message = plan.pending
    ? `VM ${vmid}: ${plan.keys.join(", ")} removed as a pending change — VM ${vmid} is running; takes effect at next VM start`
    : `VM ${vmid}: ${plan.keys.join(", ")} removed`;
  const res: VmDetachResult = {
    host: model.host,
    vmid,
    removed: plan.removed,
    pending: plan.pending,
    command: formatCommand(argv),
    dryRun: Boolean(o.dryRun),
    message,
  };
  if (o.dryRun) return res;
  const r = await deps.host.exec(argv);
  if (r.exitCode !== 0)
    throw new UserError(
      `${formatCommand(argv)} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`,
    );
  return res;
}

// ---------------------------------------------------------------------------------------------
// Cluster mode through the Proxmox VE API

export interface VmAttachApiOptions extends VmAttachOptions {
  api: string;
  tokenFile: string;
  fingerprint?: string;
  /** PEM file of the cluster CA */
  caFile?: string;
  node?: string;
}

/** Attach through the Proxmox VE API; the client is injectable for tests. */
export async function runVmAttachApi(o: VmAttachApiOptions, deps: PveDeps = {}): Promise<VmAttachResult> {
  const vmid = parseVmid(o.vmid);
  if (o.vram !== undefined || o.display !== undefined || o.displays !== undefined) {
    throw new UserError(
      "--vram/--display need profile_override.toml on the node, which the API cannot write",
      `attach through the API, then: vgpuctl override set --host ssh://root@NODE --vm ${vmid} --vram …`,
    );
  }
  if (o.mapping === undefined && o.gpu === undefined)
    throw new UserError("with --api give --mapping ID (cluster resource mapping) or --gpu ADDR");
  const client = await connectPve(o, deps);
  try {
    let node = o.node;
    if (!node) {
      const nodes = await client.listNodes();
      if (nodes.length !== 1)
        throw new UserError(
          `the cluster has ${nodes.length} nodes; say which one runs VM ${vmid}`,
          `add --node (${nodes.map((n) => n.node).join(", ")})`,
        );
      node = nodes[0]!.node;
    }
    let cfg: Awaited<ReturnType<PveClient["getVmConfig"]>>;
    try {
      cfg = await client.getVmConfig(node, vmid);
    } catch (e) {
      // qemu-server's load_config dies "Configuration file 'nodes/<node>/qemu-server/<vmid>.conf' does not
      // exist" (HTTP 500); any other 500 (a pmxcfs timeout, …) is not an unknown VM
      if (e instanceof PveApiError && /does not exist/.test(e.pveMessage ?? ""))
        throw new PlacementRefusal("unknown-vm", `VM ${vmid} does not exist on node ${node}`, e.message);
      throw e;
    }
    let running: boolean | null = null;
    try {
      const st = await client.get<{ status?: string }>(
        `/nodes/${encodeURIComponent(node)}/qemu/${vmid}/status/current`,
      );
      running = st?.status === "running";
    } catch (e) {
      // An answer of the API (403 without VM.Audit on /vms/<vmid>, a 5xx when the node the call is
      // proxied to does not answer: qemu-server API2/Qemu.pm vm_status, proxyto => 'node') leaves the
      // state unknown; a lost connection or a bug is an error.
      if (!(e instanceof PveApiError)) throw e;
    }
    const hostpci: HostpciEntry[] = Object.entries(cfg.config)
      .filter(([k]) => /^hostpci\d+$/.test(k))
      .map(([k, v]) => parseHostpci(Number(k.slice(7)), String(v)));
    const target = o.mapping ?? o.gpu!;
    if (o.gpu !== undefined && o.mapping === undefined) {
      // an SR-IOV GPU's physical function takes no vGPU: name one of its virtual functions
      const role = sriovRoleOf(await client.listPciDevices(node), o.gpu);
      if (role.kind === "pf")
        throw new PlacementRefusal(
          "physical-function",
          `${o.gpu} is the physical function of an SR-IOV GPU on ${node}; its vGPUs live on its ${role.vfs.length} virtual functions, so Proxmox VE cannot start a vGPU on it`,
          `name a free virtual function (e.g. --gpu ${role.vfs[0]}), or use a resource mapping of its VFs (vgpuctl vm mapping create --gpu ${o.gpu})`,
        );
    }
    const types = await client.listPciMdevTypes(node, target);
    const mappings = o.mapping ? await client.listPciMappings() : null;
    const gpu: PlaceGpu = {
      address: o.gpu ? (normalisePciAddress(o.gpu) ?? o.gpu) : `mapping:${o.mapping}`,
      name: o.mapping ? `mapping ${o.mapping}` : o.gpu!,
      vramMiB: null,
      parents: o.gpu ? [normalisePciAddress(o.gpu) ?? o.gpu] : [],
      types: types.map((t) => ({
        type: t.type,
        name: t.name,
        series: null,
        framebufferMiB: t.framebufferMiB,
        maxInstances: t.maxInstances,
        availableInstances: t.available,
        maxResolution: t.maxResolution,
        numHeads: t.numHeads,
        offered: true,
      })),
      mdevs: [],
    };
    const model: PlacementModel = {
      host: node,
      gpus: [gpu],
      vms: [
        {
          vmid,
          name: typeof cfg.config.name === "string" ? cfg.config.name : null,
          ostype: typeof cfg.config.ostype === "string" ? cfg.config.ostype : null,
          machine: typeof cfg.config.machine === "string" ? cfg.config.machine : null,
          running,
          args: typeof cfg.config.args === "string" ? cfg.config.args : null,
          hostpci: mergeHostpci(hostpci, []),
        },
      ],
      overrides: [],
      mappings,
    };
    if (o.mapping && types.length > 0) {
      const wanted = resolveType(model, o.type);
      if (!types.some((t) => t.type === wanted.type))
        throw new PlacementRefusal(
          "type-not-offered",
          `the devices of mapping ${o.mapping} on ${node} do not offer ${wanted.type}`,
          `they offer: ${types
            .map((t) => t.type)
            .slice(0, 10)
            .join(", ")}`,
        );
    }
    const plan = planAttach(model, {
      vmid,
      type: o.type,
      mapping: o.mapping,
      gpu: o.mapping ? undefined : gpu.address,
      index: parseIndex(o.index),
      pcie: o.pcie,
    });
    const result = attachResult(plan, {
      host: node,
      command: `POST /nodes/${node}/qemu/${vmid}/config ${plan.key}=${plan.value}`,
      dryRun: Boolean(o.dryRun),
    });
    if (!o.dryRun) {
      // the asynchronous config API: a failing worker task is reported with its log
      const task = await client.updateVmConfig(node, vmid, { [plan.key]: plan.value }, cfg.digest);
      if (task?.exitstatus && task.exitstatus !== "OK")
        result.notes.push(`Proxmox VE task ${task.upid}: ${task.exitstatus}`);
    }
    return result;
  } finally {
    if (!deps.client) await client.close();
  }
}
