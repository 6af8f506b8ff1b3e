/**
 * Top-level vms: on a cluster are attached through a cluster PCI resource mapping (issue 15): two nodes of
 * the simulated cluster "vgpu-lab" (sim:a16-cluster@1 and @2 = nodes pve1 and pve2: A16 boards, VMs
 * 100–103 on each, sharing /etc/pve/mapping/pci.cfg; src/hosts/sim/cluster.ts). plan shows the mapping step
 * on one node and mapping= lines; apply creates the mapping with exactly the placed GPUs' functions, the
 * VMs start through it, and uninstall undoes what apply added.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runApply } from "../../src/commands/apply.ts";
import { runPlan } from "../../src/commands/plan.ts";
import { runUninstallHosts } from "../../src/commands/uninstall.ts";
import { parsePciMappingCfg } from "../../src/facts/system/pci-mapping.ts";
import { openHost } from "../../src/hosts/open.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vgpuctl-cluster-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const deps = (sub: string) => ({
  cwd: dir,
  readText: (p: string) => readFile(p, "utf8"),
  openHost: (s: string) => openHost(s, { env: { VGPUCTL_SIM_DIR: join(dir, sub) } }),
});

/** examples/place/a16-cluster.yaml: VMs 100 and 101 (A16-4Q), kept apart by notWith */
const FILE = readFileSync(join(import.meta.dirname, "../../examples/place/a16-cluster.yaml"), "utf8");

async function onNode(
  sub: string,
  copy: number,
  work: (h: Awaited<ReturnType<typeof openHost>>) => Promise<string>,
) {
  const h = await openHost(`sim:a16-cluster@${copy}`, { env: { VGPUCTL_SIM_DIR: join(dir, sub) } });
  try {
    return await work(h);
  } finally {
    await h.close();
  }
}

const commandsOf = (plans: Awaited<ReturnType<typeof runPlan>>) =>
  plans.map((p) => {
    if (!("plan" in p)) throw p.error;
    return p.plan.steps.flatMap((s) =>
      s.changes.flatMap((c) => (c.kind === "command" ? [c.argv.join(" ")] : [])),
    );
  });

describe("top-level vms: on a cluster go through a resource mapping", () => {
  it("plan: one node creates mapping vgpu-a16 with pvesh; both VMs get hostpciN: mapping=vgpu-a16,mdev=…", async () => {
    writeFileSync(join(dir, "vgpu.yaml"), FILE);
    const lines = commandsOf(await runPlan({ file: "vgpu.yaml", hostSpec: null }, deps("plan")));
    const creates = lines
      .flat()
      .filter((l) => l.startsWith("pvesh create /cluster/mapping/pci --id vgpu-a16 --mdev 1"));
    expect(creates).toHaveLength(1);
    expect(
      lines
        .flat()
        .filter((l) => /^qm set 10[01] --hostpci0 mapping=vgpu-a16,mdev=nvidia-\d+,pcie=1$/.test(l)),
    ).toHaveLength(2);
    // 100 and 101 on different nodes (notWith): each node's GPU is in the mapping, its 16 VFs each
    expect(creates[0]).toMatch(
      /--map node=pve1,path=0000:4[1-4]:0\d\.\d,id=10de:25b6,subsystem-id=10de:14a9,iommugroup=\d+/,
    );
    expect(creates[0]).toMatch(/--map node=pve2,path=/);
    expect(creates[0]!.split("--map ").length - 1).toBe(32);
  });

  it("apply: the mapping holds exactly the placed GPUs' VFs, the VMs start through it; uninstall removes it", async () => {
    writeFileSync(join(dir, "vgpu.yaml"), FILE);
    const outcomes = await runApply({ file: "vgpu.yaml", hostSpec: null, reboot: false }, deps("apply"));
    expect(outcomes.map((o) => o.kind)).toEqual(["done", "done"]);
    const cfg = await onNode("apply", 2, async (h) => (await h.readFile("/etc/pve/mapping/pci.cfg")) ?? "");
    const [mapping] = parsePciMappingCfg(cfg);
    expect(mapping?.id).toBe("vgpu-a16");
    expect(mapping?.mdev).toBe(true);
    const byNode = (n: string) => mapping!.entries.filter((e) => e.node === n).map((e) => e.path!);
    expect(byNode("pve1")).toHaveLength(16);
    expect(byNode("pve2")).toHaveLength(16);
    // the VFs of one GPU per node: same bus as the GPU the placement chose
    for (const n of ["pve1", "pve2"]) expect(new Set(byNode(n).map((p) => p.slice(0, 7))).size).toBe(1);
    for (const copy of [1, 2]) {
      const started = await onNode("apply", copy, async (h) => {
        const conf =
          ((await h.readFile("/etc/pve/qemu-server/100.conf")) ?? "") +
          ((await h.readFile("/etc/pve/qemu-server/101.conf")) ?? "");
        const vmid = /hostpci0: mapping=vgpu-a16/.test(
          (await h.readFile("/etc/pve/qemu-server/100.conf")) ?? "",
        )
          ? 100
          : 101;
        expect(conf.match(/hostpci0: mapping=vgpu-a16,mdev=nvidia-\d+,pcie=1/g)).toHaveLength(1);
        const r = await h.exec(["qm", "start", String(vmid)]);
        return `${r.exitCode} ${r.stderr}`;
      });
      expect(started).toBe("0 ");
    }
    // stop them again so uninstall may detach
    for (const copy of [1, 2])
      await onNode("apply", copy, async (h) => {
        for (const v of [100, 101]) await h.exec(["qm", "stop", String(v)]);
        return "";
      });
    const undone = await runUninstallHosts(
      ["sim:a16-cluster@1", "sim:a16-cluster@2"],
      { reboot: false },
      deps("apply"),
    );
    expect(undone.map((o) => o.kind)).toEqual(["done", "done"]);
    const after = await onNode("apply", 2, async (h) => (await h.readFile("/etc/pve/mapping/pci.cfg")) ?? "");
    expect(parsePciMappingCfg(after).map((m) => m.id)).not.toContain("vgpu-a16");
    const confs = await onNode(
      "apply",
      1,
      async (h) =>
        ((await h.readFile("/etc/pve/qemu-server/100.conf")) ?? "") +
        ((await h.readFile("/etc/pve/qemu-server/101.conf")) ?? ""),
    );
    expect(confs).not.toMatch(/mapping=vgpu-a16/);
  });
});

