// The one rule for the VRAM a vGPU takes after profile_override.toml (src/knowledge/vram.ts), used by
// doctor (checks/vms.ts), placement (place/*), `vm list` and the inspect report / dashboard.
// source: research/unlock.md §1.4 (precedence: tables applied profile → mdev → vm, each patching only the
// keys it holds), §1.5.1 (the "human" size format), §1.6 (table names: decimal VMID, lowercase UUID),
// §5 (VRAM = framebuffer + framebuffer_reservation); mbilker/vgpu_unlock-rs src/lib.rs
// handle_profile_override / apply_profile_override (per-field `if let Some(value)` patches).
// Override values: seed guide lines 360-366 and the "Common VRAM sizes" table, lines 390-436.
import { describe, expect, it } from "vitest";
import { parseProfileOverride } from "../../src/facts/nvidia/unlock.ts";
import { findType } from "../../src/knowledge/vgpu-types.ts";
import {
  effectiveVramMiB,
  formatMiB,
  humanSizeBytes,
  overrideSizeBytes,
  type VgpuRef,
} from "../../src/knowledge/vram.ts";

const sections = (text: string) => {
  const p = parseProfileOverride(text);
  expect(p.error).toBeNull();
  return p.sections;
};
// hostpci0 of VM 100, GRID RTX6000-4Q (4096 MiB: framebuffer 0xEC000000 + reservation 0x14000000)
const VM100: VgpuRef = { type: "nvidia-259", uuid: "00000000-0000-0000-0000-000000000100", vmid: 100 };
const eff = (text: string, ref: VgpuRef = VM100, typeMiB: number | null = 4096) =>
  effectiveVramMiB(sections(text), ref, typeMiB, findType);

