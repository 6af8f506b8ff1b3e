/**
 * `vgpuctl override set|unset|show --host local --root DIR` end to end (through the real program).
 * source of the commented file: seed guide lines 359-372 (the guide's example override file with its
 * comments) with the [profile.nvidia-259] / [vm.100] headers the guide names on line 374; VM configs
 * are the seed host's (sim scenario seed-configured: VM 100 win11 q35). VRAM pairs: seed guide
 * "Common VRAM sizes" (3GB = 0xB0000000 + 0x10000000).
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterEach, describe, expect, it } from "vitest";
import { SEED_PROFILE_OVERRIDE } from "../helpers/seed-override.ts";
import { runInProcess } from "./cli.ts";

const SEED = SEED_PROFILE_OVERRIDE;

const VM100 = `bios: ovmf
machine: pc-q35-7.2
memory: 8192
name: win11
ostype: win11
`;

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function root(override: string | null = SEED, vms: Record<string, string> = { "100": VM100 }): string {
  const d = mkdtempSync(join(tmpdir(), "vgpuctl-ov-"));
  dirs.push(d);
  mkdirSync(join(d, "etc/vgpu_unlock"), { recursive: true });
  mkdirSync(join(d, "etc/pve/qemu-server"), { recursive: true });
  if (override !== null) writeFileSync(join(d, "etc/vgpu_unlock/profile_override.toml"), override);
  for (const [id, conf] of Object.entries(vms))
    writeFileSync(join(d, `etc/pve/qemu-server/${id}.conf`), conf);
  return d;
}

const file = (d: string) => readFileSync(join(d, "etc/vgpu_unlock/profile_override.toml"), "utf8");
const backups = (d: string) =>
  existsSync(join(d, "var/backups/vgpuctl")) ? readdirSync(join(d, "var/backups/vgpuctl")) : [];
const run = (d: string, ...args: string[]) => runInProcess(["--host", "local", "--root", d, ...args], {});

describe("override set", () => {
  it("--vm 100 --vram 3G --display 1920x1080 changes only new/edited lines, fb + reservation = 3 GiB", async () => {
    const d = root();
    const r = await run(d, "override", "set", "--vm", "100", "--vram", "3G", "--display", "1920x1080");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const after = file(d);
    // every line of the input is still there, in order; only [vm.100] got new lines
    const old = SEED.split("\n");
    const now = after.split("\n");
    let j = 0;
    const added: string[] = [];
    for (const line of now) {
      if (j < old.length && line === old[j]) j++;
      else added.push(line);
    }
    expect(j).toBe(old.length);
    expect(added).toEqual([
      "display_width = 1920",
      "display_height = 1080",
      "max_pixels = 2073600",
      "framebuffer = 0xB0000000",
      "framebuffer_reservation = 0x10000000",
    ]);
    // the new keys sit in [vm.100]
    const doc = parse(after, { integersAsBigInt: true }) as {
      vm: Record<string, Record<string, bigint>>;
      profile: Record<string, Record<string, bigint>>;
    };
    const vm = doc.vm["100"]!;
    expect(vm.framebuffer! + vm.framebuffer_reservation!).toBe(3n * 1024n ** 3n);
    expect(vm.frl_enabled).toBe(0n);
    expect(doc.profile["nvidia-259"]!.framebuffer).toBe(0x74000000n);
    // the diff is shown and the previous bytes were backed up
    expect(r.out).toContain("+framebuffer = 0xB0000000");
    expect(r.out).toContain("--- a/etc/vgpu_unlock/profile_override.toml");
    const b = backups(d);
    expect(b).toHaveLength(1);
    expect(b[0]).toMatch(/^profile_override\.toml\.\d{4}-\d\d-\d\dT/);
    expect(readFileSync(join(d, "var/backups/vgpuctl", b[0]!), "utf8")).toBe(SEED);
  });

  it("creates the file when there is none (no backup), --json reports the change", async () => {
    const d = root(null);
    const r = await run(
      d,
      "--json",
      "override",
      "set",
      "--type",
      "nvidia-259",
      "--frl",
      "off",
      "--cuda",
      "on",
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ written: true, backup: null, target: { kind: "profile", key: "nvidia-259" } });
    expect(file(d)).toBe("[profile.nvidia-259]\ncuda_enabled = 1\nfrl_enabled = 0\n");
  });

  it("--dry-run prints the diff and writes nothing", async () => {
    const d = root();
    const r = await run(d, "override", "set", "--vm", "100", "--vram", "2G", "--dry-run");
    expect(r.code).toBe(0);
    expect(r.out).toContain("+framebuffer = 0x74000000");
    expect(r.out).toContain("dry run: nothing was written");
    expect(file(d)).toBe(SEED);
    expect(backups(d)).toEqual([]);
  });

  const bad: Array<[string, string[], RegExp]> = [
    ["malformed VRAM 3GG", ["--vm", "100", "--vram", "3GG"], /unknown unit "GG"/],
    ["VRAM 0", ["--vm", "100", "--vram", "0"], /greater than zero/],
    ["unknown VM", ["--vm", "102", "--vram", "2G"], /VM 102 does not exist/],
    ["unknown type", ["--type", "nvidia-9999", "--vram", "2G"], /unknown vGPU type "nvidia-9999"/],
    // GRID RTX6000-4A (nvidia-440) allows 1280x1024 (vgpuConfig.xml)
    [
      "resolution beyond the type's max",
      ["--type", "nvidia-440", "--display", "1920x1080"],
      /beyond nvidia-440's max resolution 1280x1024/,
    ],
    ["malformed resolution", ["--vm", "100", "--display", "1920x"], /not a display resolution/],
    ["two targets", ["--vm", "100", "--type", "nvidia-259", "--vram", "2G"], /exactly one of/],
    ["no value", ["--vm", "100"], /nothing to set/],
  ];
  for (const [what, args, msg] of bad) {
    it(`bad input (${what}): clear error, nothing written`, async () => {
      const d = root();
      const before = readFileSync(join(d, "etc/vgpu_unlock/profile_override.toml"));
      const r = await run(d, "override", "set", ...args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(readFileSync(join(d, "etc/vgpu_unlock/profile_override.toml")).equals(before)).toBe(true);
      expect(backups(d)).toEqual([]);
    });
  }

  it("checks the resolution against the type of the VM's vGPU", async () => {
    const d = root(SEED, { "100": `${VM100}hostpci0: 0000:01:00.0,mdev=nvidia-440,pcie=1\n` });
    const r = await run(d, "override", "set", "--vm", "100", "--display", "2560x1440");
    expect(r.code).toBe(2);
    expect(r.err).toContain("max resolution 1280x1024");
    expect(file(d)).toBe(SEED);
    const ok = await run(d, "override", "set", "--vm", "100", "--display", "1280x1024");
    expect(ok.code).toBe(0);
  });
});

describe("override unset and show", () => {
  it("unset --key removes only that line; unset without keys removes the section", async () => {
    const d = root();
    const r = await run(d, "override", "unset", "--type", "nvidia-259", "--key", "cuda_enabled");
    expect(r.code).toBe(0);
    expect(file(d)).toBe(SEED.replace(/^cuda_enabled.*\n/m, ""));
    const all = await run(d, "override", "unset", "--vm", "100");
    expect(all.code).toBe(0);
    expect(file(d)).not.toContain("[vm.100]");
    expect(file(d)).toContain("[profile.nvidia-259]");
    expect(backups(d).length).toBe(2);
  });

  it("show --json lists the sections and the validation issues", async () => {
    const d = root(`${SEED}\n[vm.101]\ncuda_enabled = true\nframebufer = 0x74000000\n`);
    const r = await run(d, "--json", "override", "show");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as {
      present: boolean;
      sections: Array<{ kind: string; key: string }>;
      issues: Array<{ severity: string; key: string | null; message: string; fix: string }>;
    };
    expect(j.present).toBe(true);
    expect(j.sections.map((s) => `${s.kind}.${s.key}`)).toEqual(["profile.nvidia-259", "vm.100", "vm.101"]);
    expect(j.issues.some((i) => i.severity === "error" && i.key === "vm.101.cuda_enabled")).toBe(true);
    expect(
      j.issues.some((i) => /framebuffer/.test(`${i.message} ${i.fix}`) && i.key?.includes("framebufer")),
    ).toBe(true);
    const text = await run(d, "override", "show");
    expect(text.out).toContain("[vm.100]");
    expect(text.out).toContain("error:");
  });

  it("show says when there is no file", async () => {
    const d = root(null);
    const r = await run(d, "override", "show");
    expect(r.out).toContain("does not exist");
  });
});
