import { parse, TomlError } from "smol-toml";
import type { OverrideSection, ProfileOverrideFile, UnlockConfig } from "../types.ts";
import { splitLines } from "./common.ts";

/** Keys of config.toml that vgpu_unlock-rs decodes as booleans (a wrong type aborts the daemons). */
const BOOLEAN_KEYS = ["unlock", "unlock_migration"] as const;

/**
 * /etc/vgpu_unlock/config.toml. `unlock` defaults to true when absent. A TOML syntax error or a
 * non-boolean `unlock` / `unlock_migration` (vgpu_unlock-rs would abort nvidia-vgpud / nvidia-vgpu-mgr)
 * is reported in `error` with its 1-based line; `unlock` then keeps the value the file most plausibly
 * means (true unless it says `false`). Never throws.
 */
export function parseUnlockConfig(text: string): UnlockConfig {
  if (typeof text !== "string") return { unlock: true, error: { message: "no content", line: null } };
  let data: Record<string, unknown>;
  try {
    data = parse(text) as Record<string, unknown>;
  } catch (e) {
    const err = tomlErrorInfo(e);
    const guess = !/^\s*unlock\s*=\s*false\b/m.test(text);
    return { unlock: guess, error: { message: err.message, line: err.line } };
  }
  let unlock = true;
  let error: UnlockConfig["error"] = null;
  for (const key of BOOLEAN_KEYS) {
    if (!(key in data)) continue;
    const v = data[key];
    if (typeof v === "boolean") {
      if (key === "unlock") unlock = v;
      continue;
    }
    if (key === "unlock" && (v === 0 || v === "false")) unlock = false;
    error ??= {
      message: `\`${key}\` must be true or false, not ${describe(v)}; vgpu_unlock-rs cannot decode this file`,
      line: keyLine(text, key),
    };
  }
  return { unlock, error };
}

const KINDS = ["profile", "vm", "mdev"] as const;
type Kind = (typeof KINDS)[number];

/**
 * /etc/vgpu_unlock/profile_override.toml: one OverrideSection per `[profile.<name>]`, `[vm.<vmid>]`,
 * `[mdev.<uuid>]` table, in file order, with the 1-based line of its header. Values keep their TOML
 * type (so `frl_enabled = true` stays boolean and checks can flag it); nested tables and arrays are
 * skipped. TOML syntax errors → `error` with line and column, no sections. Other top-level keys or
 * tables are not sections and are ignored here. Never throws.
 */
export function parseProfileOverride(text: string): ProfileOverrideFile {
  if (typeof text !== "string")
    return { sections: [], error: { message: "no content", line: null, column: null } };
  let data: Record<string, unknown>;
  try {
    data = parse(text) as Record<string, unknown>;
  } catch (e) {
    const err = tomlErrorInfo(e);
    return { sections: [], error: { message: err.message, line: err.line, column: err.column } };
  }
  const headers = scanHeaders(text);
  const sections: OverrideSection[] = [];
  for (const kind of KINDS) {
    const group = data[kind];
    if (!isTomlTable(group)) continue;
    for (const [key, table] of Object.entries(group)) {
      if (!isTomlTable(table)) continue;
      const values: Record<string, number | string | boolean> = {};
      for (const [k, v] of Object.entries(table)) {
        if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") values[k] = v;
        else if (typeof v === "bigint") values[k] = Number(v);
        else if (v instanceof Date) values[k] = v.toISOString();
      }
      const line = headers.get(`${kind}\u0000${key}`) ?? fallbackLine(text, kind, key);
      sections.push({ kind, key, line, values });
    }
  }
  sections.sort((a, b) => a.line - b.line);
  return { sections, error: null };
}

/** `[kind.key]` header lines (bare or quoted keys, optional spaces and trailing comments). */
function scanHeaders(text: string): Map<string, number> {
  const found = new Map<string, number>();
  const lines = splitLines(text);
  const re = /^\s*\[\s*(profile|vm|mdev)\s*\.\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*\]\s*(?:#.*)?$/;
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i]!.includes("[") ? re.exec(lines[i]!) : null; // most lines hold none (start-up cost)
    if (!m) continue;
    const key = m[2] ?? m[3] ?? m[4] ?? "";
    const id = `${m[1] as Kind}\u0000${key}`;
    if (!found.has(id)) found.set(id, i + 1);
  }
  return found;
}

/** For tables written without their own header (dotted keys, inline tables): the first line naming the key. */
function fallbackLine(text: string, kind: string, key: string): number {
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) if (lines[i]!.includes(key)) return i + 1;
  for (let i = 0; i < lines.length; i++)
    if (new RegExp(`^\\s*\\[\\s*${kind}\\b`).test(lines[i]!)) return i + 1;
  return 1;
}

function keyLine(text: string, key: string): number | null {
  const lines = splitLines(text);
  const re = new RegExp(`^\\s*${key}\\s*=`);
  for (let i = 0; i < lines.length; i++) if (re.test(lines[i]!)) return i + 1;
  return null;
}

function tomlErrorInfo(e: unknown): { message: string; line: number | null; column: number | null } {
  if (e instanceof TomlError) {
    const first = (e.message.split("\n")[0] ?? e.message).replace(/^Invalid TOML document:\s*/, "");
    return { message: first, line: e.line ?? null, column: e.column ?? null };
  }
  return { message: e instanceof Error ? e.message : String(e), line: null, column: null };
}

/** A TOML table as smol-toml returns it: a plain object (arrays and dates — TomlDate extends Date — are not). */
export function isTomlTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (typeof v === "string") return `the string "${v}"`;
  if (typeof v === "number" || typeof v === "bigint") return `the number ${String(v)}`;
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object" && v !== null) return "a table";
  return String(v);
}
