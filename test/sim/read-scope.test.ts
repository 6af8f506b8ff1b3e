// The simulator's read scope (src/hosts/sim/read-scope.ts, issue 16): a capture reuses views derived from
// the state across its reads, and no read after a change of the state may see a view from before it.
// Formats: the sysfs files of an A16's virtual functions as tested in sriov-pve9.test.ts (its sources).
import { describe, expect, it } from "vitest";
import { captureViaPrimitives } from "../../src/hosts/capture-generic.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { buildScenarioState, listScenarios, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { tempStateDir } from "./helpers.ts";

const SYS = "/sys/bus/pci/devices";

async function read(host: SimHost, path: string): Promise<string | null> {
  return host.readFile(path);
}

/** Type ids listed by a VF's nvidia/creatable_vgpu_types. */
async function creatable(host: SimHost, vf: string): Promise<number[]> {
  const text = (await read(host, `${SYS}/${vf}/nvidia/creatable_vgpu_types`)) ?? "";
  return text
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((l) => Number(l.split(":")[0]));
}

describe("simulator read scope", () => {
  it("a capture in the scope is the capture without it, for every scenario", async () => {
    for (const { name } of listScenarios()) {
      const scoped = await SimHost.fromState(buildScenarioState(name)).capture(GATHER_SPEC);
      const host = SimHost.fromState(buildScenarioState(name));
      const plain = await captureViaPrimitives(host, GATHER_SPEC, host.name);
      expect({ ...scoped, capturedAt: "" }, name).toEqual({ ...plain, capturedAt: "" });
    }
  });

  it("a command that changes the state drops the views: the reads after it see the change", async () => {
    const h = SimHost.fromState(buildScenarioState("a16-configured"));
    await h.readScope(async () => {
      expect(await read(h, `${SYS}/0000:41:00.4/nvidia/current_vgpu_type`)).toBe("0\n");
      expect((await creatable(h, "0000:41:00.5")).length).toBe(12);
      expect(await h.list(SYS)).toContain("0000:41:00.4");
      await h.exec(["sh", "-c", "qm set 100 --hostpci0 0000:41:00.4,mdev=nvidia-714"]);
      expect((await h.exec(["sh", "-c", "qm start 100"])).exitCode).toBe(0);
      expect(await read(h, `${SYS}/0000:41:00.4/nvidia/current_vgpu_type`)).toBe("714\n");
      expect(await creatable(h, "0000:41:00.5")).toEqual([714, 719]);
      expect((await h.exec(["/usr/lib/nvidia/sriov-manage", "-d", "ALL"])).exitCode).toBe(0);
      expect(await h.list(SYS)).not.toContain("0000:41:00.5");
      expect(await h.stat(`${SYS}/0000:41:00.5/nvidia/current_vgpu_type`)).toBeNull();
      expect(await read(h, `${SYS}/0000:41:00.0/sriov_numvfs`)).toBe("0\n");
    });
  });

  it("writeFile, remove, mkdir and reboot drop the views", async () => {
    const h = SimHost.fromState(buildScenarioState("a16-configured"));
    await h.readScope(async () => {
      const before = await h.list("/etc/modprobe.d");
      expect(await h.stat("/etc/modprobe.d/x.conf")).toBeNull();
      await h.writeFile("/etc/modprobe.d/x.conf", "blacklist x\n");
      expect(await h.list("/etc/modprobe.d")).toEqual([...(before ?? []), "x.conf"].sort());
      expect(await h.stat("/etc/modprobe.d/x.conf")).toMatchObject({ type: "file", size: 12 });
      expect(await read(h, "/etc/modprobe.d/x.conf")).toBe("blacklist x\n");
      await h.remove("/etc/modprobe.d/x.conf");
      expect(await read(h, "/etc/modprobe.d/x.conf")).toBeNull();
      expect(await h.list("/etc/modprobe.d")).toEqual(before);
      expect(await h.list("/srv/new")).toBeNull();
      await h.mkdir("/srv/new");
      expect(await h.list("/srv/new")).toEqual([]);
      // nouveau no longer blacklisted: after a reboot the driver does not get the GPU, no VFs
      expect(await read(h, `${SYS}/0000:41:00.0/sriov_numvfs`)).toBe("16\n");
      await h.remove("/etc/modprobe.d/pve-nvidia-vgpu-helper.conf");
      await h.reboot();
      expect(await read(h, `${SYS}/0000:41:00.0/sriov_numvfs`)).toBe("0\n");
    });
  });
});

describe("simulator read scope in a cluster", () => {
  it("a node sees the cluster file another node wrote during its scope", async () => {
    const dir = await tempStateDir();
    const open = (copy: number) =>
      SimHost.open("a16-cluster", { stateDir: dir, spec: `sim:a16-cluster@${copy}`, copy, faults: [] });
    const [one, two] = [await open(1), await open(2)];
    await one.readScope(async () => {
      expect(await one.readFile("/etc/pve/mapping/pci.cfg")).toBeNull();
      await two.writeFile("/etc/pve/mapping/pci.cfg", "a16\n");
      expect(await one.readFile("/etc/pve/mapping/pci.cfg")).toBe("a16\n");
      expect(await one.stat("/etc/pve/mapping/pci.cfg")).toMatchObject({ type: "file", size: 4 });
    });
  });
});
