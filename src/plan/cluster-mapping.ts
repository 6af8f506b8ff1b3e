/**
 * Top-level `vms:` on a cluster are attached through cluster PCI resource mappings (issue 15:
 * `hostpciN: mapping=ID,mdev=TYPE`). The placement (commands/place.ts) names, for each mapping, the map
 * entries it must hold — the functions of the placed GPUs on every node that got such VMs (an SR-IOV
 * GPU: its virtual functions) — and gives them to ONE node's entry: the mapping config is cluster-wide
 * (/etc/pve/mapping/pci.cfg). That node's plan creates or extends the mapping through the API CLI:
 *
 *   pvesh create /cluster/mapping/pci --id ID --mdev 1 --map ENTRY --map ENTRY …
 *   pvesh set /cluster/mapping/pci/ID --mdev 1 --map ENTRY …   (the `map` list is replaced)
 *
 * (pve-manager PVE/API2/Cluster/Mapping/PCI.pm @ 14a22df3: create = POST, update = PUT copying every
 * given property over the old one; delete = DELETE /cluster/mapping/pci/{id}.) Undo: delete the mapping
 * when the step created it, else set the previous map list (and mdev) back. Pure.
 *
 * The other nodes' `qm set … mapping=ID` need not wait for it: qemu-server resolves a mapping only when the
 * VM starts (src/PVE/QemuServer/PCI.pm parse_hostpci @ e6352be6: find_on_current_node, then
 * PVE::Mapping::PCI::assert_valid, which compares id, subsystem-id, iommugroup and mdev with the node's
 * hardware — so the entries carry them as the node's API lists them); setting it checks permissions only
 * (src/PVE/API2/Qemu.pm check_hostpci_perm).
 */
import type { PciMapping } from "../facts/types.ts";
import { formatMapEntry, parseMapEntry } from "../pve/mappings.ts";
import type { Step } from "./types.ts";

/** A mapping the plan must make hold these entries (`map` property strings, formatMapEntry). */
export interface ClusterMappingWant {
  id: string;
  /** node=…,path=…,id=…[,subsystem-id=…][,iommugroup=N] — one per function */
  map: string[];
  /** for people: which GPUs of which nodes, e.g. "pve1 0000:41:00.0, pve2 0000:41:00.0" */
  gpus: string[];
}

/** "node path" of a map property string, to compare entries regardless of the other fields. */
function nodePath(map: string): string {
  const e = parseMapEntry(map);
  return `${e.node ?? ""} ${(e.path ?? "").toLowerCase()}`;
}

/**
 * The map list a mapping has now, as property strings (what an extension keeps and undo sets back):
 * each entry as the file holds it, so a `description=` the user gave an entry survives.
 */
function currentMap(m: PciMapping): string[] {
  return m.entries.map(
    (e) =>
      e.raw ??
      formatMapEntry({
        node: e.node,
        path: e.path,
        id: e.id,
        subsystemId: e.subsystemId,
        iommugroup: e.iommugroup,
      }),
  );
}

/**
 * The step that makes each wanted mapping hold its entries (none when it already does and is mdev), or
 * null when there is nothing to do. `mappings` = /etc/pve/mapping/pci.cfg as captured (null = unknown:
 * then the mapping is treated as absent and `pvesh create` refuses an existing id, changing nothing).
 */
export function clusterMappingStep(
  wants: ClusterMappingWant[],
  mappings: PciMapping[] | null,
  afterReboot: boolean,
): Step | null {
  const changes: Step["changes"] = [];
  const undo: string[][] = [];
  const what: string[] = [];
  for (const w of wants) {
    const now = mappings?.find((m) => m.id === w.id);
    const base = ["pvesh"];
    if (!now) {
      changes.push({
        kind: "command",
        argv: [...base, "create", "/cluster/mapping/pci", "--id", w.id, "--mdev", "1", ...mapArgs(w.map)],
      });
      undo.unshift([...base, "delete", `/cluster/mapping/pci/${w.id}`]);
      what.push(`create mapping ${w.id} (${w.map.length} functions: ${w.gpus.join(", ")})`);
      continue;
    }
    const before = currentMap(now);
    const held = new Set(before.map(nodePath));
    const added = w.map.filter((m) => !held.has(nodePath(m)));
    if (added.length === 0 && now.mdev) continue;
    changes.push({
      kind: "command",
      argv: [
        ...base,
        "set",
        `/cluster/mapping/pci/${w.id}`,
        "--mdev",
        "1",
        ...mapArgs([...before, ...added]),
      ],
    });
    undo.unshift([
      ...base,
      "set",
      `/cluster/mapping/pci/${w.id}`,
      ...(now.mdev ? [] : ["--delete", "mdev"]),
      ...mapArgs(before),
    ]);
    what.push(`extend mapping ${w.id} by ${added.length} functions (${w.gpus.join(", ")})`);
  }
  if (changes.length === 0) return null;
  return {
    id: "cluster-mapping",
    title: `Cluster PCI resource mapping: ${what.join("; ")}`,
    why: "top-level vms: are attached with hostpciN: mapping=ID,mdev=TYPE; the mapping (cluster-wide, /etc/pve/mapping/pci.cfg) must hold the functions of the GPUs they were placed on, on every node",
    changes,
    reboot: false,
    ...(afterReboot ? { afterReboot: true } : {}),
    undo: {
      description: what
        .map((w) => (w.startsWith("create") ? `delete ${w.slice(7)}` : `restore the map list: ${w}`))
        .join("; "),
      commands: undo,
      regenerate: [],
    },
  };
}

function mapArgs(map: string[]): string[] {
  return map.flatMap((m) => ["--map", m]);
}
