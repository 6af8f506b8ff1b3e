/**
 * `vgpuctl place -f vgpu.yaml [--inventory FILE] [--json]` (DESIGN.md "place"): where the top-level `vms:`
 * requests of vgpu.yaml go on the cluster, planned without touching a host — from saved `inspect --json`
 * reports (--inventory: one object or an array), or by inspecting the hosts the file names.
 */
import { resolve } from "node:path";
import type { Desired, HostEntry, PlaceVmSpec } from "../desired/schema.ts";
import type { Host } from "../hosts/host.ts";
import { parseSize } from "../knowledge/vram.ts";
import { inventoryProblem } from "../place/opt/inventory.ts";
import type { OptRequest } from "../place/opt/problem.ts";
import { type SolveResult, solvePlacement } from "../place/opt/solve.ts";
import type { PlannedEntry, PlannedVmSpec } from "../plan/vms.ts";
import { buildInspectReport, type InspectReport } from "../report/inspect-report.ts";
import { UserError } from "../util/errors.ts";
import { type FleetOptions, type FleetOutcome, runFleet } from "./fleet.ts";
import { runInspect } from "./inspect.ts";
import { attachPlaced } from "./place-mapping.ts";
import { type ClusterGathered, type DesiredDeps, loadDesired } from "./plan.ts";

export interface PlaceOptions extends FleetOptions {
  file: string;
  inventory?: string;
  rebalance?: boolean;
  /** seconds for the exact solver */
  solverTimeSec?: number;
}

export interface PlaceJson {
  placed: Array<{ vmid: number; host: string; gpu: string; type: string; name: string | null }>;
  unplaced: Array<{ vmid: number; reason: string }>;
  gpusUsed: number;
  bound: number;
  /** "exact": the number placed is proven the most any placement places (bound == placed); "time-limit":
   * bound is the solver's proven bound; "heuristic": no exact solver ran */
  method: SolveResult["method"];
  /** no placement of as many VMs uses fewer GPUs newly (or moves fewer VMs): proven by the solver */
  gpusProven: boolean;
  note?: string;
}

export function placeRequest(vm: PlaceVmSpec): OptRequest {
  const r: OptRequest = { vmid: vm.vmid };
  if (vm.type !== undefined) r.type = vm.type;
  else {
    r.minMiB = parseSize(vm.vram!);
    r.series = vm.series ?? "Q";
  }
  if (vm.node !== undefined) r.host = vm.node;
  if (vm.notWith !== undefined) r.notWith = vm.notWith;
  return r;
}

/** Read an inventory file: one inspect report or an array of them. */
export async function readInventory(
  file: string,
  deps: Pick<DesiredDeps, "cwd" | "readText">,
): Promise<InspectReport[]> {
  let text: string;
  try {
    text = await deps.readText(resolve(deps.cwd, file));
  } catch (e) {
    throw new UserError(
      `cannot read inventory ${file}: ${(e as Error).message}`,
      "save one with `vgpuctl inspect --json > FILE`",
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(
      `inventory ${file} is not JSON: ${(e as Error).message}`,
      "it holds `vgpuctl inspect --json` output (one object or an array)",
    );
  }
  const list = Array.isArray(data) ? data : [data];
  list.forEach((r, i) => {
    const item = `inventory ${file}${Array.isArray(data) ? ` item ${i}` : ""}`;
    const ok = isRecord(r) && typeof r.host === "string" && Array.isArray(r.gpus) && Array.isArray(r.vms);
    if (!ok)
      throw new UserError(
        `${item} is not an inspect report (needs host, gpus, vms)`,
        "save one with `vgpuctl inspect --json > FILE`",
      );
    const bad = reportShapeError(r as { gpus: unknown[]; vms: unknown[] });
    if (bad) throw new UserError(`${item}: ${bad}`, "save it again with `vgpuctl inspect --json > FILE`");
  });
  return list as InspectReport[];
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);
const isList = (x: unknown, item: (e: unknown) => boolean) => Array.isArray(x) && x.every(item);
const numberOrNone = (x: unknown) => x === undefined || x === null || typeof x === "number";

/**
 * What is wrong with the fields of an inspect report place reads (DESIGN.md inspect JSON), or null:
 * a hand-edited or hostile inventory is refused in one line instead of failing inside the optimiser.
 */
function reportShapeError(r: { gpus: unknown[]; vms: unknown[] }): string | null {
  const type = (t: unknown) =>
    isRecord(t) &&
    typeof t.type === "string" &&
    numberOrNone(t.framebufferMiB) &&
    numberOrNone(t.maxInstances);
  const vgpu = (v: unknown) =>
    isRecord(v) && numberOrNone(v.vmid) && (v.type === null || typeof v.type === "string");
  const vf = (v: unknown) => isRecord(v) && typeof v.address === "string";
  for (const [j, g] of r.gpus.entries()) {
    if (!isRecord(g) || typeof g.address !== "string" || !numberOrNone(g.vramMiB))
      return `gpus[${j}] is not a GPU (needs address, vramMiB)`;
    if (!isList(g.mdevTypes, type)) return `gpus[${j}].mdevTypes is not a list of types`;
    if (!isList(g.vgpus, vgpu)) return `gpus[${j}].vgpus is not a list of vGPUs`;
    if (g.vfs !== undefined && g.vfs !== null && !isList(g.vfs, vf))
      return `gpus[${j}].vfs is not a list of VFs`;
  }
  const hostpci = (h: unknown) =>
    isRecord(h) &&
    (h.address === null || typeof h.address === "string") &&
    (h.mdev === null || h.mdev === undefined || typeof h.mdev === "string");
  for (const [j, vm] of r.vms.entries())
    if (!isRecord(vm) || typeof vm.vmid !== "number" || !isList(vm.hostpci, hostpci))
      return `vms[${j}] is not a VM (needs vmid and a hostpci list)`;
  return null;
}

/** Inspect every host of the file (in parallel); a host that cannot be inspected fails the run. */
async function inspectHosts(
  specs: string[],
  deps: DesiredDeps,
  opts: FleetOptions,
): Promise<InspectReport[]> {
  const outcomes = await runFleet(
    specs,
    async (spec) => {
      const host = await deps.openHost(spec);
      try {
        return (await runInspect({}, { host })).report;
      } finally {
        await host.close();
      }
    },
    opts,
  );
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length > 0)
    throw new UserError(
      `cannot inspect ${failed.map((o) => `${o.spec} (${(o as { error: Error }).error.message})`).join("; ")}`,
      "place from saved reports instead: --inventory FILE",
    );
  // each host under the name vgpu.yaml gives it, so two copies of one scenario stay apart
  return outcomes.map((o, i) => ({ ...(o as { value: InspectReport }).value, host: specs[i]! }));
}

