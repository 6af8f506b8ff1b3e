/**
 * `vms:` of vgpu.yaml in plan/apply, on the simulated configured seed host.
 * source: sim scenario seed-configured = the seed guide's host after the guide (RTX 2080 Ti, 11 GiB,
 * RTX6000 types of seed guide lines 308-319; VM 100 win11 on q35 "pc-q35-7.2", VM 101 ubuntu on
 * i440fx); `qm set N --hostpciK ADDR,mdev=nvidia-T[,pcie=1]` / `--delete hostpciK` and the pending
 * section of a running VM: research/proxmox.md §1b; [vm.N] framebuffer + framebuffer_reservation:
 * research/unlock.md §1.4, sizes by §5.1 (reservation = VRAM/16 + 64 MiB: 3 GiB = 0xB0000000 + 0x10000000).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyHost, BlockedError, type PlanDeps, planHost, uninstallHost } from "../../src/apply/run.ts";
import { runInspect } from "../../src/commands/inspect.ts";
import { gatherForPlan, planJson, splitLines } from "../../src/commands/plan.ts";
import { parseDesired } from "../../src/desired/parse.ts";
import type { HostEntry, VmSpec } from "../../src/desired/schema.ts";
import { OVERRIDE_PATH } from "../../src/formats/profile-override/index.ts";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import type { Change, Plan } from "../../src/plan/types.ts";
import { pendingDeletes, planVms } from "../../src/plan/vms.ts";

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

async function sim(): Promise<SimHost> {
  const dir = await mkdtemp(join(tmpdir(), "vgpuctl-planvms-"));
  dirs.push(dir);
  return SimHost.open("seed-configured", { stateDir: dir, spec: "sim:seed-configured" });
}

const entry = (vms: VmSpec[], over: Partial<HostEntry> = {}): HostEntry => ({
  host: "sim:seed-configured",
  unlock: "auto",
  iommu: "auto",
  repository: null,
  gpus: [{ address: "0000:01:00.0", type: "GRID RTX6000-4Q" }],
  vms,
  ...over,
});

const deps = (host: SimHost): PlanDeps => ({ host, gather: gatherForPlan });
const plan = async (host: SimHost, e: HostEntry): Promise<Plan> => (await planHost(e, deps(host))).plan;
const commands = (p: Plan, id: string) =>
  p.steps
    .find((s) => s.id === id)!
    .changes.filter((c): c is Extract<Change, { kind: "command" }> => c.kind === "command")
    .map((c) => c.argv.join(" "));
const fileAfter = (p: Plan, id: string) =>
  p.steps
    .find((s) => s.id === id)!
    .changes.find(
      (c): c is Extract<Change, { kind: "file" }> => c.kind === "file" && c.path === OVERRIDE_PATH,
    );
async function hostpci(host: SimHost, vmid: number) {
  const { report } = await runInspect({}, { host });
  return report.vms.find((v) => v.vmid === vmid)!.hostpci;
}

const TWO = entry([
  { vmid: 100, type: "nvidia-259" },
  { vmid: 101, vram: "3G", os: "linux" },
]);

describe("plan with vms on a configured host", () => {
  it("plans only the VM steps: qm set per VM, the [vm.N] override where VRAM differs, and the split", async () => {
    const host = await sim();
    const p = await plan(host, TWO);
    expect(p.blockers).toEqual([]);
    expect(p.steps.map((s) => s.id)).toEqual(["vm-100", "vm-101"]);
    expect(p.reboots).toBe(0);
    expect(commands(p, "vm-100")).toEqual(["qm set 100 --hostpci0 0000:01:00.0,mdev=nvidia-259,pcie=1"]);
    // VM 101 is i440fx: no pcie=1
    expect(commands(p, "vm-101")).toEqual(["qm set 101 --hostpci0 0000:01:00.0,mdev=nvidia-259"]);
    expect(fileAfter(p, "vm-100")).toBeUndefined();
    const ov = fileAfter(p, "vm-101")!;
    expect(ov.after).toContain("[vm.101]\nframebuffer = 0xB0000000\nframebuffer_reservation = 0x10000000\n");
    expect(ov.diff).toContain("+[vm.101]");
    expect(p.steps[0]!.undo.commands).toEqual([["qm", "set", "100", "--delete", "hostpci0"]]);
    expect(p.steps.every((s) => !s.reboot && !s.afterReboot)).toBe(true);

    expect(splitLines(p.split!)).toEqual([
      "GPU 0000:01:00.0 RTX6000-4Q: VM 100 (4 GiB), VM 101 (3 GiB) — 4 GiB free, 4 instances left",
    ]);
    const json = planJson(p);
    expect(json.split).toEqual([
      expect.objectContaining({
        gpu: "0000:01:00.0",
        type: "nvidia-259",
        vms: [
          { vmid: 100, vramMiB: 4096 },
          { vmid: 101, vramMiB: 3072 },
        ],
        usedMiB: 7168,
        freeMiB: 4096,
        instancesLeft: 4,
      }),
    ]);
  });

  it("apply attaches them through qm set; a second plan has no steps; uninstall takes them off again", async () => {
    const host = await sim();
    const before = await host.readFile(OVERRIDE_PATH);
    const r = await applyHost(TWO, deps(host), { reboot: false });
    expect(r.applied).toEqual(["vm-100", "vm-101"]);
    expect(r.reboots).toBe(0);
    expect(await hostpci(host, 100)).toEqual([
      expect.objectContaining({ index: 0, mdev: "nvidia-259", address: "0000:01:00.0" }),
    ]);
    expect(await host.readFile(OVERRIDE_PATH)).toContain("[vm.101]");

    const again = await plan(host, TWO);
    expect(again.blockers).toEqual([]);
    expect(again.steps).toEqual([]);
    expect(splitLines(again.split!)[0]).toContain("VM 100 (4 GiB), VM 101 (3 GiB)");
    const second = await applyHost(TWO, deps(host), { reboot: false });
    expect(second.applied).toEqual([]);

    const u = await uninstallHost(deps(host), { reboot: false });
    expect(u.undone).toEqual(["undo-vm-101", "undo-vm-100"]);
    expect(await hostpci(host, 100)).toEqual([]);
    expect(await hostpci(host, 101)).toEqual([]);
    expect(await host.readFile(OVERRIDE_PATH)).toBe(before);
  });

  it("changes only the override when the VRAM changes, and re-types a VM in place", async () => {
    const host = await sim();
    await applyHost(TWO, deps(host), { reboot: false });
    const p = await plan(
      host,
      entry(
        [
          { vmid: 100, type: "nvidia-258" },
          { vmid: 101, vram: "2G", os: "linux" },
        ],
        { gpus: [] },
      ),
    );
    expect(p.blockers).toEqual([]);
    expect(p.steps.map((s) => s.title)).toEqual([
      "Change the vGPU of VM 100 to RTX6000-3Q (nvidia-258), 3 GiB on GPU 0000:01:00.0",
      "Change the vGPU of VM 101 to RTX6000-3Q (nvidia-258), 2 GiB on GPU 0000:01:00.0",
    ]);
    expect(p.steps[0]!.undo.commands).toEqual([
      ["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259,pcie=1"],
    ]);
    // the override of VM 101 is rewritten in place (2 GiB = 0x74000000 + 0xC000000: 2048/16 + 64 MiB reserved)
    const ov = fileAfter(p, "vm-101")!;
    expect(ov.diff).toContain(
      "-framebuffer = 0xB0000000\n-framebuffer_reservation = 0x10000000\n+framebuffer = 0x74000000\n+framebuffer_reservation = 0xC000000\n",
    );

    // the VRAM alone: one override-only step
    const vramOnly = await plan(
      host,
      entry([
        { vmid: 100, type: "nvidia-259" },
        { vmid: 101, vram: "2G", os: "linux" },
      ]),
    );
    expect(vramOnly.steps.map((s) => [s.id, s.title])).toEqual([
      ["vm-101", "Set the vGPU overrides of VM 101 (RTX6000-4Q (nvidia-259), 2 GiB)"],
    ]);
    expect(vramOnly.steps[0]!.changes.map((c) => c.kind)).toEqual(["file"]);
    // a VM given its type's own size: the [vm.101] section goes
    const exact = await plan(
      host,
      entry([
        { vmid: 100, type: "nvidia-259" },
        { vmid: 101, type: "nvidia-259" },
      ]),
    );
    expect(exact.steps.map((s) => s.id)).toEqual(["vm-101"]);
    expect(fileAfter(exact, "vm-101")!.after).not.toContain("[vm.101]");
  });

  it("vgpu: none detaches (and drops the VM's overrides); idempotent afterwards", async () => {
    const host = await sim();
    await applyHost(TWO, deps(host), { reboot: false });
    const e = entry([
      { vmid: 100, vgpu: "none" },
      { vmid: 101, vgpu: "none" },
    ]);
    const p = await plan(host, e);
    expect(p.blockers).toEqual([]);
    expect(p.steps.map((s) => s.id)).toEqual(["vm-100-detach", "vm-101-detach"]);
    expect(commands(p, "vm-100-detach")).toEqual(["qm set 100 --delete hostpci0"]);
    expect(p.steps[0]!.undo.commands).toEqual([
      ["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259,pcie=1"],
    ]);
    expect(fileAfter(p, "vm-101-detach")!.after).not.toContain("[vm.101]");
    const r = await applyHost(e, deps(host), { reboot: false });
    expect(r.applied).toEqual(["vm-100-detach", "vm-101-detach"]);
    expect(await hostpci(host, 100)).toEqual([]);
    expect((await plan(host, e)).steps).toEqual([]);
  });

  it("a running VM gets the removal as pending, and the next plan knows it is on its way", async () => {
    const host = await sim();
    await applyHost(entry([{ vmid: 100, type: "nvidia-259" }]), deps(host), { reboot: false });
    expect((await host.exec(["qm", "start", "100"])).exitCode).toBe(0);
    const e = entry([{ vmid: 100, vgpu: "none" }]);
    const p = await plan(host, e);
    expect(p.steps[0]!.why).toContain("pending");
    await applyHost(e, deps(host), { reboot: false });
    const conf = await host.readFile("/etc/pve/qemu-server/100.conf");
    expect(pendingDeletes(conf)).toEqual([0]);
    expect((await plan(host, e)).steps).toEqual([]);
  });

  it("turns refusals into blockers with their codes, and apply changes nothing", async () => {
    const host = await sim();
    const cases: Array<[VmSpec[], string, Partial<HostEntry>?]> = [
      [[{ vmid: 101, type: "nvidia-259", pcie: true }], "pcie-non-q35"],
      [[{ vmid: 999, type: "nvidia-259" }], "unknown-vm"],
      [[{ vmid: 100, type: "nvidia-42424" }], "unknown-type"],
      [
        [
          { vmid: 100, type: "nvidia-259", gpu: "0000:01:00.0" },
          { vmid: 101, type: "nvidia-256", gpu: "0000:01:00.0" },
        ],
        "mixed-types",
        { gpus: [] },
      ],
      [
        [
          { vmid: 100, vram: "6G", os: "windows" },
          { vmid: 101, vram: "6G", os: "linux" },
        ],
        "vram-overcommit",
        { gpus: [] },
      ],
      [[{ vmid: 100, type: "nvidia-259", resolution: "8192x8192" }], "resolution-too-large"],
    ];
    for (const [vms, code, over] of cases) {
      const p = await plan(host, entry(vms, over));
      expect(
        p.blockers.map((b) => b.code),
        code,
      ).toContain(code);
    }
    const e = entry([{ vmid: 101, type: "nvidia-259", pcie: true }]);
    await expect(applyHost(e, deps(host), { reboot: false })).rejects.toBeInstanceOf(BlockedError);
    expect(await hostpci(host, 101)).toEqual([]);
  });

  it("refuses a per-VM override where vgpu_unlock-rs is not preloaded (the file would have no effect)", async () => {
    const host = await sim();
    const e = entry([{ vmid: 100, type: "nvidia-259", displays: 1 }]);
    const g = await gatherForPlan(host, e);
    const base = { facts: g.facts, file: g.file, priorSteps: [], afterReboot: false };
    const off = planVms(e, { ...base, unlock: false });
    expect(off.blockers.map((b) => b.code)).toEqual(["override-needs-unlock"]);
    expect(off.steps).toEqual([]);
    expect(planVms(e, { ...base, unlock: true }).steps.map((s) => s.id)).toEqual(["vm-100"]);
  });

  it("without vgpu_unlock-rs a VRAM request takes the smallest type of at least that size, whole", async () => {
    const host = await sim();
    const e = entry([{ vmid: 100, vram: "3500M", workload: "cad" }]);
    const g = await gatherForPlan(host, e);
    const base = { facts: g.facts, file: g.file, priorSteps: [], afterReboot: false };
    const off = planVms(e, { ...base, unlock: false });
    expect(off.blockers).toEqual([]);
    expect(off.split?.placements).toMatchObject([{ vmid: 100, type: "nvidia-259", overrideVramMiB: null }]);
    // with the unlock the GPU's type is kept and an override sets the size
    const on = planVms(e, { ...base, unlock: true });
    expect(on.split?.placements[0]?.overrideVramMiB).toBe(3500);
  });

  it("sets display overrides only where they differ from the type", async () => {
    const host = await sim();
    const p = await plan(
      host,
      entry([{ vmid: 100, type: "nvidia-259", resolution: "1920x1080", displays: 2 }]),
    );
    const after = fileAfter(p, "vm-100")!.after!;
    expect(after).toContain("display_width = 1920");
    expect(after).toContain("display_height = 1080");
    expect(after).toContain("num_displays = 2");
    expect(after).toContain(`max_pixels = ${1920 * 1080 * 2}`);
    // 7680x4320 and 4 heads are RTX6000-4Q's own: nothing to override
    const same = await plan(
      host,
      entry([{ vmid: 100, type: "nvidia-259", resolution: "7680x4320", displays: 4 }]),
    );
    expect(fileAfter(same, "vm-100")).toBeUndefined();
  });
});

describe("vms in vgpu.yaml", () => {
  const yaml = (vms: string) => `hosts:\n  - host: sim:seed-configured\n    vms:\n${vms}`;
  it("accepts `vgpu: none`, refuses it with other keys, and refuses a VM listed twice", () => {
    const d = parseDesired(
      yaml(
        "      - vmid: 100\n        vgpu: none\n      - vmid: 101\n        vram: 2G\n        workload: cad\n",
      ),
    );
    expect(d.hosts[0]!.vms).toEqual([
      { vmid: 100, vgpu: "none" },
      { vmid: 101, vram: "2G", workload: "cad" },
    ]);
    expect(() =>
      parseDesired(yaml("      - vmid: 100\n        vgpu: none\n        type: nvidia-259\n")),
    ).toThrow(/vgpu: none/);
    expect(() =>
      parseDesired(
        yaml("      - vmid: 100\n        type: nvidia-259\n      - vmid: 100\n        vram: 2G\n"),
      ),
    ).toThrow(/listed once/);
  });
});

describe("vms: and the driver's sharing rule (place/model.ts sharingRule)", () => {
  const SIZES = [
    { vmid: 100, type: "nvidia-259" },
    { vmid: 101, type: "nvidia-257" },
  ];
  it("driver 525 (seed 15.1): a 4Q and a 2Q need two sizes on one GPU — the 2Q is refused", async () => {
    const host = await sim();
    const p = await plan(host, entry(SIZES));
    expect(p.blockers.map((b) => b.code)).toEqual(["mixed-types"]);
    expect(p.blockers[0]!.title).toContain("one framebuffer size per GPU, equal-size mode");
  });
  it("a 2B beside a 2Q on one GPU: both placed, each with its own type", async () => {
    const host = await sim();
    const p = await plan(
      host,
      entry(
        [
          { vmid: 100, type: "nvidia-436" },
          { vmid: 101, type: "nvidia-257" },
        ],
        { gpus: [{ address: "0000:01:00.0", type: "nvidia-257" }] },
      ),
    );
    expect(p.blockers).toEqual([]);
    expect(commands(p, "vm-100")).toEqual(["qm set 100 --hostpci0 0000:01:00.0,mdev=nvidia-436,pcie=1"]);
    expect(commands(p, "vm-101")).toEqual(["qm set 101 --hostpci0 0000:01:00.0,mdev=nvidia-257"]);
  });
  it("gpus[].mixedSizes: true lets the planner put both sizes on the GPU (the mixed-size pass sets the mode)", async () => {
    const host = await sim();
    const p = await plan(
      host,
      entry(SIZES, { gpus: [{ address: "0000:01:00.0", type: "nvidia-259", mixedSizes: true }] }),
    );
    expect(p.blockers.map((b) => b.code)).not.toContain("mixed-types");
    expect(commands(p, "vm-101")).toEqual(["qm set 101 --hostpci0 0000:01:00.0,mdev=nvidia-257"]);
  });
});
