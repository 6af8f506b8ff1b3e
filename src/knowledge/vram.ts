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
import type { OverrideSection } from "../facts/types.ts";
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

/** "4 GiB", "1.5 GiB", "512 MiB": a VRAM size for people. */
export function formatMiB(mib: number): string {
  if (mib < 1024) return `${mib} MiB`;
  const gib = mib / 1024;
  return Number.isInteger(gib) ? `${gib} GiB` : `${gib.toFixed(1)} GiB`;
}

// ── profile_override.toml sizes ─────────────────────────────────────────────────

/** Size strings accepted by vgpu_unlock-rs' "human" number format (research/unlock.md §1.5.1). */
export const HUMAN_SIZE_RE = /^\s*([0-9.]*)\s*(KB|kB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$/;
const UNIT_BYTES: Record<string, number> = {
  KB: 1e3,
  kB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: MiB,
  GiB: 1024 * MiB,
  TiB: 1024 * 1024 * MiB,
};

/** Bytes of a "human" size string as vgpu_unlock-rs computes them, or null when it would reject it. */
export function humanSizeBytes(text: string): number | null {
  const m = HUMAN_SIZE_RE.exec(text);
  if (!m) return null;
  const num = m[1] ?? "";
  const unit = m[2];
  if (!unit) return /^[0-9]+$/.test(num) ? Number(num) : null;
  if (num === "" || !/^[0-9]*\.?[0-9]*$/.test(num)) return null;
  const v = Number.parseFloat(num);
  if (!Number.isFinite(v)) return null;
  return Math.round(v * (UNIT_BYTES[unit] ?? 1));
}

/**
 * A `framebuffer` / `framebuffer_reservation` value as vgpu_unlock-rs decodes it (research/unlock.md
 * §1.5.1): a TOML integer is bytes, a string is a "human" size ("2GiB"); null for what it rejects
 * (negative or fractional numbers, hex strings, booleans).
 */
export function overrideSizeBytes(value: number | string | boolean | undefined): number | null {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value === "string") return humanSizeBytes(value);
  return null;
}

/** The vGPU whose VRAM is asked for: the override tables that can apply to it are named after these. */
export interface VgpuRef {
  /** mdev type, "nvidia-259" → `[profile.nvidia-259]` */
  type: string;
  /** mdev UUID → `[mdev.<uuid>]` (null = not known yet) */
  uuid: string | null;
  /** Proxmox VMID the UUID encodes → `[vm.<vmid>]` (null = not a Proxmox-made mdev) */
  vmid: number | null;
}

/** A type's own split of its profile size, bytes (vgpuConfig.xml), for the keys an override leaves alone. */
export interface TypeVramSplit {
  profileBytes?: number | null;
  framebufferBytes: number | null;
  reservationBytes: number | null;
}

/** One of the two keys after overrides: its bytes and the table that set it (null = the type's own value). */
export interface VramPart {
  bytes: number | null;
  from: string | null;
}

export interface EffectiveVram {
  /** VRAM the vGPU takes from the physical GPU, MiB; null when it cannot be known */
  mib: number | null;
  /** the table(s) that changed it, "[vm.100]" or "[vm.100] + [profile.nvidia-259]"; null = the type's own size */
  from: string | null;
  /** null when no override applies (then `mib` is the type's profile size) */
  framebuffer: VramPart | null;
  reservation: VramPart | null;
}

/**
 * The VRAM one vGPU takes, after /etc/vgpu_unlock/profile_override.toml — the rule of vgpu_unlock-rs
 * (research/unlock.md §1.4–§1.6, §5; mbilker/vgpu_unlock-rs src/lib.rs handle_profile_override):
 * - the tables are applied profile → mdev → vm, each patching only the keys it holds, so per key the
 *   value is [vm.<vmid>] ?? [mdev.<uuid>] ?? [profile.<type>] ?? the type's own value;
 * - `framebuffer` and `framebuffer_reservation` fall back independently, and the VRAM taken is
 *   framebuffer + framebuffer_reservation (plus any part of the type's profile outside both, the GSP
 *   heap of Ada types, which no override can change);
 * - table names are matched exactly as the library does (case-sensitive): `[vm.100]` (no leading
 *   zeros), `[mdev.<lowercase uuid>]`, `[profile.nvidia-259]`;
 * - a value the library cannot decode (a hex string, a boolean) makes it fail the VM start as a whole
 *   (override-invalid says so); it is not counted here, the next table down is.
 * Without an override it is `typeMiB`, the type's profile size. With one, the keys the override leaves
 * alone come from `typeSplit` — the knowledge table: pass `findType` (knowledge/vgpu-types.ts; not
 * imported here so the dashboard UI can use this module without the table); when one of them is
 * unknown, so is the size (mib: null).
 */
export function effectiveVramMiB(
  sections: readonly OverrideSection[],
  vgpu: VgpuRef,
  typeMiB: number | null,
  typeSplit: (type: string) => TypeVramSplit | null,
): EffectiveVram {
  const uuid = vgpu.uuid?.toLowerCase() ?? null;
  const pick = (key: "framebuffer" | "framebuffer_reservation"): { bytes: number; from: string } | null => {
    const names: Array<[OverrideSection["kind"], string | null]> = [
      ["vm", vgpu.vmid === null ? null : String(vgpu.vmid)],
      ["mdev", uuid],
      ["profile", vgpu.type],
    ];
    for (const [kind, name] of names) {
      if (name === null) continue;
      const s = sections.find((x) => x.kind === kind && x.key === name && x.values[key] !== undefined);
      const bytes = s ? overrideSizeBytes(s.values[key]) : null;
      if (bytes !== null) return { bytes, from: `[${kind}.${name}]` };
    }
    return null;
  };
  const fb = pick("framebuffer");
  const res = pick("framebuffer_reservation");
  if (!fb && !res) return { mib: typeMiB, from: null, framebuffer: null, reservation: null };
  const own = fb && res ? null : typeSplit(vgpu.type);
  const framebuffer: VramPart = fb ?? { bytes: own?.framebufferBytes ?? null, from: null };
  const reservation: VramPart = res ?? { bytes: own?.reservationBytes ?? null, from: null };
  const from = [...new Set([fb?.from, res?.from].filter((x): x is string => Boolean(x)))].join(" + ");
  if (framebuffer.bytes === null || reservation.bytes === null)
    return { mib: null, from, framebuffer, reservation };
  const split = own ?? typeSplit(vgpu.type);
  const outside =
    split?.profileBytes && split.framebufferBytes !== null && split.reservationBytes !== null
      ? Math.max(0, split.profileBytes - split.framebufferBytes - split.reservationBytes)
      : 0;
  return {
    mib: Math.round((framebuffer.bytes + reservation.bytes + outside) / MiB),
    from,
    framebuffer,
    reservation,
  };
}
