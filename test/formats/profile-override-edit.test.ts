import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { setOverride, unsetOverride, validateOverride } from "../../src/formats/profile-override/index.ts";
import { parseSize } from "../../src/knowledge/vram.ts";
import { UserError } from "../../src/util/errors.ts";
import { SEED_PROFILE_OVERRIDE } from "../helpers/seed-override.ts";

// source: seed guide lines 359-371 (example override file, comments as written in the guide) plus the two
// headers named on line 374 and a leading comment of our own.
const SEED = `# /etc/vgpu_unlock/profile_override.toml\n${SEED_PROFILE_OVERRIDE}`;

const GiB = 1024 ** 3;

/** Lines that differ between a and b when b only replaced lines (same line count). */
function replacedLines(a: string, b: string): number[] {
  const x = a.split("\n");
  const y = b.split("\n");
  expect(y.length).toBe(x.length);
  return x.flatMap((line, i) => (line === y[i] ? [] : [i + 1]));
}

function table(text: string, kind: string, key: string): Record<string, unknown> {
  const doc = parse(text, { integersAsBigInt: true }) as Record<
    string,
    Record<string, Record<string, unknown>>
  >;
  return doc[kind]![key]!;
}

describe("setOverride", () => {
  it("--vram 3G on the guide's profile changes exactly the two framebuffer lines, keeping comments and hex", () => {
    const mib = parseSize("3G");
    expect(mib).toBe(3072);
    const r = setOverride(SEED, { kind: "profile", key: "nvidia-259" }, { vramMiB: mib });
    expect(replacedLines(SEED, r.text)).toEqual([9, 10]);
    expect(r.changedLines).toEqual([9, 10]);
    const lines = r.text.split("\n");
    expect(lines[8]).toBe("framebuffer = 0xB0000000");
    // the trailing comment keeps its column
    expect(lines[9]).toBe("framebuffer_reservation = 0x10000000  # In combination with the framebuffer size");
    expect(lines[9]!.indexOf("#")).toBe(SEED.split("\n")[9]!.indexOf("#"));
    // every comment of the input is still there
    for (const c of SEED.split("\n").filter((l) => l.includes("#"))) {
      const comment = c.slice(c.indexOf("#"));
      expect(r.text).toContain(comment);
    }
    const t = table(r.text, "profile", "nvidia-259");
    expect(Number(t.framebuffer) + Number(t.framebuffer_reservation)).toBe(3 * GiB);
    expect(validateOverride(r.text)).toEqual([]);
  });

  it("adds missing keys to an existing [vm.N] table after its last key, as integers 0/1 and hex sizes", () => {
    const r = setOverride(SEED, { kind: "vm", key: "100" }, { vramMiB: 2048, cuda: false, frl: true });
    const lines = r.text.split("\n");
    expect(r.changedLines).toEqual([16, 17, 18, 19]);
    expect(lines.slice(14, 20)).toEqual([
      "[vm.100]",
      "frl_enabled = 1",
      "cuda_enabled = 0",
      "framebuffer = 0x74000000",
      "framebuffer_reservation = 0xC000000",
      "# You can override all the options from above here too. If you want to add more overrides for a new VM, just copy this block and change the VM ID",
    ]);
    // everything before the table is byte-identical
    expect(r.text.startsWith(SEED.split("[vm.100]")[0]!)).toBe(true);
    const t = table(r.text, "vm", "100");
    expect(t.cuda_enabled).toBe(0n);
    expect(t.frl_enabled).toBe(1n);
  });

  it("creates a new table for a new VM after the last [vm.*] block", () => {
    const r = setOverride(
      SEED,
      { kind: "vm", key: "101" },
      { vramMiB: parseSize("1G"), display: { width: 1920, height: 1080 } },
    );
    const t = table(r.text, "vm", "101");
    expect(t).toMatchObject({
      display_width: 1920n,
      display_height: 1080n,
      max_pixels: 2073600n,
      framebuffer: 0x38000000n,
      framebuffer_reservation: 0x8000000n,
    });
    expect(r.text).toContain(
      "[vm.101]\ndisplay_width = 1920\ndisplay_height = 1080\nmax_pixels = 2073600\nframebuffer = 0x38000000\nframebuffer_reservation = 0x8000000\n",
    );
    // the original lines survive in order
    const kept = r.text.split("\n").filter((_, i) => !r.changedLines.includes(i + 1));
    expect(kept.filter((l) => l !== "")).toEqual(SEED.split("\n").filter((l) => l !== ""));
  });

  it("computes max_pixels as width × height × displays", () => {
    const r = setOverride(
      "",
      { kind: "vm", key: "102" },
      { display: { width: 2560, height: 1440 }, displays: 2 },
    );
    expect(table(r.text, "vm", "102")).toMatchObject({
      num_displays: 2n,
      max_pixels: BigInt(2560 * 1440 * 2),
    });
    expect(validateOverride(r.text)).toEqual([]);
    // changing only the head count keeps an existing max_pixels consistent
    const r2 = setOverride(SEED, { kind: "profile", key: "nvidia-259" }, { displays: 2 });
    expect(table(r2.text, "profile", "nvidia-259").max_pixels).toBe(4147200n);
    expect(r2.changedLines).toEqual([3, 6]);
  });

  it("writes a table into an empty file (the guide's `touch`ed file)", () => {
    const r = setOverride("", { kind: "profile", key: "259" }, { frl: false });
    expect(r.text).toBe("[profile.nvidia-259]\nfrl_enabled = 0\n");
    expect(r.changedLines).toEqual([1, 2]);
  });

  it("lowercases mdev UUIDs and accepts raw keys", () => {
    const r = setOverride(
      SEED,
      { kind: "mdev", key: "00000001-0000-0000-0000-00000000010A" },
      { vgpu_type: "NVS", pci_device_id: 0x1e30 },
    );
    expect(r.text).toContain(
      '[mdev.00000001-0000-0000-0000-00000000010a]\nvgpu_type = "NVS"\npci_device_id = 0x1E30\n',
    );
    expect(validateOverride(r.text)).toEqual([]);
  });

  it("finds headers with trailing comments or quoted keys, and reports no change for an equal value", () => {
    // source: seed guide line 382 ("[profile.nvidia-259] # choose the profile you want here")
    const text =
      '[profile.nvidia-259] # choose the profile you want here\nnum_displays = 1\n\n[vm."100"]\nfrl_enabled = 0\n';
    const r = setOverride(text, { kind: "vm", key: "100" }, { frl: false, cuda: true });
    expect(r.text).toBe(
      '[profile.nvidia-259] # choose the profile you want here\nnum_displays = 1\n\n[vm."100"]\nfrl_enabled = 0\ncuda_enabled = 1\n',
    );
    expect(r.changedLines).toEqual([6]);
    const p = setOverride(text, { kind: "profile", key: "nvidia-259" }, { displays: 1 });
    expect(p).toMatchObject({ text, changedLines: [] });
  });

  it("keeps CRLF line endings", () => {
    const crlf = SEED.replace(/\n/g, "\r\n");
    const r = setOverride(crlf, { kind: "vm", key: "100" }, { frl: true });
    expect(r.text).toBe(crlf.replace("frl_enabled = 0", "frl_enabled = 1"));
  });

  it("rejects bad requests with a UserError", () => {
    expect(() => setOverride(SEED, { kind: "vm", key: "100" }, { vramMiB: 0 })).toThrow(UserError);
    expect(() => setOverride(SEED, { kind: "vm", key: "100" }, { vramMiB: 1.5 })).toThrow(UserError);
    expect(() => setOverride(SEED, { kind: "vm", key: "abc" }, { frl: true })).toThrow(/VMID/);
    expect(() => setOverride(SEED, { kind: "vm", key: "100" }, {})).toThrow(/nothing to change/);
    expect(() => setOverride(SEED, { kind: "vm", key: "100" }, { cuda_enabled: 2 })).toThrow(/0\/1 flag/);
    expect(() =>
      setOverride(SEED, { kind: "vm", key: "100" }, { framebuffer: "0x1", vramMiB: 1024 }),
    ).toThrow(/twice/);
    const unknown = { num_display: 2 } as unknown as Parameters<typeof setOverride>[2];
    expect(() => setOverride(SEED, { kind: "vm", key: "100" }, unknown)).toThrow(UserError);
    try {
      setOverride(SEED, { kind: "vm", key: "100" }, unknown);
    } catch (e) {
      expect((e as UserError).hint).toBe("did you mean num_displays?");
    }
  });

  it("parseSize rejects sizes like 3GG and 0 before anything is edited", () => {
    expect(() => parseSize("3GG")).toThrow(UserError);
    expect(() => parseSize("0")).toThrow(UserError);
    expect(() => parseSize("0G")).toThrow(UserError);
  });

  it("refuses to produce a file that fails validation, listing the issues", () => {
    const broken = `${SEED}\n[vm.101]\ncuda_enabled = true\n`;
    let err: unknown;
    try {
      setOverride(broken, { kind: "vm", key: "100" }, { frl: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/line 20:16 error vm\.101\.cuda_enabled/);
    expect((err as UserError).hint).toContain("cuda_enabled = 1");
  });

  it("refuses to edit a file with a syntax error", () => {
    expect(() =>
      setOverride("[vm.100\nframebuffer = 1\n", { kind: "vm", key: "100" }, { frl: true }),
    ).toThrow(/cannot edit/);
  });

  it("refuses tables written as inline tables or dotted keys rather than guessing", () => {
    expect(() =>
      setOverride("vm.100 = { frl_enabled = 0 }\n", { kind: "vm", key: "100" }, { frl: true }),
    ).toThrow(/inline table/);
    expect(() =>
      setOverride("[vm]\n100.frl_enabled = 0\n", { kind: "vm", key: "100" }, { frl: true }),
    ).toThrow(/dotted keys/);
  });
});

describe("unsetOverride", () => {
  it("removes single keys and keeps everything else", () => {
    const r = unsetOverride(SEED, { kind: "profile", key: "nvidia-259" }, ["cuda_enabled", "max_pixels"]);
    expect(r.changedLines).toEqual([6, 7]);
    const before = SEED.split("\n");
    expect(r.text.split("\n")).toEqual(before.filter((_, i) => i !== 5 && i !== 6));
    expect(table(r.text, "profile", "nvidia-259").cuda_enabled).toBeUndefined();
  });

  it("removes a whole table but keeps the comment after it", () => {
    const r = unsetOverride(SEED, { kind: "vm", key: "100" });
    expect(r.changedLines).toEqual([15, 16]);
    // one blank line still separates the profile table from the comment that followed [vm.100]
    expect(r.text).toContain("# See below for some other sizes\n\n# You can override");
    expect(r.text).not.toContain("[vm.100]");
    expect(r.text).toContain("# You can override all the options");
    expect((parse(r.text) as Record<string, unknown>).vm).toBeUndefined();
  });

  it("can remove a typo'd key that makes validation fail", () => {
    const broken =
      "[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\nframebufer = 0x74000000\n";
    const r = unsetOverride(broken, { kind: "vm", key: "100" }, ["framebufer"]);
    expect(r.text).toBe("[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n");
  });

  it("is a no-op for a table or key that is not there", () => {
    expect(unsetOverride(SEED, { kind: "vm", key: "999" })).toMatchObject({ text: SEED, changedLines: [] });
    expect(unsetOverride(SEED, { kind: "vm", key: "100" }, ["num_displays"])).toMatchObject({
      text: SEED,
      changedLines: [],
    });
  });
});
