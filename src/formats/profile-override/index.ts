/**
 * profile_override.toml (vgpu_unlock-rs per-profile / per-VM / per-mdev overrides): schema,
 * validation and comment-keeping edits. Ready for `vgpuctl override …`.
 */

import { parse, TomlDate, TomlError } from "smol-toml";
import type { OverrideSection, ProfileOverrideFile } from "../../facts/types.ts";
import { samePath, scanDocument } from "./lines.ts";
import { SECTION_KINDS, type SectionKind } from "./schema.ts";

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
  humanSizeBytes,
  isOverrideKey,
  type KeySpec,
  type KeyType,
  normalizeTargetKey,
  OVERRIDE_KEY_NAMES,
  OVERRIDE_KEYS,
  OVERRIDE_PATH,
  type OverrideKey,
  proxmoxMdevUuid,
  SECTION_KINDS,
  type SectionKind,
  sectionNameProblem,
} from "./schema.ts";
export {
  closestName,
  editDistance,
  formatIssue,
  hasErrors,
  NVIDIA_VRAM_EXCEPTIONS,
  type OverrideIssue,
  validateOverride,
} from "./validate.ts";

/**
 * Read the file into the typed Facts shape. Never throws: a syntax error is returned in `error`
 * (with no sections); values that are not numbers/strings/booleans are left out.
 */
export function readOverrideFile(text: string): ProfileOverrideFile {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    const err = e instanceof TomlError ? e : null;
    const message = (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "invalid TOML";
    return { sections: [], error: { message, line: err?.line ?? null, column: err?.column ?? null } };
  }
  const scanned = scanDocument(text);
  const sections: OverrideSection[] = [];
  for (const kind of SECTION_KINDS) {
    const tables = doc[kind];
    if (!isPlainTable(tables)) continue;
    for (const [key, body] of Object.entries(tables)) {
      if (!isPlainTable(body)) continue;
      const values: Record<string, number | string | boolean> = {};
      for (const [k, v] of Object.entries(body)) {
        if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") values[k] = v;
      }
      const header = scanned.sections.find((s) => samePath(s.path, [kind, key]));
      sections.push({ kind: kind as SectionKind, key, line: header ? header.header.index + 1 : 0, values });
    }
  }
  sections.sort((a, b) => a.line - b.line);
  return { sections, error: null };
}

function isPlainTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof TomlDate);
}
