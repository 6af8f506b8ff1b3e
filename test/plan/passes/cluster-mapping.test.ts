/**
 * plan/cluster-mapping.ts: the pvesh step that makes a cluster PCI resource mapping hold the placed GPUs'
 * functions. Map entries in the format of pve-guest-common PVE/Mapping/PCI.pm ($map_fmt; the pvesh example
 * of research/proxmox.md §1g); `pvesh set` replaces the whole map list (pve-manager
 * PVE/API2/Cluster/Mapping/PCI.pm update: every given property is copied over the old one).
 */
import { describe, expect, it } from "vitest";
import type { PciMapping } from "../../../src/facts/types.ts";
import { clusterMappingStep } from "../../../src/plan/cluster-mapping.ts";

const E1 = "node=pve1,path=0000:41:00.4,id=10de:26b9,subsystem-id=10de:1851,iommugroup=75";
const E2 = "node=pve2,path=0000:41:00.4,id=10de:26b9,subsystem-id=10de:1851,iommugroup=75";
const want = { id: "vgpu-l40s", map: [E1, E2], gpus: ["pve1 0000:41:00.0", "pve2 0000:41:00.0"] };
const existing = (entries: string[], mdev = true): PciMapping[] => [
  {
    id: "vgpu-l40s",
    mdev,
    entries: entries.map((e) => {
      const kv = Object.fromEntries(e.split(",").map((p) => p.split("=") as [string, string]));
      return {
        node: kv.node!,
        path: kv.path!,
        id: kv.id!,
        subsystemId: kv["subsystem-id"] ?? null,
        iommugroup: kv.iommugroup ? Number(kv.iommugroup) : null,
      };
    }),
  },
];

const STEM = ["pvesh", "set", "/cluster/mapping/pci/vgpu-l40s"];

describe("clusterMappingStep", () => {
  it("no such mapping: pvesh create with --mdev 1 and every entry; undo deletes it", () => {
    const step = clusterMappingStep([want], [], false)!;
    expect(step.changes).toEqual([
      {
        kind: "command",
        argv: [
          "pvesh",
          "create",
          "/cluster/mapping/pci",
          "--id",
          "vgpu-l40s",
          "--mdev",
          "1",
          "--map",
          E1,
          "--map",
          E2,
        ],
      },
    ]);
    expect(step.undo.commands).toEqual([["pvesh", "delete", "/cluster/mapping/pci/vgpu-l40s"]]);
  });

  it("a mapping lacking entries: pvesh set with the old and the new entries; undo sets the old list back", () => {
    const step = clusterMappingStep([want], existing([E1]), true)!;
    expect(step.afterReboot).toBe(true);
    expect(step.changes).toEqual([
      {
        kind: "command",
        argv: ["pvesh", "set", "/cluster/mapping/pci/vgpu-l40s", "--mdev", "1", "--map", E1, "--map", E2],
      },
    ]);
    expect(step.undo.commands).toEqual([["pvesh", "set", "/cluster/mapping/pci/vgpu-l40s", "--map", E1]]);
  });

  it("extending keeps an old entry as the file holds it: a description= the user gave it survives, in the change and the undo", () => {
    const mine = `${E1},description=rack 3 left`;
    const [m] = existing([E1]);
    const held: PciMapping[] = [{ ...m!, entries: [{ ...m!.entries[0]!, raw: mine }] }];
    const step = clusterMappingStep([want], held, false)!;
    expect(step.changes[0]).toMatchObject({ argv: [...STEM, "--mdev", "1", "--map", mine, "--map", E2] });
    expect(step.undo.commands).toEqual([[...STEM, "--map", mine]]);
  });

  it("a mapping that is not mdev yet is switched on, and undo switches it off again", () => {
    const step = clusterMappingStep([want], existing([E1, E2], false), false)!;
    expect(step.changes[0]).toMatchObject({ argv: expect.arrayContaining(["--mdev", "1"]) });
    expect(step.undo.commands[0]).toEqual(expect.arrayContaining(["--delete", "mdev"]));
  });

  it("a mapping that already holds every entry (and is mdev): no step, so a second apply changes nothing", () => {
    expect(clusterMappingStep([want], existing([E2, E1]), false)).toBeNull();
  });
});
