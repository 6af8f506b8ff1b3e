import type { ModprobeFile, ModuleLoadEntry } from "../types.ts";
import { lines } from "./text.ts";

/** /etc/modules or /etc/modules-load.d/*.conf: one module per line, `#` and `;` comments. */
export function parseModulesLoad(path: string, text: string): ModuleLoadEntry[] {
  const out: ModuleLoadEntry[] = [];
  lines(text).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const module = line.split(/\s+/)[0]!;
    if (/^[A-Za-z0-9_-]+$/.test(module)) out.push({ module, path, line: i + 1 });
  });
  return out;
}

/** A modprobe.d file: blacklist / options / softdep / install / alias (backslash continuation joins lines). */
export function parseModprobeFile(path: string, text: string): ModprobeFile {
  const out: ModprobeFile = { path, blacklist: [], options: [], softdeps: [], installs: [], aliases: [] };
  const ls = lines(text);
  for (let i = 0; i < ls.length; i++) {
    const lineNo = i + 1;
    let line = ls[i]!;
    while (line.endsWith("\\") && i + 1 < ls.length) line = `${line.slice(0, -1)} ${ls[++i]}`;
    line = line.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const [, cmd, first, rest = ""] = m as unknown as [string, string, string, string | undefined];
    const restT = rest.trim();
    switch (cmd) {
      case "blacklist":
        out.blacklist.push({ module: first, line: lineNo });
        break;
      case "options":
        out.options.push({ module: first, args: restT, line: lineNo });
        break;
      case "softdep":
        out.softdeps.push({ module: first, spec: restT, line: lineNo });
        break;
      case "install":
        out.installs.push({ module: first, command: restT, line: lineNo });
        break;
      case "alias":
        if (restT) out.aliases.push({ alias: first, module: restT.split(/\s+/)[0]!, line: lineNo });
        break;
    }
  }
  return out;
}
