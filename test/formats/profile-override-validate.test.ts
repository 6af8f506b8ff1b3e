import { describe, expect, it } from "vitest";
import { parseProfileOverride } from "../../src/facts/nvidia/unlock.ts";
import { validateOverride } from "../../src/formats/profile-override/index.ts";
import { SEED_PROFILE_OVERRIDE } from "../helpers/seed-override.ts";

// source: seed guide lines 359-371 (the example override file) with the two table headers the guide names
// on line 374 ("the first being [profile.nvidia-259] and the second [vm.100]"), which the captured text lost.
const SEED = SEED_PROFILE_OVERRIDE;

// source: seed guide lines 393-436, "Common VRAM sizes" (512MB … 48GB)
const SEED_VRAM_PAIRS: Array<[string, string]> = [
  ["0x1A000000", "0x6000000"],
  ["0x38000000", "0x8000000"],
  ["0x74000000", "0xC000000"],
  ["0xB0000000", "0x10000000"],
  ["0xEC000000", "0x14000000"],
  ["0x128000000", "0x18000000"],
  ["0x164000000", "0x1C000000"],
  ["0x1DC000000", "0x24000000"],
  ["0x254000000", "0x2C000000"],
  ["0x2CC000000", "0x34000000"],
  ["0x3BC000000", "0x44000000"],
  ["0x4AC000000", "0x54000000"],
  ["0x59C000000", "0x64000000"],
  ["0x77C000000", "0x84000000"],
  ["0xB2D200000", "0xD2E00000"],
];

function only(text: string) {
  const issues = validateOverride(text);
  expect(issues).toHaveLength(1);
  return issues[0]!;
}

