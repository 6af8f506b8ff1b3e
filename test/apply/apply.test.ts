// The executor end to end on the in-memory seed-fresh world (test/apply/world.ts; host facts from the
// seed guide, file contents from test/fixtures/formats-edit — see SOURCES.md there).
import { describe, expect, it } from "vitest";
import { StepFailedError } from "../../src/apply/executor.ts";
import { JOURNAL_PATH, type Journal, LOCK_PATH, sha256 } from "../../src/apply/journal.ts";
import { applyHost, BlockedError, type PlanDeps, planUninstall, uninstallHost } from "../../src/apply/run.ts";
import { FaultHost, HostDied, parseClientFaults, triggerFor } from "../../src/hosts/fault-host.ts";
import { dieInStep } from "./faults.ts";
import { fail, type MemoryHost } from "./memory-host.ts";
import { gatherWorld, INSTALLER, seedEntry, seedFreshWorld } from "./world.ts";

const STEPS = [
  "packages",
  "rust-toolchain",
  "unlock-build",
  "unlock-files",
  "driver-patch",
  "driver-install",
  "iommu-cmdline",
  "vfio-modules",
  "nouveau-blacklist",
  "initramfs",
];

function setup() {
  const { host, world } = seedFreshWorld();
  const before = host.snapshot();
  const deps: PlanDeps = { host, gather: gatherWorld(world) };
  return { host, world, before, deps };
}

const stateFiles = (snap: Record<string, string>) =>
  Object.keys(snap).filter((p) => p.startsWith("/var/lib/vgpuctl"));

