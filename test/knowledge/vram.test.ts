import { describe, expect, it } from "vitest";
import { overrideLines, parseSize, vramLayout } from "../../src/knowledge/vram.ts";
import { UserError } from "../../src/util/errors.ts";

// source: seed guide "Common VRAM sizes", seed/vgpu-split-passthrough-guide.txt lines 392-436
// (the same table as polloloco's guide; research/unlock.md §5.1).
const SEED_TABLE: Array<[string, string, string]> = [
  ["512MB", "0x1A000000", "0x6000000"],
  ["1GB", "0x38000000", "0x8000000"],
  ["2GB", "0x74000000", "0xC000000"],
  ["3GB", "0xB0000000", "0x10000000"],
  ["4GB", "0xEC000000", "0x14000000"],
  ["5GB", "0x128000000", "0x18000000"],
  ["6GB", "0x164000000", "0x1C000000"],
  ["8GB", "0x1DC000000", "0x24000000"],
  ["10GB", "0x254000000", "0x2C000000"],
  ["12GB", "0x2CC000000", "0x34000000"],
  ["16GB", "0x3BC000000", "0x44000000"],
  ["20GB", "0x4AC000000", "0x54000000"],
  ["24GB", "0x59C000000", "0x64000000"],
  ["32GB", "0x77C000000", "0x84000000"],
  // 48 GB is the exception: not VRAM/16 + 64 MiB (that would be 0xB3C000000 / 0xC4000000) but NVIDIA's
  // own RTX8000-48Q profile values, which the guide copied (research/unlock.md §5.2). vramLayout mirrors
  // the guide for this size.
  ["48GB", "0xB2D200000", "0xD2E00000"],
];

describe("vramLayout reproduces every row of the seed guide's VRAM table", () => {
  for (const [size, fb, res] of SEED_TABLE) {
    it(size, () => {
      const l = vramLayout(parseSize(size));
      expect(l.framebufferHex).toBe(fb);
      expect(l.reservationHex).toBe(res);
      // "framebuffer and framebuffer_reservation will always equal the VRAM size in bytes when added together"
      expect(l.framebuffer + l.reservation).toBe(l.vramMiB * 1024 * 1024);
      expect(l.framebuffer).toBe(Number.parseInt(fb, 16));
    });
  }

  it("uses the formula everywhere except 48 GiB", () => {
    expect(vramLayout(49152).rule).toBe("nvidia-profile");
    expect(vramLayout(3072).rule).toBe("formula");
    // 13 GiB override reported working on 17.5 (research/unlock.md §5.3, mbilker/vgpu_unlock-rs#42)
    expect(vramLayout(13 * 1024)).toMatchObject({
      framebufferHex: "0x308000000",
      reservationHex: "0x38000000",
    });
  });

  it("gives the lines to paste into profile_override.toml", () => {
    // source: seed guide line 365-366 (the 2 GB example of the override file)
    expect(overrideLines(vramLayout(2048))).toEqual([
      "framebuffer = 0x74000000",
      "framebuffer_reservation = 0xC000000",
    ]);
  });

  it("refuses sizes whose reservation would not fit", () => {
    expect(() => vramLayout(64)).toThrow(UserError);
    expect(() => vramLayout(1000.5)).toThrow(UserError);
  });
});

describe("parseSize", () => {
  it.each([
    ["3G", 3072],
    ["3GB", 3072],
    ["3GiB", 3072],
    ["3 g", 3072],
    ["512M", 512],
    ["512MiB", 512],
    ["1.5G", 1536],
    [" 24G ", 24576],
  ])("%s → %i MiB", (input, mib) => {
    expect(parseSize(input)).toBe(mib);
  });

  it.each([
    ["3GG", /unknown unit "GG"/],
    ["0", /greater than zero/],
    ["0G", /greater than zero/],
    ["-2G", /negative/],
    ["512", /no unit/],
    ["", /empty/],
    ["lots", /not a VRAM size/],
    ["1.0001G", /whole number of MiB/],
  ])("rejects %j with a message saying what is wrong", (input, message) => {
    let error: unknown;
    try {
      parseSize(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(message);
    // every message comes with an example of a valid size
    expect((error as UserError).hint).toMatch(/e\.g\. "512M"/);
  });
});
