/**
 * plan/apply act on the top-level `vms:` of vgpu.yaml (issue 15 item 2): the placement chooses each VM's
 * host (and GPU and type) among the file's hosts, and each host's plan gets its share as ordinary per-host
 * VM lines — the vms pass writes their hostpciN lines. Hosts: copies of the simulated seed-configured
 * scenario (RTX 2080 Ti with vgpu_unlock, VMs 100 and 101; src/hosts/sim/scenarios), each its own state.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runApply } from "../../src/commands/apply.ts";
import { runPlan } from "../../src/commands/plan.ts";
import { openHost } from "../../src/hosts/open.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vgpuctl-toplevel-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function deps(sub: string) {
  return {
    cwd: dir,
    readText: (p: string) => readFile(p, "utf8"),
    openHost: (s: string) => openHost(s, { env: { VGPUCTL_SIM_DIR: join(dir, sub) } }),
  };
}

const FILE = [
  "hosts:",
  "  - host: sim:seed-configured@1",
  "  - host: sim:seed-configured@2",
  "vms:",
  "  - { vmid: 100, vram: 4G }",
  "  - { vmid: 101, vram: 4G, notWith: [100] }",
  "  - { vmid: 102, type: NVIDIA L40S-48Q }",
  "",
].join("\n");

describe("plan and apply with top-level vms:", () => {
  it("each VM goes to one host (notWith keeps 100 and 101 apart) as a hostpci line; the unplaceable one is named", async () => {
    writeFileSync(join(dir, "vgpu.yaml"), FILE);
    const plans = await runPlan({ file: "vgpu.yaml", hostSpec: null }, deps("plan"));
    const lines = plans.map((p) => {
      if (!("plan" in p)) throw p.error;
      return p.plan.steps.flatMap((s) =>
        s.changes.map((c) => (c.kind === "command" ? c.argv.join(" ") : "")),
      );
    });
    const attach = (vmid: number) =>
      lines.findIndex((ls) => ls.some((l) => l.includes(`qm set ${vmid} --hostpci`)));
    expect(attach(100)).toBeGreaterThanOrEqual(0);
    expect(attach(101)).toBeGreaterThanOrEqual(0);
    expect(attach(100)).not.toBe(attach(101));
    expect(lines.flat().join("\n")).toMatch(/mdev=nvidia-259/); // RTX6000-4Q: the smallest 4 GB Q type
    const notes = plans.flatMap((p) => ("plan" in p ? p.plan.notes : []));
    expect(notes.join("\n")).toMatch(/VM 102 \(top-level vms:\) not placed: no GPU .*offers NVIDIA L40S-48Q/);
  });

  it("apply writes each VM's hostpci line on the host placement chose, and only there", async () => {
    writeFileSync(join(dir, "vgpu.yaml"), FILE.replace("  - { vmid: 102, type: NVIDIA L40S-48Q }\n", ""));
    const outcomes = await runApply({ file: "vgpu.yaml", hostSpec: null, reboot: false }, deps("apply"));
    expect(outcomes.map((o) => o.kind)).toEqual(["done", "done"]);
    const conf = async (copy: number, vmid: number) => {
      const h = await openHost(`sim:seed-configured@${copy}`, {
        env: { VGPUCTL_SIM_DIR: join(dir, "apply") },
      });
      try {
        return (await h.readFile(`/etc/pve/qemu-server/${vmid}.conf`)) ?? "";
      } finally {
        await h.close();
      }
    };
    const with100 = [
      /hostpci\d+: .*mdev=nvidia-/.test(await conf(1, 100)),
      /hostpci\d+: .*mdev=/.test(await conf(2, 100)),
    ];
    const with101 = [
      /hostpci\d+: .*mdev=nvidia-/.test(await conf(1, 101)),
      /hostpci\d+: .*mdev=/.test(await conf(2, 101)),
    ];
    expect(with100.filter(Boolean)).toHaveLength(1);
    expect(with101.filter(Boolean)).toHaveLength(1);
    expect(with100).not.toEqual(with101);
  });
});

describe("top-level vms: that exist on one host", () => {
  it("stay on that node (its config lives there); VMs that exist on several hosts may go to any", async () => {
    // VM 103 exists only on the A16 node (a16-configured: VMs 100–103; seed-configured: 100 and 101)
    writeFileSync(
      join(dir, "one-node.yaml"),
      "hosts:\n  - host: sim:seed-configured@1\n  - host: sim:a16-configured@1\nvms:\n  - { vmid: 103, vram: 1G }\n",
    );
    const plans = await runPlan({ file: "one-node.yaml", hostSpec: null }, deps("one-node"));
    const attaching = plans.flatMap((p) => {
      if (!("plan" in p)) throw p.error;
      return p.plan.steps.some((s) => s.id === "vm-103") ? [p.spec] : [];
    });
    expect(attaching).toEqual(["sim:a16-configured@1"]);
  });
});
