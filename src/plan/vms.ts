/**
 * The VM part of a plan: `vms:` of vgpu.yaml → one step per VM whose vGPU or overrides differ. Pure.
 *
 * - `{vmid, type | vram…}`: the split (src/place/split.ts) chooses the GPU (and, for VRAM-only VMs,
 *   the type); the step runs `qm set N --hostpciK ADDR,mdev=nvidia-T[,pcie=1]` (research/proxmox.md
 *   §1b) and writes the VM's [vm.N] section of profile_override.toml when its VRAM or display
 *   differs from the type (comment-keeping editor, validated before anything is written). A VM that
 *   already has that vGPU and those overrides gets no step, so a second apply changes nothing.
 * - `{vmid, vgpu: none}`: `qm set N --delete hostpciK` for each vGPU it has, and its [vm.N] section goes.
 * - Refusals (unknown VM or type, a second type on a GPU, instances, VRAM, pcie=1 on i440fx, …)
 *   become blockers with the refusal code; VMs vgpu.yaml does not list are left alone.
 * Undo of every step: the previous hostpci value back (or deleted); profile_override.toml is
 * restored from its backup by the executor.
 * On a host that is not set up yet the steps are marked `afterReboot`: the types come from NVIDIA's
 * table for the GPU, and apply re-plans and runs them once the reboot made the types real.
 */

import type { HostEntry, VmSpec } from "../desired/schema.ts";
import { mdevUuidFor } from "../facts/derive.ts";
import { parseProfileOverride } from "../facts/nvidia/unlock.ts";
import {
  OVERRIDE_PATH,
  type OverrideChanges,
  setOverride,
  unsetOverride,
} from "../formats/profile-override/index.ts";
import { withoutVendor } from "../knowledge/type-name.ts";
import { seriesOf, typesForGpu } from "../knowledge/vgpu-types.ts";
import { formatMiB, parseSize } from "../knowledge/vram.ts";
import { MAX_HOSTPCI } from "../place/attach.ts";
import { checkResolution, parseMaxResolution, parseResolution } from "../place/display.ts";
import {
  addressOnGpu,
  buildPlacementModel,
  freeVf,
  isQ35,
  type PlaceGpu,
  type PlaceHostpci,
  type PlacementModel,
  type PlaceVm,
  sharingOf,
  sharingRule,
} from "../place/model.ts";
import { type Placement, planSplit, type SplitRequest, type SplitResult } from "../place/split.ts";
import { buildInspectReport } from "../report/inspect-report.ts";
import { UserError } from "../util/errors.ts";
import { fileChange } from "./build.ts";
import type { ClusterMappingWant } from "./cluster-mapping.ts";
import type { Blocker, Change, PlanInput, Step } from "./types.ts";

/**
 * A VM line the placement of top-level `vms:` gave a host (commands/place.ts): on a cluster it is attached
 * through the resource mapping `mapping` (hostpciN: mapping=ID,mdev=TYPE) — Proxmox VE picks the function
 * of the mapping on the node at VM start — instead of by address. Not a vgpu.yaml key.
 */
export type PlannedVmSpec = VmSpec & { mapping?: string };

/** A host entry as plan/apply plan it: with the cluster mappings the placement gave this node to make. */
export type PlannedEntry = HostEntry & { clusterMappings?: ClusterMappingWant[] };

export interface VmPlanInput extends Pick<PlanInput, "facts" | "file"> {
  /** steps planned before these (setup): a profile_override.toml they write is the starting point */
  priorSteps: Step[];
  /** the setup still needs its reboot: the VM steps run after it (types exist only then) */
  afterReboot: boolean;
  /** vgpu_unlock-rs is (or will be) preloaded, so profile_override.toml takes effect */
  unlock: boolean;
}

export interface VmPlan {
  steps: Step[];
  blockers: Blocker[];
  notes: string[];
  split: SplitResult | null;
}

const MANAGED_VRAM = ["framebuffer", "framebuffer_reservation"];
const MANAGED_DISPLAY = ["display_width", "display_height", "max_pixels"];
const MANAGED_HEADS = ["num_displays"];

