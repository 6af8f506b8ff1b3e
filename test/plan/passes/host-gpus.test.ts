import { describe, expect, it } from "vitest";
import { readContext } from "../../../src/plan/context.ts";
import { assessGpus } from "../../../src/plan/passes/gpus.ts";
import { assessHost } from "../../../src/plan/passes/host.ts";
import { PassOutput } from "../../../src/plan/passes/output.ts";
import { codes, exampleEntry, scenarioInput } from "./context.ts";

const seed = exampleEntry("seed-host.yaml");

describe("host identity (passes/host.ts)", () => {
  it("reads the Proxmox major version and the running kernel of the seed host", async () => {
    const { facts } = await scenarioInput("seed-fresh", seed);
    const out = new PassOutput();
    const h = assessHost(facts, out);
    expect(h?.pveMajor).toBe(7);
    expect(h?.running).toMatch(/^5\.15\./);
    expect(h?.bootKernel).toBe(h?.kernels.at(-1));
  });

  it("stops with not-proxmox when pveversion reports no pve-manager", async () => {
    const { facts } = await scenarioInput("seed-fresh", seed, (f) => {
      f.pve = null;
    });
    const out = new PassOutput();
    expect(assessHost(facts, out)).toBeNull();
    expect(codes(out)).toEqual(["not-proxmox"]);
  });

  it("stops with kernel-unknown when neither uname nor pveversion names the running kernel", async () => {
    const { facts } = await scenarioInput("seed-fresh", seed, (f) => {
      f.uname = null;
      f.pve!.runningKernel = null;
    });
    const out = new PassOutput();
    expect(assessHost(facts, out)).toBeNull();
    expect(codes(out)).toEqual(["kernel-unknown"]);
  });

  it("does not block on Secure Boot on (passes/secure-boot.ts signs), and notes an unknown Secure Boot state", async () => {
    const on = await scenarioInput("seed-fresh", seed, (f) => {
      f.secureBoot = true;
    });
    const outOn = new PassOutput();
    assessHost(on.facts, outOn);
    expect(codes(outOn)).toEqual([]);
    const unknown = await scenarioInput("seed-fresh", seed, (f) => {
      f.secureBoot = null;
    });
    const outUnknown = new PassOutput();
    assessHost(unknown.facts, outUnknown);
    expect(outUnknown.blockers).toEqual([]);
    expect(outUnknown.notes).toContain("Secure Boot state unknown (mokutil not available); assuming off");
  });
});

describe("GPU selection (passes/gpus.ts)", () => {
  it("takes the 2080 Ti as a consumer GPU that needs vgpu_unlock", async () => {
    const { facts } = await scenarioInput("seed-fresh", seed);
    const g = assessGpus(seed, facts, new PassOutput());
    expect(g?.gpus.map((x) => x.pci.address)).toEqual(["0000:01:00.0"]);
    expect(g?.consumer).toHaveLength(1);
    expect(g?.useUnlock).toBe(true);
    expect(g?.sriov).toBe(false);
  });

  it("blocks gpu-not-found for an address with no NVIDIA GPU, listing the GPUs there are", async () => {
    const entry = exampleEntry("seed-host.yaml", {
      gpus: [{ address: "0000:02:00.0", type: "GRID RTX6000-4Q" }],
    });
    const { facts } = await scenarioInput("seed-fresh", entry);
    const out = new PassOutput();
    const g = assessGpus(entry, facts, out);
    expect(g?.gpus).toEqual([]);
    expect(out.blockers[0]?.code).toBe("gpu-not-found");
    expect(out.blockers[0]?.evidence[0]).toMatch(/^0000:01:00\.0 /);
  });

  it("blocks unlock-missing when a consumer GPU is set up with `unlock: off`", async () => {
    const entry = exampleEntry("seed-host.yaml", { unlock: "off" });
    const { facts } = await scenarioInput("seed-fresh", entry);
    const out = new PassOutput();
    expect(assessGpus(entry, facts, out)?.useUnlock).toBe(false);
    expect(codes(out)).toEqual(["unlock-missing"]);
  });

  it("wants SR-IOV for a native board that needs virtual functions", async () => {
    const entry = exampleEntry("p4-host.yaml", { gpus: undefined });
    const { facts } = await scenarioInput("sriov-vfs-missing", entry);
    const g = assessGpus(entry, facts, new PassOutput());
    expect(g?.native.some((x) => x.cls.needsSriov)).toBe(true);
    expect(g?.sriov).toBe(true);
  });

  it("stops the plan (no context) when the PCI devices were not listed", async () => {
    const input = await scenarioInput("seed-fresh", seed, (f) => {
      f.pci = null;
    });
    const { ctx, found } = readContext(seed, input);
    expect(ctx).toBeNull();
    expect(codes(found)).toEqual(["not-captured"]);
  });
});
