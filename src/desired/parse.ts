/**
 * Parse and validate vgpu.yaml. Pure (text in, data out). Every problem is reported as
 * "vgpu.yaml:LINE:COL: message" (1-based), with a suggestion for misspelt keys.
 */
import * as v from "valibot";
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { editDistance } from "../util/edit-distance.ts";
import { UserError } from "../util/errors.ts";
import { type Desired, DesiredSchema } from "./schema.ts";

export interface DesiredProblem {
  line: number;
  column: number;
  message: string;
}

export class DesiredError extends UserError {
  constructor(
    readonly file: string,
    readonly problems: DesiredProblem[],
  ) {
    super(
      problems.map((p) => `${file}:${p.line}:${p.column}: ${p.message}`).join("\n"),
      "see schema.json or `vgpuctl init` for a valid starting file",
    );
    this.name = "DesiredError";
  }
}

/** Parse vgpu.yaml text; throws DesiredError (a UserError) listing every problem with line:column. */
export function parseDesired(text: string, file = "vgpu.yaml"): Desired {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number) => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    throw new DesiredError(
      file,
      doc.errors.map((e) => ({ ...pos(e.pos[0]), message: `invalid YAML: ${firstLine(e.message)}` })),
    );
  }
  const data = toData(doc, file);
  const result = v.safeParse(DesiredSchema, data);
  if (result.success) {
    recordGpuTypeSources(result.output, doc.contents as Node | null, pos, file);
    return result.output;
  }
  const problems: DesiredProblem[] = [];
  for (const issue of result.issues) problems.push(describeIssue(issue, doc.contents as Node | null, pos));
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  throw new DesiredError(file, dedupe(problems));
}

/** At most this many alias expansions per document (yaml's own default, named here). */
export const MAX_YAML_ALIASES = 100;

/**
 * The document as plain data, with aliases expanded at most MAX_YAML_ALIASES times: yaml's
 * `maxAliasCount` throws a ReferenceError on an alias bomb ("billion laughs"), which becomes one
 * clear DesiredError; any other error is a bug and goes on up.
 */
function toData(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? {};
  } catch (e) {
    if (!(e instanceof ReferenceError) || !/alias count/i.test(e.message)) throw e;
    throw new DesiredError(file, [
      {
        line: 1,
        column: 1,
        message: `YAML aliases expand to too much data (more than ${MAX_YAML_ALIASES} alias expansions) — write the values out instead of using anchors (&) and aliases (*)`,
      },
    ]);
  }
}

type AnyIssue = v.BaseIssue<unknown>;

function describeIssue(
  issue: AnyIssue,
  root: Node | null,
  pos: (o: number) => { line: number; column: number },
): DesiredProblem {
  const path = issue.path ?? [];
  const keys = path.map((p) => p.key as string | number);
  const last = path[path.length - 1];
  const isMissing = issue.received === "undefined" && last?.type === "object";
  const isUnknownKey =
    !isMissing &&
    issue.type === "strict_object" &&
    (last as { origin?: string } | undefined)?.origin === "key";
  // The node to point at: the key itself for unknown keys, the parent mapping for missing keys.
  const located = locate(root, isMissing ? keys.slice(0, -1) : keys, isUnknownKey);
  const at = located ? pos(located) : { line: 1, column: 1 };
  const dotted = keys.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
  if (isUnknownKey) {
    const key = String(last!.key);
    const allowed = allowedKeysAt(keys.slice(0, -1));
    const suggestion = closest(key, allowed);
    return {
      ...at,
      message: `unknown key '${key}'${suggestion ? ` — did you mean '${suggestion}'?` : allowed.length ? ` (allowed: ${allowed.join(", ")})` : ""}`,
    };
  }
  if (isMissing)
    return {
      ...at,
      message: `missing key '${String(last!.key)}'${keys.length > 1 ? ` in ${dotted.replace(/\.[^.[]+$/, "")}` : ""}`,
    };
  const where = dotted ? `${dotted}: ` : "";
  const msg = issue.message.startsWith("Invalid type")
    ? `expected ${issue.expected}, got ${issue.received}`
    : issue.message.replace(/^Invalid \w+: /, "");
  return { ...at, message: `${where}${msg}` };
}

/** Source offset of the node at `keys` (or of its key when `atKey`), walking the YAML AST. */
function locate(root: Node | null, keys: Array<string | number>, atKey = false): number | null {
  let node: unknown = root;
  let best: number | null = root?.range?.[0] ?? null;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(k));
      if (!pair) return best;
      const keyNode = pair.key as Node;
      if (atKey && i === keys.length - 1) return keyNode.range?.[0] ?? best;
      best = (pair.value as Node | null)?.range?.[0] ?? keyNode.range?.[0] ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof k === "number") {
      const item = node.items[k] as Node | undefined;
      if (!item) return best;
      best = item.range?.[0] ?? best;
      node = item;
    } else return best;
  }
  return best;
}

/** Keys the schema allows at a path (numbers = array items), for suggestions. */
export function allowedKeysAt(keys: Array<string | number>): string[] {
  let schema: unknown = DesiredSchema;
  for (const k of keys) {
    schema = unwrap(schema);
    const s = schema as { type?: string; entries?: Record<string, unknown>; item?: unknown };
    if (typeof k === "number") schema = s.item;
    else schema = s.entries?.[k];
    if (!schema) return [];
  }
  const s = unwrap(schema) as { entries?: Record<string, unknown> };
  return s.entries ? Object.keys(s.entries).filter((k) => k !== "$schema") : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema as { type?: string; wrapped?: unknown; pipe?: unknown[] } | undefined;
  for (let i = 0; i < 10 && s; i++) {
    if (s.type === "optional" || s.type === "nullable" || s.type === "nullish") s = s.wrapped as typeof s;
    else if (Array.isArray(s.pipe) && s.pipe[0] !== s) s = s.pipe[0] as typeof s;
    else break;
  }
  return s;
}

export function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : null;
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}

function dedupe(problems: DesiredProblem[]): DesiredProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.line}:${p.column}:${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Where each gpus[].type was written ("vgpu.yaml:12:15"), for errors the plan finds later. */
const gpuTypeSources = new WeakMap<object, string>();

function recordGpuTypeSources(
  d: Desired,
  root: Node | null,
  pos: (o: number) => { line: number; column: number },
  file: string,
): void {
  for (const [i, h] of d.hosts.entries())
    for (const [j, g] of (h.gpus ?? []).entries()) {
      const at = locate(root, ["hosts", i, "gpus", j, "type"]);
      if (at !== null) gpuTypeSources.set(g, `${file}:${pos(at).line}:${pos(at).column}`);
    }
}

/** "vgpu.yaml:LINE:COL" of a gpus[] entry's `type:` when it came from parseDesired, else null. */
export function gpuTypeSource(gpu: object): string | null {
  return gpuTypeSources.get(gpu) ?? null;
}
