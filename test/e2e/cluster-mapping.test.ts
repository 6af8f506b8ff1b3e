/**
 * Issue 15 "plan/apply use the same module (on a cluster: attach through the API with mappings)", with the
 * built CLI on examples/place/a16-cluster.yaml: two nodes (pve1, pve2) of the simulated cluster "vgpu-lab"
 * (sim:a16-cluster@1/@2, src/hosts/sim/cluster.ts). plan --json keeps its DESIGN.md shape (host, steps,
 * blockers, notes per host); apply creates the mapping vgpu-a16 once and writes mapping= lines; doctor finds
 * nothing on either node afterwards; a second apply changes nothing; uninstall takes it all back.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, runCli, tempSimDir } from "../helpers/cli.ts";

const FILE = join(REPO, "examples/place/a16-cluster.yaml");
const NODES = ["sim:a16-cluster@1", "sim:a16-cluster@2"];

describe("top-level vms: on a simulated two-node cluster, through the built CLI", {
  timeout: 180_000,
}, () => {
  const env = { VGPUCTL_SIM_DIR: tempSimDir() };
  const hostpci = (spec: string) =>
    runCli(["inspect", "--host", spec, "--json"], env)
      .json()
      .vms.flatMap((v: any) => v.hostpci.map((h: any) => `${v.vmid} mapping=${h.mapping},mdev=${h.mdev}`))
      .join("\n");

  it("plan --json: per host {host, steps, reboots, blockers, notes}; one cluster-mapping step in all", () => {
    const r = runCli(["plan", "-f", FILE, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const plans = r.json() as any[];
    expect(plans).toHaveLength(2);
    for (const p of plans)
      expect(Object.keys(p)).toEqual(expect.arrayContaining(["host", "steps", "blockers", "notes"]));
    const steps = plans.flatMap((p) => p.steps);
    expect(steps.filter((s: any) => s.id === "cluster-mapping")).toHaveLength(1);
    expect(steps.filter((s: any) => /^vm-10[01]$/.test(s.id))).toHaveLength(2);
  });

  it("apply, then doctor is clean on both nodes, a second apply changes nothing, uninstall undoes it", () => {
    const a = runCli(["apply", "-f", FILE, "--yes", "--json"], env);
    expect(a.code, a.stderr).toBe(0);
    expect((a.json() as any[]).map((o) => o.verified)).toEqual([true, true]);
    const lines = NODES.map(hostpci).join("\n");
    expect(lines.match(/mapping=vgpu-a16,mdev=nvidia-\d+/g)).toHaveLength(2);
    for (const spec of NODES) {
      const d = runCli(["doctor", "--host", spec, "--json"], env);
      expect(d.json().findings, spec).toEqual([]);
    }
    const again = runCli(["apply", "-f", FILE, "--yes", "--json"], env);
    expect((again.json() as any[]).map((o) => o.applied)).toEqual([[], []]);
    const u = runCli(["uninstall", "-f", FILE, "--yes", "--json"], env);
    expect(u.code, u.stderr).toBe(0);
    expect(NODES.map(hostpci).join("\n")).not.toMatch(/mapping=vgpu-a16/);
    const plan = runCli(["plan", "-f", FILE, "--json"], env).json() as any[];
    expect(plan.flatMap((p) => p.steps).filter((s: any) => s.id === "cluster-mapping")).toHaveLength(1);
  });
});
