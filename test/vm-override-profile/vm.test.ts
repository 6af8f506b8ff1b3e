/**
 * `vgpuctl vm list|attach|detach` on the simulated seed host, end to end.
 * source: sim scenario seed-configured (the seed guide's host after the guide: RTX 2080 Ti with the
 * RTX6000 types of seed guide lines 308-319, VMs 100 win11 on q35 and 101 ubuntu); hostpci syntax and
 * pending behaviour of running VMs: research/proxmox.md §1b.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runInspect } from "../../src/commands/inspect.ts";
import { runVmAttach, runVmDetach, runVmList } from "../../src/commands/vm.ts";
import { OVERRIDE_PATH } from "../../src/formats/profile-override/index.ts";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { PlacementRefusal } from "../../src/place/index.ts";
import { runInProcess } from "./cli.ts";

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "vgpuctl-sim6-"));
  dirs.push(d);
  return d;
}

async function sim(dir?: string): Promise<SimHost> {
  return SimHost.open("seed-configured", {
    stateDir: dir ?? (await stateDir()),
    spec: "sim:seed-configured",
  });
}

describe("vm attach on one host (CLI)", () => {
  it("attach 100 nvidia-259 → inspect --json and vm list show it; a different type is refused", async () => {
    const env = { VGPUCTL_SIM_DIR: await stateDir() };
    const H = ["--host", "sim:seed-configured"];
    const a = await runInProcess([...H, "vm", "attach", "100", "--type", "nvidia-259"], env);
    expect(a.err).toBe("");
    expect(a.code).toBe(0);
    expect(a.out).toContain("ran: qm set 100 --hostpci0 0000:01:00.0,mdev=nvidia-259,pcie=1");

    const i = await runInProcess([...H, "--json", "inspect"], env);
    const report = JSON.parse(i.out) as {
      vms: Array<{ vmid: number; hostpci: Array<{ mdev: string | null }> }>;
    };
    expect(report.vms.find((v) => v.vmid === 100)!.hostpci).toEqual([
      expect.objectContaining({ index: 0, mdev: "nvidia-259", address: "0000:01:00.0" }),
    ]);

    const l = await runInProcess([...H, "--json", "vm", "list"], env);
    const list = JSON.parse(l.out) as {
      vms: Array<{ vmid: number; vgpus: Array<{ type: string; vramMiB: number }> }>;
    };
    expect(list.vms.find((v) => v.vmid === 100)!.vgpus).toEqual([
      expect.objectContaining({ type: "nvidia-259", vramMiB: 4096, gpu: "0000:01:00.0" }),
    ]);
    expect((await runInProcess([...H, "vm", "list"], env)).out).toMatch(
      /100\s+win11\s+stopped\s+hostpci0: nvidia-259/,
    );

    const b = await runInProcess([...H, "vm", "attach", "101", "--type", "nvidia-260"], env);
    expect(b.code).toBe(2);
    // driver 525 (seed 15.1): one framebuffer size per GPU (place/model.ts sharingRule)
    expect(b.err).toContain("already carries 4 GiB nvidia-259 vGPUs (VM 100)");
    expect(b.err).toContain("a 6 GiB nvidia-260 (GRID RTX6000-6Q) would fail to start");
    const after = JSON.parse((await runInProcess([...H, "--json", "vm", "list"], env)).out) as typeof list;
    expect(after.vms.find((v) => v.vmid === 101)!.vgpus).toEqual([]);
  });

  it("--dry-run changes nothing; --pcie on the i440fx VM is refused", async () => {
    const env = { VGPUCTL_SIM_DIR: await stateDir() };
    const H = ["--host", "sim:seed-configured"];
    const d = await runInProcess([...H, "vm", "attach", "101", "--type", "nvidia-259", "--dry-run"], env);
    expect(d.code).toBe(0);
    expect(d.out).toContain("would run: qm set 101 --hostpci0 0000:01:00.0,mdev=nvidia-259");
    const p = await runInProcess([...H, "vm", "attach", "101", "--type", "nvidia-259", "--pcie"], env);
    expect(p.code).toBe(2);
    expect(p.err).toContain("pcie=1 needs a q35 machine");
    const l = JSON.parse((await runInProcess([...H, "--json", "vm", "list"], env)).out) as {
      vms: Array<{ vgpus: unknown[] }>;
    };
    expect(l.vms.every((v) => v.vgpus.length === 0)).toBe(true);
  });
});

describe("vm attach/detach (commands)", () => {
  it("--vram/--display also write a [vm.VMID] override, validated first", async () => {
    const host = await sim();
    const before = await host.readFile(OVERRIDE_PATH);
    const r = await runVmAttach(
      { vmid: "101", type: "RTX6000-4Q", vram: "2G", display: "1920x1080", now: () => new Date(0) },
      { host },
    );
    expect(r.value).toBe("0000:01:00.0,mdev=nvidia-259");
    expect(r.override?.written).toBe(true);
    expect(r.override?.backup).toBe("/var/backups/vgpuctl/profile_override.toml.1970-01-01T00-00-00-000Z");
    expect(await host.readFile(r.override!.backup!)).toBe(before);
    const text = (await host.readFile(OVERRIDE_PATH))!;
    expect(text).toContain("[vm.101]\ndisplay_width = 1920\ndisplay_height = 1080\nmax_pixels = 2073600\n");
    expect(text).toContain("framebuffer = 0x74000000\nframebuffer_reservation = 0xC000000");
    const list = await runVmList({}, { host });
    expect(list.vms.find((v) => v.vmid === 101)!.vgpus[0]).toMatchObject({
      vramMiB: 2048,
      vramFrom: "[vm.101]",
    });
  });

  it("a bad override request changes neither the VM nor the file", async () => {
    const host = await sim();
    const before = await host.readFile(OVERRIDE_PATH);
    // GRID RTX6000-4A allows at most 1280x1024
    await expect(
      runVmAttach({ vmid: "100", type: "nvidia-440", display: "1920x1080" }, { host }),
    ).rejects.toThrow(/max resolution 1280x1024/);
    await expect(runVmAttach({ vmid: "100", type: "nvidia-259", vram: "3GG" }, { host })).rejects.toThrow(
      /unknown unit/,
    );
    await expect(runVmAttach({ vmid: "999", type: "nvidia-259" }, { host })).rejects.toThrow(
      /VM 999 does not exist/,
    );
    await expect(runVmAttach({ vmid: "100", type: "nvidia-1234567" }, { host })).rejects.toBeInstanceOf(
      PlacementRefusal,
    );
    expect(await host.readFile(OVERRIDE_PATH)).toBe(before);
    const { report } = await runInspect({}, { host });
    expect(report.vms.every((v) => v.hostpci.length === 0)).toBe(true);
  });

  it("a running VM gets the change as pending and is told so; detach likewise", async () => {
    const host = await sim();
    expect((await host.exec(["qm", "start", "101"])).exitCode).toBe(0);
    const r = await runVmAttach({ vmid: "101", type: "nvidia-259" }, { host });
    expect(r.pending).toBe(true);
    expect(r.message).toContain("takes effect at next VM start");
    const conf = (await host.readFile("/etc/pve/qemu-server/101.conf"))!;
    expect(conf).toMatch(/\[PENDING\]\n(?:.*\n)*hostpci0: 0000:01:00\.0,mdev=nvidia-259/);
    const list = await runVmList({}, { host });
    expect(list.vms.find((v) => v.vmid === 101)!.vgpus[0]).toMatchObject({
      type: "nvidia-259",
      pending: true,
    });

    // at the next start the vGPU exists
    await host.exec(["qm", "stop", "101"]);
    await host.exec(["qm", "start", "101"]);
    const { report } = await runInspect({}, { host });
    expect(report.gpus[0]!.vgpus).toEqual([
      {
        uuid: "00000000-0000-0000-0000-000000000101",
        type: "nvidia-259",
        vmid: 101,
        vramMiB: 4096,
        vramFrom: null,
      },
    ]);
    const d = await runVmDetach({ vmid: "101" }, { host });
    expect(d.pending).toBe(true);
    expect(d.message).toContain("takes effect at next VM start");
    expect(d.command).toBe("qm set 101 --delete hostpci0");
  });

  it("detach removes the hostpci entry of a stopped VM", async () => {
    const host = await sim();
    await runVmAttach({ vmid: "100", type: "nvidia-259" }, { host });
    const d = await runVmDetach({ vmid: "100" }, { host });
    expect(d.removed).toEqual([{ index: 0, raw: "0000:01:00.0,mdev=nvidia-259,pcie=1" }]);
    const { report } = await runInspect({}, { host });
    expect(report.vms.find((v) => v.vmid === 100)!.hostpci).toEqual([]);
    await expect(runVmDetach({ vmid: "100" }, { host })).rejects.toThrow(/no vGPU to detach/);
  });
});
