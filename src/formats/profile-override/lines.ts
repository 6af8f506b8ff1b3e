/**
 * A small line scanner for the flat TOML of profile_override.toml: it finds table headers and
 * `key = value  # comment` lines with their character spans, so issues can carry a line/column
 * and the editor can change single values without touching anything else. It never throws; a
 * construct it does not understand is reported as kind "other" (smol-toml stays the judge of
 * what the file means).
 */

export interface HeaderLine {
  kind: "header";
  /** 0-based line index */
  index: number;
  text: string;
  path: string[];
  /** `[[array]]` header */
  array: boolean;
}

export interface KeyValueLine {
  kind: "kv";
  index: number;
  text: string;
  /** dotted key path as written on the line */
  key: string[];
  /** the table this line belongs to (from the last header) */
  table: string[];
  /** character offset where the key starts (0-based) */
  keyStart: number;
  /** [valueStart, valueEnd) span of the raw value text (trailing spaces excluded) */
  valueStart: number;
  valueEnd: number;
  /** offset of `#` of a trailing comment, or null */
  commentStart: number | null;
  /** the value continues on the following lines (multi-line string/array/inline table) */
  multiline: boolean;
}

export interface PlainLine {
  kind: "blank" | "comment" | "continuation" | "other";
  index: number;
  text: string;
  /** the table the line sits in (from the last header) */
  table: string[];
}

export type ScannedLine = HeaderLine | KeyValueLine | PlainLine;

export interface ScannedSection {
  path: string[];
  header: HeaderLine;
  /** lines after the header up to (excluding) the next header */
  body: ScannedLine[];
}

export interface ScannedDocument {
  lines: ScannedLine[];
  /** key/value lines before the first header */
  root: ScannedLine[];
  sections: ScannedSection[];
  /** the document's line terminator */
  eol: "\n" | "\r\n";
}

const BARE_KEY = /^[A-Za-z0-9_-]+/;

/** Parse a dotted key at `pos`; returns the segments and the offset after it, or null. */
function parseKeyPath(s: string, pos: number): { path: string[]; end: number } | null {
  const path: string[] = [];
  let i = pos;
  for (;;) {
    while (s[i] === " " || s[i] === "\t") i++;
    const ch = s[i];
    if (ch === '"') {
      let j = i + 1;
      let out = "";
      while (j < s.length && s[j] !== '"') {
        if (s[j] === "\\" && j + 1 < s.length) {
          const e = s[j + 1];
          out += e === "n" ? "\n" : e === "t" ? "\t" : (e ?? "");
          j += 2;
          continue;
        }
        out += s[j];
        j++;
      }
      if (s[j] !== '"') return null;
      path.push(out);
      i = j + 1;
    } else if (ch === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) return null;
      path.push(s.slice(i + 1, j));
      i = j + 1;
    } else {
      const m = BARE_KEY.exec(s.slice(i));
      if (!m) return null;
      path.push(m[0]);
      i += m[0].length;
    }
    let k = i;
    while (s[k] === " " || s[k] === "\t") k++;
    if (s[k] === ".") {
      i = k + 1;
      continue;
    }
    return { path, end: i };
  }
}

/**
 * Scan a value starting at `pos`: where it ends, where a trailing comment starts and whether it
 * runs onto following lines. `state` carries an open multi-line construct between lines.
 */
interface OpenState {
  /** inside a multi-line string with this delimiter */
  string: '"""' | "'''" | null;
  /** open [ / { depth */
  depth: number;
}

