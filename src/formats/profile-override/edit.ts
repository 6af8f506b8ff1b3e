/**
 * Comment-, order- and hex-keeping edits of profile_override.toml.
 *
 * A line editor rather than @rainbowatcher/toml-edit-js: that library keeps comments, but it
 * writes every integer in decimal (BigInt is rejected), so `framebuffer = 0xB0000000` cannot be
 * produced; it also adds an empty `[mdev]` header and needs an async WASM init. The file is flat
 * (`[kind.name]` headers + `key = value` lines), so values are replaced in place on their own line
 * and new keys/tables are inserted as new lines. The result is re-parsed with smol-toml, compared
 * key by key with what was intended, and validated before it is returned: a failed check throws a
 * UserError and nothing should be written.
 */
import { parse, TomlDate } from "smol-toml";
import { isTomlTable } from "../../facts/nvidia/unlock.ts";
import { humanSizeBytes } from "../../knowledge/vram.ts";
import { UserError } from "../../util/errors.ts";
import { requireVramBytes } from "./layout.ts";
import {
  type KeyValueLine,
  type ScannedLine,
  type ScannedSection,
  samePath,
  scanDocument,
  splitLines,
} from "./lines.ts";
import {
  isOverrideKey,
  MIB,
  normalizeTargetKey,
  OVERRIDE_KEY_NAMES,
  OVERRIDE_KEYS,
  type OverrideKey,
  type SectionKind,
  sectionNameProblem,
  U32_MAX,
} from "./schema.ts";
import { closestName, formatIssue, hex, type OverrideIssue, validateOverride } from "./validate.ts";

export interface OverrideTarget {
  kind: SectionKind;
  /** "nvidia-259" (or "259"), "100", or an mdev UUID */
  key: string;
}

export type RawOverrideValue = number | bigint | string | boolean;

/** High-level changes plus any known key set directly (`{ num_displays: 2, vgpu_type: "NVS" }`). */
export type OverrideChanges = {
  /** VRAM in MiB → framebuffer + framebuffer_reservation (hex) */
  vramMiB?: number;
  /** max resolution → display_width, display_height, max_pixels = width × height × displays */
  display?: { width: number; height: number };
  /** num_displays */
  displays?: number;
  /** frl_enabled = 1/0 */
  frl?: boolean;
  /** cuda_enabled = 1/0 */
  cuda?: boolean;
} & { [K in OverrideKey]?: RawOverrideValue };

export interface EditResult {
  text: string;
  /** 1-based line numbers: for setOverride in the new text, for unsetOverride the removed lines of the old text */
  changedLines: number[];
  /** warnings of the resulting file (errors throw instead) */
  warnings: OverrideIssue[];
}

const CONVENIENCE = new Set(["vramMiB", "display", "displays", "frl", "cuda"]);

interface Line {
  text: string;
  changed: boolean;
}

type Table = Record<string, unknown>;