describe("effectiveVramMiB", () => {
  it("no override: the type's profile size", () => {
    expect(eff("[profile.nvidia-259]\nnum_displays = 1\n")).toEqual({
      mib: 4096,
      from: null,
      framebuffer: null,
      reservation: null,
    });
  });

  it("the seed guide's [vm.100] 2 GB pair (0x74000000 + 0xC000000) → 2048 MiB from [vm.100]", () => {
    const e = eff("[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n");
    expect(e.mib).toBe(2048);
    expect(e.from).toBe("[vm.100]");
  });

  it("precedence per key: vm over mdev over profile", () => {
    const text = [
      "[profile.nvidia-259]",
      "framebuffer = 0x38000000", // 1 GB pair (guide line 396)
      "framebuffer_reservation = 0x8000000",
      "[mdev.00000000-0000-0000-0000-000000000100]",
      "framebuffer = 0xB0000000", // 3 GB pair (guide line 402)
      "framebuffer_reservation = 0x10000000",
      "[vm.100]",
      "framebuffer = 0x74000000", // 2 GB pair (guide line 399)
      "framebuffer_reservation = 0xC000000",
      "",
    ].join("\n");
    expect(eff(text).mib).toBe(2048);
    // the same file for VM 101: no [vm.101], no [mdev.…101] → the profile table
    const vm101: VgpuRef = { type: "nvidia-259", uuid: "00000000-0000-0000-0000-000000000101", vmid: 101 };
    expect(eff(text, vm101)).toMatchObject({ mib: 1024, from: "[profile.nvidia-259]" });
  });

  it("framebuffer and framebuffer_reservation fall back independently", () => {
    // [vm.100] sets only framebuffer; the reservation comes from [profile.nvidia-259]
    const e = eff(
      "[profile.nvidia-259]\nframebuffer_reservation = 0xC000000\n[vm.100]\nframebuffer = 0x74000000\n",
    );
    expect(e.mib).toBe(2048);
    expect(e.from).toBe("[vm.100] + [profile.nvidia-259]");
    // only framebuffer overridden: the type's own reservation (RTX6000-4Q: 0x14000000 = 320 MiB) stays
    const only = eff("[vm.100]\nframebuffer = 0x74000000\n");
    expect(only.mib).toBe(0x74000000 / 1048576 + 320);
    expect(only.reservation).toEqual({ bytes: 0x14000000, from: null });
  });

  it("table names match exactly, as vgpu_unlock-rs looks them up", () => {
    const fb2g = "framebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n";
    // an uppercase UUID never matches (the library formats the UUID in lowercase)
    expect(
      eff(`[mdev.00000000-0000-0000-0000-0000000001AB]\n${fb2g}`, {
        ...VM100,
        uuid: "00000000-0000-0000-0000-0000000001ab",
      }).mib,
    ).toBe(4096);
    // …but a lowercase table matches an mdev UUID reported in upper case
    expect(
      eff(`[mdev.00000000-0000-0000-0000-0000000001ab]\n${fb2g}`, {
        ...VM100,
        uuid: "00000000-0000-0000-0000-0000000001AB",
      }).mib,
    ).toBe(2048);
    // "[vm.0100]" is not VMID 100 (lookup by vmid.to_string())
    expect(eff(`[vm."0100"]\n${fb2g}`).mib).toBe(4096);
    // [vm.N] needs a VMID: an mdev not made by Proxmox is only matched by its UUID
    expect(eff(`[vm.100]\n${fb2g}`, { ...VM100, vmid: null }).mib).toBe(4096);
  });

  it("a value the library cannot decode is not counted; the next table down is", () => {
    // a hex *string* is rejected by the human format (research/unlock.md §1.5.1)
    const e = eff(
      '[profile.nvidia-259]\nframebuffer = 0x38000000\nframebuffer_reservation = 0x8000000\n[vm.100]\nframebuffer = "0x74000000"\nframebuffer_reservation = 0xC000000\n',
    );
    expect(e.framebuffer).toEqual({ bytes: 0x38000000, from: "[profile.nvidia-259]" });
    expect(e.mib).toBe((0x38000000 + 0xc000000) / 1048576);
  });

  it('human sizes: "2GiB" / integers; the part of an Ada profile outside fb + reservation (GSP heap) stays', () => {
    expect(eff('[vm.100]\nframebuffer = "1856MiB"\nframebuffer_reservation = "192MiB"\n').mib).toBe(2048);
    // NVIDIA L40-2B (nvidia-870): 1920 + 96 MiB + 32 MiB GSP heap = 2048 MiB; a 4 GiB pair keeps the heap
    const l40: VgpuRef = { type: "nvidia-870", uuid: null, vmid: 100 };
    expect(
      eff("[vm.100]\nframebuffer = 0xEC000000\nframebuffer_reservation = 0x14000000\n", l40, 2048).mib,
    ).toBe(4096 + 32);
  });

  it("a partial override on a type the table does not know: unknown, not a guess", () => {
    const e = eff("[vm.100]\nframebuffer = 0x74000000\n", { ...VM100, type: "nvidia-9999" }, 4096);
    expect(e.mib).toBeNull();
    expect(e.from).toBe("[vm.100]");
    // with both keys the type's split is not needed
    expect(
      eff(
        "[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n",
        { ...VM100, type: "nvidia-9999" },
        null,
      ).mib,
    ).toBe(2048);
  });
});

describe("override sizes and formatting", () => {
  it("overrideSizeBytes decodes what vgpu_unlock-rs decodes", () => {
    expect(overrideSizeBytes(0x74000000)).toBe(0x74000000);
    expect(overrideSizeBytes("2GiB")).toBe(2 * 1024 ** 3);
    expect(overrideSizeBytes("2GB")).toBe(2e9);
    expect(overrideSizeBytes("0x74000000")).toBeNull();
    expect(overrideSizeBytes("2G")).toBeNull();
    expect(overrideSizeBytes(true)).toBeNull();
    expect(overrideSizeBytes(-1)).toBeNull();
    expect(overrideSizeBytes(undefined)).toBeNull();
    expect(humanSizeBytes("1.5 GiB")).toBe(1.5 * 1024 ** 3);
  });

  it("formatMiB", () => {
    expect([512, 1024, 1536, 11264, 12288].map(formatMiB)).toEqual([
      "512 MiB",
      "1 GiB",
      "1.5 GiB",
      "11 GiB",
      "12 GiB",
    ]);
  });
});
