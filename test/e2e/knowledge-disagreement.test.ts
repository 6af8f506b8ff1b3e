/**
 * A wrong row in the knowledge base is caught end to end, because the simulated driver decides from its own
 * data (src/hosts/sim/nvidia-data.ts: vGPU 15.1 builds on kernels 5.14 – 6.0, from the polloloco README for
 * PVE 7.4: "Newer kernels like 6.1 or 6.2 do NOT work") and never from src/knowledge.
 *
 * The planted row: vGPU 15.1 (525.85.07) "builds on kernels 5.14 – 6.2". The flow: `vgpuctl apply --reboot`
 * of examples/seed-host.yaml on sim:kernel-too-new (the seed host booted into the opt-in 6.2.16-3 kernel,
 * where DKMS built the 15.1 module only for 5.15). With the wrong row the plan has no blocker, the apply runs,
 * reboots — and the simulated DKMS cannot build the module for 6.2, so verification fails visibly. With the
 * true row (the control) the plan refuses the 6.2 kernel before changing anything and names the 5.15 kernel
 * to pin, and the simulator's DKMS agrees (module built for 5.15 only). (The simulator has no
 * `proxmox-boot-tool kernel pin` yet, so the control cannot go on to apply after the pin.)
 *
 * How the row is planted: a vitest module mock of the knowledge data module (src/knowledge/driver-releases.ts,
 * `kernelFacts`, whose rows drivers.ts turns into DriverRelease at load). The planner imports the knowledge
 * directly (src/plan/passes/kernel.ts), not through an injected `Kb` as the checks do, so a `Kb` passed to
 * runChecks could not reach the plan; a module mock needs no production hook and no environment variable,
 * and stays inside this test file. Both variants run in-process through the product's `runApply(options,
 * deps)` against SimHost; `vi.resetModules()` + a fresh dynamic import gives each variant its own knowledge.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { KernelRangeFact } from "../../src/knowledge/driver-releases.ts";

const plant = vi.hoisted(() => ({ wrong15_1: false }));

vi.mock("../../src/knowledge/driver-releases.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/knowledge/driver-releases.ts")>();
  return {
    ...real,
    kernelFacts(release: string) {
      const facts = real.kernelFacts(release);
      if (!plant.wrong15_1 || release !== "15.1") return facts;
      const wrong: KernelRangeFact = {
        ...facts.range,
        max: "6.2",
        evidence: ["planted by test/e2e/knowledge-disagreement.test.ts: deliberately wrong"],
      };
      return { ...facts, range: wrong };
    },
  };
});

const REPO = join(import.meta.dirname, "../..");
const SEED_YAML = "examples/seed-host.yaml";
const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

/** The product (apply command, knowledge, sim) loaded afresh, with or without the planted row. */
async function product(wrongRow: boolean) {
  plant.wrong15_1 = wrongRow;
  vi.resetModules();
  const { runApply } = await import("../../src/commands/apply.ts");
  const { findRelease } = await import("../../src/knowledge/drivers.ts");
  const { SimHost } = await import("../../src/hosts/sim/sim-host.ts");
  const { readFile } = await import("node:fs/promises");
  const stateDir = await mkdtemp(join(tmpdir(), "vgpuctl-kb-"));
  dirs.push(stateDir);
  const host = await SimHost.open("kernel-too-new", { stateDir, spec: "sim:kernel-too-new" });
  const desired = (await readFile(join(REPO, SEED_YAML), "utf8")).replace(
    "host: sim:seed-fresh",
    "host: sim:kernel-too-new",
  );
  const apply = () =>
    runApply(
      { file: "vgpu.yaml", hostSpec: null, reboot: true },
      { cwd: REPO, openHost: async () => host, readText: async () => desired },
    );
  return { apply, host, release15_1: findRelease("15.1")! };
}

describe("a wrong knowledge row is caught by the simulated driver (apply on sim:kernel-too-new)", () => {
  it("planted: 15.1 'builds on 6.2' → the plan lets it through and the apply's verification fails on the sim", async () => {
    const { apply, host, release15_1 } = await product(true);
    expect(release15_1.kernelRange).toBe("5.14 – 6.2"); // the plant reached the product's knowledge
    const [outcome] = await apply();
    // the knowledge agreed to 6.2, so nothing blocked the apply …
    expect(outcome?.kind).toBe("done");
    if (outcome?.kind !== "done") return;
    expect(outcome.result.plan.blockers).toEqual([]);
    expect(outcome.result.rebooted).toBe(true);
    // … but the simulated driver, deciding from its own data, has no module for 6.2: the disagreement shows
    expect(outcome.result.verified).toBe(false);
    expect(outcome.result.verification?.problems).toEqual(
      expect.arrayContaining([
        "NVIDIA driver 525.85.07 is installed but not loaded",
        "0000:01:00.0: no vGPU types offered",
        expect.stringMatching(/^doctor: dkms-not-built: .*525\.85\.07.*6\.2\.16-3-pve/),
      ]),
    );
    const uname = await host.exec(["uname", "-r"]);
    expect(uname.stdout.trim()).toBe("6.2.16-3-pve");
  });

  it("control, true row (15.1: 5.14 – 6.0): the plan pins the installed 5.15 instead of 6.2, and the simulated driver agrees", async () => {
    const { apply, host, release15_1 } = await product(false);
    expect(release15_1.kernelRange).toBe("5.14 – 6.0");
    const [outcome] = await apply();
    expect(outcome?.kind).toBe("done");
    if (outcome?.kind !== "done") return;
    expect(outcome.result.plan.blockers).toEqual([]);
    expect(outcome.result.plan.steps.map((x) => x.id)).toEqual(["kernel-pin"]);
    expect(outcome.result.rebooted).toBe(true);
    // the simulator agrees: its DKMS has the 15.1 module for 5.15 only, and 5.15 is what booted
    expect(outcome.result.verified).toBe(true);
    expect((await host.exec(["uname", "-r"])).stdout.trim()).toBe("5.15.102-1-pve");
    const dkms = await host.exec(["dkms", "status"]);
    expect(dkms.stdout).toContain("5.15.102-1-pve");
    expect(dkms.stdout).not.toContain("6.2.16-3-pve");
  });
});