describe("validateOverride", () => {
  it("accepts the seed guide's example file", () => {
    expect(validateOverride(SEED)).toEqual([]);
  });

  it("accepts an empty file (the guide starts with `touch`)", () => {
    expect(validateOverride("")).toEqual([]);
  });

  it.each(SEED_VRAM_PAIRS)("accepts the guide's VRAM pair framebuffer = %s, reservation = %s", (fb, res) => {
    expect(validateOverride(`[vm.100]\nframebuffer = ${fb}\nframebuffer_reservation = ${res}\n`)).toEqual([]);
  });

  it("accepts the formula pair for 48 GiB as well as NVIDIA's RTX8000-48Q pair (research/unlock.md §5.2)", () => {
    expect(
      validateOverride("[vm.100]\nframebuffer = 0xB3C000000\nframebuffer_reservation = 0xC4000000\n"),
    ).toEqual([]);
    // NVIDIA RTX6000-12Q deviates upward (research/unlock.md §5.2 table)
    expect(
      validateOverride("[vm.100]\nframebuffer = 0x2CA000000\nframebuffer_reservation = 0x36000000\n"),
    ).toEqual([]);
  });

  it("reports TOML syntax errors with smol-toml's line and column", () => {
    const i = only("[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = = 0xC000000\n");
    expect(i).toMatchObject({ severity: "error", line: 3, key: null });
    expect(i.column).toBeGreaterThan(0);
    expect(i.message).toMatch(/TOML syntax error/);
    expect(i.fix).toContain("line 3");
  });

  it("reports a duplicated table as a syntax error on the second header", () => {
    const i = only("[vm.100]\nframebuffer = 0x74000000\n[vm.100]\nframebuffer_reservation = 0xC000000\n");
    expect(i.line).toBe(3);
  });

  it("hints at 1/0 when a Python-style boolean breaks the syntax", () => {
    const i = only("[vm.100]\ncuda_enabled = True\n");
    expect(i).toMatchObject({ severity: "error", line: 2 });
    expect(i.message).toContain("1/0");
  });

  it("flags booleans where vgpu_unlock-rs wants 0/1 integers (true vs 1)", () => {
    const i = only("[profile.nvidia-259]\nnum_displays = 1\ncuda_enabled = true   # on\n");
    expect(i).toEqual({
      severity: "error",
      line: 3,
      column: 16,
      key: "profile.nvidia-259.cuda_enabled",
      message: expect.stringContaining("boolean"),
      fix: "cuda_enabled = 1",
    });
    expect(only("[vm.100]\nfrl_enabled = false\n").fix).toBe("frl_enabled = 0");
  });

  it("warns when a flag is neither 0 nor 1 (clamped)", () => {
    expect(only("[vm.100]\nfrl_enabled = 5\n")).toMatchObject({
      severity: "warning",
      fix: "frl_enabled = 1",
    });
  });

  it("suggests the closest known key for a typo", () => {
    const i = only(
      "[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\nnum_display = 2\n",
    );
    expect(i).toMatchObject({ severity: "error", line: 4, column: 1, key: "vm.100.num_display" });
    expect(i.fix).toBe("did you mean num_displays? rename it: num_displays = 2");
  });

  it("keeps the hex spelling in the typo fix", () => {
    const issues = validateOverride("[vm.100]\nframebufer = 0x74000000\n");
    expect(issues[0]!.fix).toContain("framebuffer = 0x74000000");
  });

  it("explains retired key names", () => {
    const i = only("[vm.100]\nmig_enabled = 1\n");
    expect(i.severity).toBe("error");
    expect(i.fix).toMatch(/unlock_migration/);
  });

  it("rejects uppercase mdev UUIDs and offers the lowercase spelling", () => {
    const i = only(
      "[mdev.0000000A-0000-0000-0000-00000000010B]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n",
    );
    expect(i).toMatchObject({ severity: "error", line: 1, key: "mdev.0000000A-0000-0000-0000-00000000010B" });
    expect(i.fix).toBe("rename it to [mdev.0000000a-0000-0000-0000-00000000010b]");
  });

  it.each([
    [
      "[profile.259]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n",
      "rename it to [profile.nvidia-259]",
    ],
    ["[profile.GRID-RTX6000-4Q]\nnum_displays = 1\n", "mdevctl types"],
    ["[vm.0100]\nnum_displays = 1\n", "rename it to [vm.100]"],
    ["[vm.win11]\nnum_displays = 1\n", "VMID"],
    ["[mdev.not-a-uuid]\nnum_displays = 1\n", "lowercase"],
    ["[profiles.nvidia-259]\nnum_displays = 1\n", "rename it to [profile.…]"],
  ])("rejects the invalid section name in %j", (text, fix) => {
    const i = only(text);
    expect(i.severity).toBe("error");
    expect(i.line).toBe(1);
    expect(i.fix).toContain(fix);
  });

  it("warns (not errors) about a section from a fork, like [custom]", () => {
    expect(only('[custom]\nspoofed_devid = "0x2230"\n')).toMatchObject({
      severity: "warning",
      key: "custom",
    });
  });

  it("flags keys written outside any table and keys directly under [vm]", () => {
    expect(only("num_displays = 1\n")).toMatchObject({ severity: "error", line: 1, key: "num_displays" });
    expect(only("[vm]\nframebuffer = 0x74000000\n")).toMatchObject({
      severity: "error",
      line: 2,
      key: "vm.framebuffer",
    });
  });

  it("flags a framebuffer/reservation pair that does not fit a VRAM size and gives the right pair", () => {
    // 2 GB framebuffer with the 3 GB reservation (two rows of the guide's table mixed up)
    const i = only("[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = 0x10000000\n");
    expect(i).toMatchObject({ severity: "warning", line: 3, key: "vm.100.framebuffer_reservation" });
    expect(i.message).toContain("2112 MiB");
    expect(i.fix).toBe("for 2048 MiB use framebuffer = 0x74000000 and framebuffer_reservation = 0xC000000");
  });

  it("warns when only one half of the VRAM pair is set, suggesting the pair", () => {
    const i = only("[vm.100]\nframebuffer = 0xB0000000\n");
    expect(i.severity).toBe("warning");
    expect(i.fix).toContain("framebuffer = 0xB0000000 and framebuffer_reservation = 0x10000000");
  });

  it("errors on framebuffer = 0", () => {
    expect(only("[vm.100]\nframebuffer = 0\nframebuffer_reservation = 0x4000000\n").severity).toBe("error");
  });

  it("rejects hex strings for sizes but accepts unit strings", () => {
    const i = only('[vm.100]\nframebuffer = "0x74000000"\nframebuffer_reservation = 0xC000000\n');
    expect(i).toMatchObject({
      severity: "error",
      line: 2,
      column: 15,
      fix: "write the hex number without quotes: framebuffer = 0x74000000",
    });
    // "1856MiB" + 192 MiB = 2 GiB → consistent
    expect(
      validateOverride('[vm.100]\nframebuffer = "1856MiB"\nframebuffer_reservation = "192MiB"\n'),
    ).toEqual([]);
    expect(only('[vm.100]\nframebuffer = "2 gigs"\nframebuffer_reservation = 0xC000000\n').severity).toBe(
      "error",
    );
  });

  it("rejects floats, quoted numbers and out-of-range integers for integer keys", () => {
    expect(only("[vm.100]\nnum_displays = 1.0\n").severity).toBe("error");
    expect(
      only("[vm.100]\nframe_rate = 1\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n").fix,
    ).toMatch(/remove it|did you mean/);
    expect(only('[vm.100]\nfrl_config = "60"\n')).toMatchObject({
      severity: "error",
      fix: "frl_config = 60",
    });
    expect(only("[vm.100]\nencoder_capacity = 0x100000000\n").severity).toBe("error");
    expect(only("[vm.100]\nencoder_capacity = -1\n").severity).toBe("error");
  });

  it("checks string types and lengths", () => {
    expect(only("[vm.100]\nvgpu_type = 1\n").fix).toBe('quote it: vgpu_type = "1"');
    expect(only(`[vm.100]\ncard_name = "${"X".repeat(40)}"\n`).severity).toBe("warning");
    expect(only(`[vm.100]\ncard_name = "${"X".repeat(70)}"\n`).severity).toBe("error");
    expect(validateOverride('[vm.100]\nvgpu_type = "NVS"\ncard_name = "GRID RTX6000-4Q"\n')).toEqual([]);
  });

  it("checks max_pixels against display_width × display_height (× num_displays)", () => {
    const low = only("[vm.100]\ndisplay_width = 2560\ndisplay_height = 1440\nmax_pixels = 2073600\n");
    expect(low).toMatchObject({ severity: "warning", line: 4, column: 14 });
    expect(low.fix).toBe("max_pixels = 3686400  # 2560 × 1440");
    const heads = only(
      "[vm.100]\nnum_displays = 2\ndisplay_width = 1920\ndisplay_height = 1080\nmax_pixels = 2073600\n",
    );
    expect(heads.fix).toBe("max_pixels = 4147200  # 1920 × 1080 × 2");
    expect(
      validateOverride(
        "[vm.100]\nnum_displays = 2\ndisplay_width = 1920\ndisplay_height = 1080\nmax_pixels = 4147200\n",
      ),
    ).toEqual([]);
    expect(only("[vm.100]\ndisplay_width = 1920\ndisplay_height = 1080\n").fix).toBe(
      "max_pixels = 2073600  # 1920 × 1080",
    );
    expect(only("[vm.100]\ndisplay_width = 1920\n").severity).toBe("warning");
  });

  it("never throws on garbage", () => {
    for (const text of [
      "\u0000\u0001[",
      "[[vm]]\na=1",
      "vm = 5",
      "vm = [1, 2]",
      "[vm.100.x]\ny = 1",
      "x = 1979-05-27",
      '"',
      "[vm.100]\nframebuffer = 1e3",
    ]) {
      expect(() => validateOverride(text)).not.toThrow();
      expect(validateOverride(text).length).toBeGreaterThan(0);
    }
  });
});

describe("parseProfileOverride (the one reader)", () => {
  it("returns the typed Facts shape with header lines", () => {
    const f = parseProfileOverride(SEED);
    expect(f.error).toBeNull();
    expect(f.sections.map((s) => [s.kind, s.key, s.line])).toEqual([
      ["profile", "nvidia-259", 1],
      ["vm", "100", 14],
    ]);
    expect(f.sections[0]!.values.framebuffer).toBe(0x74000000);
  });

  it("returns the syntax error instead of throwing", () => {
    const f = parseProfileOverride("[vm.100\n");
    expect(f.sections).toEqual([]);
    expect(f.error?.line).toBe(1);
  });
});
