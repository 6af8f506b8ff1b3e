/**
 * modprobe.d files: `blacklist MODULE` and `options MODULE …` lines, added once and removable.
 */

function directive(line: string): { verb: string; module: string; rest: string } | null {
  const t = line.replace(/#.*$/, "").trim();
  const m = /^(\w+)\s+(\S+)\s*(.*)$/.exec(t);
  return m ? { verb: m[1]!, module: m[2]!, rest: m[3]! } : null;
}

export function blacklists(text: string, module: string): boolean {
  return text.split("\n").some((l) => {
    const d = directive(l);
    return d?.verb === "blacklist" && d.module === module;
  });
}

/** Ensure `blacklist MODULE` (and optional `options MODULE ARGS`) lines exist. */
export function addBlacklist(text: string, module: string, options?: string): string {
  const add: string[] = [];
  if (!blacklists(text, module)) add.push(`blacklist ${module}`);
  if (options) {
    const has = text.split("\n").some((l) => {
      const d = directive(l);
      return d?.verb === "options" && d.module === module && d.rest === options;
    });
    if (!has) add.push(`options ${module} ${options}`);
  }
  if (add.length === 0) return text;
  const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return `${base}${add.join("\n")}\n`;
}

/** Remove `blacklist MODULE` and `options MODULE …` lines. */
export function removeBlacklist(text: string, module: string): string {
  const lines = text.split("\n");
  const kept = lines.filter((l) => {
    const d = directive(l);
    return !(d && (d.verb === "blacklist" || d.verb === "options") && d.module === module);
  });
  return kept.length === lines.length ? text : kept.join("\n");
}
