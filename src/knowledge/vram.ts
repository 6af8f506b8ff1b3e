/**
 * vGPU VRAM arithmetic for vgpu_unlock-rs `profile_override.toml` (`framebuffer` + `framebuffer_reservation`).
 *
 * Rule (research/unlock.md §5.1): the VRAM a vGPU takes is framebuffer + reservation, and NVIDIA's own
 * pre-GSP profiles (vgpuConfig.xml, 418 of 448 types) use
 *     reservation = VRAM / 16 + 64 MiB,   framebuffer = VRAM − reservation.
 * The seed guide's "Common VRAM sizes" table (512 MB … 32 GB) follows it exactly.
 *
 * Exception (research/unlock.md §5.2): the guide's 48 GB row (0xB2D200000 / 0xD2E00000) is not the
 * formula (which gives 0xB3C000000 / 0xC4000000); it is copied from NVIDIA's Turing RTX8000-48Q/48A
 * profiles (nvidia-273 / nvidia-456), where NVIDIA reserves 3374 MiB instead of 3136 MiB. Both pairs add up
 * to 48 GiB; we reproduce the guide's (= NVIDIA's) pair because that is what users paste and what is known
 * to work. Other NVIDIA deviations (Turing 12/16/24 GiB, full-board T4/A2/A16 16 GiB) are NOT used by the
 * guide, so the formula stays the rule for those sizes.
 */
import { UserError } from "../util/errors.ts";

const MiB = 1024 * 1024;

export interface VramLayout {
  /** VRAM of the vGPU, MiB */
  vramMiB: number;
  /** `framebuffer`, bytes */
  framebuffer: number;
  /** `framebuffer_reservation`, bytes */
  reservation: number;
  /** "0x74000000" (uppercase hex digits, as in the guide) */
  framebufferHex: string;
  reservationHex: string;
  /** Which rule produced the pair */
  rule: "formula" | "nvidia-profile";
}

/** NVIDIA profile values that differ from the formula and that the seed guide uses (see header). */
const NVIDIA_EXCEPTIONS: Record<number, { framebuffer: number; reservation: number; source: string }> = {
  49152: { framebuffer: 0xb2d200000, reservation: 0xd2e00000, source: "GRID RTX8000-48Q (nvidia-273)" },
};

/** Smallest VRAM for which the formula leaves a positive framebuffer with headroom; NVIDIA's smallest is 512 MiB. */
export const MIN_VRAM_MIB = 128;

export function toHex(n: number): string {
  return `0x${n.toString(16).toUpperCase()}`;
}

const EXAMPLE = 'e.g. "512M", "2G", "1.5G" or "3GiB"';

/**
 * "3G" | "3GB" | "3GiB" | "512M" | "512MiB" | "1.5G" → MiB. Units are binary (a "GB" of VRAM is 1024 MiB,
 * as in the guide's table). Throws UserError naming what is wrong, with an example.
 */
export function parseSize(input: string): number {
  const raw = typeof input === "string" ? input.trim() : "";
  if (raw === "") throw new UserError("empty VRAM size", `give a size with a unit, ${EXAMPLE}`);
  const m = /^(-?\d+(?:\.\d+)?|-?\.\d+)\s*([a-z]*)$/i.exec(raw);
  if (!m) {
    throw new UserError(
      `"${raw}" is not a VRAM size: expected a number followed by M or G`,
      `use ${EXAMPLE}`,
    );
  }
  const value = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  if (value < 0) throw new UserError(`"${raw}": a VRAM size cannot be negative`, `use ${EXAMPLE}`);
  if (value === 0) throw new UserError(`"${raw}": a VRAM size must be greater than zero`, `use ${EXAMPLE}`);
  let factor: number;
  if (unit === "m" || unit === "mb" || unit === "mib") factor = 1;
  else if (unit === "g" || unit === "gb" || unit === "gib") factor = 1024;
  else if (unit === "") {
    throw new UserError(`"${raw}" has no unit: say whether it is MiB or GiB`, `add M or G, ${EXAMPLE}`);
  } else {
    throw new UserError(`"${raw}": unknown unit "${m[2]}" (known: M, MB, MiB, G, GB, GiB)`, `use ${EXAMPLE}`);
  }
  const mib = value * factor;
  if (!Number.isInteger(mib)) {
    throw new UserError(`"${raw}" is ${mib} MiB, not a whole number of MiB`, `round it, ${EXAMPLE}`);
  }
  return mib;
}

/** framebuffer / framebuffer_reservation (bytes and hex) for a vGPU of `mib` MiB of VRAM. */
export function vramLayout(mib: number): VramLayout {
  if (!Number.isInteger(mib) || mib < MIN_VRAM_MIB) {
    throw new UserError(
      `VRAM size ${mib} MiB is too small or not whole: the reservation alone takes VRAM/16 + 64 MiB`,
      `use at least ${MIN_VRAM_MIB} MiB; NVIDIA's smallest profiles are 512 MiB, e.g. "512M"`,
    );
  }
  const exception = NVIDIA_EXCEPTIONS[mib];
  const total = mib * MiB;
  const reservation = exception ? exception.reservation : total / 16 + 64 * MiB;
  const framebuffer = exception ? exception.framebuffer : total - reservation;
  return {
    vramMiB: mib,
    framebuffer,
    reservation,
    framebufferHex: toHex(framebuffer),
    reservationHex: toHex(reservation),
    rule: exception ? "nvidia-profile" : "formula",
  };
}

/** The two profile_override.toml lines for a layout (hex integers, never hex strings — research/unlock.md §1.5.1). */
export function overrideLines(layout: VramLayout): string[] {
  return [`framebuffer = ${layout.framebufferHex}`, `framebuffer_reservation = ${layout.reservationHex}`];
}
