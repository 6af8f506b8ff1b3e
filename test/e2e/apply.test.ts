// issue #5 "Done means", through the built CLI (dist/vgpuctl.cjs) on simulated hosts whose tools behave
// like the real ones (src/hosts/sim/tools.ts; see test/sim/behaviour.test.ts for their sources).
// Desired states: examples/seed-host.yaml (the seed guide's host) and examples/p4-host.yaml.
// Faults come from VGPUCTL_SIM_FAULT: crash-after:N kills the CLI (SIGKILL) right after step N is
// journaled (src/hosts/fault-host.ts, the Host decorator openHost puts around the sim); fail:PROG makes
// PROG fail the way it really fails (the simulated host's, src/hosts/sim/inject.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { runCli, tempSimDir } from "../helpers/cli.ts";
import { SEED_FRESH_STEPS as SEED_STEPS } from "../helpers/seed-sim.ts";
import { hostFiles, simState } from "./sim-state.ts";

const SEED = ["--host", "sim:seed-fresh", "-f", "examples/seed-host.yaml"];
const P4 = ["--host", "sim:p4-fresh", "-f", "examples/p4-host.yaml"];

function cli(dir: string, args: string[], fault?: string) {
  return runCli(args, { VGPUCTL_SIM_DIR: dir, ...(fault ? { VGPUCTL_SIM_FAULT: fault } : {}) });
}

