import type { GrubDefaults } from "../types.ts";
import { splitCmdline } from "./cmdline.ts";
import { lines } from "./text.ts";

interface Assignment {
  name: string;
  value: string;
  /** 1-based line where the assignment starts */
  line: number;
}

/**
 * /etc/default/grub plus /etc/default/grub.d/*.cfg (pass them in the order GRUB sources them:
 * sorted by name). Shell-style `VAR=value`, `VAR="…"`, `VAR='…'`, optional `export`, comments,
 * `$VAR` / `${VAR}` expansion (drop-ins often do `GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX …"`).
 * Lines that are not assignments (`if`, `fi`, commands) are ignored.
 */
export function parseGrubDefaults(mainText: string, dropinTexts: readonly string[] = []): GrubDefaults {
  const vars: Record<string, string> = {};
  let defaultLine: number | null = null;
  const apply = (text: string, isMain: boolean) => {
    for (const a of assignments(text, vars)) {
      vars[a.name] = a.value;
      if (isMain && a.name === "GRUB_CMDLINE_LINUX_DEFAULT") defaultLine = a.line;
    }
  };
  apply(typeof mainText === "string" ? mainText : "", true);
  for (const d of dropinTexts) apply(typeof d === "string" ? d : "", false);
  return {
    vars,
    cmdlineLinuxDefault: splitCmdline(vars.GRUB_CMDLINE_LINUX_DEFAULT ?? ""),
    cmdlineLinux: splitCmdline(vars.GRUB_CMDLINE_LINUX ?? ""),
    cmdlineLinuxDefaultLine: defaultLine,
  };
}

const ASSIGN = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/;

function* assignments(text: string, vars: Record<string, string>): Generator<Assignment> {
  const ls = lines(text);
  for (let i = 0; i < ls.length; i++) {
    const m = ASSIGN.exec(ls[i]!);
    if (!m) continue;
    const start = i;
    let rest = ls[i]!.slice(m[0].length);
    // A quoted value may continue on following lines.
    let parsed = readValue(rest, vars);
    while (parsed.unterminated && i + 1 < ls.length) {
      i++;
      rest += `\n${ls[i]}`;
      parsed = readValue(rest, vars);
    }
    yield { name: m[1]!, value: parsed.value, line: start + 1 };
  }
}

/** Read one shell word (the assignment's value) with quote removal and $VAR expansion. */
function readValue(s: string, vars: Record<string, string>): { value: string; unterminated: boolean } {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return { value: out + s.slice(i + 1), unterminated: true };
      out += s.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const c = s[i]!;
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === "\\" && i + 1 < s.length && /["\\$`\n]/.test(s[i + 1]!)) {
          if (s[i + 1] !== "\n") out += s[i + 1];
          i += 2;
        } else if (c === "$") {
          const e = expand(s, i, vars);
          out += e.text;
          i = e.next;
        } else {
          out += c;
          i++;
        }
      }
      if (!closed) return { value: out, unterminated: true };
    } else if (ch === "\\" && i + 1 < s.length) {
      out += s[i + 1];
      i += 2;
    } else if (ch === "$") {
      const e = expand(s, i, vars);
      out += e.text;
      i = e.next;
    } else if (/\s/.test(ch) || ch === ";") {
      break;
    } else {
      out += ch;
      i++;
    }
  }
  return { value: out, unterminated: false };
}

function expand(s: string, i: number, vars: Record<string, string>): { text: string; next: number } {
  const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:-][^}]*)?\}/.exec(s.slice(i));
  if (braced) return { text: vars[braced[1]!] ?? "", next: i + braced[0].length };
  const plain = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(s.slice(i));
  if (plain) return { text: vars[plain[1]!] ?? "", next: i + plain[0].length };
  return { text: "$", next: i + 1 };
}
