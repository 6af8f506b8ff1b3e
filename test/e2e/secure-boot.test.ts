// issue 14 "Done means" (Secure Boot), through the built CLI. sim:secure-boot-on = p4-configured booted with
// Secure Boot on: the unsigned nvidia module is rejected ("Key was rejected by service"). The simulated host
// models DKMS signing, `mokutil --import` (password twice on stdin) and shim's MokManager confirming the key
// at the next boot (src/hosts/sim/mok.ts, sources there). Reboots are counted on the host side (bootCount).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempSimDir } from "../helpers/cli.ts";
import { statePath } from "./sim-state.ts";

const P4 = ["--host", "sim:secure-boot-on", "-f", "examples/p4-host.yaml"];
const PASSWORD = "Mok-One-Time-7319";

function cli(dir: string, args: string[], env: Record<string, string> = {}) {
  return runCli(args, { VGPUCTL_SIM_DIR: dir, ...env });
}

interface SbState {
  bootCount: number;
  driverLoaded: boolean;
  driver: { signed: boolean; signedWith?: string } | null;
  boot: { mok?: { enrolled: string[]; pending: string[] }; mokConsole?: string };
}
const state = (dir: string) => JSON.parse(readFileSync(statePath(dir, "secure-boot-on"), "utf8")) as SbState;

describe("Secure Boot: sign the modules, enrol the key, verified after one reboot (examples/p4-host.yaml)", () => {
  it("apply --reboot signs the modules and is verified after 1 reboot; the password is in no file or output", () => {
    const dir = tempSimDir();
    const plan = cli(dir, ["plan", ...P4, "--json"]).json<{
      steps: Array<{ id: string }>;
      blockers: unknown[];
    }>();
    expect(plan.blockers).toEqual([]);
    expect(plan.steps.map((s) => s.id)).toEqual([
      "secure-boot-key",
      "dkms-signing",
      "driver-sign",
      "mok-import",
    ]);
    const boots = state(dir).bootCount;
    const a = cli(dir, ["apply", ...P4, "--yes", "--reboot"], { VGPUCTL_MOK_PASSWORD: PASSWORD });
    expect(a.code, a.stderr).toBe(0);
    // the console instructions are printed with the step
    expect(a.stderr).toContain("Enroll MOK → Continue → Yes → type the MOK password → Reboot");
    expect(a.stdout).toContain("Verified: vGPU is working as described.");
    const s = state(dir);
    expect(s.bootCount).toBe(boots + 1);
    expect(s.driverLoaded).toBe(true);
    expect(s.driver?.signed).toBe(true);
    expect(s.boot.mok?.enrolled).toEqual([s.driver?.signedWith]);
    // the signed module loaded (signed by the enrolled key: the simulated kernel refuses anything else)
    expect(cli(dir, ["doctor", "--host", "sim:secure-boot-on"]).code).toBe(0);
    expect(cli(dir, ["plan", ...P4, "--json"]).json<{ steps: unknown[] }>().steps).toEqual([]);
    // never written anywhere: the simulated host's whole state (journal included), the outputs
    for (const f of readdirSync(dir))
      expect(readFileSync(join(dir, f)).toString("latin1")).not.toContain(PASSWORD);
    expect(a.stdout + a.stderr).not.toContain(PASSWORD);
  });

  it("without a password: one line naming the fix (mok-password-missing), nothing changed", () => {
    const dir = tempSimDir();
    cli(dir, ["plan", ...P4]);
    const before = readFileSync(statePath(dir, "secure-boot-on"), "utf8");
    const a = cli(dir, ["apply", ...P4, "--yes", "--reboot"]);
    expect(a.code).toBe(1);
    expect(a.stderr.split("\n").filter((l) => l.includes("[mok-password-missing]"))).toHaveLength(1);
    expect(a.stderr).toContain("fix: set VGPUCTL_MOK_PASSWORD or pass --mok-password-file FILE");
    expect(readFileSync(statePath(dir, "secure-boot-on"), "utf8")).toBe(before);
  });

  it("--mok-password-file works the same; an enrolment nobody confirms on the console is not verified, the next apply gets it confirmed", () => {
    const dir = tempSimDir();
    cli(dir, ["plan", ...P4]);
    const path = statePath(dir, "secure-boot-on");
    const s = JSON.parse(readFileSync(path, "utf8"));
    s.boot.mokConsole = "ignore";
    writeFileSync(path, JSON.stringify(s));
    const pwFile = join(dir, "mok-pw");
    writeFileSync(pwFile, `${PASSWORD}\n`);
    const a = cli(dir, ["apply", ...P4, "--yes", "--reboot", "--mok-password-file", pwFile]);
    expect(a.code).toBe(1);
    expect(a.stdout + a.stderr).toContain("NVIDIA driver 535.216.01 is installed but not loaded");
    expect(state(dir).boot.mok?.enrolled).toEqual([]);
    // the key was queued again after that boot: the next apply reboots once more, and this time it is confirmed
    expect(state(dir).boot.mok?.pending).toHaveLength(1);
    const plan = cli(dir, ["plan", ...P4]).stdout;
    expect(plan).toContain("/var/lib/dkms/mok.pub is queued for enrolment already");
    const t = JSON.parse(readFileSync(path, "utf8"));
    delete t.boot.mokConsole;
    writeFileSync(path, JSON.stringify(t));
    const b = cli(dir, ["apply", ...P4, "--yes", "--reboot", "--mok-password-file", pwFile]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain("Verified: vGPU is working as described.");
    expect(state(dir).driver?.signed).toBe(true);
  });
});
