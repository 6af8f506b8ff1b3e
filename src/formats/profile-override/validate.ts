/**
 * Validation of profile_override.toml against what vgpu_unlock-rs actually decodes
 * (research/unlock.md §1.4–§1.6, VRAM rule §5). Pure: text in, issues out; never throws.
 */
import { parse, TomlError } from "smol-toml";
import { isTomlTable } from "../../facts/nvidia/unlock.ts";
import { HUMAN_SIZE_RE, humanSizeBytes } from "../../knowledge/vram.ts";
import { editDistance } from "../../util/edit-distance.ts";
import { type VramBytes, vramBytes } from "./layout.ts";
import { type ScannedDocument, samePath, scanDocument } from "./lines.ts";
import {
  isOverrideKey,
  MIB,
  OVERRIDE_KEY_NAMES,
  OVERRIDE_KEYS,
  type OverrideKey,
  RETIRED_KEYS,
  SECTION_KINDS,
  type SectionKind,
  sectionNameProblem,
  U32_MAX,
} from "./schema.ts";

export interface OverrideIssue {
  severity: "error" | "warning";
  /** 1-based line, null when it cannot be located */
  line: number | null;
  /** 1-based column, null when unknown */
  column: number | null;
  /** dotted path of the offending table or key, e.g. "vm.100.cuda_enabled" */
  key: string | null;
  message: string;
  fix: string;
}

type Table = Record<string, unknown>;

/** The closest known name, if it is plausibly a typo of `name`. */
export function closestName(name: string, candidates: readonly string[]): string | null {
  const lower = name.toLowerCase();
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(lower, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === null) return null;
  const limit = Math.max(2, Math.floor(Math.max(name.length, best.length) / 3));
  return bestD <= limit ? best : null;
}

function formatValue(v: unknown): string {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return JSON.stringify(v);
  return String(v);
}

