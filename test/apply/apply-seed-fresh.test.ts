// The executor end to end, in-process, on the simulated seed-fresh host (the seed guide's host: PVE 7.4,
// kernel 5.15, Intel, GRUB, RTX 2080 Ti on nouveau, the 15.1 installer and patch in /root) with
// examples/seed-host.yaml's entry. Reboots are counted by the simulated host (its boot count); what the
// host runs is read back from it (/proc/cmdline, lsmod, dpkg state, files).
import { describe, expect, it } from "vitest";
import { JOURNAL_PATH, type Journal, LOCK_PATH, sha256 } from "../../src/apply/journal.ts";
import { applyHost, BlockedError, planUninstall, uninstallHost } from "../../src/apply/run.ts";
import type { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { exampleEntry, SEED_FRESH_STEPS, simFiles, simWithDeps } from "../helpers/seed-sim.ts";

const STEPS = SEED_FRESH_STEPS;

const ENTRY = await exampleEntry();
const INSTALLER = ENTRY.driver!.installer;
const boots = (h: SimHost) => h.snapshot().bootCount;
const packages = (h: SimHost) => h.snapshot().packages;
const loaded = async (h: SimHost) =>
  (await h.exec(["lsmod"])).stdout
    .split("\n")
    .slice(1)
    .map((l) => l.split(/\s+/)[0]);

function setup() {
  const { host, deps } = simWithDeps();
  return { host, deps, before: simFiles(host), boots0: boots(host) };
}

describe("apply on seed-fresh", () => {
  it("reaches working vGPU with one reboot; a second apply changes nothing; uninstall restores every file", async () => {
    const { host, deps, before, boots0 } = setup();
    const r = await applyHost(ENTRY, deps, { reboot: true });
    expect(r.applied).toEqual(STEPS);
    expect(r.reboots).toBe(1);
    expect(boots(host) - boots0).toBe(1);
    expect(r.verified).toBe(true);
    expect(r.verification!.gpus[0]).toMatchObject({
      address: "0000:01:00.0",
      wanted: "GRID RTX6000-4Q",
      ok: true,
    });
    expect(await host.readFile("/proc/cmdline")).toMatch(/ intel_iommu=on iommu=pt/);
    expect(await host.readFile(LOCK_PATH)).toBeNull();

    const again = await applyHost(ENTRY, deps, { reboot: true });
    expect(again.applied).toEqual([]);
    expect(again.reboots).toBe(0);
    expect(again.verified).toBe(true);
    expect(boots(host) - boots0).toBe(1);

    const u = await uninstallHost(deps, { reboot: true });
    expect(u.reboots).toBe(1);
    expect(boots(host) - boots0).toBe(2);
    expect(simFiles(host)).toEqual(before);
    // only what vgpuctl installed is removed
    expect(packages(host)).toMatchObject({ curl: expect.any(String) });
    expect(packages(host).dkms).toBeUndefined();
    expect(await host.readFile("/proc/cmdline")).not.toContain("intel_iommu=on");
    expect(await loaded(host)).toContain("nouveau");
    expect(await loaded(host)).not.toContain("nvidia");
  });

  it("keeps checksummed backups of every original it changes", async () => {
    const { host, deps, before } = setup();
    await applyHost(ENTRY, deps, { reboot: false });
    const j = JSON.parse((await host.readFile(JOURNAL_PATH))!) as Journal;
    expect(Object.keys(j.backups).sort()).toEqual(
      [
        "/etc/apt/sources.list.d/pve-enterprise.list",
        "/etc/apt/sources.list.d/pve-no-subscription.list",
        "/etc/default/grub",
        "/etc/modprobe.d/vgpuctl-blacklist-nouveau.conf",
        "/etc/modules",
        "/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf",
        "/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf",
        "/etc/vgpu_unlock/profile_override.toml",
      ].sort(),
    );
    const grub = j.backups["/etc/default/grub"]!;
    expect(grub).toMatchObject({
      existed: true,
      sha256: sha256(before["/etc/default/grub"]!),
      step: "iommu-cmdline",
    });
    expect(await host.readFile(grub.backup!)).toBe(before["/etc/default/grub"]);
    expect(j.backups["/etc/modprobe.d/vgpuctl-blacklist-nouveau.conf"]).toMatchObject({
      existed: false,
      backup: null,
    });
    expect(j.entries.map((e) => e.id)).toEqual(STEPS);
    // what the step asked for by name, and everything new in dpkg's database after it (dependencies too)
    const asked = ["pve-headers-5.15.102-1-pve", "pve-headers", "dkms", "build-essential", "mdevctl", "git"];
    expect([...j.entries[1]!.requestedPackages!].sort()).toEqual([...asked].sort());
    expect([...j.entries[1]!.installedPackages].sort()).toEqual(
      [...asked, "dpkg-dev", "g++", "gcc", "make", "patch"].sort(),
    );
  });

  it("without --reboot stops and says what to run; after a manual reboot apply only verifies", async () => {
    const { host, deps } = setup();
    const r = await applyHost(ENTRY, deps, { reboot: false });
    expect(r).toMatchObject({ reboots: 1, rebooted: false, verified: false });
    expect(r.next).toMatch(/reboot seed-fresh/);
    const pending = await applyHost(ENTRY, deps, { reboot: false });
    // only the reboot is owed: nothing runs, nothing is journaled, and apply says the reboot is still due
    expect(pending.applied).toEqual([]);
    expect(pending.reboots).toBe(1);
    expect(pending.next).toMatch(/reboot seed-fresh/);
    await host.reboot();
    const after = await applyHost(ENTRY, deps, { reboot: false });
    expect(after).toMatchObject({ applied: [], reboots: 0, verified: true });
  });

  it("refuses before writing anything when the plan has blockers", async () => {
    const { host, deps, before } = setup();
    await host.writeFile(INSTALLER, "<html>rate limited</html>");
    const entry = structuredClone(ENTRY);
    entry.driver!.sha256 = sha256("<html>rate limited</html>");
    const snap = JSON.stringify(host.snapshot().files);
    const err = await applyHost(entry, deps, { reboot: true }).catch((e) => e);
    expect(err).toBeInstanceOf(BlockedError);
    expect((err as BlockedError).blockers.map((b) => b.code)).toEqual(["driver-not-installer"]);
    expect((err as BlockedError).message).toMatch(/is not an NVIDIA \.run installer/);
    expect(JSON.stringify(host.snapshot().files)).toBe(snap);
    expect(Object.keys(host.snapshot().files).filter((p) => p.startsWith("/var/lib/vgpuctl"))).toEqual([]);
    expect(simFiles(host)["/etc/default/grub"]).toBe(before["/etc/default/grub"]);
  });
});

describe("lock", () => {
  const otherLock = (heartbeatAt: string) =>
    JSON.stringify({
      token: "t",
      owner: { hostname: "admin-laptop", pid: 4242 },
      command: "apply",
      startedAt: heartbeatAt,
      heartbeatAt,
    });

  it("refuses while another live apply holds it", async () => {
    const { host, deps } = setup();
    await host.writeFile(LOCK_PATH, otherLock(new Date().toISOString()), { mode: 0o600 });
    await expect(applyHost(ENTRY, deps, { reboot: false })).rejects.toThrow(
      /another vgpuctl apply \(pid 4242 on admin-laptop/,
    );
    expect(await host.readFile(JOURNAL_PATH)).toBeNull();
  });

  it("takes over a stale lock, or any lock with --break-lock", async () => {
    const { host, deps } = setup();
    await host.writeFile(LOCK_PATH, otherLock("2020-01-01T00:00:00Z"), { mode: 0o600 });
    expect((await applyHost(ENTRY, deps, { reboot: true })).verified).toBe(true);
    await host.writeFile(LOCK_PATH, otherLock(new Date().toISOString()), { mode: 0o600 });
    await expect(uninstallHost(deps, { reboot: false })).rejects.toThrow(/holds/);
    await uninstallHost({ ...deps, lock: { breakLock: true } }, { reboot: false });
    expect(await host.readFile(LOCK_PATH)).toBeNull();
  });
});

describe("uninstall", () => {
  it("has nothing to do on a host vgpuctl never changed", async () => {
    const { host, deps, before, boots0 } = setup();
    const u = await uninstallHost(deps, { reboot: true });
    expect(u.nothingToDo).toBe(true);
    expect(boots(host)).toBe(boots0);
    expect(simFiles(host)).toEqual(before);
  });

  it("warns when a file was edited after vgpuctl wrote it", async () => {
    const { host, deps } = setup();
    await applyHost(ENTRY, deps, { reboot: false });
    await host.writeFile("/etc/modules", `${await host.readFile("/etc/modules")}kvmgt\n`);
    const { plan } = await planUninstall(host);
    expect(plan.notes).toContain(
      "/etc/modules was changed after vgpuctl wrote it; restoring the original discards those changes",
    );
    expect(plan.steps.at(-1)!.id).toBe("regenerate");
  });
});
