import { describe, expect, it } from "vitest";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import type { SimState, SimVm } from "../../src/hosts/sim/state.ts";
import { qemuPciAddr } from "../../src/hosts/sim/transitions.ts";
import { openSim, run } from "./helpers.ts";

/** The "Available instances" of one type in `mdevctl types` text. */
function available(types: string, type: string): number | null {
  const m = new RegExp(`^  ${type}\\n    Available instances: (\\d+)$`, "m").exec(types);
  return m ? Number(m[1]) : null;
}

async function seedWithVgpu(mutate: (s: SimState) => void = () => {}): Promise<SimHost> {
  const host = await openSim("seed-configured");
  const s = host.snapshot();
  mutate(s);
  const h = SimHost.fromState(s);
  await h.exec(["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-257"]);
  expect((await run(h, "qm start 100")).exitCode).toBe(0);
  return h;
}

describe("equal-size mode: which types stay available after one vGPU (driver's own rule)", () => {
  it("vGPU 15+ (525): the other types of the same framebuffer size keep max - 1, other sizes 0", async () => {
    const h = await seedWithVgpu(); // 525.85.07, one RTX6000-2Q (2 GiB, 12 per GPU)
    const types = (await run(h, "mdevctl types")).stdout;
    expect(available(types, "nvidia-257")).toBe(11); // RTX6000-2Q
    expect(available(types, "nvidia-436")).toBe(11); // RTX6000-2B, also 2 GiB
    expect(available(types, "nvidia-438")).toBe(11); // RTX6000-2A, also 2 GiB
    expect(available(types, "nvidia-256")).toBe(0); // RTX6000-1Q, 1 GiB
    expect(available(types, "nvidia-259")).toBe(0); // RTX6000-4Q, 4 GiB
  });

  it("vGPU 15+: a second VM may start a different type of the same size, not a different size", async () => {
    const h = await seedWithVgpu();
    await h.exec(["qm", "set", "101", "--hostpci0", "0000:01:00.0,mdev=nvidia-436"]);
    expect((await run(h, "qm start 101")).exitCode).toBe(0);
    expect((await run(h, "mdevctl list")).stdout.trim().split("\n")).toHaveLength(2);
    const types = (await run(h, "mdevctl types")).stdout;
    expect(available(types, "nvidia-257")).toBe(10);
    expect(available(types, "nvidia-436")).toBe(10);
  });

  it("before vGPU 15 (a 510 driver): only the type in use stays available", async () => {
    const h = await seedWithVgpu((s) => {
      s.driver!.version = "510.85.03";
    });
    const types = (await run(h, "mdevctl types")).stdout;
    expect(available(types, "nvidia-257")).toBe(11);
    expect(available(types, "nvidia-436")).toBe(0);
  });
});

describe("mdevctl list follows the installed mdevctl", () => {
  it("0.81 (Proxmox VE 7): transient in three columns, a defined one marked (defined)", async () => {
    const h = await seedWithVgpu((s) => {
      s.files["/etc/mdevctl.d/0000:01:00.0/00000000-0000-0000-0000-000000000101"] =
        '{"mdev_type":"nvidia-257","start":"auto","attrs":[]}\n';
    });
    await h.exec(["qm", "set", "101", "--hostpci0", "0000:01:00.0,mdev=nvidia-257"]);
    await run(h, "qm start 101");
    expect((await run(h, "mdevctl list")).stdout).toBe(
      "00000000-0000-0000-0000-000000000100 0000:01:00.0 nvidia-257\n" +
        "00000000-0000-0000-0000-000000000101 0000:01:00.0 nvidia-257 (defined)\n",
    );
    expect(JSON.parse((await run(h, "mdevctl list --dumpjson")).stdout)).toEqual([
      {
        "0000:01:00.0": [
          { "00000000-0000-0000-0000-000000000100": { mdev_type: "nvidia-257" } },
          { "00000000-0000-0000-0000-000000000101": { mdev_type: "nvidia-257" } },
        ],
      },
    ]);
  });

  it("1.x (Proxmox VE 8/9): the start mode column, 'manual' for a transient mdev", async () => {
    const h = await seedWithVgpu((s) => {
      s.packages.mdevctl = "1.2.0-3";
      s.files["/etc/mdevctl.d/0000:01:00.0/00000000-0000-0000-0000-000000000101"] =
        '{"mdev_type":"nvidia-257","start":"auto","attrs":[]}\n';
    });
    await h.exec(["qm", "set", "101", "--hostpci0", "0000:01:00.0,mdev=nvidia-257"]);
    await run(h, "qm start 101");
    expect((await run(h, "mdevctl list")).stdout).toBe(
      "00000000-0000-0000-0000-000000000100 0000:01:00.0 nvidia-257 manual\n" +
        "00000000-0000-0000-0000-000000000101 0000:01:00.0 nvidia-257 auto (defined)\n",
    );
  });
});

