// Issue 13 item 10: uninstall leaves the host as apply found it — the NVIDIA installer's logs go, and the
// packages apply installed are marked automatic and autoremoved with what they pulled in (gcc, g++, make,
// dpkg-dev, patch), except what something else still needs. The simulator decides from its own package
// data (src/hosts/sim/packages.ts: dependencies, auto marks, apt-mark, autoremove).
import { describe, expect, it } from "vitest";
import { JOURNAL_PATH, type Journal } from "../../src/apply/journal.ts";
import { applyHost, type PlanDeps, planUninstall, uninstallHost } from "../../src/apply/run.ts";
import { gatherForPlan } from "../../src/commands/plan.ts";
import { FaultHost, HostDied, parseClientFaults, triggerFor } from "../../src/hosts/fault-host.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { exampleEntry, simWithDeps } from "../helpers/seed-sim.ts";

const ENTRY = await exampleEntry();
const PULLED_IN = ["gcc", "g++", "make", "dpkg-dev", "patch"];

describe("uninstall removes what apply brought", () => {
  it("the installer logs and the build-essential / dkms dependencies are gone; untouched packages stay", async () => {
    const { host, deps } = simWithDeps();
    const before = { ...host.snapshot().packages };
    await applyHost(ENTRY, deps, { reboot: true });
    expect(await host.readFile("/var/log/nvidia-installer.log")).not.toBeNull();
    for (const p of PULLED_IN) expect(host.snapshot().packages, p).toHaveProperty(p);
    await uninstallHost(deps, { reboot: true });
    expect(await host.readFile("/var/log/nvidia-installer.log")).toBeNull();
    expect(await host.readFile("/var/log/nvidia-uninstall.log")).toBeNull();
    expect(host.snapshot().packages).toEqual(before);
  });

  it("a pulled-in package the user has since installed on purpose stays, with what it needs", async () => {
    const { host, deps } = simWithDeps();
    await applyHost(ENTRY, deps, { reboot: true });
    expect((await host.exec(["apt-get", "install", "-y", "dpkg-dev"])).exitCode).toBe(0); // now manual
    await uninstallHost(deps, { reboot: true });
    const pkgs = host.snapshot().packages;
    for (const p of ["dpkg-dev", "make", "patch"]) expect(pkgs, p).toHaveProperty(p);
    for (const p of ["gcc", "g++", "build-essential", "dkms"]) expect(pkgs, p).not.toHaveProperty(p);
  });
});

describe("uninstall removes only what apply brought (dpkg before/after, apt decides what is unneeded)", () => {
  it("packages that were already orphaned before apply survive the uninstall", async () => {
    const { host, deps } = simWithDeps();
    // make and cargo: installed, marked automatic, needed by nothing — `apt autoremove` would take them
    for (const p of ["make", "cargo"])
      expect((await host.exec(["apt-get", "install", "-y", p])).exitCode).toBe(0);
    expect((await host.exec(["apt-mark", "auto", "make", "cargo"])).exitCode).toBe(0);
    expect((await host.exec(["apt-get", "-s", "autoremove"])).stdout).toMatch(/^Remv make \[/m);
    const before = { ...host.snapshot().packages };
    await applyHost(ENTRY, deps, { reboot: true });
    await uninstallHost(deps, { reboot: true });
    expect(host.snapshot().packages).toEqual(before);
  });

  it("the journal records every package the install brought in, and which of them were asked for", async () => {
    const { host, deps } = simWithDeps();
    expect((await host.exec(["apt-get", "install", "-y", "make"])).exitCode).toBe(0); // already there: not ours
    await applyHost(ENTRY, deps, { reboot: true });
    const journal = JSON.parse((await host.readFile("/var/lib/vgpuctl/journal.json"))!);
    const brought = journal.entries.flatMap((e: { installedPackages: string[] }) => e.installedPackages);
    for (const p of ["gcc", "g++", "dpkg-dev", "patch", "build-essential", "dkms"])
      expect(brought).toContain(p);
    expect(brought).not.toContain("make");
    const asked = journal.entries.flatMap((e: { requestedPackages?: string[] }) => e.requestedPackages ?? []);
    expect(asked).toContain("build-essential");
    expect(asked).not.toContain("gcc");
  });

  it("the uninstall plan says the packages go only when nothing else needs them", async () => {
    const { host, deps } = simWithDeps();
    await applyHost(ENTRY, deps, { reboot: true });
    const { plan } = await planUninstall(host);
    const removal = plan.steps.flatMap((s) => s.changes).find((c) => c.kind === "package");
    expect(removal).toMatchObject({ kind: "package", manual: expect.arrayContaining(["build-essential"]) });
    expect(removal && "removeUnneeded" in removal && removal.removeUnneeded).toContain("gcc");
    expect(plan.notes.join("\n")).toMatch(
      /packages apply brought in are removed: .*\bgcc\b.*on the host before apply stay/,
    );
  });

  it("the plan names a pulled-in package marked manual since as staying, and why", async () => {
    const { host, deps } = simWithDeps();
    await applyHost(ENTRY, deps, { reboot: true });
    expect((await host.exec(["apt-mark", "manual", "dpkg-dev"])).exitCode).toBe(0);
    const { plan } = await planUninstall(host);
    const notes = plan.notes.join("\n");
    expect(notes).toContain("dpkg-dev stays: pulled in by apply, marked manually installed since");
    expect(notes).not.toMatch(/removed: [^\n]*dpkg-dev/);
  });
});

describe("a death after apt ran, before the step completed", () => {
  const dying = (host: SimHost, n: number) =>
    new FaultHost(host, triggerFor(parseClientFaults([`crash-after-exec:${n}`]).faults), { die: "throw" });

  it("uninstall (without a re-run) still removes what the interrupted install brought in, and only that", async () => {
    let cases = 0;
    for (let n = 1; n < 60; n++) {
      const host = SimHost.fromState(buildScenarioState("seed-fresh"));
      const deps: PlanDeps = { host, gather: gatherForPlan };
      const before = { ...host.snapshot().packages };
      const died = await applyHost(ENTRY, { ...deps, host: dying(host, n) }, { reboot: true }).then(
        () => false,
        (e: unknown) => (e instanceof HostDied ? true : Promise.reject(e)),
      );
      if (!died) break;
      const j = JSON.parse((await host.readFile(JOURNAL_PATH))!) as Journal;
      if (j.entries.some((e) => e.id === "packages")) break; // past the install step
      if (!("gcc" in host.snapshot().packages)) continue; // apt has not run yet
      cases++;
      await uninstallHost(deps, { reboot: true });
      expect(host.snapshot().packages, `crash-after-exec:${n}`).toEqual(before);
    }
    expect(cases).toBeGreaterThan(0);
  }, 120_000);
});
