// Issue 13 item 9: uninstall names the VMs whose hostpci lines reference vGPUs that will no longer exist
// (added outside vgpuctl's journal, e.g. `vgpuctl vm attach`); confirmed, it backs each config up and
// removes the lines; not confirmed, nothing changes and the plan lists them.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JOURNAL_PATH } from "../../src/apply/journal.ts";
import { applyHost, planUninstall } from "../../src/apply/run.ts";
import { vmBackupPath } from "../../src/apply/uninstall-vms.ts";
import { main } from "../../src/cli/main.ts";
import { runUninstall } from "../../src/commands/uninstall.ts";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { REPO } from "../helpers/cli.ts";
import { exampleEntry, simWithDeps } from "../helpers/seed-sim.ts";

const ENTRY = await exampleEntry();
const conf = (vmid: number) => `/etc/pve/qemu-server/${vmid}.conf`;

async function setUpWithAttachedVms() {
  const { host, deps } = simWithDeps();
  await applyHost(ENTRY, deps, { reboot: true });
  // attached outside the journal, as `vgpuctl vm attach` does through qm set
  for (const vmid of [100, 101]) {
    const r = await host.exec(["qm", "set", String(vmid), "--hostpci0", "0000:01:00.0,mdev=nvidia-259"]);
    expect(r.exitCode, r.stderr).toBe(0);
  }
  return { host, deps };
}

describe("uninstall and the VMs' vGPU lines", () => {
  it("the uninstall plan names VMs 100 and 101 and their lines", async () => {
    const { host } = await setUpWithAttachedVms();
    const { plan } = await planUninstall(host);
    expect(plan.steps[0]!.id).toBe("vm-vgpu-lines");
    expect(plan.steps[0]!.title).toMatch(/VM 100, 101/);
    expect(plan.notes.join("\n")).toMatch(/100: hostpci0: 0000:01:00\.0,mdev=nvidia-259; 101: hostpci0:/);
  });

  it("confirmed: the lines are gone, each config was backed up first", async () => {
    const { host } = await setUpWithAttachedVms();
    const before = await host.readFile(conf(100));
    await runUninstall({ reboot: true }, { host, confirm: async () => true });
    expect(await host.readFile(conf(100))).not.toMatch(/^hostpci0:/m);
    expect(await host.readFile(conf(101))).not.toMatch(/^hostpci0:/m);
    expect(await host.readFile(vmBackupPath(100))).toBe(before);
  });

  it("not confirmed: nothing changes", async () => {
    const { host } = await setUpWithAttachedVms();
    const before = await host.readFile(conf(100));
    const r = await runUninstall({ reboot: false }, { host, confirm: async () => false });
    expect(r.next).toBe("not confirmed");
    expect(await host.readFile(conf(100))).toBe(before);
    expect(await host.readFile(vmBackupPath(100))).toBeNull();
  });
});

describe("uninstall without --yes and nobody to ask", () => {
  it("refuses, naming the VMs and their vGPU lines; nothing changes", async () => {
    const env = { VGPUCTL_SIM_DIR: mkdtempSync(join(tmpdir(), "vgpuctl-uninstall-vms-")) };
    let err = "";
    const run = (...args: string[]) =>
      main(["node", "vgpuctl", ...args], { out: () => {}, err: (s) => (err += s), env, confirm: undefined });
    expect(await run("apply", "-f", join(REPO, "examples/seed-host.yaml"), "--yes", "--reboot")).toBe(0);
    expect(await run("vm", "attach", "100", "--host", "sim:seed-fresh", "--type", "nvidia-259")).toBe(0);
    err = "";
    expect(await run("uninstall", "--host", "sim:seed-fresh")).toBe(2);
    expect(err).toMatch(
      /needs confirmation\n {2}seed-fresh: VM 100 uses vGPUs that no longer exist .*hostpci0: 0000:01:00\.0,mdev=nvidia-259/,
    );
    const host = await SimHost.open("seed-fresh", {
      stateDir: env.VGPUCTL_SIM_DIR,
      spec: "sim:seed-fresh",
      faults: [],
    });
    expect(await host.readFile(conf(100))).toMatch(/^hostpci0: 0000:01:00\.0,mdev=nvidia-259/m);
    expect(await host.readFile(JOURNAL_PATH)).not.toBeNull(); // nothing undone
    await host.close();
  });
});
