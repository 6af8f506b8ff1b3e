/**
 * /etc/vgpu_unlock/config.toml `unlock = true|false` (research/unlock.md §1.3). A malformed
 * config.toml aborts both NVIDIA daemons, so edits are line-based and leave other keys alone.
 */
import { parse, TomlError } from "smol-toml";

const UNLOCK_LINE = /^(\s*unlock\s*=\s*)(true|false)(.*)$/;

/** Effective value: absent key or file = true (the library's default); null when unparsable. */
export function unlockValue(text: string | null): boolean | null {
  if (text === null) return true;
  try {
    const v = parse(text).unlock;
    return v === undefined ? true : v === true ? true : v === false ? false : null;
  } catch (e) {
    if (e instanceof TomlError) return null; // not TOML: unknown (the caller rewrites the line)
    throw e;
  }
}

/** Set `unlock = value` (first top-level assignment edited in place, else inserted before any table). */
export function setUnlock(text: string, value: boolean): string {
  // `unlock` defaults to true: nothing to write when the file already means it.
  if (value && unlockValue(text) === true) return text;
  const lines = text.split("\n");
  const firstTable = lines.findIndex((l) => /^\s*\[/.test(l));
  const top = firstTable < 0 ? lines.length : firstTable;
  for (let i = 0; i < top; i++) {
    const m = UNLOCK_LINE.exec(lines[i]!);
    if (m) {
      if (m[2] === String(value)) return text;
      lines[i] = `${m[1]}${value}${m[3]}`;
      return lines.join("\n");
    }
  }
  if (text === "") return `unlock = ${value}\n`;
  lines.splice(top, 0, `unlock = ${value}`);
  return lines.join("\n");
}
