/**
 * Which vgpu_unlock-rs a vGPU branch needs. vgpu_unlock-rs recognises NVIDIA's RM control parameters by their
 * size (research/unlock.md §1.7, §4 #1): `NVA081_CTRL_CMD_VGPU_CONFIG_GET_VGPU_TYPE_INFO` is 4960 bytes up to 16.x,
 * 5096 in 17.x (mbilker/vgpu_unlock-rs PR #33; 17.x also needs the CREATE_DEVICE hook of PR #35 for per-VM
 * overrides), 5232 in 18.x (PR #43; CREATE_DEVICE 40 bytes), 5424 in 19.0 (R580 structs, 2025-11) and 5432 from
 * 19.1 on (issue #53: not handled upstream at the research snapshot; fork rbqvq 5ad3ee6). Branches before R525
 * (≤ 14.x) use the older `NVA082…GET_VGPU_TYPE_INFO` path. A library built for an older branch skips the profile
 * overrides on a newer one with "Parameters size for … was N bytes, expected …" — the newer library still
 * accepts the older sizes (it matches any size it knows), so updating it never breaks an older driver.
 */
import { releaseMajor } from "./drivers.ts";

export interface UnlockStructs {
  /** ordinal of the struct generation: higher needs a newer vgpu_unlock-rs */
  generation: number;
  /** GET_VGPU_TYPE_INFO parameter size the branch sends (null: the pre-R525 control) */
  typeInfoSize: number | null;
  /** upstream vgpu_unlock-rs (mbilker) knows the size at the research snapshot */
  upstream: boolean;
}

/** The struct generation a vGPU release ("17.5", "19.1") sends; releases after 19.x are unknown (null). */
export function unlockStructsFor(vgpuRelease: string): UnlockStructs | null {
  const major = releaseMajor(vgpuRelease);
  const minor = Number.parseInt(vgpuRelease.split(".")[1] ?? "0", 10) || 0;
  if (major <= 14) return { generation: 0, typeInfoSize: null, upstream: true };
  if (major <= 16) return { generation: 1, typeInfoSize: 4960, upstream: true };
  if (major === 17) return { generation: 2, typeInfoSize: 5096, upstream: true };
  if (major === 18) return { generation: 3, typeInfoSize: 5232, upstream: true };
  if (major === 19)
    return minor === 0
      ? { generation: 4, typeInfoSize: 5424, upstream: true }
      : { generation: 5, typeInfoSize: 5432, upstream: false };
  return null;
}

/**
 * Going from `from` to `to` needs a newer vgpu_unlock-rs than the one built for `from`: the new branch sends
 * structs of a later generation (or an unknown one).
 */
export function unlockRebuildNeeded(from: string, to: string): boolean {
  const a = unlockStructsFor(from);
  const b = unlockStructsFor(to);
  if (!b) return true;
  return a !== null && b.generation > a.generation;
}