export function planVms(entry: HostEntry, input: VmPlanInput): VmPlan {
  const out: VmPlan = { steps: [], blockers: [], notes: [], split: null };
  const specs = entry.vms ?? [];
  if (specs.length === 0) return out;
  const f = input.facts;
  const block = (code: string, title: string, evidence: string[], fix: string[]) =>
    out.blockers.push({ code, title, evidence, fix });
  if (f.vms === null) {
    block(
      "not-captured",
      "The VM configurations could not be read",
      ["/etc/pve/qemu-server was not captured"],
      ["run vgpuctl as root on the node that owns the VMs"],
    );
    return out;
  }
  const model = buildPlacementModel(buildInspectReport(f), f);
  for (const vm of model.vms) applyPendingDeletes(vm, input.file(`/etc/pve/qemu-server/${vm.vmid}.conf`));
  if (input.afterReboot) for (const g of model.gpus) if (g.types.length === 0) fillKnownTypes(g, f);
  if (input.afterReboot) ruleOfInstalledDriver(model, entry);

  // ── the split ──────────────────────────────────────────────────────────────────
  const requests: SplitRequest[] = [];
  const wanted = new Map<number, VmSpec>();
  for (const spec of specs) {
    wanted.set(spec.vmid, spec);
    if (spec.vgpu === "none") continue;
    let vramMiB: number | undefined;
    if (spec.vram !== undefined) {
      try {
        vramMiB = parseSize(spec.vram);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        block("vram-invalid", `VM ${spec.vmid}: ${e.message}`, [`vram: ${spec.vram}`], [e.hint ?? ""]);
        continue;
      }
    }
    requests.push({
      vmid: spec.vmid,
      type: spec.type,
      vramMiB,
      os: spec.os,
      workload: spec.workload,
      gpu: spec.gpu,
    });
  }
  const gpuTypes: Record<string, string> = {};
  for (const g of entry.gpus ?? []) {
    const addr = g.address ?? (model.gpus.length === 1 ? model.gpus[0]!.address : null);
    if (addr) gpuTypes[addr] = g.type;
    // mixed-size mode, which the mixed-size pass sets, lets the GPU take vGPUs of different sizes
    const pg = addr ? model.gpus.find((x) => x.address === addr) : undefined;
    if (pg && g.mixedSizes) pg.mixedSizes = true;
  }
  const split = planSplit(model, requests, {
    managed: [...wanted.keys()],
    gpuTypes,
    overrides: input.unlock !== false,
  });
  out.split = split;
  for (const u of split.unplaced)
    block(u.code, u.message, [`vgpu.yaml: ${describeSpec(wanted.get(u.vmid))}`], u.hint ? [u.hint] : []);

  // ── one step per VM ────────────────────────────────────────────────────────────
  let override = overrideBase(input);
  const editOverride = (
    vmid: number,
    edit: (text: string) => string,
  ): { change: Change | null; ok: boolean } => {
    const before = override.text;
    let after: string;
    try {
      after = edit(before ?? "");
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      block("override-invalid", `VM ${vmid}: ${e.message.split("\n")[0]}`, e.message.split("\n").slice(1), [
        e.hint ?? "fix profile_override.toml by hand first",
      ]);
      return { change: null, ok: false };
    }
    if (after === (before ?? "")) return { change: null, ok: true };
    if (!override.known) {
      block(
        "not-captured",
        `${OVERRIDE_PATH} could not be read`,
        [`VM ${vmid} needs a change in ${OVERRIDE_PATH}, which was not captured`],
        ["run vgpuctl as root"],
      );
      return { change: null, ok: false };
    }
    override = { text: after, known: true };
    return { change: fileChange(OVERRIDE_PATH, before, after, 0o644), ok: true };
  };

  // detaches first: they free what the split already counted as free
  for (const spec of specs) {
    if (spec.vgpu !== "none") continue;
    const vm = model.vms.find((v) => v.vmid === spec.vmid);
    if (!vm) {
      out.notes.push(`VM ${spec.vmid} (vgpu: none) does not exist: nothing to detach`);
      continue;
    }
    const step = detachStep(vm, input, editOverride);
    if (step) out.steps.push(step);
  }
  for (const p of split.placements) {
    const vm = model.vms.find((v) => v.vmid === p.vmid)!;
    const gpu = model.gpus.find((g) => g.address === p.gpu)!;
    const step = attachStep(p, vm, gpu, model, wanted.get(p.vmid)!, input, block, editOverride);
    if (step) out.steps.push(step);
  }
  for (const vm of model.vms) {
    if (wanted.has(vm.vmid)) continue;
    const v = vm.hostpci.filter((h) => h.mdev !== null);
    if (v.length > 0)
      out.notes.push(
        `VM ${vm.vmid} has a vGPU vgpu.yaml does not list (${v.map((h) => `hostpci${h.index}: ${h.raw}`).join("; ")}): left as is, its VRAM counted as taken`,
      );
  }
  if (input.afterReboot && out.steps.length > 0)
    out.notes.push(
      "the VM steps run after the reboot, once the driver offers the vGPU types; apply re-plans them then",
    );
  return out;
}