describe("placement.attach", () => {
  it("host: the cluster's VMs are attached by address and no mapping is made", async () => {
    writeFileSync(join(dir, "by-address.yaml"), `${FILE}placement: { attach: host }\n`);
    const lines = commandsOf(await runPlan({ file: "by-address.yaml", hostSpec: null }, deps("host"))).flat();
    expect(lines.some((l) => l.startsWith("pvesh"))).toBe(false);
    expect(
      lines.filter((l) => /^qm set 10[01] --hostpci0 0000:4[1-4]:\d\d\.\d,mdev=nvidia-\d+,pcie=1$/.test(l)),
    ).toHaveLength(2);
  });

  it("copies of a scenario that is no cluster (no corosync.conf) are attached by address by default", async () => {
    writeFileSync(join(dir, "lone.yaml"), FILE.replaceAll("a16-cluster", "a16-configured"));
    const plans = await runPlan({ file: "lone.yaml", hostSpec: null }, deps("lone"));
    const lines = commandsOf(plans).flat();
    expect(lines.some((l) => l.startsWith("pvesh"))).toBe(false);
    expect(lines.filter((l) => /^qm set 10[01] --hostpci0 0000:/.test(l))).toHaveLength(2);
  });

  it("mapping asked for hosts that are no cluster: the mapping is planned, with a note that only one host gets it", async () => {
    writeFileSync(
      join(dir, "lone-mapped.yaml"),
      `${FILE.replaceAll("a16-cluster", "a16-configured")}placement: { attach: mapping }\n`,
    );
    const plans = await runPlan({ file: "lone-mapped.yaml", hostSpec: null }, deps("lone-mapped"));
    const lines = commandsOf(plans).flat();
    expect(lines.filter((l) => l.startsWith("pvesh create /cluster/mapping/pci --id vgpu-a16"))).toHaveLength(
      1,
    );
    const notes = plans.flatMap((p) => ("plan" in p ? p.plan.notes : [])).join("\n");
    expect(notes).toContain("placement.attach: mapping, but the hosts are not nodes of one cluster");
  });

  it("on the cluster a plan note names the mapping and why it is used", async () => {
    writeFileSync(join(dir, "vgpu.yaml"), FILE);
    const plans = await runPlan({ file: "vgpu.yaml", hostSpec: null }, deps("note"));
    const notes = plans.flatMap((p) => ("plan" in p ? p.plan.notes : []));
    expect(notes.join("\n")).toMatch(
      /2 VM\(s\) attached through cluster mapping vgpu-a16 \(the hosts are nodes of cluster vgpu-lab; GPUs pve1 0000:4\d:00\.0, pve2 0000:4\d:00\.0\)/,
    );
  });
});

describe("one node of the cluster file (--host)", () => {
  it("is planned as the whole file plans it: through the mapping", async () => {
    writeFileSync(join(dir, "vgpu.yaml"), FILE);
    const plans = await runPlan({ file: "vgpu.yaml", hostSpec: "sim:a16-cluster@2" }, deps("one"));
    const lines = commandsOf(plans).flat();
    expect(lines.filter((l) => l.startsWith("pvesh create /cluster/mapping/pci --id vgpu-a16"))).toHaveLength(
      1,
    );
    expect(lines.filter((l) => / --hostpci0 mapping=vgpu-a16,/.test(l)).length).toBeGreaterThan(0);
  });
});