export async function runPlace(opts: PlaceOptions, deps: DesiredDeps): Promise<PlaceJson> {
  const desired = await loadDesired(opts.file, deps);
  const vms = desired.vms ?? [];
  if (vms.length === 0)
    throw new UserError(
      `${opts.file} has no top-level vms: to place`,
      "add e.g. `vms: [{vmid: 100, type: NVIDIA A16-4Q}]`",
    );
  const reports = opts.inventory
    ? await readInventory(opts.inventory, deps)
    : await inspectHosts(
        desired.hosts.map((h) => h.host),
        deps,
        opts,
      );
  const problem = inventoryProblem(reports, vms.map(placeRequest));
  const result = await solvePlacement(problem, {
    rebalance: opts.rebalance,
    timeLimitSec: opts.solverTimeSec,
  });
  const byId = new Map(problem.gpus.map((g) => [g.id, g]));
  return {
    placed: result.placed.map((p) => {
      const g = byId.get(p.gpu)!;
      return {
        vmid: p.vmid,
        host: g.host,
        gpu: g.address,
        type: p.type,
        name: g.types.find((t) => t.type === p.type)?.name ?? null,
      };
    }),
    unplaced: result.unplaced,
    gpusUsed: result.gpusUsed,
    bound: result.bound,
    method: result.method,
    gpusProven: result.gpusProven,
    ...(result.note ? { note: result.note } : {}),
  };
}

/** A host of vgpu.yaml gathered once for plan/apply (plan.ts gatherEntries): its open Host and its facts. */
export interface GatheredEntry {
  host: Host;
  gathered: ClusterGathered;
}

/** Whether plan/apply may attach top-level vms: through cluster mappings (then they read each node's PCI listing). */
export function mayMap(desired: Pick<Desired, "vms" | "placement">): boolean {
  return (desired.vms?.length ?? 0) > 0 && desired.placement?.attach !== "host";
}

/**
 * The cluster the file's hosts are nodes of: vgpu.yaml names more than one host, and every host that
 * could be read names the same cluster in its corosync.conf — also when --host picks one of them, so a
 * plan of one node attaches as the plan of all does (a node that could not be read does not change how the
 * others attach either). null = not one cluster.
 */
export function clusterOf(
  desired: Pick<Desired, "hosts">,
  gathered: Array<FleetOutcome<GatheredEntry>>,
): string | null {
  const names = gathered.flatMap((o) => (o.ok ? [o.value.gathered.cluster?.name ?? null] : []));
  const first = names[0] ?? null;
  return desired.hosts.length > 1 && first !== null && names.every((n) => n === first) ? first : null;
}