/**
 * Before the reboot that loads the driver vgpu.yaml installs, the GPUs follow that driver's sharing rule
 * (place/model.ts sharingRule: one type < 525, one framebuffer size from 525), not the old or no driver's.
 */
function ruleOfInstalledDriver(model: PlacementModel, entry: HostEntry): void {
  const version = entry.driver?.version ?? /(\d+\.\d+(?:\.\d+)?)/.exec(entry.driver?.installer ?? "")?.[1];
  if (!version) return;
  for (const g of model.gpus)
    g.sharing = sharingRule({ driverVersion: version, mixedSizes: false, fallback: sharingOf(g) });
}

/**
 * The VM's vGPU hostpci entry to keep or replace (the one of this type on this GPU — or, through a
 * mapping, on that mapping — else its first), its other vGPUs, and whether it already is as wanted.
 */
function vgpuOfVm(vm: PlaceVm, gpu: PlaceGpu, type: string, pcie: boolean, mapped: string | null) {
  // through a mapping, the node's Proxmox VE picks the function at start: the mapping is the target
  const onTarget = (h: PlaceHostpci) =>
    mapped !== null ? h.mapping === mapped : addressOnGpu(h.address, gpu);
  const vgpus = vm.hostpci.filter((h) => h.mdev !== null);
  const current = vgpus.find((h) => h.mdev === type && onTarget(h)) ?? vgpus[0] ?? null;
  const extras = vgpus.filter((h) => h !== current);
  const attached =
    current !== null &&
    current.mdev === type &&
    onTarget(current) &&
    !(mapped === null && gpu.vfs && current.address === gpu.address) && // an SR-IOV GPU's physical function takes no vGPU
    current.pcie === pcie &&
    extras.length === 0;
  return { current, extras, attached };
}

