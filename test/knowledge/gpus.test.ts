import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SPOOF_RANGE_IDS } from "../../src/knowledge/gpu-ids.ts";
import {
  classifyGpu,
  GPU_TABLE,
  normalizeDeviceId,
  pciIdsName,
  SPOOF_RANGES,
  spoofRangeFor,
} from "../../src/knowledge/gpus.ts";

const c = (deviceId: string, subsystemDeviceId?: string) => classifyGpu({ deviceId, subsystemDeviceId });

describe("classifyGpu", () => {
  it("1e07 RTX 2080 Ti (the seed guide's card) → unlock, spoofed as Quadro RTX 6000 1e30/12ba", () => {
    // source: research/unlock.md §1.8 Turing row; seed guide "all my tests were done on a RTX 2080 Ti"
    const r = c("1e07");
    expect(r).toMatchObject({
      deviceId: "1e07",
      name: "GeForce RTX 2080 Ti Rev. A",
      generation: "turing",
      vramMiB: 11264, // seed guide nvidia-smi: "85MiB / 11264MiB"
      support: "unlock",
      spoofAs: { deviceId: "1e30", name: "Quadro RTX 6000", subsystemId: "12ba" },
      needsSriov: false,
    });
    expect(r.supportReason).toMatch(/vgpu_unlock/);
  });

  it.each([
    ["1b38", "Tesla P40", "pascal"],
    ["1bb3", "Tesla P4", "pascal"],
    ["13bd", "Tesla M10", "maxwell"],
    ["13f2", "Tesla M60", "maxwell"],
    ["15f8", "Tesla P100 PCIe 16GB", "pascal"],
    ["1db6", "Tesla V100 PCIe 32GB", "volta"],
    ["1eb8", "Tesla T4", "turing"],
  ])("%s %s → native, no SR-IOV", (id, name, generation) => {
    // source: vgpuConfig.xml pgpu list, research/unlock.md §6
    expect(c(id)).toMatchObject({ name, generation, support: "native", spoofAs: null, needsSriov: false });
  });

  it.each([
    ["2236", "A10"],
    ["2235", "A40"],
    ["2230", "RTX A6000"],
    ["2231", "RTX A5000"],
    ["26b1", "RTX 6000 Ada Generation"],
    ["26b9", "L40S"],
    ["27b8", "L4"],
    ["20b5", "A100 PCIe 80GB"],
    ["2bb5", "RTX PRO 6000 Blackwell Server Edition"],
  ])("%s %s → native and needs SR-IOV", (id, name) => {
    // source: research/installers.md §3.3 (Ampere and newer native cards use SR-IOV VFs)
    expect(c(id)).toMatchObject({ name, support: "native", needsSriov: true, spoofAs: null });
  });

  it("A2 and A16 share 25b6 and are told apart by subsystem", () => {
    // source: vgpuConfig.xml pgpus 0x25B6/0x14A9 (A16 types) and 0x25B6/0x157E (A2 types), data/vgpu-types.csv
    expect(c("25b6", "14a9")).toMatchObject({
      name: "A16",
      support: "native",
      needsSriov: true,
      vramMiB: 16384,
    });
    expect(c("25b6", "157e")).toMatchObject({ name: "A2", support: "native", needsSriov: true });
    expect(c("25b6").name).toBe("A2 / A16");
  });

  it("Quadro RTX 6000 / 8000 (1e30) by subsystem", () => {
    // source: pci.ids subsystems 10de:12ba Quadro RTX 6000, 10de:129e Quadro RTX 8000 (fixture pci.ids.excerpt)
    expect(c("1e30", "12ba")).toMatchObject({ name: "Quadro RTX 6000", vramMiB: 24576, support: "native" });
    expect(c("1e30", "129e")).toMatchObject({ name: "Quadro RTX 8000", vramMiB: 49152, support: "native" });
  });

  it.each([
    ["2206", "GeForce RTX 3080", "ampere"],
    ["2204", "GeForce RTX 3090", "ampere"],
    ["2487", "GeForce RTX 3060", "ampere"],
    ["2684", "GeForce RTX 4090", "ada"],
    ["2882", "GeForce RTX 4060", "ada"],
    ["2b85", "GeForce RTX 5090", "blackwell"],
    ["24b0", "RTX A4000", "ampere"],
  ])("%s %s → unsupported: Ampere and newer cannot be unlocked", (id, name, generation) => {
    // source: seed guide "Supported cards" (Ampere / Ada only as vGPU-qualified boards); research/unlock.md §1.8
    const r = c(id);
    expect(r).toMatchObject({ name, generation, support: "unsupported", spoofAs: null, needsSriov: false });
    expect(r.supportReason).toMatch(
      /vgpu_unlock cannot unlock Ampere and newer; only vGPU-qualified boards work/,
    );
  });

  it("13c2 GTX 970 → unsupported (the Maxwell 2.0 exception)", () => {
    // source: seed guide "Most GPUs from the Maxwell 2.0 generation … EXCEPT the GTX 970"
    const r = c("13c2");
    expect(r).toMatchObject({
      name: "GeForce GTX 970",
      generation: "maxwell",
      support: "unsupported",
      spoofAs: null,
    });
    expect(r.supportReason).toMatch(/GTX 970/);
    expect(r.supportReason).toMatch(/3\.5 GB/);
  });

  it.each([
    ["13c0", "GeForce GTX 980"],
    ["17c8", "GeForce GTX 980 Ti"],
    ["13f1", "Quadro M4000"],
  ])("%s %s → unlock as Tesla M60", (id, name) => {
    expect(c(id)).toMatchObject({
      name,
      support: "unlock",
      spoofAs: { deviceId: "13f2", name: "Tesla M60" },
    });
  });

  it.each([
    ["1b80", "GeForce GTX 1080"],
    ["1b06", "GeForce GTX 1080 Ti"],
    ["1c82", "GeForce GTX 1050 Ti"],
    ["1b30", "Quadro P6000"],
  ])("%s %s (Pascal) → unlock as Tesla P40 1b38", (id, name) => {
    // source: research/unlock.md §1.8 Pascal row (vgpu_unlock-rs spoofs Pascal to P40, not P4)
    expect(c(id)).toMatchObject({
      name,
      generation: "pascal",
      support: "unlock",
      spoofAs: { deviceId: "1b38" },
    });
  });

  it.each([
    ["1f82", "GeForce GTX 1650"],
    ["2184", "GeForce GTX 1660"],
    ["1ff0", "T1000 8GB"],
    ["1eb1", "Quadro RTX 4000"],
  ])("%s %s (Turing) → unlock as Quadro RTX 6000", (id, name) => {
    expect(c(id)).toMatchObject({
      name,
      support: "unlock",
      spoofAs: { deviceId: "1e30", subsystemId: "12ba" },
    });
  });

  it("Volta consumer (TITAN V) → unlock as V100 32GB PCIe", () => {
    expect(c("1d81")).toMatchObject({ support: "unlock", spoofAs: { deviceId: "1db6" } });
  });

  it.each([
    ["1380", "GeForce GTX 750 Ti", /Maxwell 1\.0/],
    ["1180", "GeForce GTX 680", /Kepler/],
    ["11bf", "GRID K2", /Kepler/],
  ])("%s %s → unsupported", (id, name, reason) => {
    const r = c(id);
    expect(r).toMatchObject({ name, support: "unsupported" });
    expect(r.supportReason).toMatch(reason);
  });

  it("unknown and malformed ids → unsupported with a reason, never a throw", () => {
    expect(c("ffff")).toMatchObject({
      deviceId: "ffff",
      name: null,
      generation: null,
      support: "unsupported",
    });
    expect(c("ffff").supportReason).toMatch(/^unknown device id/);
    // inside a spoof range but not in the table: still unsupported, the reason says so
    expect(c("1e3f").supportReason).toMatch(/unknown device id 10de:1e3f.*Turing/);
    expect(c("not-an-id").support).toBe("unsupported");
    expect(c("").support).toBe("unsupported");
  });

  it("accepts 0x / 10de: prefixes and upper case", () => {
    expect(c("0x1E07").deviceId).toBe("1e07");
    expect(c("10de:1BB3").name).toBe("Tesla P4");
    expect(normalizeDeviceId(" 1E07 ")).toBe("1e07");
    expect(normalizeDeviceId("1e0")).toBeNull();
  });
});

