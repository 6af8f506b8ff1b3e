// Issue 13 item 17: what people see. One unit rule with the board's nominal size named, the generation
// not glued onto the driver, vGPU types in id order, the uninstall plan's own reboot line, no edit asked
// for a line that already reads so, each missing command once, --host/--json in subcommand help,
// public sources in `profile suggest`, a packages "why" naming only what it installs, one apt-get update.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyHost, planUninstall } from "../../src/apply/run.ts";
import { runChecks } from "../../src/checks/index.ts";
import { renderPlan } from "../../src/cli/commands/plan.ts";
import { main } from "../../src/cli/main.ts";
import { colorsFor } from "../../src/cli/output.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { notesOnce } from "../../src/report/notes.ts";
import { formatSize } from "../../src/report/units.ts";
import { exampleEntry, simWithDeps } from "../helpers/seed-sim.ts";
import { planOf } from "../plan/scenario-plans.ts";

const plain = colorsFor({ isTTY: false } as never, {}, false);

async function cli(...args: string[]) {
  let out = "";
  let err = "";
  const env = { VGPUCTL_SIM_DIR: mkdtempSync(join(tmpdir(), "vgpuctl-display-")) };
  const code = await main(["node", "vgpuctl", ...args], {
    out: (s) => (out += s),
    err: (s) => (err += s),
    env,
  });
  return { code, out, err };
}

describe("sizes", () => {
  it("MiB below 1 GiB, else GiB with at most one decimal and no trailing .0", () => {
    expect([512, 1024, 7680, 8192, 46068, 11264].map(formatSize)).toEqual([
      "512 MiB",
      "1 GiB",
      "7.5 GiB",
      "8 GiB",
      "45 GiB",
      "11 GiB",
    ]);
  });
});

describe("inspect", () => {
  it("P4: board size named, usable beside it; generation apart from the driver; types in id order", async () => {
    const r = await cli("inspect", "--host", "sim:p4-configured", "--no-color");
    expect(r.out).toMatch(
      /GPU 0000:01:00\.0 {2}Tesla P4 {2}\[10de:1bb3\] {2}Pascal {2}8 GiB \(7\.5 GiB usable\)\n/,
    );
    expect(r.out).toContain("  driver in use: nvidia\n");
    const ids = [...r.out.matchAll(/^ {4}nvidia-(\d+) /gm)].map((m) => Number(m[1]));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids[0]).toBe(63);
  });

  it("vm list: the GPU's VRAM by the same rule", async () => {
    const r = await cli("vm", "list", "--host", "sim:seed-configured", "--no-color");
    expect(r.out).toMatch(/GPU 0000:01:00\.0 .*: .*, 0 MiB of 11 GiB assigned\n/);
  });

  it("A40: 48 GiB (45 GiB usable), not 45.0 GiB", async () => {
    const r = await cli("inspect", "--host", "sim:sriov-vfs-missing", "--no-color");
    expect(r.out).toContain("A40  [10de:2235]  Ampere  48 GiB (45 GiB usable)");
    expect(r.out).not.toContain("45.0 GiB");
  });
});

describe("plans", () => {
  it("the uninstall plan's reboot line names uninstall --reboot", async () => {
    const { host, deps } = simWithDeps();
    await applyHost(await exampleEntry(), deps, { reboot: false });
    const text = renderPlan((await planUninstall(host)).plan, plain, "Uninstall plan");
    expect(text).toContain("One reboot at the end (uninstall --reboot does it).");
    expect(text).not.toContain("apply --reboot");
  });

  it("one apt-get update when the repository step runs first; the packages why names what it installs", async () => {
    const plan = JSON.parse(await planOf("seed-fresh", "seed-host.yaml"));
    const updates = plan.steps.flatMap((s: { changes: Array<{ argv?: string[] }> }) =>
      s.changes.filter((c) => c.argv?.join(" ") === "apt-get update"),
    );
    expect(updates).toHaveLength(1);
    const a40 = JSON.parse(await planOf("sriov-vfs-missing", "init"));
    const pk = a40.steps.find((s: { id: string }) => s.id === "packages");
    expect(pk.title).toBe("Install pve-nvidia-vgpu-helper");
    expect(pk.why).toMatch(
      /^pve-nvidia-vgpu-helper ships the unit that enables the SR-IOV virtual functions/,
    );
    expect(pk.why).not.toMatch(/DKMS|mdevctl/);
  });
});

describe("doctor", () => {
  it("iommu-disabled after apply wrote GRUB (before the reboot): says it is written, asks for no edit", async () => {
    const { host, deps } = simWithDeps();
    await applyHost(await exampleEntry(), deps, { reboot: false });
    const findings = runChecks(parseFacts(await host.capture(GATHER_SPEC)));
    const fix = findings.filter((f) => /iommu/.test(f.code)).flatMap((f) => f.fix);
    expect(fix.join("\n")).not.toMatch(/^Edit \/etc\/default\/grub .*to read/m);
  });

  it("a command missing on the host is listed once under not checked", () => {
    expect(
      notesOnce([
        "capture: not installed on the host: mokutil --sb-state",
        "not captured: mokutil --sb-state",
        "not captured: /etc/pve/qemu-server",
      ]),
    ).toEqual([
      "capture: not installed on the host: mokutil --sb-state",
      "not captured: /etc/pve/qemu-server",
    ]);
  });
});

describe("help and sources", () => {
  it("subcommand --help shows --host and --json", async () => {
    const r = await cli("doctor", "--help");
    expect(r.out).toMatch(/--host <spec>/);
    expect(r.out).toMatch(/--json/);
  });

  it("profile suggest cites public sources only", async () => {
    const help = await cli("profile", "suggest", "--help");
    const run = await cli(
      "profile",
      "suggest",
      "--host",
      "sim:seed-configured",
      "--os",
      "linux",
      "--workload",
      "compute",
    );
    for (const text of [help.out, run.out]) {
      expect(text).not.toMatch(/seed guide|research\//);
    }
    expect(help.out).toContain("gitlab.com/polloloco/vgpu-proxmox");
  });
});