describe("seed-fresh → working vGPU in one apply and one reboot (built CLI)", () => {
  it("plan shows the steps, their commands and exactly one reboot", () => {
    const dir = tempSimDir();
    const r = cli(dir, ["plan", ...SEED, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const plan = r.json<{ steps: Array<{ id: string }>; reboots: number; blockers: unknown[] }>();
    expect(plan.blockers).toEqual([]);
    expect(plan.steps.map((s) => s.id)).toEqual(SEED_STEPS);
    expect(plan.reboots).toBe(1);
    const text = cli(dir, ["plan", ...SEED]).stdout;
    expect(text).toContain("Plan for seed-fresh: 12 step(s), 1 reboot(s)");
    expect(text).toContain(
      "$ env -C /root sh /root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run --apply-patch",
    );
  });

  it("apply --reboot: 1 reboot, verified; inspect shows the RTX6000 types; again: 0 changes; doctor clean; uninstall restores the files", () => {
    const dir = tempSimDir();
    cli(dir, ["plan", ...SEED]);
    const before = simState(dir, "seed-fresh");

    const a = cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({
      applied: SEED_STEPS,
      reboots: 1,
      rebooted: true,
      verified: true,
      problems: [],
    });
    expect(simState(dir, "seed-fresh").bootCount).toBe(before.bootCount + 1);

    const inspect = cli(dir, ["inspect", "--host", "sim:seed-fresh"]);
    expect(inspect.stdout).toMatch(/nvidia-259\s+GRID RTX6000-4Q\s+4 GiB\s+6\/6/);

    const again = cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"]);
    expect(again.json()).toMatchObject({ applied: [], reboots: 0, rebooted: false, verified: true });
    expect(simState(dir, "seed-fresh").bootCount).toBe(before.bootCount + 1);

    const doctor = cli(dir, ["doctor", "--host", "sim:seed-fresh", "--json"]);
    const findings = JSON.parse(doctor.stdout).findings as Array<{ severity: string; code: string }>;
    expect(findings.filter((f) => f.severity === "error")).toEqual([]);

    const u = cli(dir, ["uninstall", "--host", "sim:seed-fresh", "--yes", "--reboot"]);
    const after = simState(dir, "seed-fresh");
    // Every file the apply touched is back byte for byte (apt's logs stay, as on a real host; nvidia-installer's
    // logs go with the driver). Restoring the enterprise repository must not stop the uninstall (its `apt-get update`
    // would fail with 401 without a subscription), so the uninstall completes and removes its own state.
    expect(u.code, u.stderr).toBe(0);
    expect(hostFiles(after)).toEqual(hostFiles(before));
    expect(after.dirs.filter((d) => !d.startsWith("/var/lib/vgpuctl"))).toEqual(before.dirs);
    expect(Object.keys(after.files).filter((p) => p.startsWith("/var/lib/vgpuctl"))).toEqual([]);
  });

  it("a crash after each step in turn, then a re-run, always converges with nothing lost", () => {
    const ref = tempSimDir();
    expect(cli(ref, ["apply", ...SEED, "--yes", "--reboot"]).code).toBe(0);
    const done = hostFiles(simState(ref, "seed-fresh"));
    for (let n = 1; n <= SEED_STEPS.length; n++) {
      const dir = tempSimDir();
      const crashed = cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"], `crash-after:${n}`);
      expect(crashed.code, `crash-after:${n}`).toBe(-1); // killed (SIGKILL)
      const journal = JSON.parse(simState(dir, "seed-fresh").files["/var/lib/vgpuctl/journal.json"]!);
      expect(journal.entries.map((e: { id: string }) => e.id)).toEqual(SEED_STEPS.slice(0, n));
      const rerun = cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"]);
      expect(rerun.code, rerun.stderr).toBe(0);
      const j = rerun.json<{ applied: string[]; reboots: number; verified: boolean }>();
      expect(j.verified, `crash-after:${n}`).toBe(true);
      expect(j.reboots).toBe(1);
      const final = simState(dir, "seed-fresh");
      expect(hostFiles(final), `crash-after:${n}`).toEqual(done);
      expect(final.bootCount).toBe(2); // exactly one reboot in all
    }
  }, 180_000); // ~13 apply runs of the built CLI: 25 s alone on 2 cores, far more under load

  it("a crash in the middle of a step (before update-grub runs) resumes that step", () => {
    const dir = tempSimDir();
    expect(cli(dir, ["apply", ...SEED, "--yes", "--reboot"], "crash-before:update-grub").code).toBe(-1);
    const r = cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"]);
    expect(r.json()).toMatchObject({ reboots: 1, verified: true });
    expect(r.json<{ applied: string[] }>().applied[0]).toBe("iommu-cmdline");
    expect(readFileSync(join(dir, "seed-fresh.json"), "utf8")).toContain("intel_iommu=on iommu=pt");
  });

  it("a failing apt-get stops at the packages step and says what is done and how to go on", () => {
    const dir = tempSimDir();
    cli(dir, ["plan", ...SEED]);
    const before = simState(dir, "seed-fresh");
    // apt-get runs: 1 update (repository), 2 install (packages: the lists are fresh, no second update)
    const r = cli(dir, ["apply", ...SEED, "--yes", "--reboot"], "fail:apt-get:2");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('error: step "packages"');
    expect(r.stderr).toMatch(/`apt-get install -y [^`]*` exited with 100:/);
    expect(r.stderr).toContain(
      "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 2741 (apt-get)",
    );
    expect(r.stderr).toContain(
      "completed before it: repository. Everything done so far is recorded in the journal",
    );
    expect(r.stderr).toContain('re-run apply (it resumes with "packages")');
    // nothing but the repository switch (and vgpuctl's journal/backups) changed
    const now = hostFiles(simState(dir, "seed-fresh"));
    const changed = Object.keys({ ...now, ...hostFiles(before) }).filter((p) => now[p] !== before.files[p]);
    expect(changed.sort()).toEqual([
      "/etc/apt/sources.list.d/pve-enterprise.list",
      "/etc/apt/sources.list.d/pve-no-subscription.list",
    ]);
    const rerun = cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"]);
    expect(rerun.json()).toMatchObject({ applied: SEED_STEPS.slice(1), reboots: 1, verified: true });
  });

  it("a failing driver build stops at driver-install with the installer's error and the way on", () => {
    const dir = tempSimDir();
    const r = cli(dir, ["apply", ...SEED, "--yes", "--reboot"], "fail:nvidia-installer");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('error: step "driver-install"');
    expect(r.stderr).toContain(
      'ERROR: An error occurred while performing the step: "Building kernel modules".',
    );
    expect(r.stderr).toContain(
      "completed before it: repository, packages, rust-toolchain, unlock-source, unlock-build, unlock-files, driver-patch.",
    );
    expect(simState(dir, "seed-fresh").bootCount).toBe(1); // no reboot into a half-set-up host
    const rerun = cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"]);
    expect(rerun.json()).toMatchObject({ applied: SEED_STEPS.slice(7), reboots: 1, verified: true });
  });

  it("without --reboot apply stops before the reboot and says so; after a manual reboot apply verifies", async () => {
    const dir = tempSimDir();
    const r = cli(dir, ["apply", ...SEED, "--yes", "--json"]);
    expect(r.json()).toMatchObject({ applied: SEED_STEPS, reboots: 1, rebooted: false, verified: false });
    expect(r.json<{ next: string }>().next).toContain("reboot seed-fresh");
    expect(simState(dir, "seed-fresh").bootCount).toBe(1);
    // the user reboots the host by hand (`systemctl reboot` on the sim)
    const host = await SimHost.open("seed-fresh", { stateDir: dir, spec: "sim:seed-fresh", faults: [] });
    expect((await host.exec(["systemctl", "reboot"])).exitCode).toBe(0);
    await host.close();
    const v = cli(dir, ["apply", ...SEED, "--yes", "--json"]);
    expect(v.json()).toMatchObject({ applied: [], reboots: 0, verified: true });
  });
});

describe("p4-fresh (native Tesla P4, PVE 8, systemd-boot) → working vGPU (built CLI)", () => {
  it("apply --reboot verifies the P4 types with no reboot (nouveau drives no framebuffer: loaded live) and no unlock; again: 0 changes; uninstall restores the files", () => {
    const dir = tempSimDir();
    const plan = cli(dir, ["plan", ...P4, "--json"]).json<{
      steps: Array<{ id: string }>;
      reboots: number;
    }>();
    expect(plan.steps.map((s) => s.id)).toEqual([
      "repository",
      "packages",
      "driver-install",
      "vfio-modules",
      "nouveau-blacklist",
      "initramfs",
      "load-now",
    ]);
    expect(plan.reboots).toBe(0);
    const before = simState(dir, "p4-fresh");
    const a = cli(dir, ["apply", ...P4, "--yes", "--reboot", "--json"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({ reboots: 0, verified: true });
    expect(simState(dir, "p4-fresh").bootCount).toBe(before.bootCount);
    expect(JSON.stringify(a.json())).toContain("GRID P4-2Q");
    expect(cli(dir, ["apply", ...P4, "--yes", "--reboot", "--json"]).json()).toMatchObject({
      applied: [],
      reboots: 0,
    });
    expect(simState(dir, "p4-fresh").files["/etc/vgpu_unlock/config.toml"]).toBeUndefined();
    cli(dir, ["uninstall", "--host", "sim:p4-fresh", "--yes", "--reboot"]);
    expect(hostFiles(simState(dir, "p4-fresh"))).toEqual(hostFiles(before));
  });
});

describe("vgpuctl sim fault", () => {
  it("stores a fault in the sim state that the next apply meets, and clears it", () => {
    const dir = tempSimDir();
    const set = cli(dir, ["sim", "fault", "seed-fresh", "fail:apt-get:2", "--json"]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.json()).toEqual({ scenario: "seed-fresh", faults: ["fail:apt-get:2"] });
    const r = cli(dir, ["apply", ...SEED, "--yes", "--reboot"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('error: step "packages"');
    expect(cli(dir, ["sim", "fault", "seed-fresh"]).stdout).toContain("no faults");
    expect(cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"]).json()).toMatchObject({
      verified: true,
    });
  });

  it("a client fault stored with `sim fault` kills the next apply (kill -9) where it says; cleared, the re-run converges", () => {
    const ref = tempSimDir();
    expect(cli(ref, ["apply", ...SEED, "--yes", "--reboot"]).code).toBe(0);
    const done = hostFiles(simState(ref, "seed-fresh"));
    // a sample of points (test/apply/apply.test.ts sweeps every write and exec in-process), with the
    // two of the unlock-source step that once broke re-runs (issue 13): right after its `git clone`
    // (the 7th exec; the clone goes to a temporary sibling) and right after the rename into place (8th).
    for (const spec of [
      "crash-after:3",
      "crash-after-write:1",
      "crash-after-write:9",
      "crash-after-exec:7",
      "crash-after-exec:8",
    ]) {
      const dir = tempSimDir();
      expect(cli(dir, ["sim", "fault", "seed-fresh", spec, "--json"]).json()).toEqual({
        scenario: "seed-fresh",
        faults: [spec],
      });
      const killed = cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"]);
      expect(killed.code, spec).toBe(-1); // SIGKILL: no exit code, nothing printed after the death
      expect(killed.stdout, spec).toBe("");
      expect(simState(dir, "seed-fresh").files["/var/lib/vgpuctl/lock"], spec).toBeDefined(); // left behind
      if (spec === "crash-after:3") {
        const journal = JSON.parse(simState(dir, "seed-fresh").files["/var/lib/vgpuctl/journal.json"]!);
        expect(journal.entries.map((e: { id: string }) => e.id)).toEqual(SEED_STEPS.slice(0, 3));
      }
      if (spec === "crash-after-exec:7" || spec === "crash-after-exec:8") {
        // killed inside unlock-source: after the clone (in the temporary sibling) or after the rename
        const files = simState(dir, "seed-fresh").files;
        const journal = JSON.parse(files["/var/lib/vgpuctl/journal.json"]!);
        expect(journal.inProgress.step.id, spec).toBe("unlock-source");
        const cloned = spec === "crash-after-exec:7";
        expect(files["/opt/.vgpu_unlock-rs.vgpuctl-tmp/Cargo.toml"] !== undefined, spec).toBe(cloned);
        expect(files["/opt/vgpu_unlock-rs/Cargo.toml"] !== undefined, spec).toBe(!cloned);
      }
      expect(cli(dir, ["sim", "fault", "seed-fresh"]).stdout).toContain("no faults");
      const rerun = cli(dir, ["apply", ...SEED, "--yes", "--reboot", "--json"]);
      expect(rerun.code, `${spec}: ${rerun.stderr}`).toBe(0);
      expect(rerun.json(), spec).toMatchObject({ verified: true, reboots: 1 });
      expect(hostFiles(simState(dir, "seed-fresh")), spec).toEqual(done);
      expect(simState(dir, "seed-fresh").bootCount, spec).toBe(2);
    }
  }, 120_000);

  it("rejects an unknown fault", () => {
    const r = cli(tempSimDir(), ["sim", "fault", "seed-fresh", "explode"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown fault "explode"/);
  });
});
