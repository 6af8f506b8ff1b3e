/**
 * VMs on a host that is not set up yet: the VM steps are planned for after the reboot, apply skips
 * them before it and runs them once the driver offers the types.
 * source: the in-memory seed-fresh world of test/apply/world.ts (the seed guide's host: PVE 7.4,
 * RTX 2080 Ti; file contents from test/fixtures/formats-edit, see SOURCES.md there) plus two VM
 * configs in the shape of /etc/pve/qemu-server/<vmid>.conf (research/proxmox.md §1b) and a `qm set`
 * that edits them like qemu-server does for a stopped VM.
 */
import { describe, expect, it } from "vitest";
import { applyHost, type PlanDeps } from "../../src/apply/run.ts";
import type { HostEntry } from "../../src/desired/schema.ts";
import { parseVmConfig } from "../../src/facts/system/qemu-server.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { fail, type MemoryHost, ok } from "../apply/memory-host.ts";
import { gatherWorld, seedEntry, seedFreshWorld } from "../apply/world.ts";

const CONF = "/etc/pve/qemu-server";

function world() {
  const { host, world } = seedFreshWorld();
  host.files.set(`${CONF}/100.conf`, {
    content: "machine: pc-q35-7.2\nmemory: 8192\nname: win11\nostype: win11\n",
    mode: 0o640,
  });
  host.files.set(`${CONF}/101.conf`, { content: "memory: 4096\nname: ubuntu\nostype: l26\n", mode: 0o640 });
  host.on("qm", (argv, h) => qmSet(argv, h));
  const base = gatherWorld(world);
  const deps: PlanDeps = {
    host,
    gather: async (h, entry) => {
      const g = await base(h, entry);
      const vms = [...host.files.entries()]
        .filter(([p]) => p.startsWith(`${CONF}/`))
        .map(([p, f]) => parseVmConfig(Number(/(\d+)\.conf$/.exec(p)![1]), f.content))
        .sort((a, b) => a.vmid - b.vmid);
      return { ...g, facts: { ...g.facts, vms } };
    },
  };
  return { host, world, deps };
}

/** `qm set N --hostpciK V` / `--delete a,b` on a stopped VM: the keys change in the conf. */
function qmSet(argv: string[], h: MemoryHost) {
  const [, sub, vmid, ...rest] = argv;
  const path = `${CONF}/${vmid}.conf`;
  const text = h.read(path);
  if (sub !== "set" || text === null) return fail(`Configuration file '${path}' does not exist`, 2);
  const conf = new Map(
    text
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()] as const),
  );
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i]!.replace(/^--?/, "");
    if (key === "delete") for (const k of rest[i + 1]!.split(",")) conf.delete(k);
    else conf.set(key, rest[i + 1]!);
  }
  const out = [...conf.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}\n`)
    .join("");
  h.files.set(path, { content: out, mode: 0o640 });
  return ok(`update VM ${vmid}: ${rest.join(" ")}\n`);
}

const ENTRY: HostEntry = seedEntry({
  vms: [
    { vmid: 100, type: "GRID RTX6000-4Q" },
    { vmid: 101, vram: "2G", os: "linux" },
  ],
});

describe("VMs on a host being set up", () => {
  it("are planned after the setup, marked to run after the reboot, with types from NVIDIA's table", async () => {
    const { host, deps } = world();
    const g = await deps.gather(host, ENTRY);
    const p = buildPlan(ENTRY, g);
    expect(p.blockers).toEqual([]);
    const ids = p.steps.map((s) => s.id);
    expect(ids.slice(-3)).toEqual(["initramfs", "vm-100", "vm-101"]);
    expect(p.steps.filter((s) => s.afterReboot).map((s) => s.id)).toEqual(["vm-100", "vm-101"]);
    expect(p.steps.find((s) => s.id === "vm-100")!.changes[0]).toEqual({
      kind: "command",
      argv: ["qm", "set", "100", "--hostpci0", "0000:01:00.0,mdev=nvidia-259,pcie=1"],
    });
    expect(p.split![0]).toMatchObject({ type: "nvidia-259", vms: [{ vmid: 100 }, { vmid: 101 }] });
    expect(p.notes.join("\n")).toContain("after the reboot");
  });

  it("apply --reboot sets up, reboots once, then attaches; a second apply does nothing", async () => {
    const { host, deps } = world();
    const r = await applyHost(ENTRY, deps, { reboot: true });
    expect(host.reboots).toBe(1);
    expect(r.verified).toBe(true);
    expect(r.applied.slice(-3)).toEqual(["initramfs", "vm-100", "vm-101"]);
    // qm ran only after the reboot
    const qm = host.execLog.filter((a) => a[0] === "qm");
    expect(qm.map((a) => a.join(" "))).toEqual([
      "qm set 100 --hostpci0 0000:01:00.0,mdev=nvidia-259,pcie=1",
      "qm set 101 --hostpci0 0000:01:00.0,mdev=nvidia-259",
    ]);
    expect(host.read(`${CONF}/101.conf`)).toContain("hostpci0: 0000:01:00.0,mdev=nvidia-259\n");
    expect(host.read("/etc/vgpu_unlock/profile_override.toml")).toContain("[vm.101]");

    const again = await applyHost(ENTRY, deps, { reboot: true });
    expect(again.applied).toEqual([]);
    expect(host.reboots).toBe(1);
  });

  it("without --reboot leaves the VMs for the apply after the reboot", async () => {
    const { host, deps } = world();
    const first = await applyHost(ENTRY, deps, { reboot: false });
    expect(first.applied).not.toContain("vm-100");
    expect(first.next).toContain("reboot");
    expect(host.execLog.some((a) => a[0] === "qm")).toBe(false);
    await host.reboot();
    const second = await applyHost(ENTRY, deps, { reboot: false });
    expect(second.applied).toEqual(["vm-100", "vm-101"]);
    expect(second.verified).toBe(true);
  });
});
