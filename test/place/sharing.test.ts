/**
 * The driver's availability rule per branch (src/place/model.ts sharingRule): one type per GPU before
 * vGPU 15 / driver 525 (NVIDIA vGPU 8 user guide: "all vGPUs on a physical GPU must be of the same type"),
 * one framebuffer size from 525 on ("Heterogeneous Time-Slice Profiles : Supported" in real `nvidia-smi -q`
 * of 525.147.01 / 535.129.03, test/fixtures/conformance), any size in mixed-size mode (vGPU 17+,
 * `vGPU Heterogeneous Mode : Enabled`). Sources: research/proxmox.md §3.
 */
import { describe, expect, it } from "vitest";
import { canShareGpu, sharingKey, sharingRule } from "../../src/place/model.ts";
import { healthyFacts, mdevEntry, vm } from "../checks/healthy.ts";
import { facts, findingsOf } from "../checks/helpers.ts";

const q2 = { type: "nvidia-257", framebufferMiB: 2048 }; // RTX6000-2Q
const b2 = { type: "nvidia-436", framebufferMiB: 2048 }; // RTX6000-2B
const q4 = { type: "nvidia-259", framebufferMiB: 4096 }; // RTX6000-4Q

describe("sharingRule per driver era", () => {
  it("is one type per GPU before 525 (vGPU 14 = 510, vGPU 13 = 470)", () => {
    for (const v of ["510.108.03", "470.129.04"])
      expect(sharingRule({ driverVersion: v, mixedSizes: false, fallback: "one-size" })).toBe("one-type");
  });
  it("is one framebuffer size from 525 on (15.1, 16.x, 17.x, 19.x)", () => {
    for (const v of ["525.85.07", "535.216.01", "550.127.06", "580.159.01"])
      expect(sharingRule({ driverVersion: v, mixedSizes: false, fallback: "one-type" })).toBe("one-size");
  });
  it("follows nvidia-smi -q's Heterogeneous Time-Slice Profiles over the branch", () => {
    expect(
      sharingRule({
        driverVersion: "535.216.01",
        heterogeneousProfiles: "Not Supported",
        mixedSizes: false,
        fallback: "one-size",
      }),
    ).toBe("one-type");
    expect(
      sharingRule({
        driverVersion: null,
        heterogeneousProfiles: "Supported",
        mixedSizes: false,
        fallback: "one-type",
      }),
    ).toBe("one-size");
  });
  it("is mixed sizes in mixed-size mode, and the fallback when the branch is unknown", () => {
    expect(sharingRule({ driverVersion: "550.127.06", mixedSizes: true, fallback: "one-type" })).toBe(
      "mixed-sizes",
    );
    expect(sharingRule({ driverVersion: null, mixedSizes: false, fallback: "one-type" })).toBe("one-type");
  });
});

describe("canShareGpu", () => {
  it("one-type: only the same type", () => {
    expect(canShareGpu("one-type", q2, q2)).toBe(true);
    expect(canShareGpu("one-type", q2, b2)).toBe(false);
  });
  it("one-size: 2B and 2Q together, not 2Q and 4Q", () => {
    expect(canShareGpu("one-size", q2, b2)).toBe(true);
    expect(canShareGpu("one-size", q2, q4)).toBe(false);
    // an unknown size falls back to the type
    expect(sharingKey("one-size", "nvidia-999", null)).toBe("nvidia-999");
  });
  it("mixed-sizes: anything", () => {
    expect(canShareGpu("mixed-sizes", q2, q4)).toBe(true);
  });
});

describe("doctor's mixed-types follows the rule of the host's driver branch", () => {
  type F = ReturnType<typeof healthyFacts>;
  const withVgpus = (types: Record<number, string>, driver: string) => (f: F) => {
    f.vms = Object.entries(types).map(([id, t]) => vm(Number(id), `vm${id}`, "l26", [mdevEntry(0, t)]));
    f.qmList = f.vms.map((v) => ({ vmid: v.vmid, name: v.name!, status: "stopped" }));
    f.loadedDriverVersion = driver;
  };
  const mixed = (f: F) => findingsOf(f).filter((x) => x.code === "mixed-types");

  it("525: 2Q and 2B on one GPU raise nothing; 2Q and 4Q raise one finding about sizes", () => {
    expect(
      mixed(facts(healthyFacts, withVgpus({ 100: "nvidia-257", 101: "nvidia-436" }, "525.85.07"))),
    ).toEqual([]);
    const [x] = mixed(facts(healthyFacts, withVgpus({ 100: "nvidia-257", 101: "nvidia-259" }, "525.85.07")));
    expect(x!.title).toContain("vGPU types of 2 framebuffer sizes");
    expect(x!.fix[0]).toContain("Use one framebuffer size for every VM on 0000:01:00.0");
  });

  it("510 (vGPU 14): 2Q and 2B on one GPU are two types, one finding", () => {
    const [x, ...rest] = mixed(
      facts(healthyFacts, withVgpus({ 100: "nvidia-257", 101: "nvidia-436" }, "510.108.03")),
    );
    expect(rest).toEqual([]);
    expect(x!.title).toContain("VMs use 2 different vGPU types");
    expect(x!.title).toContain("before vGPU 15 (driver 525) only one type");
  });
});
