/**
 * Thin adapter over the project's VRAM math (src/knowledge/vram.ts): framebuffer and reservation
 * in bytes plus the hex literals written to the file. Reads the byte values from the hex strings,
 * so this module does not depend on the unit vramLayout() uses for its numeric fields.
 */
import { vramLayout } from "../../knowledge/vram.ts";
import { UserError } from "../../util/errors.ts";

export interface VramBytes {
  framebuffer: number;
  reservation: number;
  framebufferHex: string;
  reservationHex: string;
}

/** The (framebuffer, reservation) pair for a VRAM size in MiB, or null when the size is not valid. */
export function vramBytes(mib: number): VramBytes | null {
  if (!Number.isFinite(mib) || mib <= 0 || !Number.isInteger(mib)) return null;
  try {
    return requireVramBytes(mib);
  } catch (e) {
    if (e instanceof UserError) return null; // vramLayout() refuses the size (too small, …)
    throw e;
  }
}

/** Like vramBytes, but throws the UserError of vramLayout() (too small, not whole) instead of returning null. */
export function requireVramBytes(mib: number): VramBytes {
  const l = vramLayout(mib);
  const framebufferHex = normalizeHex(l.framebufferHex);
  const reservationHex = normalizeHex(l.reservationHex);
  return {
    framebuffer: Number(BigInt(framebufferHex)),
    reservation: Number(BigInt(reservationHex)),
    framebufferHex,
    reservationHex,
  };
}

/** "0xb0000000" / "B0000000" → "0xB0000000" (the seed guide's spelling). */
function normalizeHex(h: string): string {
  const digits = h.trim().replace(/^0x/i, "");
  if (!/^[0-9a-f]+$/i.test(digits)) throw new Error(`not a hex literal: ${h}`);
  return `0x${digits.toUpperCase()}`;
}
