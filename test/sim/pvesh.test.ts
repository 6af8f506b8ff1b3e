/**
 * The simulator's pvesh (src/hosts/sim/pvesh.ts) behaves like Proxmox VE's for what vgpuctl runs: the
 * hardware listing in the API's shape (test/fixtures/pve/hardware-pci-a40-sriov.json: a PF with virtfns, its
 * VFs with mdev, nvidia and physfn), and /cluster/mapping/pci editing /etc/pve/mapping/pci.cfg in the
 * SectionConfig form (pve-guest-common PVE/Mapping/PCI.pm: header = id, "\tmap …" lines, `mdev 1`), with
 * create refusing an existing id and set replacing the map list (pve-manager PVE/API2/Cluster/Mapping/PCI.pm).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HARDWARE_PCI_ARGV } from "../../src/commands/plan.ts";
import { parsePciMappingCfg } from "../../src/facts/system/pci-mapping.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";

const host = () => SimHost.fromState(buildScenarioState("a16-configured"));
const E = (vf: string) => `node=pve,path=${vf},id=10de:25b6,subsystem-id=10de:14a9`;

describe("sim pvesh", () => {
  it("hardware/pci: the A16 PF lists its VFs (virtfns); each VF has mdev, nvidia and physfn", async () => {
    const r = await host().exec(HARDWARE_PCI_ARGV); // what plan/apply run (commands/plan.ts)
    expect(r.exitCode).toBe(0);
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    const pf = list.find((d) => d.id === "0000:41:00.0")!;
    expect(pf).toMatchObject({
      vendor: "0x10de",
      device: "0x25b6",
      subsystem_vendor: "0x10de",
      subsystem_device: "0x14a9",
    });
    expect(pf.mdev).toBeUndefined();
    expect(Object.values(pf.virtfns as object)).toHaveLength(16);
    const vf = list.find((d) => d.id === "0000:41:00.4")!;
    expect(vf).toMatchObject({ mdev: 1, nvidia: 1, physfn: "0000:41:00.0", class: "0x030200" });
    expect(typeof vf.iommugroup).toBe("number");
  });

  it("a PF and a VF carry the keys (and value types) of the API's listing of an SR-IOV board", async () => {
    const fixture = JSON.parse(
      readFileSync(join(import.meta.dirname, "../fixtures/pve/hardware-pci-a40-sriov.json"), "utf8"),
    ).data as Array<Record<string, unknown>>;
    const sim = JSON.parse((await host().exec(HARDWARE_PCI_ARGV)).stdout) as Array<Record<string, unknown>>;
    const shape = (d: Record<string, unknown> | undefined) =>
      Object.fromEntries(Object.entries(d ?? {}).map(([k, v]) => [k, typeof v]));
    expect(shape(sim.find((d) => d.id === "0000:41:00.0"))).toEqual(
      shape(fixture.find((d) => d.id === "0000:41:00.0")),
    );
    expect(shape(sim.find((d) => d.id === "0000:41:00.4"))).toEqual(
      shape(fixture.find((d) => d.id === "0000:41:00.4")),
    );
  });

  it("create, set (the map list replaced), refusals, delete", async () => {
    const h = host();
    const base = ["pvesh", "create", "/cluster/mapping/pci", "--id", "vgpu-a16", "--mdev", "1"];
    expect((await h.exec([...base, "--map", E("0000:41:00.4")])).exitCode).toBe(0);
    const again = await h.exec([...base, "--map", E("0000:41:00.4")]);
    expect([again.exitCode, again.stderr]).toEqual([
      255,
      "create hardware mapping failed: pci ID 'vgpu-a16' already defined\n",
    ]);
    expect(
      (
        await h.exec([
          "pvesh",
          "set",
          "/cluster/mapping/pci/vgpu-a16",
          "--map",
          E("0000:41:00.5"),
          "--map",
          E("0000:41:00.6"),
        ])
      ).exitCode,
    ).toBe(0);
    const cfg = (await h.readFile("/etc/pve/mapping/pci.cfg"))!;
    expect(cfg).toBe(`vgpu-a16\n\tmap ${E("0000:41:00.5")}\n\tmap ${E("0000:41:00.6")}\n\tmdev 1\n`);
    expect(parsePciMappingCfg(cfg)[0]).toMatchObject({ id: "vgpu-a16", mdev: true });
    const unknown = await h.exec(["pvesh", "set", "/cluster/mapping/pci/nope", "--map", E("0000:41:00.4")]);
    expect(unknown.exitCode).toBe(255);
    expect((await h.exec(["pvesh", "delete", "/cluster/mapping/pci/vgpu-a16"])).exitCode).toBe(0);
    expect(parsePciMappingCfg((await h.readFile("/etc/pve/mapping/pci.cfg")) ?? "")).toEqual([]);
  });
});