function scanValue(s: string, pos: number, state: OpenState): { end: number; commentStart: number | null } {
  let i = pos;
  let lastNonSpace = pos;
  while (i < s.length) {
    if (state.string) {
      const close = state.string;
      if (close === '"""' && s[i] === "\\") {
        i += 2;
        lastNonSpace = i;
        continue;
      }
      if (s.startsWith(close, i)) {
        state.string = null;
        i += 3;
        // up to two extra quotes may belong to the string content
        while (s[i] === close[0]) i++;
        lastNonSpace = i;
        continue;
      }
      i++;
      lastNonSpace = i;
      continue;
    }
    const ch = s[i];
    if (ch === "#") return { end: lastNonSpace, commentStart: i };
    if (s.startsWith('"""', i) || s.startsWith("'''", i)) {
      state.string = s.startsWith('"""', i) ? '"""' : "'''";
      i += 3;
      lastNonSpace = i;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === "\\" ? 2 : 1;
      i = Math.min(j + 1, s.length);
      lastNonSpace = i;
      continue;
    }
    if (ch === "'") {
      const j = s.indexOf("'", i + 1);
      i = j < 0 ? s.length : j + 1;
      lastNonSpace = i;
      continue;
    }
    if (ch === "[" || ch === "{") state.depth++;
    else if (ch === "]" || ch === "}") state.depth = Math.max(0, state.depth - 1);
    i++;
    if (ch !== " " && ch !== "\t") lastNonSpace = i;
  }
  return { end: lastNonSpace, commentStart: null };
}

export function splitLines(text: string): { lines: string[]; eol: "\n" | "\r\n" } {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text.split(/\r?\n/);
  return { lines, eol };
}

export function scanDocument(text: string): ScannedDocument {
  const { lines: raw, eol } = splitLines(text);
  const lines: ScannedLine[] = [];
  const root: ScannedLine[] = [];
  const sections: ScannedSection[] = [];
  let table: string[] = [];
  let current: ScannedSection | null = null;
  const open: OpenState = { string: null, depth: 0 };

  raw.forEach((text, index) => {
    let line: ScannedLine;
    if (open.string || open.depth > 0) {
      scanValue(text, 0, open);
      line = { kind: "continuation", index, text, table };
    } else {
      const trimmed = text.trim();
      const lead = text.length - text.trimStart().length;
      if (trimmed === "") line = { kind: "blank", index, text, table };
      else if (trimmed.startsWith("#")) line = { kind: "comment", index, text, table };
      else if (trimmed.startsWith("[")) {
        const array = trimmed.startsWith("[[");
        const parsed = parseKeyPath(text, lead + (array ? 2 : 1));
        let after = parsed ? parsed.end : -1;
        if (parsed) {
          while (text[after] === " " || text[after] === "\t") after++;
          const close = array ? "]]" : "]";
          if (text.startsWith(close, after)) {
            after += close.length;
            const rest = text.slice(after).trim();
            if (rest === "" || rest.startsWith("#")) {
              const header: HeaderLine = { kind: "header", index, text, path: parsed.path, array };
              table = parsed.path;
              current = { path: parsed.path, header, body: [] };
              sections.push(current);
              lines.push(header);
              return;
            }
          }
        }
        line = { kind: "other", index, text, table };
      } else {
        const parsed = parseKeyPath(text, lead);
        let eq = parsed ? parsed.end : -1;
        if (parsed) while (text[eq] === " " || text[eq] === "\t") eq++;
        if (parsed && text[eq] === "=") {
          let vs = eq + 1;
          while (text[vs] === " " || text[vs] === "\t") vs++;
          const { end, commentStart } = scanValue(text, vs, open);
          line = {
            kind: "kv",
            index,
            text,
            key: parsed.path,
            table,
            keyStart: lead,
            valueStart: vs,
            valueEnd: Math.max(vs, end),
            commentStart,
            multiline: open.string !== null || open.depth > 0,
          };
        } else line = { kind: "other", index, text, table };
      }
    }
    lines.push(line);
    if (current) current.body.push(line);
    else root.push(line);
  });
  return { lines, root, sections, eol };
}

/** The key/value line that sets `key` directly inside `section`, if any. */
export function findKeyLine(section: ScannedSection, key: string): KeyValueLine | null {
  for (const l of section.body) {
    if (l.kind === "kv" && l.key.length === 1 && l.key[0] === key) return l;
  }
  return null;
}

export function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
