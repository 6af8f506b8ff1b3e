/**
 * /etc/default/grub: edit the parameters of GRUB_CMDLINE_LINUX_DEFAULT in place (the last
 * uncommented assignment, which is the one that wins), keeping its quoting and every other line.
 */
import { editTokens, type ParamEdit, sameTokens, splitCmdline } from "./cmdline.ts";

export type GrubCmdlineVariable = "GRUB_CMDLINE_LINUX_DEFAULT" | "GRUB_CMDLINE_LINUX";

const assignRe = (variable: GrubCmdlineVariable) => new RegExp(`^(\\s*(?:export\\s+)?${variable}=)(.*)$`);

interface Found {
  index: number;
  prefix: string;
  quote: '"' | "'" | "";
  value: string;
  trailer: string;
}

function findAssignment(lines: string[], variable: GrubCmdlineVariable): Found | null {
  const assign = assignRe(variable);
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = assign.exec(lines[i]!);
    if (!m) continue;
    const rest = m[2]!;
    const q = rest[0] === '"' || rest[0] === "'" ? (rest[0] as '"' | "'") : "";
    if (q) {
      const end = rest.indexOf(q, 1);
      if (end < 0) return null; // multi-line value: refuse to guess
      return { index: i, prefix: m[1]!, quote: q, value: rest.slice(1, end), trailer: rest.slice(end + 1) };
    }
    const sp = rest.search(/\s#|$/);
    return { index: i, prefix: m[1]!, quote: "", value: rest.slice(0, sp), trailer: rest.slice(sp) };
  }
  return null;
}

/** Current tokens of GRUB_CMDLINE_LINUX_DEFAULT ([] when unset). */
export function grubDefaultTokens(text: string): string[] {
  return grubTokens(text, "GRUB_CMDLINE_LINUX_DEFAULT");
}

/** Current tokens of one GRUB command-line variable ([] when unset). */
export function grubTokens(text: string, variable: GrubCmdlineVariable): string[] {
  const f = findAssignment(text.split("\n"), variable);
  return f ? splitCmdline(f.value) : [];
}

export function editGrubCmdlineDefault(text: string, edit: ParamEdit): string {
  return editGrubCmdline(text, "GRUB_CMDLINE_LINUX_DEFAULT", edit);
}

/** Edit the parameters of one GRUB command-line variable in place (appended when unset and `add` is not empty). */
export function editGrubCmdline(text: string, variable: GrubCmdlineVariable, edit: ParamEdit): string {
  const lines = text.split("\n");
  const f = findAssignment(lines, variable);
  if (!f) {
    const added = editTokens([], edit);
    if (added.length === 0) return text;
    const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
    return `${base}${variable}="${added.join(" ")}"\n`;
  }
  const before = splitCmdline(f.value);
  const after = editTokens(before, edit);
  if (sameTokens(before, after)) return text;
  // Unquoted values cannot hold spaces in a shell assignment: quote them when there is more than one token.
  const quote = f.quote || (after.length > 1 ? '"' : "");
  lines[f.index] = `${f.prefix}${quote}${after.join(" ")}${quote}${f.trailer}`;
  return lines.join("\n");
}