export function hex(n: number | bigint): string {
  return `0x${n.toString(16).toUpperCase()}`;
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** NVIDIA's own (fb, reservation) pairs that deviate from V/16 + 64 MiB (research/unlock.md §5.2, stock Turing/T4/A16/A2). */
export const NVIDIA_VRAM_EXCEPTIONS: ReadonlyArray<{
  framebuffer: number;
  reservation: number;
  note: string;
}> = [
  { framebuffer: 0x2ca000000, reservation: 0x36000000, note: "RTX6000/RTX8000 -12Q/-12A" },
  { framebuffer: 0x3b8000000, reservation: 0x48000000, note: "RTX8000 -16Q/-16A" },
  { framebuffer: 0x596000000, reservation: 0x6a000000, note: "RTX8000 -24Q/-24A" },
  { framebuffer: 0x595800000, reservation: 0x6a800000, note: "RTX6000 -24Q/-24A" },
  { framebuffer: 0xb2d200000, reservation: 0xd2e00000, note: "RTX8000 -48Q/-48A" },
  { framebuffer: 0x3ba400000, reservation: 0x45c00000, note: "T4/A16/A2 -16Q/-16A" },
];

function pairText(l: VramBytes): string {
  return `framebuffer = ${hex(l.framebuffer)} and framebuffer_reservation = ${hex(l.reservation)}`;
}

function roundTo512(mib: number): number {
  return Math.max(512, Math.round(mib / 512) * 512);
}

class Locator {
  constructor(private readonly doc: ScannedDocument) {}

  /** The value text of `path` as written in the file (keeps hex), or null. */
  raw(path: string[]): string | null {
    for (const l of this.doc.lines) {
      if (l.kind === "kv" && !l.multiline && samePath([...l.table, ...l.key], path)) {
        return l.text.slice(l.valueStart, l.valueEnd);
      }
    }
    return null;
  }

  /** Where the table or key `path` is written: its key (or value) column, or the header line. */
  find(path: string[], at: "key" | "value" = "key"): { line: number; column: number } | null {
    for (const l of this.doc.lines) {
      if (l.kind === "kv" && samePath([...l.table, ...l.key], path)) {
        return { line: l.index + 1, column: (at === "value" ? l.valueStart : l.keyStart) + 1 };
      }
    }
    for (const s of this.doc.sections) {
      if (samePath(s.path, path)) {
        return {
          line: s.header.index + 1,
          column: s.header.text.length - s.header.text.trimStart().length + 1,
        };
      }
    }
    // a table implied by a deeper header or dotted key: point at its first mention
    for (const l of this.doc.lines) {
      const full = l.kind === "kv" ? [...l.table, ...l.key] : l.kind === "header" ? l.path : null;
      if (full && full.length > path.length && samePath(full.slice(0, path.length), path)) {
        return { line: l.index + 1, column: l.text.length - l.text.trimStart().length + 1 };
      }
    }
    return null;
  }
}

interface Ctx {
  issues: OverrideIssue[];
  loc: Locator;
}

function push(
  ctx: Ctx,
  severity: OverrideIssue["severity"],
  path: string[],
  message: string,
  fix: string,
  at: "key" | "value" = "key",
): void {
  const pos = ctx.loc.find(path, at);
  ctx.issues.push({
    severity,
    line: pos?.line ?? null,
    column: pos?.column ?? null,
    key: path.join("."),
    message,
    fix,
  });
}

/** Checks one value against its key's type; returns its numeric value (bytes for sizes) when usable. */
function checkValue(ctx: Ctx, path: string[], key: OverrideKey, v: unknown): number | string | null {
  const spec = OVERRIDE_KEYS[key];
  const where = path.join(".");
  if (typeof v === "boolean") {
    rejectBoolean(ctx, path, key, v);
    return null;
  }
  switch (spec.type) {
    case "flag":
    case "u32":
    case "u64":
      return checkInteger(ctx, path, key, v, where);
    case "size":
      return checkSize(ctx, path, key, v, where);
    case "string":
      return checkString(ctx, path, key, v, where);
  }
}

/** `true`/`false` where vgpu_unlock-rs wants a number (or a string): the file fails to decode. */
function rejectBoolean(ctx: Ctx, path: string[], key: OverrideKey, v: boolean): void {
  const spec = OVERRIDE_KEYS[key];
  if (spec.type === "flag") {
    push(
      ctx,
      "error",
      path,
      `${key} = ${v} is a boolean, but vgpu_unlock-rs expects the integer ${v ? 1 : 0}: the file fails to decode and every VM start fails`,
      `${key} = ${v ? 1 : 0}`,
      "value",
    );
  } else {
    push(
      ctx,
      "error",
      path,
      `${key} = ${v} is a boolean; ${key} expects ${describeType(key)}`,
      `give ${key} ${describeType(key)}`,
      "value",
    );
  }
}

/** flag / u32 / u64: an integer in range (flags clamped to 0/1). */
function checkInteger(ctx: Ctx, path: string[], key: OverrideKey, v: unknown, where: string): number | null {
  const spec = OVERRIDE_KEYS[key];
  if (typeof v !== "bigint") {
    const asInt = typeof v === "string" && /^\s*(0x[0-9a-f]+|[0-9]+)\s*$/i.test(v) ? v.trim() : null;
    push(
      ctx,
      "error",
      path,
      `${where} = ${formatValue(v)} is a ${typeof v === "number" ? "float" : typeof v === "string" ? "string" : "non-integer"}; ${key} expects ${describeType(key)} — the file fails to decode and every VM start fails`,
      asInt ? `${key} = ${asInt}` : `give ${key} ${describeType(key)}`,
      "value",
    );
    return null;
  }
  if (v > TOML_INT_MAX) {
    push(ctx, "error", path, tooLargeForToml(where, v), `give ${key} ${describeType(key)}`, "value");
    return null;
  }
  const max = spec.type === "u64" ? TOML_INT_MAX : BigInt(U32_MAX);
  if (v < 0n || v > max) {
    push(
      ctx,
      "error",
      path,
      `${where} = ${v} is out of range for ${describeType(key)}`,
      `give ${key} ${describeType(key)}`,
      "value",
    );
    return null;
  }
  if (spec.type === "flag" && v > 1n) {
    push(
      ctx,
      "warning",
      path,
      `${where} = ${v} is treated as 1 (flags are clamped to 0/1)`,
      `${key} = 1`,
      "value",
    );
    return 1;
  }
  return Number(v);
}

/**
 * The largest TOML integer: "Arbitrary 64-bit signed integers (from −2^63 to 2^63−1) should be accepted
 * and handled losslessly" (toml.io v1.0.0, Integer); the toml crate vgpu_unlock-rs decodes with reads
 * integers as i64, so a larger literal fails the whole file (issue 13 item 4).
 */
export const TOML_INT_MAX = (1n << 63n) - 1n;

function tooLargeForToml(where: string, v: bigint): string {
  return `${where} = ${hex(v)} is larger than a TOML integer can be (at most ${hex(TOML_INT_MAX)}): vgpu_unlock-rs cannot decode the file and every VM start fails`;
}

/** size: bytes as an integer, or a unit string vgpu_unlock-rs understands. */
function checkSize(ctx: Ctx, path: string[], key: OverrideKey, v: unknown, where: string): number | null {
  if (typeof v === "bigint") {
    if (v > TOML_INT_MAX) {
      const fix = `give ${key} a size within the GPU's VRAM (vgpuctl override set … --vram 4G writes both keys)`;
      push(ctx, "error", path, tooLargeForToml(where, v), fix, "value");
      return null;
    }
    if (v < 0n) {
      push(
        ctx,
        "error",
        path,
        `${where} is negative`,
        `give ${key} a size in bytes, e.g. ${key} = 0x74000000`,
        "value",
      );
      return null;
    }
    return Number(v);
  }
  if (typeof v === "string") {
    if (/^\s*0x[0-9a-f]+\s*$/i.test(v)) {
      push(
        ctx,
        "error",
        path,
        `${where} = ${JSON.stringify(v)} is a hex string; vgpu_unlock-rs rejects it ("known unit of measurement") and every VM start fails`,
        `write the hex number without quotes: ${key} = ${v.trim()}`,
        "value",
      );
      return null;
    }
    const bytes = humanSizeBytes(v);
    if (bytes === null || !HUMAN_SIZE_RE.test(v)) {
      push(
        ctx,
        "error",
        path,
        `${where} = ${JSON.stringify(v)} is not a size vgpu_unlock-rs understands`,
        `use bytes (${key} = 0x74000000) or a unit string such as "2GiB" (KiB, MiB, GiB, TiB, KB, MB, GB, TB)`,
        "value",
      );
      return null;
    }
    return bytes;
  }
  push(
    ctx,
    "error",
    path,
    `${where} = ${formatValue(v)} is not a size`,
    `give ${key} an integer number of bytes, e.g. 0x74000000`,
    "value",
  );
  return null;
}

/** string: a string the driver's field can hold. */
function checkString(ctx: Ctx, path: string[], key: OverrideKey, v: unknown, where: string): string | null {
  const spec = OVERRIDE_KEYS[key];
  if (typeof v !== "string") {
    push(
      ctx,
      "error",
      path,
      `${where} = ${formatValue(v)} is not a string`,
      `quote it: ${key} = "${formatValue(v)}"`,
      "value",
    );
    return null;
  }
  const len = utf8Length(v);
  const s = spec as { maxBytes?: number; maxBytesOld?: number };
  if (s.maxBytes !== undefined && len > s.maxBytes) {
    push(
      ctx,
      "error",
      path,
      `${where} is ${len} bytes; the driver's field holds at most ${s.maxBytes} — vgpu_unlock-rs fails the VM start ("value is too long")`,
      `shorten it to ${s.maxBytes} bytes or fewer`,
      "value",
    );
    return null;
  }
  if (s.maxBytesOld !== undefined && len > s.maxBytesOld) {
    push(
      ctx,
      "warning",
      path,
      `${where} is ${len} bytes; drivers up to vGPU 18.x hold only ${s.maxBytesOld} (the VM start fails there)`,
      `shorten it to ${s.maxBytesOld} bytes unless the host runs vGPU 19.x or newer`,
      "value",
    );
  }
  return v;
}

function describeType(key: OverrideKey): string {
  switch (OVERRIDE_KEYS[key].type) {
    case "flag":
      return "the integer 0 or 1";
    case "u32":
      return "an integer from 0 to 4294967295";
    case "u64":
      return "a non-negative integer";
    case "size":
      return 'a size in bytes (integer, e.g. 0x74000000) or a string such as "2GiB"';
    case "string":
      return "a string";
  }
}

function checkVram(
  ctx: Ctx,
  base: string[],
  fb: number | null,
  res: number | null,
  hasFb: boolean,
  hasRes: boolean,
): void {
  if (hasFb !== hasRes) {
    const only = hasFb ? "framebuffer" : "framebuffer_reservation";
    const missing = hasFb ? "framebuffer_reservation" : "framebuffer";
    let suggestion = "";
    if (hasFb && fb !== null) suggestion = suggestionFor(((fb + 64 * MIB) * 16) / 15 / MIB);
    if (hasRes && res !== null && res > 64 * MIB) suggestion = suggestionFor(((res - 64 * MIB) * 16) / MIB);
    push(
      ctx,
      "warning",
      [...base, only],
      `${only} is set without ${missing}: the other half comes from the base profile or another table, so the VRAM the VM uses is not what this table says`,
      `set both together${suggestion}`,
    );
    return;
  }
  if (fb === null || res === null) return;
  if (fb === 0) {
    push(
      ctx,
      "error",
      [...base, "framebuffer"],
      "framebuffer = 0 leaves the VM without video memory",
      `set a real size${suggestionFor(2048)}`,
    );
    return;
  }
  const total = fb + res;
  if (NVIDIA_VRAM_EXCEPTIONS.some((e) => e.framebuffer === fb && e.reservation === res)) return;
  const totalMiB = total / MIB;
  // the rule itself (reservation = VRAM/16 + 64 MiB), or the pair the project's VRAM table writes
  if (res * 16 === total + 1024 * MIB) return;
  if (Number.isInteger(totalMiB)) {
    const expected = vramBytes(totalMiB);
    if (expected && expected.framebuffer === fb && expected.reservation === res) return;
  }
  const target = roundTo512(totalMiB);
  const want = vramBytes(target);
  push(
    ctx,
    "warning",
    [...base, "framebuffer_reservation"],
    `framebuffer + framebuffer_reservation = ${twoDecimals(totalMiB)} MiB, but the reservation for that size should be ${twoDecimals(totalMiB / 16 + 64)} MiB (VRAM/16 + 64 MiB), not ${twoDecimals(res / MIB)} MiB`,
    want
      ? `for ${target} MiB use ${pairText(want)}`
      : "use the pairs from the VRAM table (research/unlock.md §5)",
  );
}

function suggestionFor(mib: number): string {
  const v = vramBytes(roundTo512(mib));
  return v ? `, e.g. for ${roundTo512(mib)} MiB: ${pairText(v)}` : "";
}

/** 12 → "12", 12.5 → "12.50" (MiB figures in messages) */
function twoDecimals(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function checkDisplay(
  ctx: Ctx,
  base: string[],
  nums: Partial<Record<OverrideKey, number | null>>,
  present: Set<string>,
): void {
  const w = nums.display_width ?? null;
  const h = nums.display_height ?? null;
  const p = nums.max_pixels ?? null;
  const n = nums.num_displays ?? null;
  if (present.has("display_width") !== present.has("display_height")) {
    const has = present.has("display_width") ? "display_width" : "display_height";
    push(
      ctx,
      "warning",
      [...base, has],
      `${has} is set alone; the other dimension comes from the base profile`,
      "set display_width and display_height together",
    );
  }
  if (n !== null && present.has("num_displays")) {
    if (n === 0)
      push(
        ctx,
        "warning",
        [...base, "num_displays"],
        "num_displays = 0 gives the VM no display head",
        "num_displays = 1",
      );
    else if (n > 4)
      push(
        ctx,
        "warning",
        [...base, "num_displays"],
        `num_displays = ${n}: NVIDIA profiles offer at most 4 heads`,
        "num_displays = 4",
      );
  }
  if (w === null || h === null) return;
  const heads = n ?? 1;
  const expected = w * h * heads;
  const fix = `max_pixels = ${expected}  # ${w} × ${h}${heads > 1 ? ` × ${heads}` : ""}`;
  if (!present.has("max_pixels")) {
    push(
      ctx,
      "warning",
      [...base, "display_width"],
      `display_width/display_height are set without max_pixels; the base profile's max_pixels still caps the resolution`,
      fix,
    );
    return;
  }
  if (p === null) return;
  if (p < w * h) {
    push(
      ctx,
      "warning",
      [...base, "max_pixels"],
      `max_pixels = ${p} is less than display_width × display_height = ${w * h}: the VM can never use that resolution`,
      fix,
      "value",
    );
  } else if (p !== expected) {
    push(
      ctx,
      "warning",
      [...base, "max_pixels"],
      `max_pixels = ${p} does not match display_width × display_height${heads > 1 ? " × num_displays" : ""} = ${expected}`,
      fix,
      "value",
    );
  }
}

function checkSection(ctx: Ctx, kind: SectionKind, name: string, body: Table): void {
  const base = [kind, name];
  const nums: Partial<Record<OverrideKey, number | null>> = {};
  const present = new Set<string>();
  for (const [key, v] of Object.entries(body)) {
    const path = [...base, key];
    if (!isOverrideKey(key)) {
      const retired = RETIRED_KEYS[key];
      if (retired) {
        push(ctx, "error", path, `${key} does not exist in vgpu_unlock-rs and is silently ignored`, retired);
        continue;
      }
      const close = closestName(key, OVERRIDE_KEY_NAMES);
      push(
        ctx,
        "error",
        path,
        `unknown key ${JSON.stringify(key)} in [${kind}.${name}] — vgpu_unlock-rs silently ignores it`,
        close
          ? `did you mean ${close}? rename it: ${close} = ${ctx.loc.raw(path) ?? formatValue(v)}`
          : `remove it; known keys: ${OVERRIDE_KEY_NAMES.join(", ")}`,
      );
      continue;
    }
    present.add(key);
    const value = checkValue(ctx, path, key, v);
    nums[key] = typeof value === "number" ? value : null;
  }
  checkVram(
    ctx,
    base,
    nums.framebuffer ?? null,
    nums.framebuffer_reservation ?? null,
    present.has("framebuffer"),
    present.has("framebuffer_reservation"),
  );
  checkDisplay(ctx, base, nums, present);
}

function checkKind(ctx: Ctx, kind: SectionKind, value: unknown): void {
  if (!isTomlTable(value)) {
    push(
      ctx,
      "error",
      [kind],
      `"${kind}" must hold tables such as [${kind}.${exampleName(kind)}], not ${Array.isArray(value) ? "an array" : formatValue(value)}`,
      `write the overrides under a header like [${kind}.${exampleName(kind)}]`,
    );
    return;
  }
  for (const [name, body] of Object.entries(value)) {
    if (!isTomlTable(body)) {
      const isKey = isOverrideKey(name);
      push(
        ctx,
        "error",
        [kind, name],
        isKey
          ? `${name} directly under [${kind}] applies to nothing: overrides belong in a table such as [${kind}.${exampleName(kind)}]`
          : `${kind}.${name} must be a table of overrides, not ${Array.isArray(body) ? "an array" : formatValue(body)}`,
        `move it under [${kind}.${exampleName(kind)}]`,
      );
      continue;
    }
    const problem = sectionNameProblem(kind, name);
    if (problem) push(ctx, "error", [kind, name], problem.message, problem.fix);
    checkSection(ctx, kind, name, body);
  }
}

function exampleName(kind: SectionKind): string {
  return kind === "profile" ? "nvidia-259" : kind === "vm" ? "100" : "00000000-0000-0000-0000-000000000100";
}

/** Validate the text of /etc/vgpu_unlock/profile_override.toml. Issues are in document order. */
export function validateOverride(text: string): OverrideIssue[] {
  let doc: Table;
  try {
    doc = parse(text, { integersAsBigInt: true }) as Table;
  } catch (e) {
    const err = e instanceof TomlError ? e : null;
    const first = (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "invalid TOML";
    const lineText = err ? (text.split(/\r?\n/)[err.line - 1] ?? "") : "";
    const boolHint = /=\s*(True|False|TRUE|FALSE|yes|no|on|off)\b/.test(lineText)
      ? " (booleans are written 1/0 here)"
      : "";
    return [
      {
        severity: "error",
        line: err?.line ?? null,
        column: err?.column ?? null,
        key: null,
        message: `TOML syntax error: ${first.replace(/^Invalid TOML document: /, "")}${boolHint} — vgpu_unlock-rs re-reads this file at every VM start and fails it while it cannot be decoded`,
        fix: err ? `fix line ${err.line}, column ${err.column}: ${lineText.trim()}` : "fix the TOML syntax",
      },
    ];
  }
  const ctx: Ctx = { issues: [], loc: new Locator(scanDocument(text)) };
  try {
    for (const [top, value] of Object.entries(doc)) {
      if ((SECTION_KINDS as readonly string[]).includes(top)) {
        checkKind(ctx, top as SectionKind, value);
        continue;
      }
      if (isTomlTable(value)) {
        const close = closestName(top, SECTION_KINDS);
        if (close) {
          push(
            ctx,
            "error",
            [top],
            `[${top}] is not a section vgpu_unlock-rs reads; everything in it is ignored`,
            `rename it to [${close}.…]`,
          );
        } else {
          push(
            ctx,
            "warning",
            [top],
            `[${top}] is not one of [profile.*], [vm.*], [mdev.*]; upstream vgpu_unlock-rs ignores it`,
            "remove it unless a vgpu_unlock-rs fork that reads it is installed",
          );
        }
        continue;
      }
      if (isOverrideKey(top)) {
        push(
          ctx,
          "error",
          [top],
          `${top} is set outside any table, so it applies to nothing (vgpu_unlock-rs only reads [profile.*], [vm.*] and [mdev.*])`,
          `put it under a header such as [profile.nvidia-259] or [vm.100]`,
        );
      } else {
        const close = closestName(top, OVERRIDE_KEY_NAMES);
        push(
          ctx,
          "error",
          [top],
          `unknown top-level key ${JSON.stringify(top)} is ignored`,
          close ? `did you mean ${close}, inside a [profile.*] or [vm.*] table?` : "remove it",
        );
      }
    }
  } catch (e) {
    ctx.issues.push({
      severity: "error",
      line: null,
      column: null,
      key: null,
      message: `internal validation failure: ${e instanceof Error ? e.message : String(e)}`,
      fix: "report this with the file attached",
    });
  }
  return ctx.issues.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
}

export function hasErrors(issues: readonly OverrideIssue[]): boolean {
  return issues.some((i) => i.severity === "error");
}

/** One line per issue: "line 4:1 error vm.100.cuda_enabled: … (fix: …)". */
export function formatIssue(i: OverrideIssue): string {
  const at = i.line !== null ? `line ${i.line}${i.column !== null ? `:${i.column}` : ""} ` : "";
  return `${at}${i.severity}${i.key ? ` ${i.key}` : ""}: ${i.message} (fix: ${i.fix})`;
}