describe("GPU table", () => {
  it("covers every id of research/unlock.md Appendix A (the vgpu_unlock-rs spoof ranges)", () => {
    // source: research/unlock.md (shared/ sits beside the checkout, in CI too)
    const appendix = readFileSync(new URL("../../../shared/research/unlock.md", import.meta.url), "utf8");
    const start = appendix.indexOf("## Appendix A");
    const end = appendix.indexOf("## Appendix B");
    const ids = [...appendix.slice(start, end).matchAll(/^\| 0x([0-9a-f]{4}) \| (.*) \|$/gm)]
      .filter((m) => !/Audio Controller|Tegra/.test(m[2]!))
      .map((m) => m[1]!);
    expect(ids.length).toBe(405);
    for (const id of ids) expect(GPU_TABLE.has(id), id).toBe(true);
  });

  it("every id the spoof-range list names lies in the range table it came from", () => {
    for (const [id] of SPOOF_RANGE_IDS) expect(spoofRangeFor(id), id).not.toBeNull();
  });

  it("the spoof targets are the vgpu_unlock-rs ones", () => {
    // source: research/unlock.md §1.8
    expect(SPOOF_RANGES.map((r) => [r.target.deviceId, r.target.subsystemId])).toEqual([
      ["13bd", "1160"],
      ["13f2", null],
      ["1b38", null],
      ["1db6", null],
      ["1e30", "12ba"],
      ["2230", null],
    ]);
    expect(spoofRangeFor("1e07")?.target.name).toBe("Quadro RTX 6000");
    expect(spoofRangeFor("2182")?.target.name).toBe("Quadro RTX 6000");
    expect(spoofRangeFor("1180")).toBeNull();
  });

  it("no consumer card of Ampere or newer is classified as unlockable", () => {
    for (const m of GPU_TABLE.values()) {
      const r = classifyGpu({ deviceId: m.deviceId });
      if (["ampere", "ada", "hopper", "blackwell"].includes(m.generation))
        expect(r.support, m.deviceId).not.toBe("unlock");
      if (r.support === "unlock") expect(r.spoofAs, m.deviceId).not.toBeNull();
      if (r.needsSriov) expect(r.support, m.deviceId).toBe("native");
    }
  });
});

describe("pciIdsName", () => {
  // source: test/fixtures/knowledge/pci.ids.excerpt (Debian pci.ids 2023.04.11, see SOURCES.md)
  const text = readFileSync(new URL("../fixtures/knowledge/pci.ids.excerpt", import.meta.url), "utf8");

  it("names NVIDIA devices", () => {
    expect(pciIdsName(text, "1e07")).toBe("TU102 [GeForce RTX 2080 Ti Rev. A]");
    expect(pciIdsName(text, "0x1E30")).toBe("TU102GL [Quadro RTX 6000/8000]");
    expect(pciIdsName(text, "28e1")).toBe("AD107M [GeForce RTX 4050 Max-Q / Mobile]");
  });

  it("ignores other vendors, subsystem lines and garbage", () => {
    expect(pciIdsName(text, "0100")).toBeNull(); // 10dd Evans & Sutherland
    expect(pciIdsName(text, "0720")).toBeNull(); // 10df Emulex
    expect(pciIdsName(text, "3715")).toBeNull(); // a subsystem id under 1e07
    expect(pciIdsName(text, "ffff")).toBeNull();
    expect(pciIdsName("garbage\n\n", "1e07")).toBeNull();
  });
});
