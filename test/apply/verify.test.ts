// verifyHost on simulated hosts' facts (src/hosts/sim renders the real sysfs and nvidia-smi formats).
import { describe, expect, it } from "vitest";
import { verifyHost } from "../../src/apply/verify.ts";
import { exampleEntry, scenarioInput } from "../plan/passes/context.ts";

const a40 = exampleEntry("p4-host.yaml", { gpus: [{ address: "0000:01:00.0", type: "NVIDIA A40-8Q" }] });

describe("verifyHost on SR-IOV boards", () => {
  it("names the missing virtual functions (not 'no types') when an A40's VFs are not enabled", async () => {
    const { facts } = await scenarioInput("sriov-vfs-missing", a40);
    const v = verifyHost(a40, facts);
    expect(v.ok).toBe(false);
    expect(v.gpus[0]?.problem).toMatch(
      /^its SR-IOV virtual functions are not enabled \(sriov_numvfs 0 of 32\)/,
    );
  });

  it("sees the types on the VFs once they are enabled", async () => {
    const { facts } = await scenarioInput("vm-uses-physical-function", a40);
    const v = verifyHost(a40, facts);
    expect(v.gpus[0]?.problem).toBeNull();
    expect(v.gpus[0]?.offered.some((o) => /NVIDIA A40-8Q$/.test(o))).toBe(true);
  });

  it("fails a GPU vgpu.yaml marks `mixedSizes` while nvidia-smi shows the mode disabled", async () => {
    const entry = exampleEntry("p4-host.yaml", {
      gpus: [{ address: "0000:01:00.0", type: "NVIDIA A40-8Q", mixedSizes: true }],
    });
    const { facts } = await scenarioInput("vm-uses-physical-function", entry);
    const q = facts.nvidiaSmiQuery!.gpus.find((g) => g.busId === "0000:01:00.0")!;
    const key = Object.keys(q.fields).find((k) => /Heterogeneous Mode$/.test(k));
    expect(key).toBeDefined();
    q.fields[key!] = "Disabled";
    expect(verifyHost(entry, facts).gpus[0]?.problem).toMatch(/^mixed-size mode is off/);
    q.fields[key!] = "Enabled";
    expect(verifyHost(entry, facts).gpus[0]?.problem).toBeNull();
  });
});
