/**
 * Top-level vms: on a cluster go through cluster PCI resource mappings (issue 15; plan/cluster-mapping.ts
 * makes them): one mapping per GPU model, id `vgpu-<board>` (e.g. vgpu-a16), holding the functions of the
 * GPUs the placement used on every node — for an SR-IOV GPU its virtual functions — as the node's own
 * API lists them (the entries `vgpuctl vm mapping create` builds: mapping.ts selectNodeDevices, with the
 * iommugroup and subsystem id Proxmox VE checks at VM start). A model whose functions cannot be listed on
 * a node is attached by address instead, with a note saying why.
 */

import type { ClusterMappingWant } from "../plan/cluster-mapping.ts";
import { assertMappingId } from "../pve/mappings.ts";
import { UserError } from "../util/errors.ts";
import type { FleetOutcome } from "./fleet.ts";
import { checkSameGpu, selectNodeDevices } from "./mapping.ts";
import type { GatheredEntry } from "./place.ts";

interface PlacedVm {
  vmid: number;
  host: string;
  gpu: string;
  /** board name, e.g. "NVIDIA A16" */
  model: string;
}

/** "NVIDIA A16" → "vgpu-a16"; "NVIDIA GeForce RTX 2080 Ti" → "vgpu-geforce-rtx-2080-ti". */
function mappingIdFor(model: string): string {
  const board = model
    .replace(/^(NVIDIA|GRID)\s+/i, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const id = `vgpu-${board || "gpu"}`;
  assertMappingId(id);
  return id;
}

/**
 * How the placed VMs are attached: through mappings (the VMs' mapping ids, the mappings to make) when
 * `mode` is mapping, else by address (nothing). With notes for people: which mapping and why, and a
 * warning when mapping was asked for hosts that are not one cluster (`cluster` null).
 */
export function attachPlaced(
  mode: "mapping" | "host",
  cluster: string | null,
  placed: PlacedVm[],
  hosts: Array<{ host: string }>,
  gathered: Array<FleetOutcome<GatheredEntry>>,
): { byVm: Map<number, string>; wants: ClusterMappingWant[]; notes: string[] } {
  if (mode === "host") return { byVm: new Map(), wants: [], notes: [] };
  const mapped = clusterMappings(placed, hosts, gathered);
  for (const w of mapped.wants)
    mapped.notes.push(
      `top-level vms: ${[...mapped.byVm].filter(([, id]) => id === w.id).length} VM(s) attached through cluster mapping ${w.id} (${cluster !== null ? `the hosts are nodes of cluster ${cluster}` : "placement.attach: mapping"}; GPUs ${w.gpus.join(", ")})`,
    );
  if (mapped.wants.length > 0 && cluster === null && hosts.length > 1)
    mapped.notes.push(
      "placement.attach: mapping, but the hosts are not nodes of one cluster (/etc/pve/corosync.conf): the mapping is made on one host, and VMs on the others cannot start through it",
    );
  return mapped;
}

function clusterMappings(
  placed: PlacedVm[],
  hosts: Array<{ host: string }>,
  gathered: Array<FleetOutcome<GatheredEntry>>,
): { byVm: Map<number, string>; wants: ClusterMappingWant[]; notes: string[] } {
  const byVm = new Map<number, string>();
  const wants: ClusterMappingWant[] = [];
  const notes: string[] = [];
  const byModel = new Map<string, PlacedVm[]>();
  for (const p of placed) byModel.set(p.model, [...(byModel.get(p.model) ?? []), p]);
  for (const [model, vms] of byModel) {
    const id = mappingIdFor(model);
    try {
      wants.push(mappingWant(id, vms, hosts, gathered));
      for (const vm of vms) byVm.set(vm.vmid, id);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      notes.push(
        `top-level vms: on ${model} attached by address, not through mapping ${id}: ${e.message.split("\n")[0]}`,
      );
    }
  }
  return { byVm, wants, notes };
}

/** The map entries of mapping `id`: every placed GPU's functions on its node. Throws UserError when unlistable. */
function mappingWant(
  id: string,
  vms: PlacedVm[],
  hosts: Array<{ host: string }>,
  gathered: Array<FleetOutcome<GatheredEntry>>,
): ClusterMappingWant {
  const gpus = [...new Map(vms.map((v) => [`${v.host} ${v.gpu}`, v])).values()];
  gpus.sort((a, b) => hosts.findIndex((h) => h.host === a.host) - hosts.findIndex((h) => h.host === b.host));
  const entries = [];
  const names: string[] = [];
  for (const g of gpus) {
    const o = gathered[hosts.findIndex((h) => h.host === g.host)];
    const node = o?.ok ? o.value.gathered.facts.uname?.nodename : null;
    const listing = o?.ok ? o.value.gathered.hardware : null;
    if (!node) throw new UserError(`the node name of ${g.host} is unknown`);
    if (!listing)
      throw new UserError(
        `${g.host} (${node}) did not list its PCI devices (pvesh get /nodes/localhost/hardware/pci)`,
      );
    entries.push(...selectNodeDevices(node, listing, g.gpu).entries);
    names.push(`${node} ${g.gpu}`);
  }
  checkSameGpu(entries); // throws MappingRefusal (a UserError) for different GPU models
  return { id, map: [...new Set(entries.map((e) => e.map))], gpus: names };
}
