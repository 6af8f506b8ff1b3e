/**
 * The knowledge base agrees with itself (src/knowledge/consistency.ts): every release cites http(s) sources and
 * no research note, no host driver is another release's guest driver, every board the vGPU type table names is
 * a known GPU, and no reason text contradicts the driver rows. The second block is the test of the test: a
 * doctored row must be reported.
 */
import { describe, expect, it } from "vitest";
import { checkKnowledge, type KnowledgeInput } from "../../src/knowledge/consistency.ts";
import { type DriverRelease, driverReleases, releaseDropsGeneration } from "../../src/knowledge/drivers.ts";
import { classifyGpu, GPU_TABLE } from "../../src/knowledge/gpus.ts";
import { vgpuTypes } from "../../src/knowledge/vgpu-types.ts";

const DRIVER_RELEASES = driverReleases();

function newestTuringPatch(releases: readonly DriverRelease[]): KnowledgeInput["newestTuringPatch"] {
  // vgpu_unlock presents Turing cards as a Quadro RTX 6000 (1e30): only releases that still have its profiles count
  const usable = releases.filter((r) => r.patch && !releaseDropsGeneration(r, "turing", "1e30"));
  const newest = (pred: (r: DriverRelease) => boolean) => usable.find(pred)?.vgpuRelease ?? null;
  return {
    polloloco: newest((r) => r.patch?.availability === "polloloco"),
    mirror: newest((r) => r.patch?.availability === "community-mirror"),
    any: newest(() => true),
  };
}

function realInput(): KnowledgeInput {
  return {
    releases: DRIVER_RELEASES,
    knownDeviceIds: new Set(GPU_TABLE.keys()),
    types: vgpuTypes(),
    reasons: [...GPU_TABLE.keys()].map((id) => ({
      deviceId: id,
      text: classifyGpu({ deviceId: id }).supportReason,
    })),
    newestTuringPatch: newestTuringPatch(DRIVER_RELEASES),
  };
}

const doctor = (vgpuRelease: string, change: Partial<DriverRelease>): DriverRelease[] =>
  DRIVER_RELEASES.map((r) => (r.vgpuRelease === vgpuRelease ? { ...r, ...change } : r));

describe("the knowledge base is consistent", () => {
  it("reports no problem", () => {
    expect(checkKnowledge(realInput())).toEqual([]);
  });

  it("covers what it claims to: 60 releases 13.0–20.1, every one with an http(s) source", () => {
    expect(DRIVER_RELEASES.length).toBe(60);
    for (const r of DRIVER_RELEASES)
      expect(
        r.sources.some((s) => /^https?:\/\//.test(s)),
        r.vgpuRelease,
      ).toBe(true);
  });
});

describe("the consistency check fails on a doctored row (test of the test)", () => {
  it("a release that lost its URL and cites a research note instead", () => {
    const p = checkKnowledge({ ...realInput(), releases: doctor("16.10", { sources: ["inst§2.1"] }) });
    expect(p.map((x) => [x.rule, x.subject])).toEqual([
      ["release-source", "16.10"],
      ["release-source", "16.10"],
    ]);
    expect(p[0]!.message).toMatch(/inst§2\.1/);
  });

  it("a host column holding another release's guest driver (the old 16.11 error)", () => {
    // old row: 16.11 host "535.261.03" — NVIDIA: that is 16.11's Linux guest; make it 16.10's guest here
    const p = checkKnowledge({
      ...realInput(),
      releases: doctor("16.11", { driverVersion: "535.247.01", patch: null }),
    });
    expect(p).toContainEqual(
      expect.objectContaining({
        rule: "host-equals-guest",
        subject: "16.11",
        message: expect.stringMatching(/16\.10's Linux guest/),
      }),
    );
  });

  it("a reason text that contradicts the rows (the old Turing text)", () => {
    const reasons = [
      {
        deviceId: "1e07",
        text: "consumer/non-vGPU card (Turing; unlock patches exist up to vGPU 17.x (some 18.x))",
      },
    ];
    const p = checkKnowledge({ ...realInput(), reasons });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ rule: "reason-contradicts-rows", subject: "1e07" });
    expect(p[0]!.message).toMatch(/newest such patch is 19\.4/);
  });

  it("a vGPU type whose physical board the GPU table does not know", () => {
    const types = [...vgpuTypes(), { type: "nvidia-9999", pgpu: { deviceId: "2bb9" } }];
    const p = checkKnowledge({ ...realInput(), types });
    expect(p).toEqual([expect.objectContaining({ rule: "type-board-unknown", subject: "2bb9" })]);
  });

  it("a release marked as sharing a host driver it does not share", () => {
    const p = checkKnowledge({
      ...realInput(),
      releases: doctor("17.1", { sharesHostDriverWith: ["17.0"] }),
    });
    expect(p).toEqual([expect.objectContaining({ rule: "shared-host-driver", subject: "17.1" })]);
  });
});
