// The executor's fault paths on the simulated seed-fresh host (the one simulated world, see
// test/helpers/seed-sim.ts): a death of the client at the Host boundary (FaultHost, die: "throw") after
// a step, in the middle of a step, after every write and after every exec; a crash during uninstall;
// and what the host does wrong (the simulator's own faults, src/hosts/sim/inject.ts): apt-get and the
// driver build failing. Reboots are the simulated host's boot count; what runs is read back from it.
import { describe, expect, it } from "vitest";
import { StepFailedError } from "../../src/apply/executor.ts";
import { JOURNAL_PATH, type Journal, LOCK_PATH } from "../../src/apply/journal.ts";
import { applyHost, type PlanDeps, uninstallHost } from "../../src/apply/run.ts";
import { gatherForPlan } from "../../src/commands/plan.ts";
import {
  FaultHost,
  type FaultTrigger,
  HostDied,
  parseClientFaults,
  triggerFor,
} from "../../src/hosts/fault-host.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { exampleEntry, SEED_FRESH_STEPS, simFiles } from "../helpers/seed-sim.ts";
import { dieInStep } from "./faults.ts";

const STEPS = SEED_FRESH_STEPS;
const ENTRY = await exampleEntry();
const boots = (h: SimHost) => h.snapshot().bootCount;

/** A fresh seed-fresh host (in memory), with the host-side faults given (`fail:PROG[:N]`). */
function setup(hostFaults: string[] = []) {
  const host = SimHost.fromState(buildScenarioState("seed-fresh"), undefined, { faults: hostFaults });
  const deps: PlanDeps = { host, gather: gatherForPlan };
  return { host, deps, before: simFiles(host), boots0: boots(host) };
}

/** The same host state, the host-side faults gone (the operator fixed the cause). */
function fixed(host: SimHost) {
  const again = SimHost.fromState(host.snapshot());
  return { host: again, deps: { host: again, gather: gatherForPlan } as PlanDeps };
}

const dying = (host: SimHost, trigger: FaultTrigger) => new FaultHost(host, trigger, { die: "throw" });
const spec = (s: string) => triggerFor(parseClientFaults([s]).faults);

/** Runs apply through a FaultHost; true when the client died, false when the run finished first. */
async function applyDying(deps: PlanDeps, host: SimHost, trigger: FaultTrigger): Promise<boolean> {
  return applyHost(ENTRY, { ...deps, host: dying(host, trigger) }, { reboot: true }).then(
    () => false,
    (e: unknown) => {
      if (!(e instanceof HostDied)) throw e;
      return true;
    },
  );
}

/** What working vGPU on seed-fresh looks like from the host after its one reboot. */
async function expectSetUp(host: SimHost, boots0: number, where: string) {
  expect(boots(host) - boots0, where).toBe(1);
  expect(await host.readFile("/proc/cmdline"), where).toMatch(/ intel_iommu=on iommu=pt/);
  const lsmod = (await host.exec(["lsmod"])).stdout.split("\n").map((l) => l.split(/\s+/)[0]);
  expect(lsmod, where).toContain("nvidia");
  expect(lsmod, where).not.toContain("nouveau");
}