/** How top-level vms: are attached: vgpu.yaml's `placement.attach`, else `mapping` on a cluster, else `host`. */
function attachMode(desired: Pick<Desired, "placement">, cluster: string | null): "mapping" | "host" {
  return desired.placement?.attach ?? (cluster !== null ? "mapping" : "host");
}

/** Whether plan/apply have top-level `vms:` to place on these entries (VMs an entry lists stay there). */
export function topLevelVms(desired: { vms?: PlaceVmSpec[] }, entries: HostEntry[]): PlaceVmSpec[] {
  const own = new Set(entries.flatMap((e) => (e.vms ?? []).map((vm) => vm.vmid)));
  return entries.length === 0 ? [] : (desired.vms ?? []).filter((vm) => !own.has(vm.vmid));
}

/**
 * plan/apply with top-level `vms:` (issue 15 item 2): the placement chooses the host, GPU and type of each
 * VM over the hosts being planned — from the facts plan/apply gathered of them (each host is read once),
 * and each host's entry gets its share as ordinary `vms:` lines ({vmid, type, gpu}); the per-host vms
 * pass then writes their hostpciN lines. A VM the entry already lists stays as the entry says. A host
 * that could not be gathered is left out of the placement (a note says so); VMs left out come back with
 * their reasons.
 */
export async function placeOnGathered(
  desired: Pick<Desired, "vms" | "placement" | "hosts">,
  entries: HostEntry[],
  gathered: Array<FleetOutcome<GatheredEntry>>,
): Promise<{ entries: HostEntry[]; unplaced: PlaceJson["unplaced"]; notes: string[] }> {
  const vms = topLevelVms(desired, entries);
  if (vms.length === 0) return { entries, unplaced: [], notes: [] };
  const reports: InspectReport[] = [];
  const notes: string[] = [];
  gathered.forEach((o, i) => {
    const spec = entries[i]!.host;
    // each host under the name vgpu.yaml gives it, so two copies of one scenario stay apart
    if (o.ok) reports.push({ ...buildInspectReport(o.value.gathered.facts), host: spec });
    else
      notes.push(
        `top-level vms: could not consider ${spec} (${firstLine(o.error.message)}): placed on the other hosts`,
      );
  });
  const problem = inventoryProblem(reports, pinnedRequests(vms, entries, gathered));
  const result = await solvePlacement(problem, {});
  const byId = new Map(problem.gpus.map((g) => [g.id, g]));
  const placed = result.placed.map((p) => {
    const g = byId.get(p.gpu)!;
    return { vmid: p.vmid, type: p.type, host: g.host, gpu: g.address, model: g.model };
  });
  const cluster = clusterOf(desired, gathered);
  const mapped = attachPlaced(attachMode(desired, cluster), cluster, placed, entries, gathered);
  const share = new Map<string, PlannedVmSpec[]>();
  for (const p of placed) {
    const mapping = mapped.byVm.get(p.vmid);
    const vm: PlannedVmSpec = { vmid: p.vmid, type: p.type, gpu: p.gpu, ...(mapping ? { mapping } : {}) };
    share.set(p.host, [...(share.get(p.host) ?? []), vm]);
  }
  // the mappings are cluster-wide: ONE node makes them, the first (in file order) with a VM through them
  const maker = entries.find((e) => (share.get(e.host) ?? []).some((vm) => vm.mapping))?.host;
  return {
    entries: entries.map(
      (e): PlannedEntry => ({
        ...e,
        ...(share.has(e.host) ? { vms: [...(e.vms ?? []), ...share.get(e.host)!] } : {}),
        ...(e.host === maker ? { clusterMappings: mapped.wants } : {}),
      }),
    ),
    unplaced: result.unplaced,
    notes: [...notes, ...mapped.notes],
  };
}

/**
 * The placement requests of top-level vms:, a VM that exists on exactly one of the hosts kept on that node
 * (its config lives there: a node's /etc/pve/qemu-server holds its own VMs; `qm set` elsewhere would not
 * find it) unless vgpu.yaml names its `node`. VMs that exist nowhere (yet) or on several hosts go anywhere.
 */
function pinnedRequests(
  vms: PlaceVmSpec[],
  entries: HostEntry[],
  gathered: Array<FleetOutcome<GatheredEntry>>,
): OptRequest[] {
  return vms.map((vm) => {
    const r = placeRequest(vm);
    if (r.host !== undefined) return r;
    const on = entries.filter((_, i) => {
      const o = gathered[i];
      return o?.ok === true && (o.value.gathered.facts.vms ?? []).some((v) => v.vmid === vm.vmid);
    });
    if (on.length === 1) r.host = on[0]!.host;
    return r;
  });
}

const firstLine = (s: string) => s.split("\n")[0]!;
