// The planner's handling of what vgpu.yaml names on the host: the driver installer and patch it would
// run as root (verified by sha256, never run unverified), the vgpu_unlock-rs git URL and ref (never
// read as git options), and the kernel the next boot uses (headers and DKMS build for it).
// Facts: the simulated seed-fresh host (the seed guide's host: PVE 7.4, kernel 5.15, Intel, GRUB, RTX 2080 Ti)
// and p4-fresh (PVE 8.2, Tesla P4), gathered as the CLI gathers them, then narrowed per case.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyHost, BlockedError, planHost } from "../../src/apply/run.ts";
import { gatherForPlan, shaResult } from "../../src/commands/plan.ts";
import { parseDesired } from "../../src/desired/parse.ts";
import type { HostEntry } from "../../src/desired/schema.ts";
import { parseProxmoxBootToolStatus } from "../../src/facts/system/boot-tool.ts";
import { parsePveversion } from "../../src/facts/system/pveversion.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { buildPlan } from "../../src/plan/build.ts";
import type { Change, Plan, PlanInput } from "../../src/plan/types.ts";

const REPO = join(import.meta.dirname, "..", "..");
const codes = (p: Plan) => p.blockers.map((b) => b.code);
const commands = (p: Plan, id: string) =>
  (p.steps.find((s) => s.id === id)?.changes ?? [])
    .filter((c): c is Extract<Change, { kind: "command" }> => c.kind === "command")
    .map((c) => c.argv);

/** The plan for `entry` on a fresh simulated `scenario`, with the gathered input changed by `tweak` first. */
async function simPlan(entry: HostEntry, tweak?: (i: PlanInput) => void, scenario = "seed-fresh") {
  const host = SimHost.fromState(buildScenarioState(scenario));
  const input = await gatherForPlan(host, entry);
  tweak?.(input);
  return buildPlan(entry, input);
}

/** examples/seed-host.yaml's entry for the simulated seed-fresh host. */
function seedYamlEntry(): HostEntry {
  return parseDesired(readFileSync(join(REPO, "examples", "seed-host.yaml"), "utf8")).hosts[0]!;
}
const seedEntry = (over: Partial<HostEntry> = {}): HostEntry => ({ ...seedYamlEntry(), ...over });
const INSTALLER = seedYamlEntry().driver!.installer;
const PATCH = seedYamlEntry().driver!.patch!.path;
const SOURCE = seedYamlEntry().vgpuUnlock!.source!;

describe("driver files whose sha256 could not be computed are never run", () => {
  it("an installer without a checksum (sha256sum failed) is a blocker naming why, not an unverified root run", async () => {
    const p = await simPlan(seedEntry(), (i) => {
      i.probes[INSTALLER] = {
        exists: true,
        sha256: null,
        sha256Error: "`sha256sum` failed (exit 1): sha256sum: /root/x.run: Permission denied",
        head: "#!/bin/sh\n",
      };
    });
    const b = p.blockers.find((x) => x.code === "driver-checksum-unverified");
    expect(b, JSON.stringify(p.blockers)).toBeDefined();
    expect(b!.title).toBe(
      `The sha256 of driver installer ${INSTALLER} could not be computed: it would run as root unverified`,
    );
    expect(b!.evidence[0]).toMatch(/Permission denied/);
    expect(b!.evidence[1]).toMatch(/^expected [0-9a-f]{64} \(vgpu\.yaml driver\.sha256\)$/);
    expect(b!.fix[0]).toContain(`sha256sum ${INSTALLER}`);
  });

  it("the same for the patch (patch-checksum-unverified); a verified pair has neither", async () => {
    const p = await simPlan(seedEntry(), (i) => {
      i.probes[PATCH] = { exists: true, sha256: null, head: null };
    });
    expect(codes(p)).toEqual(["patch-checksum-unverified"]);
    expect(p.blockers[0]!.evidence[0]).toBe("`sha256sum` gave no checksum");
    expect(codes(await simPlan(seedEntry()))).toEqual([]);
  });

  it("end to end on the simulated host: sha256sum failing there blocks apply before anything is written", async () => {
    const host = SimHost.fromState(buildScenarioState("seed-fresh"), "sim:seed-fresh", {
      faults: ["fail:sha256sum"],
    });
    const { plan } = await planHost(seedYamlEntry(), { host, gather: gatherForPlan });
    expect(codes(plan)).toEqual(["driver-checksum-unverified", "patch-checksum-unverified"]);
    expect(plan.blockers[0]!.evidence[0]).toMatch(/^`sha256sum` failed \(exit 1\)/);
    const before = JSON.stringify(host.snapshot().files);
    await expect(
      applyHost(seedYamlEntry(), { host, gather: gatherForPlan }, { reboot: true }),
    ).rejects.toThrow(BlockedError);
    expect(JSON.stringify(host.snapshot().files)).toBe(before);
    // without the fault the same host verifies both files
    const clean = SimHost.fromState(buildScenarioState("seed-fresh"));
    expect(codes((await planHost(seedYamlEntry(), { host: clean, gather: gatherForPlan })).plan)).toEqual([]);
  });

  it("says why a checksum is missing: not installed, timed out, not captured, no output", () => {
    expect(shaResult({ stdout: "", exitCode: 127 }, "sh: 1: sha256sum: not found")).toEqual({
      sha256: null,
      sha256Error: "`sha256sum` is not available on the host (exit 127): sh: 1: sha256sum: not found",
    });
    expect(shaResult({ stdout: "", exitCode: 124 }, "").sha256Error).toBe("`sha256sum` timed out");
    expect(shaResult(null, "").sha256Error).toBe("`sha256sum` was not captured from the host");
    expect(shaResult({ stdout: "\n", exitCode: 0 }, "").sha256Error).toBe("`sha256sum` printed no checksum");
    const hex = "AB".repeat(32);
    expect(shaResult({ stdout: `${hex}  /root/a.run\n`, exitCode: 0 }, "")).toEqual({
      sha256: hex.toLowerCase(),
    });
  });
});

