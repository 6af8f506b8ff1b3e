/**
 * profile_override.toml (vgpu_unlock-rs per-profile / per-VM / per-mdev overrides): schema,
 * validation and comment-keeping edits. Ready for `vgpuctl override …`.
 */

export { humanSizeBytes } from "../../knowledge/vram.ts";
export {
  type EditResult,
  type OverrideChanges,
  type OverrideTarget,
  overrideLiteral,
  type RawOverrideValue,
  setOverride,
  unsetOverride,
} from "./edit.ts";
export { type VramBytes, vramBytes } from "./layout.ts";
export {
  isOverrideKey,
  type KeySpec,
  type KeyType,
  normalizeTargetKey,
  OVERRIDE_KEY_NAMES,
  OVERRIDE_KEYS,
  OVERRIDE_PATH,
  type OverrideKey,
  SECTION_KINDS,
  type SectionKind,
  sectionNameProblem,
} from "./schema.ts";
export {
  closestName,
  formatIssue,
  hasErrors,
  NVIDIA_VRAM_EXCEPTIONS,
  type OverrideIssue,
  validateOverride,
} from "./validate.ts";
