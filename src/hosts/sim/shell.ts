/**
 * A small POSIX sh for the simulated host: `sh -c SCRIPT`, `sh -s`, and scripts run with `sh FILE`.
 * It covers what vgpuctl and the tools it runs send to a host (the ssh helper snippets, the gather
 * script, `curl … | sh -s -- …`): quoting, $1 $? $$ ${X} $(…), field splitting, `*` globs over the
 * simulated filesystem, ; && || | ! pipelines, if/elif/else, for, while/until, { }, functions,
 * redirections (> >> < 2>&1 >&2 /dev/null), and the builtins those need. Every other command runs
 * through the simulated host's programs (commands.ts), so `sh -c` behaves like the host's dash.
 */
import { listDir, normalisePath } from "./fs.ts";
import type { CmdResult } from "./render/types.ts";

export interface ShellOptions {
  /** $0 */
  name?: string;
  /** $1 … */
  args?: string[];
  stdin?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Run a program (not a builtin) with argv, stdin and cwd. */
  exec: (argv: string[], stdin: string, cwd: string) => CmdResult;
  /** Directory listing for globs (null: not a directory). */
  list: (path: string) => string[] | null;
  /** Read a file for `<` redirections (null: absent). */
  read: (path: string) => string | null;
  /** Write or append a file for `>` / `>>` (false: cannot). */
  write: (path: string, content: string, append: boolean) => boolean;
}

// ── syntax ─────────────────────────────────────────────────────────────────────

type Part =
  | { t: "lit"; v: string; q: boolean }
  | { t: "param"; name: string; q: boolean; op?: string; arg?: Word }
  | { t: "sub"; src: string; q: boolean };
type Word = Part[];
interface Redir {
  fd: number;
  op: ">" | ">>" | "<" | ">&" | "<&";
  target: Word;
}
type Node =
  | { k: "simple"; assigns: Array<[string, Word]>; words: Word[]; redirs: Redir[] }
  | { k: "pipe"; cmds: Node[]; bang: boolean }
  | { k: "and" | "or"; l: Node; r: Node }
  | { k: "seq"; list: Node[] }
  | { k: "if"; clauses: Array<[Node, Node]>; else: Node | null; redirs: Redir[] }
  | { k: "for"; name: string; words: Word[] | null; body: Node; redirs: Redir[] }
  | { k: "while"; cond: Node; body: Node; until: boolean; redirs: Redir[] }
  | { k: "group"; body: Node; redirs: Redir[]; subshell: boolean }
  | { k: "case"; word: Word; items: Array<{ pats: Word[]; body: Node | null }>; redirs: Redir[] }
  | { k: "func"; name: string; body: Node };

type Tok =
  | { t: "word"; raw: string }
  | { t: "op"; v: string }
  | { t: "io"; fd: number; op: string }
  | { t: "nl" };

export class ShellSyntaxError extends Error {}

const META = new Set([" ", "\t", "\n", ";", "&", "|", "(", ")", "<", ">"]);

/** Index just past the ")" closing a "$(" whose body starts at i. */
function skipParen(src: string, i: number): number {
  let depth = 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\") i += 2;
    else if (c === "'") i = src.indexOf("'", i + 1) + 1 || src.length;
    else if (c === '"') i = skipDouble(src, i + 1);
    else if (c === "(") {
      depth++;
      i++;
    } else if (c === ")") {
      depth--;
      i++;
      if (depth === 0) return i;
    } else i++;
  }
  throw new ShellSyntaxError('Syntax error: end of file unexpected (expecting ")")');
}

/** Index just past the closing '"' of a double-quoted string whose body starts at i. */
function skipDouble(src: string, i: number): number {
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\") i += 2;
    else if (c === '"') return i + 1;
    else if (c === "$" && src[i + 1] === "(") i = skipParen(src, i + 2);
    else if (c === "`") i = src.indexOf("`", i + 1) + 1 || src.length;
    else i++;
  }
  throw new ShellSyntaxError("Syntax error: Unterminated quoted string");
}

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    if (c === "\\" && src[i + 1] === "\n") {
      i += 2;
      continue;
    }
    if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (c === "\n") {
      toks.push({ t: "nl" });
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === "&&" || two === "||" || two === ";;") {
      toks.push({ t: "op", v: two });
      i += 2;
      continue;
    }
    if (c === ";" || c === "&" || c === "|" || c === "(" || c === ")") {
      toks.push({ t: "op", v: c });
      i++;
      continue;
    }
    if (c === "<" || c === ">") {
      const op = two === ">>" || two === ">&" || two === "<&" ? two : c;
      toks.push({ t: "io", fd: c === "<" ? 0 : 1, op });
      i += op.length;
      continue;
    }
    // a word (an all-digit word right before < or > is an io number)
    let j = i;
    while (j < src.length && !META.has(src[j]!)) {
      const d = src[j]!;
      if (d === "\\") j += 2;
      else if (d === "'") {
        const e = src.indexOf("'", j + 1);
        if (e < 0) throw new ShellSyntaxError("Syntax error: Unterminated quoted string");
        j = e + 1;
      } else if (d === '"') j = skipDouble(src, j + 1);
      else if (d === "$" && src[j + 1] === "(") j = skipParen(src, j + 2);
      else if (d === "$" && src[j + 1] === "{") j = src.indexOf("}", j) + 1 || src.length;
      else if (d === "`") j = src.indexOf("`", j + 1) + 1 || src.length;
      else j++;
    }
    const raw = src.slice(i, j);
    if (/^\d$/.test(raw) && (src[j] === "<" || src[j] === ">")) {
      const two2 = src.slice(j, j + 2);
      const op = two2 === ">>" || two2 === ">&" || two2 === "<&" ? two2 : src[j]!;
      toks.push({ t: "io", fd: Number(raw), op });
      i = j + op.length;
      continue;
    }
    toks.push({ t: "word", raw });
    i = j;
  }
  return toks;
}

