/**
 * Kernel command line editing, token-wise and idempotent (research/installers.md §1.12: the
 * existing installers match one literal string and duplicate parameters in another order).
 * Pure string → string; returns the input unchanged when there is nothing to do.
 */

/** Split a command line into tokens, respecting double quotes (`acpi_osi="Windows 2020"`). */
export function splitCmdline(line: string): string[] {
  const tokens: string[] = [];
  let cur = "";
  let quoted = false;
  let has = false;
  for (const ch of line) {
    if (ch === '"') {
      quoted = !quoted;
      cur += ch;
      has = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (has) tokens.push(cur);
      cur = "";
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) tokens.push(cur);
  return tokens;
}

const keyOf = (t: string) => (t.includes("=") ? t.slice(0, t.indexOf("=")) : t);

export interface ParamEdit {
  /** Parameters that must be present. `key=value` replaces another value of the same key in place. */
  add?: readonly string[];
  /** Exact tokens to drop. */
  remove?: readonly string[];
}

/** Apply an edit to a token list (new array; order kept, additions appended). */
export function editTokens(tokens: readonly string[], edit: ParamEdit): string[] {
  let out = tokens.filter((t) => !(edit.remove ?? []).includes(t));
  for (const p of edit.add ?? []) {
    if (out.includes(p)) continue;
    const k = keyOf(p);
    const i = p.includes("=") ? out.findIndex((t) => t.includes("=") && keyOf(t) === k) : -1;
    if (i >= 0) out = [...out.slice(0, i), p, ...out.slice(i + 1)];
    else out.push(p);
  }
  return out;
}

export function sameTokens(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/** True when every `add` is present and no `remove` is (i.e. the edit would change nothing). */
export function tokensSatisfy(tokens: readonly string[], edit: ParamEdit): boolean {
  return sameTokens(tokens, editTokens(tokens, edit));
}

/**
 * /etc/kernel/cmdline (systemd-boot via proxmox-boot-tool): one line. Only the first
 * non-empty line is edited; the file's trailing newline is kept (added when the file was empty).
 */
export function editKernelCmdline(text: string, edit: ParamEdit): string {
  const lines = text.split("\n");
  const idx = lines.findIndex((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  if (idx < 0) {
    const added = editTokens([], edit);
    if (added.length === 0) return text;
    return `${text.trim() === "" ? "" : text.replace(/\n?$/, "\n")}${added.join(" ")}\n`;
  }
  const before = splitCmdline(lines[idx]!);
  const after = editTokens(before, edit);
  if (sameTokens(before, after)) return text;
  lines[idx] = after.join(" ");
  return lines.join("\n");
}

export function kernelCmdlineTokens(text: string): string[] {
  const line = text.split("\n").find((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  return line ? splitCmdline(line) : [];
}

const VFIO_IDS = /^(vfio[-_]pci\.ids)=(.*)$/;

/**
 * The edit that takes `ids` (vendor:device, any case) out of every `vfio-pci.ids=` token: the token is
 * rewritten with the ids that remain, or dropped when none do. Empty edit when no token names them.
 */
export function vfioIdsEdit(tokens: readonly string[], ids: readonly string[]): Required<ParamEdit> {
  const drop = new Set(ids.map((i) => i.toLowerCase()));
  const add: string[] = [];
  const remove: string[] = [];
  for (const t of tokens) {
    const m = VFIO_IDS.exec(t);
    if (!m) continue;
    const list = m[2]!.split(",").filter((x) => x !== "");
    const kept = list.filter((x) => !drop.has(x.toLowerCase()));
    if (kept.length === list.length) continue;
    if (kept.length === 0) remove.push(t);
    else add.push(`${m[1]}=${kept.join(",")}`);
  }
  return { add, remove };
}