function parseDoc(text: string): Table {
  return parse(text, { integersAsBigInt: true }) as Table;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b) return false;
  if (a instanceof TomlDate || b instanceof TomlDate) return String(a) === String(b);
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isTomlTable(a) && isTomlTable(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function requireInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new UserError(`${name} must be a whole number from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

function toBigInt(key: string, v: RawOverrideValue): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new UserError(`${key} must be a whole number, got ${v}`);
    return BigInt(v);
  }
  if (typeof v === "string" && /^\s*(0x[0-9a-f]+|[0-9]+)\s*$/i.test(v)) return BigInt(v.trim());
  throw new UserError(`${key} must be a whole number, got ${JSON.stringify(v)}`);
}

/** The TOML literal to write for a known key, after checking the value fits the key's type. */
export function overrideLiteral(key: OverrideKey, value: RawOverrideValue): string {
  const spec = OVERRIDE_KEYS[key];
  switch (spec.type) {
    case "flag": {
      let v: bigint;
      if (typeof value === "boolean") v = value ? 1n : 0n;
      else if (value === "true" || value === "false") v = value === "true" ? 1n : 0n;
      else v = toBigInt(key, value);
      if (v !== 0n && v !== 1n) throw new UserError(`${key} is a 0/1 flag, got ${String(value)}`);
      return v.toString();
    }
    case "u32":
    case "u64": {
      if (typeof value === "boolean") throw new UserError(`${key} takes a number, not ${value}`);
      const v = toBigInt(key, value);
      const max = spec.type === "u32" ? BigInt(U32_MAX) : (1n << 63n) - 1n;
      if (v < 0n || v > max) throw new UserError(`${key} = ${v} is out of range (0…${max})`);
      return "hex" in spec && spec.hex ? hex(v) : v.toString();
    }
    case "size": {
      if (typeof value === "boolean") throw new UserError(`${key} takes a size, not ${value}`);
      if (typeof value === "string" && !/^\s*(0x[0-9a-f]+|[0-9]+)\s*$/i.test(value)) {
        if (humanSizeBytes(value) === null) {
          throw new UserError(
            `${key} = ${JSON.stringify(value)} is not a size vgpu_unlock-rs understands`,
            'use bytes or e.g. "2GiB"',
          );
        }
        return JSON.stringify(value.trim());
      }
      const v = toBigInt(key, value);
      if (v < 0n || v > (1n << 63n) - 1n) throw new UserError(`${key} = ${v} is out of range`);
      return hex(v);
    }
    case "string": {
      if (typeof value !== "string") throw new UserError(`${key} takes a string, got ${String(value)}`);
      return JSON.stringify(value);
    }
  }
}

/**
 * The most VRAM one override may give, MiB (1 TiB): more than any GPU has (the largest boards carry
 * under 200 GiB), far below what a TOML integer holds. The command bounds it by the GPU's own VRAM.
 */
export const MAX_VRAM_MIB = 1024 * 1024;

/** Resolve the requested changes into ordered `key → literal` pairs. */
function resolveChanges(changes: OverrideChanges, existing: Table): Map<OverrideKey, string> {
  const out = new Map<OverrideKey, string>();
  const record = changes as Record<string, unknown>;
  for (const [k, v] of Object.entries(record)) {
    if (v === undefined || CONVENIENCE.has(k)) continue;
    if (!isOverrideKey(k)) {
      const close = closestName(k, OVERRIDE_KEY_NAMES);
      throw new UserError(
        `unknown override key ${JSON.stringify(k)}`,
        close ? `did you mean ${close}?` : undefined,
      );
    }
    out.set(k, overrideLiteral(k, v as RawOverrideValue));
  }
  const claim = (key: OverrideKey, literal: string, from: string) => {
    if (out.has(key)) throw new UserError(`${key} is set twice (directly and through ${from})`);
    out.set(key, literal);
  };
  if (changes.displays !== undefined) {
    claim("num_displays", String(requireInt("displays", changes.displays, 1, 16)), "displays");
  }
  const existingInt = (k: string): number | null =>
    typeof existing[k] === "bigint" ? Number(existing[k]) : null;
  const chosenInt = (k: OverrideKey): number | null => {
    const lit = out.get(k);
    if (lit !== undefined) return Number(BigInt(lit));
    return existingInt(k);
  };
  if (changes.display !== undefined) {
    const w = requireInt("display width", changes.display.width, 1, 65535);
    const h = requireInt("display height", changes.display.height, 1, 65535);
    claim("display_width", String(w), "display");
    claim("display_height", String(h), "display");
  }
  // keep max_pixels consistent whenever the resolution or the head count changes
  if (changes.display !== undefined || (changes.displays !== undefined && !out.has("max_pixels"))) {
    const w = chosenInt("display_width");
    const h = chosenInt("display_height");
    if (w !== null && h !== null && (changes.display !== undefined || existing.max_pixels !== undefined)) {
      const pixels = w * h * (chosenInt("num_displays") ?? 1);
      if (pixels > U32_MAX)
        throw new UserError(`max_pixels ${pixels} does not fit the driver's 32-bit field`);
      claim("max_pixels", String(pixels), "display");
    }
  }
  if (changes.cuda !== undefined) claim("cuda_enabled", changes.cuda ? "1" : "0", "cuda");
  if (changes.frl !== undefined) claim("frl_enabled", changes.frl ? "1" : "0", "frl");
  if (changes.vramMiB !== undefined) {
    const mib = changes.vramMiB;
    if (typeof mib !== "number" || !Number.isInteger(mib) || mib <= 0) {
      throw new UserError(
        `VRAM must be a positive whole number of MiB, got ${String(mib)}`,
        "e.g. --vram 2G or --vram 1536M",
      );
    }
    if (mib > MAX_VRAM_MIB) {
      throw new UserError(
        `VRAM ${mib} MiB is more than any GPU has (at most ${MAX_VRAM_MIB / 1024} GiB here)`,
        "give the VRAM the vGPU should get, within its GPU's, e.g. --vram 4G",
      );
    }
    const layout = requireVramBytes(mib);
    if (layout.framebuffer + layout.reservation !== mib * MIB) {
      throw new Error(
        `VRAM layout for ${mib} MiB does not add up (${layout.framebufferHex} + ${layout.reservationHex})`,
      );
    }
    claim("framebuffer", layout.framebufferHex, "vram");
    claim("framebuffer_reservation", layout.reservationHex, "vram");
  }
  return out;
}

function targetPath(target: OverrideTarget): string[] {
  const key = normalizeTargetKey(target.kind, target.key);
  const problem = sectionNameProblem(target.kind, key);
  if (problem) throw new UserError(problem.message, problem.fix);
  return [target.kind, key];
}

