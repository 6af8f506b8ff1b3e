// The executor's fault paths (a death at the Host boundary through FaultHost, a failing apt-get or
// driver build) on the in-memory seed-fresh world (test/apply/world.ts; host facts from the seed guide,
// file contents from test/fixtures/formats-edit — see SOURCES.md there). The rest of the executor runs
// on the simulator (apply-seed-fresh.test.ts).
import { describe, expect, it } from "vitest";
import { StepFailedError } from "../../src/apply/executor.ts";
import { JOURNAL_PATH, type Journal, LOCK_PATH } from "../../src/apply/journal.ts";
import { applyHost, type PlanDeps, uninstallHost } from "../../src/apply/run.ts";
import { FaultHost, HostDied, parseClientFaults, triggerFor } from "../../src/hosts/fault-host.ts";
import { dieInStep } from "./faults.ts";
import { fail, type MemoryHost } from "./memory-host.ts";
import { gatherWorld, seedEntry, seedFreshWorld } from "./world.ts";

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
