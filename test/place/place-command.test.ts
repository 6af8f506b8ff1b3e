/**
 * `vgpuctl place` (DESIGN.md "place"): the top-level vms: of vgpu.yaml onto the GPUs of saved inspect
 * reports (--inventory) or of the hosts the file names. Inventories: `inspect --json` of the simulated
 * scenarios a16-configured (A16 board = four 25b6 GPUs, 16 VFs each, vGPU 18.3) and p4-configured
 * (Tesla P4, vGPU 16.8) — see src/hosts/sim/scenarios for their sources.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { runInspect } from "../../src/commands/inspect.ts";
import { type PlaceJson, runPlace } from "../../src/commands/place.ts";
import { openHost } from "../../src/hosts/open.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import type { InspectReport } from "../../src/report/inspect-report.ts";

let dir: string;
let a16: InspectReport;
let p4: InspectReport;

async function report(scenario: string, host: string): Promise<InspectReport> {
  const { report } = await runInspect({}, { host: SimHost.fromState(buildScenarioState(scenario)) });
  return { ...report, host };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vgpuctl-place-"));
  a16 = await report("a16-configured", "pve1");
  p4 = await report("p4-configured", "pve2");
  writeFileSync(join(dir, "cluster.json"), JSON.stringify([a16, p4]));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fileDeps = () => ({
  cwd: dir,
  readText: async (p: string) => (await import("node:fs/promises")).readFile(p, "utf8"),
  openHost: (s: string) => openHost(s, { env: { VGPUCTL_SIM_DIR: join(dir, "sim") } }),
});

function yaml(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(["node", "vgpuctl", ...args], {
    cwd: dir,
    env: { VGPUCTL_SIM_DIR: join(dir, "sim"), NO_COLOR: "1" },
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  return { code, out, err };
}

describe("vgpuctl place", () => {
  it("places typed and VRAM requests across the nodes of an inventory, one size per A16 GPU", async () => {
    const file = yaml(
      "all.yaml",
      [
        "vms:",
        ...[200, 201, 202, 203, 204].map((v) => `  - { vmid: ${v}, type: NVIDIA A16-4Q }`),
        "  - { vmid: 205, vram: 2G, series: B }",
        "  - { vmid: 206, type: GRID P4-8Q }",
        "  - { vmid: 207, vram: 8G }",
      ].join("\n"),
    );
    const r = await runPlace({ file, inventory: "cluster.json" }, fileDeps());
    expect(r.unplaced).toEqual([]);
    expect(r.bound).toBe(8);
    const on = (vmid: number) => r.placed.find((p) => p.vmid === vmid)!;
    expect(on(206)).toMatchObject({ host: "pve2", name: "GRID P4-8Q" });
    expect(on(205).name).toMatch(/^NVIDIA A16-2B$/);
    // four 4Q fill one 16 GB A16 GPU (max 4); the fifth needs a second GPU of the same size
    const fourQ = [200, 201, 202, 203, 204].map((v) => on(v).gpu);
    expect(new Set(fourQ).size).toBe(2);
    const sizes = new Map<string, Set<string>>();
    for (const p of r.placed) {
      const mib = /-(\d+)[QBAC]$/.exec(p.name!)![1]!;
      sizes.set(`${p.host}/${p.gpu}`, (sizes.get(`${p.host}/${p.gpu}`) ?? new Set()).add(mib));
    }
    for (const s of sizes.values()) expect(s.size).toBe(1);
  });

  it("--json: the DESIGN.md shape; exit 1 with a reason when a VM cannot be placed", async () => {
    const file = yaml(
      "too-many.yaml",
      "vms:\n  - { vmid: 300, type: GRID P4-8Q }\n  - { vmid: 301, type: GRID P4-8Q }\n  - { vmid: 302, type: NVIDIA L40S-48Q }\n",
    );
    const r = await cli(["place", "-f", file, "--inventory", "cluster.json", "--json"]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as PlaceJson;
    expect(Object.keys(j)).toEqual(expect.arrayContaining(["placed", "unplaced", "gpusUsed", "bound"]));
    expect(j.placed).toHaveLength(1);
    expect(j.bound).toBe(1);
    expect(j.method).toBe("exact");
    expect(typeof j.gpusProven).toBe("boolean");
    expect(j.unplaced.map((u) => u.vmid).sort()).toEqual(
      [300, 301, 302].filter((v) => v !== j.placed[0]!.vmid),
    );
    expect(j.unplaced.find((u) => u.vmid === 302)!.reason).toMatch(/no GPU .*offers NVIDIA L40S-48Q/);
  });

  it("exit 0 when all are placed; exit 2 and nothing placed on a bad inventory or a bad request", async () => {
    const ok = yaml("one.yaml", "vms:\n  - { vmid: 400, type: nvidia-713 }\n");
    expect((await cli(["place", "-f", ok, "--inventory", "cluster.json"])).code).toBe(0);
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ hello: 1 }));
    const bad = await cli(["place", "-f", ok, "--inventory", "bad.json"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/bad\.json is not an inspect report/);
    const both = yaml("both.yaml", "vms:\n  - { vmid: 401, type: nvidia-713, vram: 4G }\n");
    const r = await cli(["place", "-f", both, "--inventory", "cluster.json"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/either `type` or `vram`/);
  });

  it("without --inventory inspects the hosts the file names; copies of one scenario are separate nodes", async () => {
    const file = yaml(
      "sims.yaml",
      "hosts:\n  - host: sim:p4-configured@1\n  - host: sim:p4-configured@2\nvms:\n  - { vmid: 500, type: GRID P4-8Q }\n  - { vmid: 501, type: GRID P4-8Q }\n",
    );
    const r = await runPlace({ file }, fileDeps());
    expect(r.unplaced).toEqual([]);
    expect(new Set(r.placed.map((p) => p.host))).toEqual(
      new Set(["sim:p4-configured@1", "sim:p4-configured@2"]),
    );
  });
});