function parseOrThrow(text: string): Table {
  const issues = validateOverride(text);
  const syntax = issues.find((i) => i.key === null && i.severity === "error");
  if (syntax) {
    throw new UserError(
      `cannot edit profile_override.toml: ${formatIssue(syntax)}`,
      "fix the file by hand first",
    );
  }
  return parseDoc(text);
}

function getTable(doc: Table, path: string[]): Table | null {
  let cur: unknown = doc;
  for (const p of path) {
    if (!isTomlTable(cur) || !Object.hasOwn(cur, p)) return null;
    cur = cur[p];
  }
  return isTomlTable(cur) ? cur : null;
}

function findSection(sections: ScannedSection[], path: string[]): ScannedSection | null {
  const found = sections.filter((s) => samePath(s.path, path));
  if (found.some((s) => s.header.array))
    throw new UserError(`[[${path.join(".")}]] is an array of tables; edit it by hand`);
  return found[0] ?? null;
}

/** Index of the last line that belongs to a section's own content (keys and their indented comment continuations). */
function contentEnd(section: ScannedSection): number {
  let end = section.header.index;
  let lastKv = -1;
  section.body.forEach((l, i) => {
    if (l.kind === "kv" || l.kind === "continuation" || l.kind === "other") {
      end = l.index;
      lastKv = i;
    }
  });
  if (lastKv >= 0) {
    for (const l of section.body.slice(lastKv + 1)) {
      if (l.kind === "comment" && /^\s+#/.test(l.text)) end = l.index;
      else break;
    }
  }
  return end;
}

function indentOf(section: ScannedSection): string {
  const kv = section.body.find((l): l is KeyValueLine => l.kind === "kv");
  return kv ? kv.text.slice(0, kv.keyStart) : "";
}

/** Replace the value of a `key = value  # comment` line, keeping the comment's column when possible. */
function replaceValue(l: KeyValueLine, literal: string): string {
  const head = l.text.slice(0, l.valueStart) + literal;
  if (l.commentStart === null) return head + l.text.slice(l.valueEnd);
  const gap = l.commentStart - l.valueEnd;
  const grow = literal.length - (l.valueEnd - l.valueStart);
  return head + " ".repeat(Math.max(1, gap - grow)) + l.text.slice(l.commentStart);
}

function finish(expected: Table, lines: Line[], eol: string): EditResult {
  const text = lines.map((l) => l.text).join(eol);
  let after: Table;
  try {
    after = parseDoc(text);
  } catch (e) {
    throw new Error(
      `profile_override.toml edit produced invalid TOML: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!deepEqual(after, expected)) {
    throw new UserError(
      "refusing to write profile_override.toml: the edited file would not mean what was asked (unusual TOML layout around the edited table)",
      "edit this table by hand",
    );
  }
  const issues = validateOverride(text);
  const errors = issues.filter((i) => i.severity === "error");
  if (errors.length > 0) {
    throw new UserError(
      `refusing to write profile_override.toml: the result has ${errors.length} error(s):\n${errors.map((i) => `  - ${formatIssue(i)}`).join("\n")}`,
      errors.map((i) => i.fix).join("; "),
    );
  }
  const changedLines: number[] = [];
  lines.forEach((l, i) => {
    if (l.changed) changedLines.push(i + 1);
  });
  return { text, changedLines, warnings: issues };
}

function literalValue(literal: string): unknown {
  return parseDoc(`v = ${literal}`).v;
}

/**
 * Set overrides in the table `[kind.key]`, creating the table when missing. Only the lines of the
 * changed keys (and inserted lines) differ from the input. Throws UserError when the input cannot
 * be parsed, the request is invalid, or the result would not validate.
 */
export function setOverride(text: string, target: OverrideTarget, changes: OverrideChanges): EditResult {
  const path = targetPath(target);
  const before = parseOrThrow(text);
  const existing = getTable(before, path) ?? {};
  const pairs = resolveChanges(changes, existing);
  if (pairs.size === 0) throw new UserError("nothing to change: no override values were given");

  const doc = scanDocument(text);
  const { eol } = doc;
  const lines: Line[] = splitLines(text).lines.map((t) => ({ text: t, changed: false }));
  const section = findSection(doc.sections, path);
  if (!section && getTable(before, path)) {
    throw new UserError(
      `[${path.join(".")}] is written with dotted keys or an inline table; vgpuctl only edits [${path.join(".")}] headers`,
      "edit this table by hand",
    );
  }

  const expected = parseDoc(text);
  if (!isTomlTable(expected[path[0]!])) expected[path[0]!] = Object.create(null);
  const kindTable = expected[path[0]!] as Table;
  if (!isTomlTable(kindTable[path[1]!])) kindTable[path[1]!] = Object.create(null);
  const expTable = kindTable[path[1]!] as Table;
  for (const [k, lit] of pairs) expTable[k] = literalValue(lit);

  if (section) {
    const indent = indentOf(section);
    const additions: string[] = [];
    for (const [k, lit] of pairs) {
      const kv = section.body.find(
        (l): l is KeyValueLine => l.kind === "kv" && l.key.length === 1 && l.key[0] === k,
      );
      if (kv) {
        if (kv.multiline) throw new UserError(`${path.join(".")}.${k} spans several lines; edit it by hand`);
        const next = replaceValue(kv, lit);
        const line = lines[kv.index]!;
        if (next !== line.text) {
          line.text = next;
          line.changed = true;
        }
      } else additions.push(`${indent}${k} = ${lit}`);
    }
    if (additions.length > 0) {
      lines.splice(contentEnd(section) + 1, 0, ...additions.map((t) => ({ text: t, changed: true })));
    }
  } else {
    const block = [`[${path.join(".")}]`, ...[...pairs].map(([k, lit]) => `${k} = ${lit}`)];
    const sameKind = doc.sections.filter((s) => s.path.length === 2 && s.path[0] === path[0]);
    const last = sameKind[sameKind.length - 1];
    if (last) {
      const at = contentEnd(last) + 1;
      const next = lines[at];
      const insert = ["", ...block];
      if (next !== undefined && next.text.trim() !== "") insert.push("");
      lines.splice(at, 0, ...insert.map((t) => ({ text: t, changed: t !== "" })));
    } else {
      let lastContent = lines.length - 1;
      while (lastContent >= 0 && lines[lastContent]!.text.trim() === "") lastContent--;
      const insert = lastContent >= 0 ? ["", ...block] : block;
      lines.splice(lastContent + 1, 0, ...insert.map((t) => ({ text: t, changed: t !== "" })));
      if (lines[lines.length - 1]!.text !== "") lines.push({ text: "", changed: false });
    }
  }
  return finish(expected, lines, eol);
}

/**
 * Remove keys from `[kind.key]` (or the whole table when `keys` is omitted). Removing something
 * that is not there changes nothing. Unknown key names may be removed (that is how typos go away).
 */
export function unsetOverride(text: string, target: OverrideTarget, keys?: string[]): EditResult {
  const path = targetPath(target);
  const before = parseOrThrow(text);
  const doc = scanDocument(text);
  const lines: Line[] = splitLines(text).lines.map((t) => ({ text: t, changed: false }));
  const section = findSection(doc.sections, path);
  const table = getTable(before, path);
  if (!section) {
    if (table) {
      throw new UserError(
        `[${path.join(".")}] is written with dotted keys or an inline table; vgpuctl only edits [${path.join(".")}] headers`,
        "edit this table by hand",
      );
    }
    return { text, changedLines: [], warnings: validateOverride(text) };
  }

  const expected = parseDoc(text);
  const remove = new Set<number>();
  const body: ScannedLine[] = section.body;
  if (keys === undefined) {
    delete (expected[path[0]!] as Table)[path[1]!];
    if (Object.keys(expected[path[0]!] as Table).length === 0 && !textHasKindTable(doc.sections, path[0]!)) {
      delete expected[path[0]!];
    }
    // the header, its keys and the comments among them; comments and blank lines after the last
    // key are kept (they usually introduce whatever follows)
    const first = section.header.index;
    const end = contentEnd(section);
    for (let i = first; i <= end; i++) remove.add(i);
    const blank = (i: number) => i < 0 || i >= lines.length || lines[i]!.text.trim() === "";
    const atEof = lines.slice(end + 1).every((l) => l.text.trim() === "");
    if (first > 0 && blank(first - 1) && (blank(end + 1) || atEof)) remove.add(first - 1);
    else if (first === 0 && blank(end + 1) && end + 1 < lines.length - 1) remove.add(end + 1);
  } else {
    const exp = (expected[path[0]!] as Table)[path[1]!] as Table;
    for (const k of keys) {
      const found = body.filter(
        (l): l is KeyValueLine => l.kind === "kv" && l.key.length === 1 && l.key[0] === k,
      );
      for (const kv of found) {
        remove.add(kv.index);
        if (kv.multiline) {
          for (const l of body) {
            if (l.index > kv.index && l.kind === "continuation") remove.add(l.index);
            else if (l.index > kv.index) break;
          }
        }
      }
      delete exp[k];
    }
  }
  const kept: Line[] = lines.filter((_, i) => !remove.has(i));
  const result = finish(expected, kept, doc.eol);
  return { ...result, changedLines: [...remove].sort((a, b) => a - b).map((i) => i + 1) };
}

function textHasKindTable(sections: ScannedSection[], kind: string): boolean {
  return sections.some((s) => s.path.length === 1 && s.path[0] === kind);
}
