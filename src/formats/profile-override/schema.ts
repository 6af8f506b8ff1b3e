/**
 * The data model of /etc/vgpu_unlock/profile_override.toml as read by mbilker/vgpu_unlock-rs
 * (research/unlock.md §1.4–§1.6). The file has three kinds of tables; each holds the same flat
 * set of optional keys. Unknown keys are silently ignored by the library, booleans where it
 * expects 0/1 integers are a decode error that makes every VM start fail.
 */

export const OVERRIDE_PATH = "/etc/vgpu_unlock/profile_override.toml";

export type SectionKind = "profile" | "vm" | "mdev";
export const SECTION_KINDS: readonly SectionKind[] = ["profile", "vm", "mdev"];

/**
 * How a key is decoded:
 * - `u32` / `u64`: TOML integer in range (hex literals allowed);
 * - `flag`: u32 clamped to 0/1 — must be the integer 0 or 1, `true`/`false` is a type error;
 * - `size`: "human" u64 — an integer number of bytes, or a string such as "2GiB" (a hex *string* is rejected);
 * - `string`: written NUL-terminated into a fixed C array (`maxBytes` includes no NUL).
 */
export type KeyType = "u32" | "u64" | "flag" | "size" | "string";

export interface KeySpec {
  type: KeyType;
  description: string;
  /** Longest accepted string in bytes (newest driver branch); longer → the VM start fails */
  maxBytes?: number;
  /** Older branches (≤ 18.x) accept fewer bytes; longer than this → warning */
  maxBytesOld?: number;
  /** Written as a hex literal by the editor (sizes, PCI ids) */
  hex?: boolean;
}

/** Every key of `VgpuProfileOverride`, in the order the library patches them (research/unlock.md §1.5). */
export const OVERRIDE_KEYS = {
  gpu_type: { type: "u32", description: "numeric vGPU type id (changes the type itself — expert only)" },
  card_name: {
    type: "string",
    description: "profile name shown to the guest, e.g. GRID RTX6000-4Q",
    maxBytes: 63,
    maxBytesOld: 31,
  },
  vgpu_type: {
    type: "string",
    description: 'class string: "Quadro", "NVS", "Compute"…',
    maxBytes: 63,
    maxBytesOld: 31,
  },
  features: { type: "string", description: "license feature string", maxBytes: 127 },
  max_instances: { type: "u32", description: "max instances of this type" },
  num_displays: { type: "u32", description: "number of virtual display heads" },
  display_width: { type: "u32", description: "max horizontal resolution (pixels)" },
  display_height: { type: "u32", description: "max vertical resolution (pixels)" },
  max_pixels: { type: "u32", description: "max total pixels across all heads (width × height × heads)" },
  frl_config: { type: "u32", description: "frame-rate-limiter target in fps (60 for A/Q/C, 45 for B)" },
  cuda_enabled: { type: "flag", description: "1 = CUDA allowed in the guest" },
  ecc_supported: { type: "flag", description: "ECC supported flag" },
  mig_instance_size: { type: "u32", description: "MIG GPU-instance size (0 = time-sliced)" },
  multi_vgpu_supported: { type: "flag", description: "several vGPUs per VM" },
  pci_id: {
    type: "u64",
    description: "virtual PCI id the guest sees, (deviceId << 16) | subsystemId",
    hex: true,
  },
  pci_device_id: { type: "u64", description: "physical device id, e.g. 0x1E30", hex: true },
  framebuffer: { type: "size", description: "guest framebuffer in bytes", hex: true },
  mappable_video_size: { type: "size", description: "mappable video size in bytes", hex: true },
  framebuffer_reservation: {
    type: "size",
    description: "reserved framebuffer in bytes (framebuffer + reservation = VRAM used)",
    hex: true,
  },
  encoder_capacity: { type: "u32", description: "NVENC capacity (100 = full)" },
  bar1_length: { type: "u64", description: "BAR1 length (plain integer)", hex: true },
  frl_enabled: { type: "flag", description: "1 = frame-rate limiter on, 0 = off" },
  adapter_name: { type: "string", description: "adapter name", maxBytes: 63 },
  short_gpu_name: { type: "string", description: "short GPU name", maxBytes: 63 },
  license_type: { type: "string", description: "licensed product name", maxBytes: 127 },
} as const satisfies Record<string, KeySpec>;