describe("faults (FaultHost: the run dies at the Host boundary)", () => {
  for (let n = 1; n <= STEPS.length; n++) {
    it(`a crash after step ${n} (${STEPS[n - 1]}), then a re-run, converges; uninstall still restores every byte`, async () => {
      const { host, deps, before, boots0 } = setup();
      expect(await applyDying(deps, host, spec(`crash-after:${n}`))).toBe(true);
      expect(await host.readFile(LOCK_PATH)).not.toBeNull(); // the dead run's lock is left behind
      const j = JSON.parse((await host.readFile(JOURNAL_PATH))!) as Journal;
      expect(j.entries.map((e) => e.id)).toEqual(STEPS.slice(0, n));
      const r = await applyHost(ENTRY, deps, { reboot: true });
      // The patched copy is made again (its content cannot be checked); after the last step only the reboot is owed.
      const patch = STEPS.indexOf("driver-patch") + 1;
      const expected = n === patch ? ["driver-patch", ...STEPS.slice(n)] : STEPS.slice(n);
      expect(r.applied).toEqual(expected);
      expect(r.verified).toBe(true);
      await expectSetUp(host, boots0, `crash-after:${n}`);
      await uninstallHost(deps, { reboot: true });
      expect(simFiles(host)).toEqual(before);
    });

    it(`a crash in the middle of step ${n} (${STEPS[n - 1]}) resumes that step`, async () => {
      const { host, deps, before, boots0 } = setup();
      expect(await applyDying(deps, host, dieInStep(n))).toBe(true);
      const j = JSON.parse((await host.readFile(JOURNAL_PATH))!) as Journal;
      expect(j.inProgress?.step.id).toBe(STEPS[n - 1]);
      const r = await applyHost(ENTRY, deps, { reboot: true });
      expect(r.applied[0]).toBe(STEPS[n - 1]);
      expect(r.verified).toBe(true);
      // update-grub / update-initramfs ran even though the file edits were already on disk
      await expectSetUp(host, boots0, `in step ${n}`);
      await uninstallHost(deps, { reboot: true });
      expect(simFiles(host)).toEqual(before);
    });
  }

  for (const unit of ["write", "exec"] as const) {
    it(`a death after every ${unit} in turn (crash-after-${unit}:N), then a re-run, converges; uninstall restores every byte`, async () => {
      let deaths = 0;
      for (let n = 1; ; n++) {
        const where = `crash-after-${unit}:${n}`;
        const { host, deps, before, boots0 } = setup();
        if (!(await applyDying(deps, host, spec(where)))) break; // the run has fewer than n of them
        deaths++;
        const r = await applyHost(ENTRY, deps, { reboot: true });
        expect(r.verified, where).toBe(true);
        await expectSetUp(host, boots0, where);
        await uninstallHost(deps, { reboot: true });
        expect(simFiles(host), where).toEqual(before);
      }
      expect(deaths).toBeGreaterThan(STEPS.length); // more points than the step boundaries
    }, 300_000);
  }

  it("a crash during uninstall, then a re-run, still restores every byte", async () => {
    const { host, before, deps } = setup();
    await applyHost(ENTRY, deps, { reboot: true });
    for (const n of [3, 7]) {
      await expect(
        uninstallHost({ ...deps, host: dying(host, spec(`crash-after:${n}`)) }, { reboot: false }),
      ).rejects.toBeInstanceOf(HostDied);
    }
    await uninstallHost(deps, { reboot: true });
    expect(simFiles(host)).toEqual(before);
  });

  it("a failing apt-get stops with the last safe state described, and a re-run after the fix converges", async () => {
    // apt-get runs: 1 update (repository), 2 install (packages: the lists are fresh, no second update)
    const { host, deps } = setup(["fail:apt-get:2"]);
    const err = (await applyHost(ENTRY, deps, { reboot: true }).catch((e) => e)) as StepFailedError;
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.message).toMatch(
      /step "packages" .* failed: `apt-get install -y pve-headers-5\.15\.102-1-pve .*` exited with 100/,
    );
    expect(err.message).toMatch(/Could not get lock \/var\/lib\/dpkg\/lock-frontend/);
    expect(err.hint).toMatch(/re-run apply \(it resumes with "packages"\)/);
    expect(await host.readFile(LOCK_PATH)).toBeNull();
    expect(host.snapshot().driver).toBeNull();
    expect(host.snapshot().packages.dkms).toBeUndefined();
    const after = fixed(host);
    const r = await applyHost(ENTRY, after.deps, { reboot: true });
    expect(r.applied[0]).toBe("packages");
    expect(r.verified).toBe(true);
  });

  it("a failing driver build stops before the boot configuration is touched", async () => {
    const { host, before, deps } = setup(["fail:nvidia-installer"]);
    const err = (await applyHost(ENTRY, deps, { reboot: true }).catch((e) => e)) as StepFailedError;
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.step.id).toBe("driver-install");
    expect(err.message).toMatch(/Building kernel modules/);
    expect(err.completed).toEqual(STEPS.slice(0, STEPS.indexOf("driver-install")));
    expect(await host.readFile("/etc/default/grub")).toBe(before["/etc/default/grub"]);
    expect(host.snapshot().driver).toBeNull();
    // and everything done so far can be reverted
    await uninstallHost(deps, { reboot: false });
    expect(simFiles(host)).toEqual(before);
  });
});
