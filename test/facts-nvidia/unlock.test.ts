import { describe, expect, it } from "vitest";
import { parseProfileOverride, parseUnlockConfig } from "../../src/facts/nvidia/unlock.ts";
import { fixture } from "./fixture.ts";

describe("parseUnlockConfig", () => {
  it("reads `unlock = false` (seed guide line 108) and defaults to true", () => {
    expect(parseUnlockConfig("unlock = false\n")).toEqual({ unlock: false, error: null });
    expect(parseUnlockConfig("")).toEqual({ unlock: true, error: null });
    expect(parseUnlockConfig("# comment\nunlock_migration = true\n")).toEqual({ unlock: true, error: null });
  });

  it("reports a wrong type with its line (vgpu_unlock-rs aborts on it)", () => {
    const r = parseUnlockConfig("# vgpu_unlock\n\nunlock = 0\n");
    expect(r.unlock).toBe(false);
    expect(r.error).toMatchObject({ line: 3 });
    expect(r.error?.message).toMatch(/unlock.*true or false/);
    expect(parseUnlockConfig('unlock_migration = "yes"\n').error).toMatchObject({ line: 1 });
  });

  it("reports TOML syntax errors with their line, never throws", () => {
    const r = parseUnlockConfig("unlock = false\nunlock = true\n");
    expect(r.error?.line).toBe(2);
    expect(r.unlock).toBe(false);
    expect(parseUnlockConfig("unlock = \n").error?.line).toBe(1);
    for (const g of ["\u0000", "[[[", "unlock = false\r\n", "= ="])
      expect(() => parseUnlockConfig(g)).not.toThrow();
    expect(parseUnlockConfig("unlock = false\r\n")).toEqual({ unlock: false, error: null });
  });
});

describe("parseProfileOverride", () => {
  it("reads the seed guide's 1080p example with its header comment", () => {
    // source: seed guide lines 382-386
    expect(parseProfileOverride(fixture("seed-profile-override-1080p.toml"))).toEqual({
      sections: [
        {
          kind: "profile",
          key: "nvidia-259",
          line: 1,
          values: { num_displays: 1, display_width: 1920, display_height: 1080, max_pixels: 2073600 },
        },
      ],
      error: null,
    });
  });

  it("reports the duplicate key of the mangled seed example with line and column", () => {
    // source: seed guide lines 359-372 (the page lost the [profile.nvidia-259] and [vm.100] headers,
    // so `frl_enabled` appears twice at top level)
    const r = parseProfileOverride(fixture("seed-profile-override-mangled.toml"));
    expect(r.sections).toEqual([]);
    expect(r.error).toMatchObject({ line: 13 });
    expect(r.error?.column).toBeTypeOf("number");
    expect(r.error?.message).not.toContain("\n");
  });

  it("reads profile, vm and mdev sections in file order with header lines and typed values", () => {
    // seed guide lines 359-372 with the two headers line 374 describes put back
    const lines = fixture("seed-profile-override-mangled.toml").replace(/\n$/, "").split("\n");
    lines.splice(12, 0, "", "[vm.100]");
    const text = [
      "[profile.nvidia-259]",
      ...lines,
      "",
      '[mdev."00000000-0000-0000-0000-000000000101"]',
      "frl_enabled = true",
      "",
    ].join("\r\n");
    const r = parseProfileOverride(text);
    expect(r.error).toBeNull();
    expect(r.sections.map((s) => [s.kind, s.key, s.line])).toEqual([
      ["profile", "nvidia-259", 1],
      ["vm", "100", 15],
      ["mdev", "00000000-0000-0000-0000-000000000101", 19],
    ]);
    expect(r.sections[0]!.values).toMatchObject({
      framebuffer: 0x74000000,
      framebuffer_reservation: 0xc000000,
      cuda_enabled: 1,
    });
    expect(r.sections[1]!.values).toEqual({ frl_enabled: 0 });
    expect(r.sections[2]!.values).toEqual({ frl_enabled: true });
  });

  it("handles spaced/quoted headers, dotted keys, and skips nested values", () => {
    const text =
      '[ vm . "101" ]  # note\ncard_name = "GRID RTX6000-2Q"\nlist = [1, 2]\n\n[profile]\nnvidia-257.num_displays = 2\n';
    const r = parseProfileOverride(text);
    expect(r.sections).toEqual([
      { kind: "vm", key: "101", line: 1, values: { card_name: "GRID RTX6000-2Q" } },
      { kind: "profile", key: "nvidia-257", line: 6, values: { num_displays: 2 } },
    ]);
  });

  it("never throws on garbage", () => {
    for (const g of ["", "\u0000\u0001", "[profile.", "[vm.100]\nx = ", "[[vm]]\na=1", "profile = 3"]) {
      expect(() => parseProfileOverride(g)).not.toThrow();
    }
    expect(parseProfileOverride("profile = 3").sections).toEqual([]);
    expect(parseProfileOverride("[vm.100]\nx = ").error?.line).toBe(2);
  });
});
