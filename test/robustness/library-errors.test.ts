// Three pure helpers map the ONE error their library raises for bad input to null — and only that one:
// smol-toml's TomlError (unlockValue), vramLayout()'s UserError (vramBytes), JSON.parse's SyntaxError
// (parseMdevctlListJson). Any other error is a bug and must reach the caller. The bug is injected
// into the library for one sentinel input; every other input goes to the real library.
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseMdevctlListJson } from "../../src/facts/nvidia/mdevctl.ts";
import { vramBytes } from "../../src/formats/profile-override/layout.ts";
import { unlockValue } from "../../src/plan/unlock-config.ts";

const BROKEN_TOML = "# makes the mocked parser fail with a bug\n";
const BROKEN_MIB = 12_345;

vi.mock("smol-toml", async (importOriginal) => {
  const real = await importOriginal<typeof import("smol-toml")>();
  return {
    ...real,
    parse: (text: string) => {
      if (text === BROKEN_TOML) throw new TypeError("Cannot read properties of undefined (reading 'peek')");
      return real.parse(text);
    },
  };
});

vi.mock("../../src/knowledge/vram.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/knowledge/vram.ts")>();
  return {
    ...real,
    vramLayout: (mib: number) => {
      if (mib === BROKEN_MIB) throw new TypeError("NVIDIA_EXCEPTIONS is not iterable");
      return real.vramLayout(mib);
    },
  };
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("unlockValue (vgpu_unlock config.toml)", () => {
  it("TOML that does not parse is unknown (null)", () => {
    expect(unlockValue("unlock = \n")).toBeNull();
  });

  it("a parser bug is thrown, not taken for an unparsable file", () => {
    expect(() => unlockValue(BROKEN_TOML)).toThrow(TypeError);
  });
});

describe("vramBytes (profile_override.toml sizes)", () => {
  it("a size vramLayout() refuses (too small) is null", () => {
    expect(vramBytes(64)).toBeNull();
  });

  it("a bug in vramLayout() is thrown, not taken for an invalid size", () => {
    expect(() => vramBytes(BROKEN_MIB)).toThrow(TypeError);
  });
});

describe("parseMdevctlListJson", () => {
  it("text that is not JSON is unknown (null)", () => {
    expect(parseMdevctlListJson("{not json")).toBeNull();
  });

  it("an error of JSON.parse other than SyntaxError is thrown", () => {
    vi.spyOn(JSON, "parse").mockImplementation(() => {
      throw new RangeError("Maximum call stack size exceeded");
    });
    expect(() => parseMdevctlListJson("[]")).toThrow(RangeError);
  });
});
