import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error — plain .mjs build script without type declarations
import { renderGenerated } from "../../scripts/gen-vgpu-types.mjs";
import { findType, seriesOf, typesForBoard, typesForGpu, vgpuTypes } from "../../src/knowledge/vgpu-types.ts";

const root = new URL("../../", import.meta.url);

describe("generated table", () => {
  it("src/knowledge/vgpu-types.generated.ts is current (run node scripts/gen-vgpu-types.mjs)", () => {
    const csv = readFileSync(new URL("src/knowledge/data/vgpu-types.csv", root), "utf8");
    const newer = readFileSync(new URL("src/knowledge/data/vgpu-types-blackwell.csv", root), "utf8");
    const generated = readFileSync(new URL("src/knowledge/vgpu-types.generated.ts", root), "utf8");
    expect(generated).toBe(renderGenerated(csv, newer));
  });

  it("holds all 586 types of vgpuConfig.xml with consistent sizes", () => {
    // source: research/unlock.md S3 "586 vgpuTypes"; §5.1 profileSize = framebuffer + reservation (+ GSP heap)
    const fromXml = vgpuTypes().filter((t) => !t.partial);
    expect(fromXml).toHaveLength(586);
    for (const t of fromXml) {
      expect(t.type).toBe(`nvidia-${t.id}`);
      expect(t.framebufferMiB).toBe(t.profileMiB);
      const sum = (t.framebufferBytes ?? 0) + (t.reservationBytes ?? 0) + (t.gspHeapBytes ?? 0);
      // 12 Ada 1 GiB GSP types keep the heap outside the profile (research/unlock.md §5.2)
      if (t.gspHeapBytes === null) expect(sum, t.name).toBe(t.profileBytes);
      expect(t.series, t.name).not.toBeNull();
    }
  });

  it("the shared CSV and the repository copy are identical", () => {
    // source: the CSV is copied from the shared data set (src/knowledge/data/SOURCES.md)
    const shared = readFileSync(new URL("../shared/data/vgpu-types.csv", root), "utf8");
    expect(readFileSync(new URL("src/knowledge/data/vgpu-types.csv", root), "utf8")).toBe(shared);
  });
});

describe("newer boards (vgpu-types-blackwell.csv)", () => {
  it("RTX PRO 6000 Blackwell Server Edition (2bb5) offers the types a 580.x host driver reports for it", () => {
    // source: `nvidia-smi vgpu -s -v` on an RTX PRO 6000 Blackwell, driver 580.105.06 (src/knowledge/data/SOURCES.md):
    // "vGPU Type ID : 0x5f1 / Name : NVIDIA RTX Pro 6000 Blackwell DC-4Q / Max Instances : 24 / FB Memory : 4096 MiB"
    const t = typesForGpu("2bb5");
    expect(t.map((x) => x.type)).toEqual(["nvidia-1518", "nvidia-1519", "nvidia-1521", "nvidia-1540"]);
    expect(findType("0x5f1")).toMatchObject({
      name: "NVIDIA RTX Pro 6000 Blackwell DC-4Q",
      maxInstances: 24,
      profileMiB: 4096,
    });
    expect(findType("RTX Pro 6000 Blackwell DC-48Q")?.maxInstances).toBe(2);
    expect(t.every((x) => x.partial === true)).toBe(true);
  });

  it("partial rows never reuse an id of the XML table", () => {
    const ids = vgpuTypes().map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("findType", () => {
  it.each(["nvidia-259", "259", "GRID RTX6000-4Q", "RTX6000-4Q", "grid rtx6000-4q", "0x103"])("%s", (q) => {
    const t = findType(q);
    // source: seed guide "[profile.nvidia-259] … (thats GRID RTX6000-4Q)"; 0x103 = 259 as nvidia-vgpud logs it
    expect(t?.type).toBe("nvidia-259");
    expect(t?.name).toBe("GRID RTX6000-4Q");
  });

  it("finds NVIDIA-prefixed Ampere/Ada names and returns null for unknown ones", () => {
    expect(findType("NVIDIA A16-2Q")?.type).toBe("nvidia-712");
    expect(findType("A16-2Q")?.type).toBe("nvidia-712");
    expect(findType("RTX6000-Ada-4Q")?.name).toBe("NVIDIA RTX6000-Ada-4Q");
    expect(findType("nvidia-99999")).toBeNull();
    expect(findType("GRID RTX6000-5Q")).toBeNull();
    expect(findType("")).toBeNull();
  });

  it("short names are unique", () => {
    const names = vgpuTypes().map((t) => t.shortName);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("seriesOf", () => {
  it.each([
    ["GRID RTX6000-4Q", "Q"],
    ["GRID RTX6000-4B", "B"],
    ["GRID RTX6000-4A", "A"],
    ["GRID RTX6000-4C", "C"],
    ["GRID P4-2B4", "B"],
    ["NVIDIA RTX6000-Ada-48Q", "Q"],
    ["garbage", null],
  ])("%s → %s", (name, series) => {
    expect(seriesOf(name)).toBe(series);
  });
});

describe("typesForGpu", () => {
  it("an unlocked RTX 2080 Ti offers the Quadro RTX 6000 types the seed guide's mdevctl shows", () => {
    // source: seed guide `mdevctl types` output (nvidia-256 … 258)
    const types = typesForGpu("1e07");
    expect(types.map((t) => t.type)).toContain("nvidia-259");
    expect(types.every((t) => t.name.startsWith("GRID RTX6000-"))).toBe(true);
    expect(types).toHaveLength(18);
    const byName = Object.fromEntries(types.map((t) => [t.name, t]));
    expect(byName["GRID RTX6000-1Q"]).toMatchObject({
      framebufferMiB: 1024,
      numHeads: 4,
      maxResolution: "5120x2880",
      maxInstances: 24,
      frlFps: 60,
    });
    expect(byName["GRID RTX6000-2Q"]).toMatchObject({
      framebufferMiB: 2048,
      maxResolution: "7680x4320",
      maxInstances: 12,
    });
    expect(byName["GRID RTX6000-3Q"]).toMatchObject({
      framebufferMiB: 3072,
      maxResolution: "7680x4320",
      maxInstances: 8,
    });
  });

  it("a GTX 1080 offers Tesla P40 types; a Tesla P4 its own", () => {
    expect(typesForGpu("1b80").every((t) => t.name.startsWith("GRID P40-"))).toBe(true);
    const p4 = typesForGpu("1bb3");
    expect(p4.length).toBe(12);
    expect(p4.every((t) => t.name.startsWith("GRID P4-"))).toBe(true);
    expect(p4.find((t) => t.name === "GRID P4-8Q")?.maxInstances).toBe(1);
  });

  it("boards sharing a device id are split by subsystem", () => {
    expect(typesForGpu("1e30", "129e").every((t) => t.name.startsWith("GRID RTX8000-"))).toBe(true);
    expect(typesForGpu("25b6", "157e").every((t) => t.name.startsWith("NVIDIA A2-"))).toBe(true);
    expect(typesForBoard("25b6").length).toBe(24); // A2 + A16 when the subsystem is unknown
  });

  it("unsupported and compute-only boards offer none", () => {
    expect(typesForGpu("2206")).toEqual([]);
    expect(typesForGpu("13c2")).toEqual([]);
    expect(typesForGpu("20b5")).toEqual([]);
    expect(typesForGpu("zzzz")).toEqual([]);
  });
});