function attachStep(
  p: Placement,
  vm: PlaceVm,
  gpu: PlaceGpu,
  model: PlacementModel,
  spec: VmSpec,
  input: VmPlanInput,
  block: (code: string, title: string, evidence: string[], fix: string[]) => void,
  editOverride: (vmid: number, edit: (t: string) => string) => { change: Change | null; ok: boolean },
): Step | null {
  const q35 = isQ35(vm.machine);
  if (spec.pcie === true && !q35) {
    block(
      "pcie-non-q35",
      `VM ${vm.vmid}: pcie=1 needs a q35 machine, but the VM is ${vm.machine ?? "i440fx (the default)"}; Proxmox VE would refuse to start it ("q35 machine model is not enabled")`,
      [`vgpu.yaml: ${describeSpec(spec)}`],
      [`leave out pcie, or switch the VM to q35 first (qm set ${vm.vmid} --machine q35)`],
    );
    return null;
  }
  const pcie = spec.pcie ?? q35;
  const mapped = (spec as PlannedVmSpec).mapping ?? null;
  const { current, extras, attached } = vgpuOfVm(vm, gpu, p.type, pcie, mapped);
  let index = current?.index ?? null;
  if (index === null) {
    for (let i = 0; i < MAX_HOSTPCI && index === null; i++)
      if (!vm.hostpci.some((h) => h.index === i)) index = i;
  }
  if (index === null) {
    block(
      "slot-in-use",
      `VM ${vm.vmid} uses all ${MAX_HOSTPCI} hostpci slots`,
      vm.hostpci.map((h) => `hostpci${h.index}: ${h.raw}`),
      ["remove a PCI device from the VM first"],
    );
    return null;
  }
  if (!attached) {
    const uuid = mdevUuidFor(vm.vmid, index);
    const other = model.vms.find((v) => v.vmid !== vm.vmid && v.args?.toLowerCase().includes(uuid));
    if (other) {
      block(
        "duplicate-mdev-uuid",
        `VM ${vm.vmid}: mdev ${uuid} (the UUID Proxmox VE gives hostpci${index} of VM ${vm.vmid}) is used by VM ${other.vmid} (args)`,
        [`VM ${other.vmid} args: ${other.args}`],
        [`fix the args: line of VM ${other.vmid} (cloned VMs keep -uuid)`],
      );
      return null;
    }
  }

  // overrides: VRAM and display when they differ from the type; keys vgpu.yaml no longer asks for go
  const t = gpu.types.find((x) => x.type === p.type);
  const changes: OverrideChanges = {};
  if (p.overrideVramMiB !== null) changes.vramMiB = p.overrideVramMiB;
  if (spec.resolution !== undefined) {
    let want: { width: number; height: number };
    try {
      want = parseResolution(spec.resolution);
      checkResolution(want, t?.maxResolution ?? null, p.type, "its mdev type");
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      block(
        "resolution-too-large",
        `VM ${vm.vmid}: ${e.message}`,
        [`resolution: ${spec.resolution}`],
        [e.hint ?? ""],
      );
      return null;
    }
    const max = parseMaxResolution(t?.maxResolution);
    if (!max || max.width !== want.width || max.height !== want.height) changes.display = want;
  }
  if (spec.displays !== undefined && spec.displays !== t?.numHeads) changes.displays = spec.displays;
  if (Object.keys(changes).length > 0 && !input.unlock) {
    block(
      "override-needs-unlock",
      `VM ${vm.vmid} needs a per-VM override (${Object.keys(changes).join(", ")}), but vgpu_unlock-rs is not preloaded: profile_override.toml would have no effect`,
      [`vgpu.yaml: ${describeSpec(spec)}`, "unlock: off, and no drop-in preloads libvgpu_unlock_rs.so"],
      ["set `unlock: on` (overrides need vgpu_unlock-rs), or give the VM a `type` of the size it needs"],
    );
    return null;
  }
  const target = { kind: "vm" as const, key: String(vm.vmid) };
  const ov = editOverride(vm.vmid, (text) => convergeOverride(text, target, changes));
  if (!ov.ok) return null;

  const changesOut: Change[] = [];
  const undo: string[][] = [];
  const device =
    mapped !== null ? `mapping=${mapped}` : attached ? current!.address : parentFor(gpu, vm, model, p.type);
  const value = `${device},mdev=${p.type}${pcie ? ",pcie=1" : ""}`;
  if (!attached) {
    const argv = ["qm", "set", String(vm.vmid), `--hostpci${index}`, value];
    if (extras.length > 0) argv.push("--delete", extras.map((h) => `hostpci${h.index}`).join(","));
    changesOut.push({ kind: "command", argv });
    undo.push(
      current
        ? ["qm", "set", String(vm.vmid), `--hostpci${index}`, current.raw]
        : ["qm", "set", String(vm.vmid), "--delete", `hostpci${index}`],
    );
    for (const h of extras) undo.push(["qm", "set", String(vm.vmid), `--hostpci${h.index}`, h.raw]);
  }
  if (ov.change) changesOut.push(ov.change);
  if (changesOut.length === 0) return null;

  const what = `${p.typeName ? withoutVendor(p.typeName) : p.type} (${p.type})`;
  const vram = p.vramMiB !== null ? `, ${formatMiB(p.vramMiB)}` : "";
  const title = attached
    ? `Set the vGPU overrides of VM ${vm.vmid} (${what}${vram})`
    : current
      ? `Change the vGPU of VM ${vm.vmid} to ${what}${vram} on GPU ${gpu.address}`
      : `Attach vGPU ${what}${vram} on GPU ${gpu.address}${mapped !== null ? ` (through mapping ${mapped})` : ""} to VM ${vm.vmid}`;
  const why = [
    ...p.reasons,
    ...(current && !attached ? [`replaces hostpci${current.index}: ${current.raw}`] : []),
    ...(vm.running
      ? [`VM ${vm.vmid} is running: the change is pending and takes effect at its next start`]
      : []),
  ].join("; ");
  return {
    id: `vm-${vm.vmid}`,
    title,
    why,
    changes: changesOut,
    reboot: false,
    ...(input.afterReboot ? { afterReboot: true } : {}),
    undo: {
      description: current
        ? `give VM ${vm.vmid} back hostpci${current.index}: ${current.raw}`
        : `remove hostpci${index} from VM ${vm.vmid}`,
      commands: undo,
      regenerate: [],
    },
  };
}