describe("vgpu_unlock-rs clone: the URL and ref are never git options", () => {
  const entry = () =>
    seedEntry({
      vgpuUnlock: { git: "https://github.com/mbilker/vgpu_unlock-rs", ref: "v2.5.0", source: SOURCE },
    });

  it("plans `git clone -- URL TMP` and `git -C TMP checkout REF --` in a temporary sibling, then a rename into place", async () => {
    const p = await simPlan(entry(), (i) => {
      i.probes[`${SOURCE}/Cargo.toml`] = { exists: false, sha256: null, head: null };
    });
    const tmp = "/opt/.vgpu_unlock-rs.vgpuctl-tmp";
    expect(commands(p, "unlock-source")).toEqual([
      ["rm", "-rf", "--", tmp],
      ["git", "clone", "--", "https://github.com/mbilker/vgpu_unlock-rs", tmp],
      ["git", "-C", tmp, "checkout", "v2.5.0", "--"],
      [
        "sh",
        "-c",
        'if [ -e "$1/Cargo.toml" ]; then rm -rf -- "$2"; else mv -T -- "$2" "$1"; fi',
        "sh",
        SOURCE,
        tmp,
      ],
    ]);
  });

  it("the simulated host runs exactly those commands (clone, then checkout of the ref)", async () => {
    const p = await simPlan(entry(), (i) => {
      i.probes[`${SOURCE}/Cargo.toml`] = { exists: false, sha256: null, head: null };
    });
    const state = buildScenarioState("seed-fresh");
    state.packages.git ??= "1:2.30.2-1+deb11u2";
    const host = SimHost.fromState(state);
    await host.remove(SOURCE);
    for (const argv of commands(p, "unlock-source")) {
      const r = await host.exec(argv);
      expect(r.exitCode, `${argv.join(" ")}: ${r.stderr}`).toBe(0);
    }
    expect(await host.readFile(`${SOURCE}/Cargo.toml`)).toContain('name = "vgpu_unlock-rs"');
    expect(await host.readFile(`${SOURCE}/.git/HEAD`)).toBe("v2.5.0\n");
  });

  it("stopped after any of its commands (kill -9), the step run again from the start leaves one whole checkout", async () => {
    const p = await simPlan(entry(), (i) => {
      i.probes[`${SOURCE}/Cargo.toml`] = { exists: false, sha256: null, head: null };
    });
    const argvs = commands(p, "unlock-source");
    for (let k = 1; k <= argvs.length; k++) {
      const state = buildScenarioState("seed-fresh");
      state.packages.git ??= "1:2.30.2-1+deb11u2";
      const host = SimHost.fromState(state);
      await host.remove(SOURCE);
      for (const argv of [...argvs.slice(0, k), ...argvs]) {
        const r = await host.exec(argv);
        expect(r.exitCode, `killed after command ${k}; ${argv.join(" ")}: ${r.stderr}`).toBe(0);
      }
      expect(await host.readFile(`${SOURCE}/.git/HEAD`)).toBe("v2.5.0\n");
      expect(await host.list(SOURCE)).not.toContain(".vgpu_unlock-rs.vgpuctl-tmp");
      expect(await host.stat("/opt/.vgpu_unlock-rs.vgpuctl-tmp"), `killed after command ${k}`).toBeNull();
    }
  });

  it("the simulated git and mv refuse a non-empty destination as the real ones do", async () => {
    const state = buildScenarioState("seed-fresh");
    state.packages.git ??= "1:2.30.2-1+deb11u2";
    const host = SimHost.fromState(state);
    await host.writeFile("/opt/half/Cargo.toml", "[package]\n");
    await host.writeFile("/opt/other/README.md", "x\n");
    expect(
      await host.exec(["git", "clone", "--", "https://github.com/mbilker/vgpu_unlock-rs", "/opt/half"]),
    ).toMatchObject({
      exitCode: 128,
      stderr: "fatal: destination path '/opt/half' already exists and is not an empty directory.\n",
    });
    expect(await host.exec(["mv", "-T", "--", "/opt/other", "/opt/half"])).toMatchObject({
      exitCode: 1,
      stderr: "mv: cannot move '/opt/other' to '/opt/half': Directory not empty\n",
    });
    expect((await host.exec(["mv", "/opt/other", "/opt/half"])).exitCode).toBe(0); // into it, without -T
    expect(await host.readFile("/opt/half/other/README.md")).toBe("x\n");
  });
});

