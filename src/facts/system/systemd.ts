import type { SystemdDropin } from "../types.ts";
import { lines, shellWords } from "./text.ts";

/**
 * A systemd unit drop-in (e.g. /etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf).
 * `Environment=` in [Service] accepts `K=V`, `"K=V" "K2=V2"` and space-separated lists;
 * an empty `Environment=` resets the list, as systemd does.
 */
export function parseDropin(unit: string, path: string, text: string): SystemdDropin {
  const sections: SystemdDropin["sections"] = {};
  const environment: Record<string, string> = {};
  let section: string | null = null;
  const ls = lines(text);
  for (let i = 0; i < ls.length; i++) {
    let line = ls[i]!.trim();
    while (line.endsWith("\\") && i + 1 < ls.length) line = `${line.slice(0, -1)} ${ls[++i]!.trim()}`;
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    // /^\[([^\]]+)\]$/ by string (start-up cost, issue 16)
    const inner = line.startsWith("[") && line.endsWith("]") ? line.slice(1, -1) : "";
    if (inner !== "" && !inner.includes("]")) {
      section = inner.trim();
      sections[section] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0 || section === null) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const sec = sections[section]!;
    const list = sec[key] ?? [];
    list.push(value);
    sec[key] = list;
    if (section === "Service" && key === "Environment") {
      if (value === "") {
        for (const k of Object.keys(environment)) delete environment[k];
        continue;
      }
      for (const word of shellWords(value)) {
        const e = word.indexOf("=");
        // systemd expands `%` specifiers in each word; `%%` is one percent sign (systemd.unit(5))
        if (e > 0) environment[word.slice(0, e)] = word.slice(e + 1).replaceAll("%%", "%");
      }
    }
  }
  return { unit, path, environment, sections };
}