describe("qm: hostpci with a PCI resource mapping (Proxmox VE 8+)", () => {
  const mappingCfg = (host: string) =>
    `vgpu-pool\n\tmap id=10de:1e30,iommugroup=12,node=${host},path=0000:01:00.0,subsystem-id=10de:12ba\n\tmdev 1\n`;

  it("qm set accepts mapping=NAME,mdev=…; qm start resolves it on this node and creates the mdev", async () => {
    const host = await openSim("seed-configured");
    const s = host.snapshot();
    s.files["/etc/pve/mapping/pci.cfg"] = mappingCfg(s.hostname);
    const h = SimHost.fromState(s);
    expect(
      (await h.exec(["qm", "set", "100", "--hostpci0", "mapping=vgpu-pool,mdev=nvidia-257"])).exitCode,
    ).toBe(0);
    expect((await run(h, "qm start 100")).exitCode).toBe(0);
    expect((await run(h, "mdevctl list")).stdout).toBe(
      "00000000-0000-0000-0000-000000000100 0000:01:00.0 nvidia-257\n",
    );
  });

  it("a mapping without an entry for this node fails the start with qemu-server's message", async () => {
    const host = await openSim("seed-configured");
    const s = host.snapshot();
    s.files["/etc/pve/mapping/pci.cfg"] = mappingCfg("othernode");
    const h = SimHost.fromState(s);
    await h.exec(["qm", "set", "100", "--hostpci0", "mapping=vgpu-pool,mdev=nvidia-257"]);
    const r = await run(h, "qm start 100");
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain("PCI device mapping not found for 'vgpu-pool'");
  });
});

describe("qemu-server's PCI address of hostpciN (what a failed start's kvm line names)", () => {
  const vm = (machine?: string): SimVm => ({
    vmid: 100,
    running: false,
    config: machine ? { machine } : {},
    pending: {},
    pendingDelete: [],
  });

  it("pcie=1 on q35: a root port per index; without pcie=1 (or on i440fx): the legacy PCI slots", () => {
    expect(qemuPciAddr(vm("pc-q35-7.2"), 0, "0000:01:00.0,mdev=nvidia-259,pcie=1")).toBe(
      "bus=ich9-pcie-port-1,addr=0x0",
    );
    expect(qemuPciAddr(vm("pc-q35-7.2"), 0, "0000:01:00.0,mdev=nvidia-259")).toBe("bus=pci.0,addr=0x10");
    expect(qemuPciAddr(vm(), 0, "0000:01:00.0,pcie=1")).toBe("bus=pci.0,addr=0x10");
    expect(qemuPciAddr(vm(), 3, "0000:01:00.0")).toBe("bus=pci.0,addr=0x1c");
    expect(qemuPciAddr(vm(), 4, "0000:01:00.0")).toBe("bus=pci.2,addr=0xd");
  });
});