function parseParam(src: string, i: number, q: boolean): [Part, number] {
  // src[i] === "$"
  const n = src[i + 1];
  if (n === "{") {
    const end = src.indexOf("}", i);
    const body = src.slice(i + 2, end);
    const m = /^([A-Za-z_][A-Za-z0-9_]*|\d+|[?$#@*!])(?:(:?[-=+?])(.*))?$/s.exec(body);
    if (!m) throw new ShellSyntaxError(`\${${body}}: Bad substitution`);
    const part: Part = { t: "param", name: m[1]!, q };
    if (m[2]) {
      part.op = m[2];
      part.arg = parseWord(m[3] ?? "", q);
    }
    return [part, end + 1];
  }
  if (n === "(") {
    const end = skipParen(src, i + 2);
    return [{ t: "sub", src: src.slice(i + 2, end - 1), q }, end];
  }
  if (n !== undefined && /[?$#@*!0-9]/.test(n)) return [{ t: "param", name: n, q }, i + 2];
  const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i + 1));
  if (m) return [{ t: "param", name: m[0], q }, i + 1 + m[0].length];
  return [{ t: "lit", v: "$", q }, i + 1];
}

function parseWord(raw: string, inDouble = false): Word {
  const parts: Word = [];
  const lit = (v: string, q: boolean) => {
    const last = parts[parts.length - 1];
    if (last && last.t === "lit" && last.q === q) last.v += v;
    else parts.push({ t: "lit", v, q });
  };
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (inDouble) {
      if (c === "\\" && i + 1 < raw.length && /[$`"\\\n]/.test(raw[i + 1]!)) {
        lit(raw[i + 1]!, true);
        i += 2;
      } else if (c === "$") {
        const [p, j] = parseParam(raw, i, true);
        parts.push(p);
        i = j;
      } else if (c === "`") {
        const e = raw.indexOf("`", i + 1);
        parts.push({ t: "sub", src: raw.slice(i + 1, e), q: true });
        i = e + 1;
      } else {
        lit(c, true);
        i++;
      }
      continue;
    }
    if (c === "\\") {
      if (raw[i + 1] !== undefined) lit(raw[i + 1]!, true);
      i += 2;
    } else if (c === "'") {
      const e = raw.indexOf("'", i + 1);
      lit(raw.slice(i + 1, e), true);
      if (e === i + 1) parts.push({ t: "lit", v: "", q: true });
      i = e + 1;
    } else if (c === '"') {
      const e = skipDouble(raw, i + 1);
      const inner = parseWord(raw.slice(i + 1, e - 1), true);
      if (inner.length === 0) parts.push({ t: "lit", v: "", q: true });
      parts.push(...inner);
      i = e;
    } else if (c === "$") {
      const [p, j] = parseParam(raw, i, false);
      parts.push(p);
      i = j;
    } else if (c === "`") {
      const e = raw.indexOf("`", i + 1);
      parts.push({ t: "sub", src: raw.slice(i + 1, e), q: false });
      i = e + 1;
    } else {
      lit(c, false);
      i++;
    }
  }
  return parts;
}

const RESERVED = new Set([
  "if",
  "then",
  "elif",
  "else",
  "fi",
  "for",
  "in",
  "do",
  "done",
  "while",
  "until",
  "{",
  "}",
  "!",
  "case",
  "esac",
]);

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok | undefined {
    return this.toks[this.i];
  }
  private isWord(v?: string): boolean {
    const t = this.peek();
    return t?.t === "word" && (v === undefined || t.raw === v);
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t?.t === "op" && t.v === v;
  }
  private skipNl(): void {
    while (this.peek()?.t === "nl") this.i++;
  }
  private expectWord(v: string): void {
    this.skipNl();
    if (!this.isWord(v)) throw new ShellSyntaxError(`Syntax error: expecting "${v}"`);
    this.i++;
  }

  program(): Node {
    const n = this.list(new Set());
    if (this.i < this.toks.length) {
      const t = this.peek()!;
      throw new ShellSyntaxError(
        `Syntax error: "${t.t === "word" ? t.raw : t.t === "op" ? t.v : "newline"}" unexpected`,
      );
    }
    return n;
  }

  /** Commands separated by ; & newline until one of `stops` (reserved words or ")") starts. */
  private list(stops: Set<string>): Node {
    const list: Node[] = [];
    for (;;) {
      this.skipNl();
      const t = this.peek();
      if (!t) break;
      if (t.t === "word" && stops.has(t.raw)) break;
      if (t.t === "op" && (t.v === ")" ? stops.has(")") : false)) break;
      if (t.t === "op" && (t.v === ")" || t.v === ";;")) break;
      list.push(this.andOr());
      const sep = this.peek();
      if (sep?.t === "op" && (sep.v === ";" || sep.v === "&")) this.i++;
      else if (sep?.t === "nl") this.i++;
      else break;
    }
    return list.length === 1 ? list[0]! : { k: "seq", list };
  }

  private andOr(): Node {
    let l = this.pipeline();
    for (;;) {
      if (this.isOp("&&") || this.isOp("||")) {
        const op = (this.peek() as { v: string }).v;
        this.i++;
        this.skipNl();
        const r = this.pipeline();
        l = { k: op === "&&" ? "and" : "or", l, r };
      } else return l;
    }
  }

  private pipeline(): Node {
    let bang = false;
    if (this.isWord("!")) {
      bang = true;
      this.i++;
    }
    const cmds = [this.command()];
    while (this.isOp("|")) {
      this.i++;
      this.skipNl();
      cmds.push(this.command());
    }
    return cmds.length === 1 && !bang ? cmds[0]! : { k: "pipe", cmds, bang };
  }

  private redirs(): Redir[] {
    const out: Redir[] = [];
    while (this.peek()?.t === "io") {
      const t = this.peek() as { t: "io"; fd: number; op: string };
      this.i++;
      const w = this.peek();
      if (w?.t !== "word") throw new ShellSyntaxError("Syntax error: redirection unexpected");
      this.i++;
      out.push({ fd: t.fd, op: t.op as Redir["op"], target: parseWord(w.raw) });
    }
    return out;
  }

  /** `case WORD in [(]PAT[|PAT]…) LIST ;; … esac` (POSIX 2.9.4.3) */
  private caseCommand(): Node {
    this.i++;
    const w = this.peek();
    if (w?.t !== "word") throw new ShellSyntaxError('Syntax error: "case" unexpected');
    this.i++;
    this.expectWord("in");
    const items: Array<{ pats: Word[]; body: Node | null }> = [];
    for (;;) {
      this.skipNl();
      if (this.isWord("esac")) break;
      if (this.isOp("(")) this.i++;
      const pats: Word[] = [];
      for (;;) {
        const p = this.peek();
        if (p?.t !== "word") throw new ShellSyntaxError('Syntax error: expecting ")"');
        pats.push(parseWord(p.raw));
        this.i++;
        if (!this.isOp("|")) break;
        this.i++;
      }
      if (!this.isOp(")")) throw new ShellSyntaxError('Syntax error: expecting ")"');
      this.i++;
      this.skipNl();
      const body = this.isOp(";;") || this.isWord("esac") ? null : this.list(new Set(["esac"]));
      items.push({ pats, body });
      this.skipNl();
      if (this.isOp(";;")) this.i++;
      else break;
    }
    this.expectWord("esac");
    return { k: "case", word: parseWord(w.raw), items, redirs: this.redirs() };
  }

  private command(): Node {
    const t = this.peek();
    if (t?.t === "op" && t.v === "(") {
      this.i++;
      const body = this.list(new Set([")"]));
      if (!this.isOp(")")) throw new ShellSyntaxError('Syntax error: end of file unexpected (expecting ")")');
      this.i++;
      return { k: "group", body, redirs: this.redirs(), subshell: true };
    }
    if (t?.t === "word") {
      switch (t.raw) {
        case "if": {
          this.i++;
          const clauses: Array<[Node, Node]> = [];
          let cond = this.list(new Set(["then"]));
          this.expectWord("then");
          let body = this.list(new Set(["elif", "else", "fi"]));
          clauses.push([cond, body]);
          let els: Node | null = null;
          for (;;) {
            this.skipNl();
            if (this.isWord("elif")) {
              this.i++;
              cond = this.list(new Set(["then"]));
              this.expectWord("then");
              body = this.list(new Set(["elif", "else", "fi"]));
              clauses.push([cond, body]);
            } else if (this.isWord("else")) {
              this.i++;
              els = this.list(new Set(["fi"]));
            } else break;
          }
          this.expectWord("fi");
          return { k: "if", clauses, else: els, redirs: this.redirs() };
        }
        case "for": {
          this.i++;
          const nameTok = this.peek();
          if (nameTok?.t !== "word") throw new ShellSyntaxError("Syntax error: Bad for loop variable");
          this.i++;
          let words: Word[] | null = null;
          this.skipNl();
          if (this.isWord("in")) {
            this.i++;
            words = [];
            while (this.peek()?.t === "word") {
              words.push(parseWord((this.peek() as { raw: string }).raw));
              this.i++;
            }
          }
          if (this.isOp(";")) this.i++;
          this.expectWord("do");
          const body = this.list(new Set(["done"]));
          this.expectWord("done");
          return { k: "for", name: nameTok.raw, words, body, redirs: this.redirs() };
        }
        case "while":
        case "until": {
          this.i++;
          const cond = this.list(new Set(["do"]));
          this.expectWord("do");
          const body = this.list(new Set(["done"]));
          this.expectWord("done");
          return { k: "while", cond, body, until: t.raw === "until", redirs: this.redirs() };
        }
        case "case":
          return this.caseCommand();
        case "{": {
          this.i++;
          const body = this.list(new Set(["}"]));
          this.expectWord("}");
          return { k: "group", body, redirs: this.redirs(), subshell: false };
        }
      }
      // function definition: NAME ( ) compound
      const next = this.toks[this.i + 1];
      const after = this.toks[this.i + 2];
      if (
        /^[A-Za-z_][A-Za-z0-9_]*$/.test(t.raw) &&
        next?.t === "op" &&
        next.v === "(" &&
        after?.t === "op" &&
        after.v === ")"
      ) {
        this.i += 3;
        this.skipNl();
        return { k: "func", name: t.raw, body: this.command() };
      }
    }
    // simple command
    const assigns: Array<[string, Word]> = [];
    const words: Word[] = [];
    const redirs: Redir[] = [];
    for (;;) {
      const c = this.peek();
      if (c?.t === "io") {
        redirs.push(...this.redirs());
        continue;
      }
      if (c?.t !== "word") break;
      if (words.length === 0 && RESERVED.has(c.raw) && c.raw !== "{" && c.raw !== "!") break;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(c.raw);
      if (words.length === 0 && m) assigns.push([m[1]!, parseWord(c.raw.slice(m[0].length))]);
      else words.push(parseWord(c.raw));
      this.i++;
    }
    if (words.length === 0 && assigns.length === 0 && redirs.length === 0) {
      const bad = this.peek();
      throw new ShellSyntaxError(
        `Syntax error: "${bad?.t === "word" ? bad.raw : bad?.t === "op" ? bad.v : "end of file"}" unexpected`,
      );
    }
    return { k: "simple", assigns, words, redirs };
  }
}

export function parseScript(src: string): Node {
  return new Parser(tokenize(src)).program();
}

// ── execution ─────────────────────────────────────────────────────────────────

class ExitSignal {
  constructor(readonly code: number) {}
}
class ReturnSignal {
  constructor(readonly code: number) {}
}
class LoopSignal {
  constructor(
    readonly kind: "break" | "continue",
    readonly n: number,
  ) {}
}

interface IO {
  out: (s: string) => void;
  err: (s: string) => void;
  stdin: string;
}

const BUILTINS = new Set([
  ":",
  "true",
  "false",
  "exit",
  "return",
  "break",
  "continue",
  "export",
  "unset",
  "umask",
  "trap",
  "set",
  "shift",
  "cd",
  "[",
  "test",
  "printf",
  "echo",
  "command",
  "read",
  "local",
  "exec",
  "eval",
  "pwd",
]);

export class Shell {
  vars: Map<string, string>;
  positional: string[];
  funcs = new Map<string, Node>();
  traps = new Map<string, string>();
  last = 0;
  cwd: string;

  constructor(
    readonly opts: ShellOptions,
    readonly name = opts.name ?? "sh",
  ) {
    this.vars = new Map(
      Object.entries({
        HOME: "/root",
        PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        IFS: " \t\n",
        ...(opts.env ?? {}),
      }),
    );
    this.positional = [...(opts.args ?? [])];
    this.cwd = opts.cwd ?? "/root";
  }

  /** A copy for $( ) and ( ): changes do not leak back. */
  private fork(): Shell {
    const s = new Shell(this.opts, this.name);
    s.vars = new Map(this.vars);
    s.positional = [...this.positional];
    s.funcs = new Map(this.funcs);
    s.last = this.last;
    s.cwd = this.cwd;
    return s;
  }

  run(src: string, io: IO): number {
    let code = 0;
    try {
      code = this.exec(parseScript(src), io);
    } catch (e) {
      if (e instanceof ExitSignal) code = e.code;
      else if (e instanceof ReturnSignal) code = e.code;
      else if (e instanceof ShellSyntaxError) {
        io.err(`${this.name}: 1: ${e.message}\n`);
        code = 2;
      } else throw e;
    }
    const trap = this.traps.get("EXIT");
    if (trap) {
      this.traps.delete("EXIT");
      this.last = code;
      try {
        this.exec(parseScript(trap), io);
      } catch (e) {
        if (e instanceof ExitSignal) code = e.code;
        else if (!(e instanceof ReturnSignal)) throw e;
      }
    }
    return code;
  }

  private param(name: string): string[] | string | undefined {
    if (name === "?") return String(this.last);
    if (name === "$") return String(this.opts.env?.PPID_SELF ?? 4242);
    if (name === "#") return String(this.positional.length);
    if (name === "0") return this.name;
    if (name === "@" || name === "*") return [...this.positional];
    if (name === "!") return "";
    if (/^\d+$/.test(name)) return this.positional[Number(name) - 1];
    return this.vars.get(name);
  }

  /** Expand a word into fields (split + glob unless `noSplit`). */
  private expand(w: Word, io: IO, noSplit = false): string[] {
    // segments of [text, quoted]
    const fields: Array<Array<[string, boolean]>> = [[]];
    let hadQuoted = false;
    const push = (text: string, q: boolean) => fields[fields.length - 1]!.push([text, q]);
    const ifs = this.vars.get("IFS") ?? " \t\n";
    const splitPush = (text: string) => {
      if (noSplit || ifs === "") return push(text, true);
      const pieces = text.split(new RegExp(`[${ifs.replace(/[\]\\^-]/g, "\\$&")}]+`));
      pieces.forEach((p, idx) => {
        if (idx > 0) fields.push([]);
        if (p !== "") push(p, true);
      });
    };
    for (const p of w) {
      if (p.q) hadQuoted = true;
      if (p.t === "lit") push(p.v, p.q);
      else if (p.t === "sub") {
        const out = this.commandSub(p.src, io).replace(/\n+$/, "");
        if (p.q) push(out, true);
        else splitPush(out);
      } else {
        let v = this.param(p.name);
        if (p.op) {
          const unset =
            v === undefined || (p.op.startsWith(":") && (Array.isArray(v) ? v.length === 0 : v === ""));
          const base = p.op.replace(":", "");
          const arg = () => this.expand(p.arg ?? [], io, true).join(" ");
          if (base === "-" && unset) v = arg();
          else if (base === "=" && unset) {
            v = arg();
            this.vars.set(p.name, v);
          } else if (base === "+") v = unset ? "" : arg();
          else if (base === "?" && unset) {
            io.err(`${this.name}: 1: ${p.name}: ${arg() || "parameter not set"}\n`);
            throw new ExitSignal(2);
          }
        }
        if (Array.isArray(v)) {
          if (p.q && p.name === "@") {
            v.forEach((x, idx) => {
              if (idx > 0) fields.push([]);
              push(x, true);
            });
            if (v.length === 0 && w.length === 1) return [];
          } else if (p.q) push(v.join(" "), true);
          else splitPush(v.join(" "));
        } else if (v !== undefined) {
          if (p.q) push(v, true);
          else splitPush(v);
        }
      }
    }
    const out: string[] = [];
    for (const f of fields) {
      if (f.length === 0) continue;
      const text = f.map(([t]) => t).join("");
      const globbable = !noSplit && f.some(([t, q]) => !q && /[*?]/.test(t));
      if (globbable) {
        const matches = this.glob(f);
        if (matches.length > 0) {
          out.push(...matches);
          continue;
        }
      }
      out.push(text);
    }
    if (out.length === 0 && hadQuoted && fields.length === 1) return [""];
    return out;
  }

  /** A case pattern: unquoted `*` and `?` match, everything quoted (or from a quoted expansion) is literal. */
  private pattern(w: Word, io: IO): RegExp {
    const esc = (t: string) => t.replace(/[.+^${}()|[\]\\*?]/g, "\\$&");
    let re = "";
    for (const p of w) {
      const text = p.t === "lit" ? p.v : this.expand([{ ...p, q: true }], io, true).join("");
      re += p.q ? esc(text) : esc(text).replaceAll("\\*", "[\\s\\S]*").replaceAll("\\?", "[\\s\\S]");
    }
    return new RegExp(`^${re}$`);
  }

  private glob(segs: Array<[string, boolean]>): string[] {
    // \u0001 / \u0002 mark unquoted * / ?; split into path components
    let pat = "";
    for (const [t, q] of segs) pat += q ? t : t.replaceAll("*", "\u0001").replaceAll("?", "\u0002");
    const comps = pat.split("/");
    const abs = comps[0] === "";
    let bases = [abs ? "/" : this.cwd];
    for (let i = abs ? 1 : 0; i < comps.length; i++) {
      const c = comps[i]!;
      if (c === "") continue;
      const next: string[] = [];
      for (const b of bases) {
        const join = (n: string) => (b === "/" ? `/${n}` : `${b}/${n}`);
        if (!/[\u0001\u0002]/.test(c)) {
          next.push(join(c));
          continue;
        }
        const re = new RegExp(
          `^${c
            .replace(/[.+^${}()|[\]\\*?]/g, "\\$&")
            .replaceAll("\u0001", ".*")
            .replaceAll("\u0002", ".")}$`,
        );
        for (const n of this.opts.list(b) ?? []) if (!n.startsWith(".") && re.test(n)) next.push(join(n));
      }
      bases = next.sort();
    }
    const exists = (p: string) => this.opts.list(p) !== null || this.opts.read(p) !== null;
    const res = bases.filter(exists);
    return abs ? res : res.map((p) => p.slice(this.cwd === "/" ? 1 : this.cwd.length + 1));
  }

  private commandSub(src: string, io: IO): string {
    const sub = this.fork();
    let out = "";
    const code = sub.runNested(src, { out: (s) => (out += s), err: io.err, stdin: "" });
    this.last = code;
    return out;
  }

  private runNested(src: string, io: IO): number {
    try {
      return this.exec(parseScript(src), io);
    } catch (e) {
      if (e instanceof ExitSignal || e instanceof ReturnSignal) return e.code;
      if (e instanceof ShellSyntaxError) {
        io.err(`${this.name}: 1: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  }

  private exec(n: Node, io: IO): number {
    switch (n.k) {
      case "seq": {
        let c = 0;
        for (const x of n.list) c = this.exec(x, io);
        return c;
      }
      case "and": {
        const c = this.exec(n.l, io);
        return c === 0 ? this.exec(n.r, io) : c;
      }
      case "or": {
        const c = this.exec(n.l, io);
        return c !== 0 ? this.exec(n.r, io) : c;
      }
      case "pipe": {
        let stdin = io.stdin;
        let c = 0;
        n.cmds.forEach((cmd, idx) => {
          const lastCmd = idx === n.cmds.length - 1;
          let out = "";
          const sink = lastCmd ? io.out : (s: string) => (out += s);
          // every command of a pipeline runs in a subshell (except, as in dash, none is special here)
          const sh = n.cmds.length > 1 ? this.fork() : this;
          try {
            c = sh.exec(cmd, { out: sink, err: io.err, stdin });
          } catch (e) {
            if (n.cmds.length > 1 && e instanceof ExitSignal) c = e.code;
            else throw e;
          }
          stdin = out;
        });
        this.last = n.bang ? (c === 0 ? 1 : 0) : c;
        return this.last;
      }
      case "if":
        return this.withRedirs(n.redirs, io, (io2) => {
          for (const [cond, body] of n.clauses) if (this.exec(cond, io2) === 0) return this.exec(body, io2);
          const c = n.else ? this.exec(n.else, io2) : 0;
          this.last = c;
          return c;
        });
      case "for":
        return this.withRedirs(n.redirs, io, (io2) => {
          const items = n.words === null ? [...this.positional] : n.words.flatMap((w) => this.expand(w, io2));
          let c = 0;
          for (const item of items) {
            this.vars.set(n.name, item);
            try {
              c = this.exec(n.body, io2);
            } catch (e) {
              if (e instanceof LoopSignal) {
                if (e.n > 1) throw new LoopSignal(e.kind, e.n - 1);
                if (e.kind === "break") break;
                continue;
              }
              throw e;
            }
          }
          this.last = c;
          return c;
        });
      case "case":
        return this.withRedirs(n.redirs, io, (io2) => {
          const subject = this.expand(n.word, io2, true).join("");
          const item = n.items.find((it) => it.pats.some((p) => this.pattern(p, io2).test(subject)));
          this.last = item?.body ? this.exec(item.body, io2) : 0;
          return this.last;
        });
      case "while":
        return this.withRedirs(n.redirs, io, (io2) => {
          let c = 0;
          for (let guard = 0; guard < 100_000; guard++) {
            const r = this.exec(n.cond, io2);
            if ((r === 0) === n.until) break;
            try {
              c = this.exec(n.body, io2);
            } catch (e) {
              if (e instanceof LoopSignal) {
                if (e.n > 1) throw new LoopSignal(e.kind, e.n - 1);
                if (e.kind === "break") break;
                continue;
              }
              throw e;
            }
          }
          this.last = c;
          return c;
        });
      case "group":
        return this.withRedirs(n.redirs, io, (io2) => {
          if (!n.subshell) return this.exec(n.body, io2);
          const sub = this.fork();
          try {
            return sub.exec(n.body, io2);
          } catch (e) {
            if (e instanceof ExitSignal) return e.code;
            throw e;
          }
        });
      case "func":
        this.funcs.set(n.name, n.body);
        this.last = 0;
        return 0;
      case "simple":
        return this.simple(n, io);
    }
  }

  /** Apply redirections around `fn`; file writes happen when it finishes. */
  private withRedirs(redirs: Redir[], io: IO, fn: (io: IO) => number): number {
    if (redirs.length === 0) return fn(io);
    const fds: Array<(s: string) => void> = [() => {}, io.out, io.err];
    let stdin = io.stdin;
    const files: Array<{ path: string; buf: string[]; append: boolean }> = [];
    for (const r of redirs) {
      const target = this.expand(r.target, io, true).join("");
      if (r.op === "<") {
        if (target === "/dev/null") stdin = "";
        else {
          const p = this.abs(target);
          const c = this.opts.read(p);
          if (c === null) {
            io.err(`${this.name}: 1: cannot open ${target}: No such file\n`);
            this.last = 2;
            return 2;
          }
          stdin = c;
        }
      } else if (r.op === ">&" || r.op === "<&") {
        if (target === "-") fds[r.fd] = () => {};
        else fds[r.fd] = fds[Number(target)] ?? io.err;
      } else if (target === "/dev/null") fds[r.fd] = () => {};
      else if (target === "/dev/stderr") fds[r.fd] = io.err;
      else if (target === "/dev/stdout") fds[r.fd] = io.out;
      else {
        const f = { path: this.abs(target), buf: [] as string[], append: r.op === ">>" };
        files.push(f);
        if (!this.opts.write(f.path, "", f.append)) {
          io.err(`${this.name}: 1: cannot create ${target}: Directory nonexistent\n`);
          this.last = 2;
          return 2;
        }
        fds[r.fd] = (s: string) => f.buf.push(s);
      }
    }
    const c = fn({ out: fds[1]!, err: fds[2]!, stdin });
    for (const f of files) if (f.buf.length > 0) this.opts.write(f.path, f.buf.join(""), true);
    return c;
  }

  private abs(p: string): string {
    return normalisePath(p.startsWith("/") ? p : `${this.cwd}/${p}`);
  }

  private simple(n: Extract<Node, { k: "simple" }>, io: IO): number {
    const argv = n.words.flatMap((w) => this.expand(w, io));
    const assigned = n.assigns.map(([k, w]) => [k, this.expand(w, io, true).join("")] as const);
    if (argv.length === 0) {
      for (const [k, v] of assigned) this.vars.set(k, v);
      const c = this.withRedirs(n.redirs, io, () => this.last);
      this.last = c;
      return c;
    }
    const c = this.withRedirs(n.redirs, io, (io2) => this.invoke(argv, io2, assigned));
    this.last = c;
    return c;
  }

  private invoke(argv: string[], io: IO, env: ReadonlyArray<readonly [string, string]>): number {
    const [cmd, ...args] = argv as [string, ...string[]];
    const fn = this.funcs.get(cmd);
    if (fn) {
      const saved = this.positional;
      this.positional = args;
      try {
        return this.exec(fn, io);
      } catch (e) {
        if (e instanceof ReturnSignal) return e.code;
        throw e;
      } finally {
        this.positional = saved;
      }
    }
    if (BUILTINS.has(cmd)) return this.builtin(cmd, args, io);
    void env;
    const r = this.opts.exec(argv, io.stdin, this.cwd);
    io.out(r.stdout);
    // dash reports a missing program as "sh: 1: NAME: not found"
    io.err(
      r.exitCode === 127 && r.stderr === `bash: ${cmd}: command not found\n`
        ? `${this.name}: 1: ${cmd}: not found\n`
        : r.stderr,
    );
    return r.exitCode;
  }

  private builtin(cmd: string, args: string[], io: IO): number {
    switch (cmd) {
      case ":":
      case "true":
      case "umask":
      case "set":
      case "local":
        return 0;
      case "false":
        return 1;
      case "exit":
        throw new ExitSignal(args[0] !== undefined ? Number(args[0]) & 255 : this.last);
      case "return":
        throw new ReturnSignal(args[0] !== undefined ? Number(args[0]) & 255 : this.last);
      case "break":
      case "continue":
        throw new LoopSignal(cmd, Number(args[0] ?? 1) || 1);
      case "export":
        for (const a of args) {
          const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(a);
          if (m) this.vars.set(m[1]!, m[2]!);
        }
        return 0;
      case "unset":
        for (const a of args) this.vars.delete(a);
        return 0;
      case "trap": {
        const [action, ...sigs] = args;
        for (const s of sigs) {
          const sig = s === "0" ? "EXIT" : s.replace(/^SIG/, "");
          if (action === "-" || action === undefined) this.traps.delete(sig);
          else this.traps.set(sig, action);
        }
        return 0;
      }
      case "shift": {
        const k = Number(args[0] ?? 1);
        if (k > this.positional.length) return 1;
        this.positional = this.positional.slice(k);
        return 0;
      }
      case "cd": {
        const target = this.abs(args[0] ?? this.vars.get("HOME") ?? "/");
        if (this.opts.list(target) === null) {
          io.err(`${this.name}: 1: cd: can't cd to ${args[0]}\n`);
          return 2;
        }
        this.cwd = target;
        return 0;
      }
      case "pwd":
        io.out(`${this.cwd}\n`);
        return 0;
      case "[":
      case "test": {
        let a = args;
        if (cmd === "[") {
          if (a[a.length - 1] !== "]") {
            io.err(`${this.name}: 1: [: missing ]\n`);
            return 2;
          }
          a = a.slice(0, -1);
        }
        return this.test(a) ? 0 : 1;
      }
      case "echo": {
        let a = args;
        let nl = true;
        if (a[0] === "-n") {
          nl = false;
          a = a.slice(1);
        }
        io.out(`${a.join(" ")}${nl ? "\n" : ""}`);
        return 0;
      }
      case "printf":
        io.out(printf(args[0] ?? "", args.slice(1)));
        return 0;
      case "command": {
        if (args[0] === "-v") {
          const name = args[1] ?? "";
          if (BUILTINS.has(name) || this.funcs.has(name)) {
            io.out(`${name}\n`);
            return 0;
          }
          const r = this.opts.exec(["command", "-v", name], "", this.cwd);
          io.out(r.stdout);
          return r.exitCode;
        }
        const r = this.opts.exec(args, io.stdin, this.cwd);
        io.out(r.stdout);
        io.err(r.stderr);
        return r.exitCode;
      }
      case "read": {
        const names = args.filter((x) => !x.startsWith("-"));
        const text = io.stdin;
        if (text === "") return 1;
        const nl = text.indexOf("\n");
        const line = nl < 0 ? text : text.slice(0, nl);
        // consume the line from the stdin of the enclosing loop
        (io as { stdin: string }).stdin = nl < 0 ? "" : text.slice(nl + 1);
        const ifs = this.vars.get("IFS") ?? " \t\n";
        const fields = ifs === "" ? [line] : line.trim().split(/[ \t]+/);
        names.forEach((nm, idx) => {
          this.vars.set(nm, idx === names.length - 1 ? fields.slice(idx).join(" ") : (fields[idx] ?? ""));
        });
        if (names.length === 0) this.vars.set("REPLY", line);
        return nl < 0 && line === "" ? 1 : 0;
      }
      case "exec": {
        if (args.length === 0) return 0;
        const c = this.invoke(args, io, []);
        throw new ExitSignal(c);
      }
      case "eval":
        return this.runNested(args.join(" "), io);
    }
    return 127;
  }

  private test(a: string[]): boolean {
    if (a[0] === "!") return !this.test(a.slice(1));
    const i = a.indexOf("-a");
    if (i > 0) return this.test(a.slice(0, i)) && this.test(a.slice(i + 1));
    const o = a.indexOf("-o");
    if (o > 0) return this.test(a.slice(0, o)) || this.test(a.slice(o + 1));
    if (a.length === 0) return false;
    if (a.length === 1) return a[0] !== "";
    if (a.length === 2) {
      const [op, x] = a as [string, string];
      const p = this.abs(x);
      const isDir = this.opts.list(p) !== null;
      const isFile = !isDir && this.opts.read(p) !== null;
      switch (op) {
        case "-n":
          return x !== "";
        case "-z":
          return x === "";
        case "-e":
        case "-r":
          return isDir || isFile;
        case "-f":
          return isFile;
        case "-d":
          return isDir;
        case "-s":
          return isFile && (this.opts.read(p) ?? "") !== "";
        case "-x":
          return isFile;
        case "-L":
        case "-h":
          return false;
      }
      return false;
    }
    const [l, op, r] = a as [string, string, string];
    switch (op) {
      case "=":
      case "==":
        return l === r;
      case "!=":
        return l !== r;
      case "-eq":
        return Number(l) === Number(r);
      case "-ne":
        return Number(l) !== Number(r);
      case "-lt":
        return Number(l) < Number(r);
      case "-le":
        return Number(l) <= Number(r);
      case "-gt":
        return Number(l) > Number(r);
      case "-ge":
        return Number(l) >= Number(r);
    }
    return false;
  }
}

function unescapeEscapes(s: string): string {
  return s.replace(/\\(n|t|\\|r|0[0-7]{0,3}|a|b|f|v|")/g, (_, c: string) => {
    if (c.startsWith("0")) return String.fromCharCode(Number.parseInt(c.slice(1) || "0", 8));
    return (
      { n: "\n", t: "\t", "\\": "\\", r: "\r", a: "\u0007", b: "\b", f: "\f", v: "\v", '"': '"' }[c] ?? c
    );
  });
}

/** printf(1): %s %d %i %x %o %c %b %%, escapes; the format is reused while arguments remain. */
export function printf(format: string, args: string[]): string {
  let out = "";
  let i = 0;
  do {
    let used = 0;
    out += format.replace(
      /%([-+ 0#]*\d*(?:\.\d+)?)([sdixobc%])|\\(?:[ntr\\afbv"]|0[0-7]{0,3})/g,
      (m, flags: string, conv: string) => {
        if (m.startsWith("\\")) return unescapeEscapes(m);
        if (conv === "%") return "%";
        const a = args[i++] ?? "";
        used++;
        let v: string;
        if (conv === "s") v = a;
        else if (conv === "b") v = unescapeEscapes(a);
        else if (conv === "c") v = a.slice(0, 1);
        else {
          const num = Number.parseInt(a, 10) || 0;
          v = conv === "x" ? num.toString(16) : conv === "o" ? num.toString(8) : String(num);
        }
        const w = /(\d+)/.exec(flags ?? "")?.[1];
        if (w)
          v = flags.includes("-")
            ? v.padEnd(Number(w))
            : v.padStart(Number(w), flags.includes("0") && conv !== "s" ? "0" : " ");
        return v;
      },
    );
    if (used === 0) break;
  } while (i < args.length);
  return out;
}

/** Run a script; `shellFor` gives the file access of a simulated state. */
export function runShell(script: string, opts: ShellOptions): CmdResult & { shell: Shell } {
  const sh = new Shell(opts);
  let stdout = "";
  let stderr = "";
  const code = sh.run(script, {
    out: (s) => (stdout += s),
    err: (s) => (stderr += s),
    stdin: opts.stdin ?? "",
  });
  return { stdout, stderr, exitCode: code, shell: sh };
}

/** `listDir` for a state, as the shell's `list`. */
export { listDir as listForShell };