function detachStep(
  vm: PlaceVm,
  input: VmPlanInput,
  editOverride: (vmid: number, edit: (t: string) => string) => { change: Change | null; ok: boolean },
): Step | null {
  const vgpus = vm.hostpci.filter((h) => h.mdev !== null);
  const target = { kind: "vm" as const, key: String(vm.vmid) };
  const ov = editOverride(vm.vmid, (text) => unsetOverride(text, target).text);
  if (!ov.ok) return null;
  const changes: Change[] = [];
  if (vgpus.length > 0)
    changes.push({
      kind: "command",
      argv: ["qm", "set", String(vm.vmid), "--delete", vgpus.map((h) => `hostpci${h.index}`).join(",")],
    });
  if (ov.change) changes.push(ov.change);
  if (changes.length === 0) return null;
  return {
    id: `vm-${vm.vmid}-detach`,
    title:
      vgpus.length > 0
        ? `Detach the vGPU from VM ${vm.vmid} (${vgpus.map((h) => h.mdev).join(", ")})`
        : `Remove the vGPU overrides of VM ${vm.vmid}`,
    why: [
      "vgpu.yaml: vgpu: none",
      ...(vgpus.length > 0 && vm.running
        ? [`VM ${vm.vmid} is running: the removal is pending and takes effect at its next start`]
        : []),
    ].join("; "),
    changes,
    reboot: false,
    ...(input.afterReboot ? { afterReboot: true } : {}),
    undo: {
      description: `give VM ${vm.vmid} back ${vgpus.map((h) => `hostpci${h.index}`).join(", ") || "its overrides"}`,
      commands: vgpus.map((h) => ["qm", "set", String(vm.vmid), `--hostpci${h.index}`, h.raw]),
      regenerate: [],
    },
  };
}

/**
 * [vm.N] as vgpu.yaml wants it: set what differs from the type, drop the VRAM/display keys it no
 * longer asks for (the whole section when nothing else is left). Unchanged text when already so.
 */