describe("apply on seed-fresh", () => {
  it("reaches working vGPU with exactly one reboot; a second apply changes nothing; uninstall restores every byte", async () => {
    const { host, world, before, deps } = setup();
    const r = await applyHost(seedEntry(), deps, { reboot: true });
    expect(r.applied).toEqual(STEPS);
    expect(r.reboots).toBe(1);
    expect(host.reboots).toBe(1);
    expect(r.verified).toBe(true);
    expect(r.verification!.gpus[0]).toMatchObject({
      address: "0000:01:00.0",
      wanted: "GRID RTX6000-4Q",
      ok: true,
    });
    expect(world.cmdline).toEqual(expect.arrayContaining(["intel_iommu=on", "iommu=pt"]));
    expect(host.read(LOCK_PATH)).toBeNull();

    const again = await applyHost(seedEntry(), deps, { reboot: true });
    expect(again.applied).toEqual([]);
    expect(again.reboots).toBe(0);
    expect(again.verified).toBe(true);
    expect(host.reboots).toBe(1);

    const u = await uninstallHost(deps, { reboot: true });
    expect(u.reboots).toBe(1);
    expect(host.reboots).toBe(2);
    expect(host.snapshot()).toEqual(before);
    expect(world.driver).toBeNull();
    // only what vgpuctl installed is removed
    expect(world.packages).toMatchObject({ curl: expect.any(String), git: expect.any(String) });
    expect(world.packages.dkms).toBeUndefined();
    expect(world.cmdline).not.toContain("intel_iommu=on");
    expect(world.loaded.has("nouveau")).toBe(true);
  });

  it("keeps checksummed backups of every original it changes", async () => {
    const { host, before, deps } = setup();
    await applyHost(seedEntry(), deps, { reboot: false });
    const j = JSON.parse(host.read(JOURNAL_PATH)!) as Journal;
    expect(Object.keys(j.backups).sort()).toEqual(
      [
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
    expect(host.read(grub.backup!)).toBe(before["/etc/default/grub"]);
    expect(j.backups["/etc/modprobe.d/vgpuctl-blacklist-nouveau.conf"]).toMatchObject({
      existed: false,
      backup: null,
    });
    expect(j.entries.map((e) => e.id)).toEqual(STEPS);
    expect(j.entries[0]!.installedPackages).toEqual([
      "pve-headers-5.15.102-1-pve",
      "pve-headers",
      "dkms",
      "build-essential",
      "mdevctl",
    ]);
  });

  it("without --reboot stops and says what to run; after a manual reboot apply only verifies", async () => {
    const { host, deps } = setup();
    const r = await applyHost(seedEntry(), deps, { reboot: false });
    expect(r).toMatchObject({ reboots: 1, rebooted: false, verified: false });
    expect(r.next).toMatch(/reboot seed-fresh/);
    const pending = await applyHost(seedEntry(), deps, { reboot: false });
    // only the reboot is owed: nothing runs, nothing is journaled, and apply says the reboot is still due
    expect(pending.applied).toEqual([]);
    expect(pending.reboots).toBe(1);
    expect(pending.next).toMatch(/reboot seed-fresh/);
    await host.reboot();
    const after = await applyHost(seedEntry(), deps, { reboot: false });
    expect(after).toMatchObject({ applied: [], reboots: 0, verified: true });
  });

  it("refuses before writing anything when the plan has blockers", async () => {
    const { host, before, deps } = setup();
    host.files.set(INSTALLER, { content: "<html>rate limited</html>", mode: 0o644 });
    const snap = host.snapshot();
    const err = await applyHost(seedEntry(), deps, { reboot: true }).catch((e) => e);
    expect(err).toBeInstanceOf(BlockedError);
    expect((err as BlockedError).blockers.map((b) => b.code)).toEqual(["driver-not-installer"]);
    expect((err as BlockedError).message).toMatch(/is not an NVIDIA \.run installer/);
    expect(host.snapshot()).toEqual(snap);
    expect(stateFiles(host.snapshot())).toEqual([]);
    expect(before["/etc/default/grub"]).toBe(snap["/etc/default/grub"]);
  });
});

/** The host as a run that dies (kill -9, modelled by HostDied) where `spec` says sees it. */
const dying = (host: MemoryHost, spec: string) =>
  new FaultHost(host, triggerFor(parseClientFaults([spec]).faults), { die: "throw" });

describe("faults (FaultHost: the run dies at the Host boundary)", () => {
  for (let n = 1; n <= STEPS.length; n++) {
    it(`a crash after step ${n} (${STEPS[n - 1]}), then a re-run, converges; uninstall still restores every byte`, async () => {
      const { host, world, before, deps } = setup();
      await expect(
        applyHost(seedEntry(), { ...deps, host: dying(host, `crash-after:${n}`) }, { reboot: true }),
      ).rejects.toBeInstanceOf(HostDied);
      expect(host.read(LOCK_PATH)).not.toBeNull(); // the dead run's lock is left behind
      const r = await applyHost(seedEntry(), deps, { reboot: true });
      // The patched copy is made again (its content cannot be checked); after the last step only the reboot is owed.
      const expected =
        n === 5 ? ["driver-patch", ...STEPS.slice(n)] : n === STEPS.length ? [] : STEPS.slice(n);
      expect(r.applied).toEqual(expected);
      expect(r.verified).toBe(true);
      expect(host.reboots).toBe(1);
      expect(world.cmdline).toContain("intel_iommu=on");
      expect(world.initramfs.blacklisted).toContain("nouveau");
      await uninstallHost(deps, { reboot: true });
      expect(host.snapshot()).toEqual(before);
    });

    it(`a crash in the middle of step ${n} (${STEPS[n - 1]}) resumes that step`, async () => {
      const { host, world, before, deps } = setup();
      await expect(
        applyHost(
          seedEntry(),
          { ...deps, host: new FaultHost(host, dieInStep(n), { die: "throw" }) },
          { reboot: true },
        ),
      ).rejects.toBeInstanceOf(HostDied);
      const j = JSON.parse(host.read(JOURNAL_PATH)!) as Journal;
      expect(j.inProgress?.step.id).toBe(STEPS[n - 1]);
      const r = await applyHost(seedEntry(), deps, { reboot: true });
      expect(r.applied[0]).toBe(STEPS[n - 1]);
      expect(r.verified).toBe(true);
      // update-grub / update-initramfs ran even though the file edits were already on disk
      expect(world.cmdline).toContain("intel_iommu=on");
      expect(world.initramfs.modules).toContain("vfio_pci");
      await uninstallHost(deps, { reboot: true });
      expect(host.snapshot()).toEqual(before);
    });
  }

  for (const unit of ["write", "exec"] as const) {
    it(`a death after every ${unit} in turn (crash-after-${unit}:N), then a re-run, converges; uninstall restores every byte`, async () => {
      let deaths = 0;
      for (let n = 1; ; n++) {
        const { host, world, before, deps } = setup();
        const died = await applyHost(
          seedEntry(),
          { ...deps, host: dying(host, `crash-after-${unit}:${n}`) },
          {
            reboot: true,
          },
        ).then(
          () => false,
          (e: unknown) => {
            if (!(e instanceof HostDied)) throw e;
            return true;
          },
        );
        if (!died) break; // the run has fewer than n of them
        deaths++;
        const r = await applyHost(seedEntry(), deps, { reboot: true });
        expect(r.verified, `crash-after-${unit}:${n}`).toBe(true);
        expect(host.reboots, `crash-after-${unit}:${n}`).toBe(1);
        expect(world.cmdline).toContain("intel_iommu=on");
        await uninstallHost(deps, { reboot: true });
        expect(host.snapshot(), `crash-after-${unit}:${n}`).toEqual(before);
      }
      expect(deaths).toBeGreaterThan(STEPS.length); // more points than the step boundaries
    });
  }

  it("a crash during uninstall, then a re-run, still restores every byte", async () => {
    const { host, before, deps } = setup();
    await applyHost(seedEntry(), deps, { reboot: true });
    for (const n of [3, 7]) {
      await expect(
        uninstallHost({ ...deps, host: dying(host, `crash-after:${n}`) }, { reboot: false }),
      ).rejects.toBeInstanceOf(HostDied);
    }
    await uninstallHost(deps, { reboot: true });
    expect(host.snapshot()).toEqual(before);
  });

  it("a failing apt-get stops with the last safe state described, and a re-run after the fix converges", async () => {
    const { host, world, deps } = setup();
    const apt = host.handlers.get("apt-get")!;
    host.on("apt-get", (argv, h) =>
      argv[1] === "install"
        ? fail("E: Unable to locate package pve-headers-5.15.102-1-pve", 100)
        : apt(argv, h),
    );
    const err = (await applyHost(seedEntry(), deps, { reboot: true }).catch((e) => e)) as StepFailedError;
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.message).toMatch(
      /step "packages" .* failed: `apt-get install -y pve-headers-5\.15\.102-1-pve .*` exited with 100/,
    );
    expect(err.message).toMatch(/Unable to locate package/);
    expect(err.hint).toMatch(/re-run apply \(it resumes with "packages"\)/);
    expect(host.read(LOCK_PATH)).toBeNull();
    expect(world.driver).toBeNull();
    host.on("apt-get", apt);
    const r = await applyHost(seedEntry(), deps, { reboot: true });
    expect(r.verified).toBe(true);
  });

  it("a failing driver build stops before the boot configuration is touched", async () => {
    const { host, before, deps } = setup();
    const sh = host.handlers.get("sh")!;
    host.on("sh", (argv, h) =>
      argv[2] === "--silent"
        ? fail('ERROR: An error occurred while performing the step: "Building kernel modules".', 1)
        : sh(argv, h),
    );
    const err = (await applyHost(seedEntry(), deps, { reboot: true }).catch((e) => e)) as StepFailedError;
    expect(err.step.id).toBe("driver-install");
    expect(err.completed).toEqual(STEPS.slice(0, 5));
    expect(host.read("/etc/default/grub")).toBe(before["/etc/default/grub"]);
    // and everything done so far can be reverted
    await uninstallHost(deps, { reboot: false });
    expect(host.snapshot()).toEqual(before);
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
    host.files.set(LOCK_PATH, { content: otherLock(new Date().toISOString()), mode: 0o600 });
    await expect(applyHost(seedEntry(), deps, { reboot: false })).rejects.toThrow(
      /another vgpuctl apply \(pid 4242 on admin-laptop/,
    );
    expect(host.read(JOURNAL_PATH)).toBeNull();
  });

  it("takes over a stale lock, or any lock with --break-lock", async () => {
    const { host, deps } = setup();
    host.files.set(LOCK_PATH, { content: otherLock("2020-01-01T00:00:00Z"), mode: 0o600 });
    expect((await applyHost(seedEntry(), deps, { reboot: true })).verified).toBe(true);
    host.files.set(LOCK_PATH, { content: otherLock(new Date().toISOString()), mode: 0o600 });
    await expect(uninstallHost(deps, { reboot: false })).rejects.toThrow(/holds/);
    await uninstallHost({ ...deps, lock: { breakLock: true } }, { reboot: false });
    expect(host.read(LOCK_PATH)).toBeNull();
  });
});

describe("uninstall", () => {
  it("has nothing to do on a host vgpuctl never changed", async () => {
    const { host, before, deps } = setup();
    const u = await uninstallHost(deps, { reboot: true });
    expect(u.nothingToDo).toBe(true);
    expect(host.reboots).toBe(0);
    expect(host.snapshot()).toEqual(before);
  });

  it("warns when a file was edited after vgpuctl wrote it", async () => {
    const { host, deps } = setup();
    await applyHost(seedEntry(), deps, { reboot: false });
    host.files.set("/etc/modules", { content: `${host.read("/etc/modules")}kvmgt\n`, mode: 0o644 });
    const { plan } = await planUninstall(host);
    expect(plan.notes).toContain(
      "/etc/modules was changed after vgpuctl wrote it; restoring the original discards those changes",
    );
    expect(plan.steps.at(-1)!.id).toBe("regenerate");
  });
});