export type OverrideKey = keyof typeof OVERRIDE_KEYS;
export const OVERRIDE_KEY_NAMES = Object.keys(OVERRIDE_KEYS) as OverrideKey[];

export function isOverrideKey(key: string): key is OverrideKey {
  return Object.hasOwn(OVERRIDE_KEYS, key);
}

export function keySpec(key: OverrideKey): KeySpec {
  return OVERRIDE_KEYS[key];
}

/** Names that existed once or in forks and do nothing upstream, with what to use instead. */
export const RETIRED_KEYS: Readonly<Record<string, string>> = {
  mig_enabled: "renamed in 2022; there is no per-profile migration key (use unlock_migration in config.toml)",
  migration_enabled: "renamed in 2022; use unlock_migration = true in /etc/vgpu_unlock/config.toml",
  enable_migration: "never shipped; use unlock_migration = true in /etc/vgpu_unlock/config.toml",
};

export const U32_MAX = 0xffff_ffff;
export const MIB = 1024 * 1024;

/** Canonical lowercase UUID; vgpu_unlock-rs formats the mdev UUID this way, so other spellings never match. */
export const UUID_LOWER_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const UUID_ANYCASE_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const PROFILE_NAME_RE = /^nvidia-[1-9][0-9]*$/;
/** `vmid.to_string()` — decimal, no leading zeros */
export const VMID_RE = /^[1-9][0-9]*$/;

/** Normalise a target key: "259" → "nvidia-259" for profiles, lowercase for mdev UUIDs. */
export function normalizeTargetKey(kind: SectionKind, key: string): string {
  const k = key.trim();
  if (kind === "profile" && /^[1-9][0-9]*$/.test(k)) return `nvidia-${k}`;
  if (kind === "mdev") return k.toLowerCase();
  return k;
}

/** Why a section name can never match, or null when it is well-formed. */
export function sectionNameProblem(kind: SectionKind, name: string): { message: string; fix: string } | null {
  if (kind === "profile") {
    if (PROFILE_NAME_RE.test(name)) return null;
    const digits = /^(?:nvidia)?[-_ ]?0*([1-9][0-9]*)$/i.exec(name);
    return {
      message: `[profile.${name}] never matches: profile tables are named after the mdev type, "nvidia-<decimal type id>"`,
      fix: digits
        ? `rename it to [profile.nvidia-${digits[1]}]`
        : "use the type id from `mdevctl types`, e.g. [profile.nvidia-259]",
    };
  }
  if (kind === "vm") {
    if (VMID_RE.test(name)) return null;
    const digits = /^0+([1-9][0-9]*)$/.exec(name);
    return {
      message: `[vm.${name}] never matches: the VM id must be a decimal Proxmox VMID without leading zeros`,
      fix: digits ? `rename it to [vm.${digits[1]}]` : "use the VMID shown in the Proxmox UI, e.g. [vm.100]",
    };
  }
  if (UUID_LOWER_RE.test(name)) return null;
  if (UUID_ANYCASE_RE.test(name)) {
    return {
      message: `[mdev.${name}] never matches: vgpu_unlock-rs compares against the lowercase UUID`,
      fix: `rename it to [mdev.${name.toLowerCase()}]`,
    };
  }
  return {
    message: `[mdev.${name}] is not an mdev UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, lowercase)`,
    fix: "copy the UUID from `mdevctl list` in lowercase, or use [vm.VMID] for Proxmox-created vGPUs",
  };
}