export function convergeOverride(
  text: string,
  target: { kind: "vm"; key: string },
  changes: OverrideChanges,
): string {
  const section = () =>
    parseProfileOverride(text).sections.find((s) => s.kind === "vm" && s.key === target.key)?.values ?? null;
  const existing = section();
  let out = text;
  if (Object.keys(changes).length > 0) {
    const edited = setOverride(out, target, changes).text;
    const now = parseProfileOverride(edited).sections.find((s) => s.kind === "vm" && s.key === target.key);
    // same values written differently (decimal vs hex): leave the user's spelling alone
    if (!existing || !sameValues(existing, now?.values ?? {})) out = edited;
  }
  if (!existing) return out;
  const unwanted = [
    ...(changes.vramMiB === undefined ? MANAGED_VRAM : []),
    ...(changes.display === undefined ? MANAGED_DISPLAY : []),
    ...(changes.displays === undefined ? MANAGED_HEADS : []),
  ].filter((k) => k in existing);
  if (unwanted.length === 0) return out;
  const left = Object.keys(existing).filter((k) => !unwanted.includes(k));
  const wantsKeys = Object.keys(changes).length > 0;
  return left.length === 0 && !wantsKeys
    ? unsetOverride(out, target).text
    : unsetOverride(out, target, unwanted).text;
}

function sameValues(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** profile_override.toml as the earlier steps leave it (or as captured). */
function overrideBase(input: VmPlanInput): { text: string | null; known: boolean } {
  let text: string | null | undefined = input.file(OVERRIDE_PATH);
  for (const s of input.priorSteps)
    for (const c of s.changes) if (c.kind === "file" && c.path === OVERRIDE_PATH) text = c.after;
  return { text: text ?? null, known: text !== undefined };
}

/** `delete: hostpci0,…` of the conf's [PENDING] section: removals a running VM gets at its next start. */
export function pendingDeletes(conf: string | null | undefined): number[] {
  if (!conf) return [];
  let pending = false;
  const out: number[] = [];
  for (const raw of conf.split("\n")) {
    const line = raw.trim();
    const head = /^\[([^\]]*)\]$/.exec(line);
    if (head) {
      pending = head[1]!.trim().toUpperCase() === "PENDING";
      continue;
    }
    const m = pending ? /^delete\s*:\s*(.*)$/.exec(line) : null;
    if (!m) continue;
    for (const k of m[1]!.split(/[,;\s]+/)) {
      const h = /^!?hostpci(\d+)$/.exec(k);
      if (h) out.push(Number(h[1]));
    }
  }
  return out;
}

function applyPendingDeletes(vm: PlaceVm, conf: string | null | undefined): void {
  const gone = pendingDeletes(conf);
  if (gone.length > 0) vm.hostpci = vm.hostpci.filter((h) => h.pending || !gone.includes(h.index));
}

/** Before the driver runs, the GPU offers nothing yet: NVIDIA's table says what it will offer. */
function fillKnownTypes(g: PlaceGpu, f: VmPlanInput["facts"]): void {
  const pci = (f.pci ?? []).find((p) => p.address === g.address);
  if (!pci) return;
  g.types = typesForGpu(pci.deviceId, pci.subsystemDeviceId).map((t) => ({
    type: t.type,
    name: t.name,
    series: seriesOf(t.name),
    framebufferMiB: t.framebufferMiB,
    maxInstances: t.maxInstances,
    availableInstances: null,
    maxResolution: t.maxResolution,
    numHeads: t.numHeads,
    offered: false,
  }));
}

/**
 * The function to name in hostpci: the GPU, or on SR-IOV boards a free virtual function (place/model.ts
 * freeVf) — the VM's own when it has one. The VF is then recorded in the model as named by the VM, so
 * the next VM of this plan gets another.
 */
function parentFor(gpu: PlaceGpu, vm: PlaceVm, model: PlacementModel, type: string): string {
  if (!gpu.vfs) return gpu.address;
  const own = vm.hostpci.find((h) => h.mdev && h.address && gpu.vfs!.some((v) => v.address === h.address));
  const vf = own?.address ?? freeVf(model, gpu, vm.vmid, type)?.address ?? null;
  if (!vf) return gpu.address; // split.ts counted the VFs: not reached while it does
  if (!own)
    vm.hostpci.push({
      index: -1,
      raw: `${vf},mdev=${type}`,
      mdev: null,
      address: vf,
      mapping: null,
      pcie: false,
      pending: true,
    });
  return vf;
}

function describeSpec(spec: VmSpec | undefined): string {
  if (!spec) return "?";
  return `{${Object.entries(spec)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ")}}`;
}
