// apply/rollback.ts: after the reboot of an upgrade in place, a new driver that is not loaded is rolled back —
// driver-remove's journaled undo re-installs the previous driver — and apply stops with one line saying so.
// Driven on the simulated host (sim:seed-configured after the upgrade's steps) and a journal as apply writes it.
import { describe, expect, it } from "vitest";
import type { ExecContext } from "../../src/apply/executor.ts";
import { emptyJournal } from "../../src/apply/journal.ts";
import { DriverRolledBackError, rollBackIfNotLoaded } from "../../src/apply/rollback.ts";
import { healthyFacts } from "../checks/healthy.ts";
import { openSim } from "../sim/helpers.ts";

const KEPT = "/var/lib/vgpuctl/previous-driver/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm-custom.run";

async function upgradedHost() {
  const h = await openSim("seed-configured");
  // what driver-keep-previous and driver-remove did
  await h.exec(["mkdir", "-p", "/var/lib/vgpuctl/previous-driver"]);
  await h.exec([
    "env",
    "-C",
    "/var/lib/vgpuctl/previous-driver",
    "sh",
    "/root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run",
    "--apply-patch",
    "/root/vgpu-proxmox/525.85.07.patch",
  ]);
  await h.exec(["nvidia-uninstall", "--silent"]);
  const journal = emptyJournal(new Date(0));
  journal.entries.push({
    id: "driver-remove",
    title: "Remove NVIDIA driver 525.85.07",
    completedAt: new Date(0).toISOString(),
    reboot: true,
    undo: {
      description: "re-install 525.85.07",
      commands: [
        ["sh", KEPT, "--silent", "--dkms", "--no-nouveau-check", "-m=kernel"],
        ["systemctl", "enable", "nvidia-vgpud.service", "nvidia-vgpu-mgr.service"],
      ],
      regenerate: [],
    },
    installedPackages: [],
    files: [],
    bootId: null,
  });
  const ctx: ExecContext = {
    host: h,
    journal,
    now: () => new Date(0),
    mode: "apply",
    completed: ["driver-install"],
  };
  return { h, ctx };
}

describe("rollback after the reboot (rollBackIfNotLoaded)", () => {
  it("no driver loaded after the reboot: the previous one is re-installed from the kept installer, and it says so", async () => {
    const { h, ctx } = await upgradedHost();
    const down = healthyFacts();
    down.loadedDriverVersion = null;
    down.nvidiaSmi = null;
    down.nvidiaSmiQuery = null;
    down.lsmod = (down.lsmod ?? []).filter((m) => m.name !== "nvidia");
    const e = await rollBackIfNotLoaded(ctx, down).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DriverRolledBackError);
    expect((e as Error).message).toMatch(
      /^the new driver did not come up \(.*not loaded after the reboot\); rolled back/,
    );
    expect((await h.exec(["nvidia-smi"])).stdout).toContain("525.85.07");
    expect(ctx.journal.entries.map((x) => x.id)).toEqual([]);
  });

  it("the new driver loaded: nothing happens", async () => {
    const { ctx } = await upgradedHost();
    await expect(rollBackIfNotLoaded(ctx, healthyFacts())).resolves.toBeUndefined();
    expect(ctx.journal.entries.map((x) => x.id)).toEqual(["driver-remove"]);
  });
});