describe("the kernel the next boot uses (installedKernels: dpkg, pveversion and the ESPs)", () => {
  // Facts: a PVE 8 host running 6.5.13-5-pve with 6.8.12-4-pve installed next to it (the kernel
  // upgrade that has not been booted yet); pveversion lines as a PVE 8.2 node prints them (search
  // index id 9942732676 shows the format), proxmox-boot-tool status as in test/fixtures/facts-system.
  const P4 = "/root/NVIDIA-Linux-x86_64-535.230.02-vgpu-kvm.run";
  const p4Entry = (): HostEntry => ({
    host: "sim:p4-fresh",
    driver: { installer: P4, sha256: "a".repeat(64) },
    unlock: "auto",
    iommu: "off",
    repository: null,
  });
  async function pve8Plan(over: (f: import("../../src/facts/types.ts").Facts) => void) {
    return simPlan(
      p4Entry(),
      (i) => {
        i.probes[P4] = { exists: true, sha256: "a".repeat(64), head: "#!/bin/sh\n" };
        const f = i.facts;
        f.uname!.release = "6.5.13-5-pve";
        f.pve = { manager: "8.2.4", runningKernel: "6.5.13-5-pve", packages: {} };
        f.packages = { mdevctl: "1.2.0-3", "build-essential": "12.9", dkms: "3.0.10-8" };
        over(f);
      },
      "p4-fresh",
    );
  }
  const headers = (p: Plan) =>
    (
      p.steps[0]!.changes.find((c) => c.kind === "package" && "install" in c) as { install: string[] }
    ).install.filter((x) => x.startsWith("proxmox-headers-6"));

  it("dpkg's newest kernel (numerically: 6.8.12-10 after 6.8.12-9): headers for both, DKMS built for it", async () => {
    const p = await pve8Plan((f) => {
      f.packages!["proxmox-kernel-6.5.13-5-pve-signed"] = "6.5.13-5";
      f.packages!["proxmox-kernel-6.8.12-9-pve-signed"] = "6.8.12-9";
      f.packages!["proxmox-kernel-6.8.12-10-pve-signed"] = "6.8.12-10";
    });
    expect(headers(p)).toEqual(["proxmox-headers-6.5.13-5-pve", "proxmox-headers-6.8.12-10-pve"]);
    expect(commands(p, "driver-install")).toContainEqual([
      "dkms",
      "install",
      "-m",
      "nvidia",
      "-v",
      "535.230.02",
      "-k",
      "6.8.12-10-pve",
    ]);
    expect(p.notes).toContain(
      "the next boot uses kernel 6.8.12-10-pve (newest installed; running 6.5.13-5-pve)",
    );
  });

  it("the same choice from pveversion -v and the ESPs when dpkg was not captured (it was the running kernel)", async () => {
    const p = await pve8Plan((f) => {
      f.packages = null;
      f.pve = parsePveversion(
        [
          "proxmox-ve: 8.2.0 (running kernel: 6.5.13-5-pve)",
          "pve-manager: 8.2.4 (running version: 8.2.4/faa83925c9641325)",
          "proxmox-kernel-helper: 8.1.0",
          "proxmox-kernel-6.8.12-4-pve-signed: 6.8.12-4",
          "proxmox-kernel-6.8: 6.8.12-4",
          "proxmox-kernel-6.5.13-5-pve-signed: 6.5.13-5",
        ].join("\n"),
      );
      f.bootTool = parseProxmoxBootToolStatus(
        "System currently booted with uefi\nA1B2-C3D4 is configured with: uefi (versions: 6.5.13-5-pve, 6.8.12-4-pve)\n",
      );
    });
    expect(p.notes).toContain(
      "the next boot uses kernel 6.8.12-4-pve (newest installed; running 6.5.13-5-pve)",
    );
    expect(commands(p, "driver-install").at(-2)?.at(-1)).toBe("6.8.12-4-pve");
  });

  it("the running kernel stays the boot kernel when nothing newer is installed: no second build, one headers package", async () => {
    const esp = await pve8Plan((f) => {
      f.packages!["proxmox-kernel-6.5.13-5-pve-signed"] = "6.5.13-5";
      f.bootTool = parseProxmoxBootToolStatus(
        "System currently booted with uefi\nA1B2-C3D4 is configured with: uefi (versions: 6.5.13-5-pve)\n",
      );
    });
    expect(esp.notes.some((n) => n.startsWith("the next boot uses"))).toBe(false);
    expect(commands(esp, "driver-install").some((a) => a[0] === "dkms")).toBe(false);
    expect(headers(esp)).toEqual(["proxmox-headers-6.5.13-5-pve"]);
  });
});
