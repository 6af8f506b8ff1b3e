/**
 * systemd drop-ins (`/etc/systemd/system/UNIT.d/NAME.conf`): set or remove one
 * `Environment=KEY=VALUE` assignment in `[Service]`, minimal edits, idempotent.
 */

export const UNLOCK_DROPIN_NAME = "vgpu_unlock.conf";

export function dropinPath(unit: string, name = UNLOCK_DROPIN_NAME): string {
  return `/etc/systemd/system/${unit}.d/${name}`;
}

/** The whole drop-in the guide writes (seed guide "Create files for vGPU unlock"). */
export function renderPreloadDropin(library: string): string {
  return `[Service]\nEnvironment=LD_PRELOAD=${library}\n`;
}

const SECTION = /^\s*\[([^\]]+)\]\s*$/;

function sectionRange(lines: string[], name: string): { start: number; end: number } | null {
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const m = SECTION.exec(lines[i]!);
    if (!m) continue;
    if (start >= 0) return { start, end: i };
    if (m[1] === name) start = i;
  }
  return start >= 0 ? { start, end: lines.length } : null;
}

function envLine(line: string, key: string): boolean {
  const m = /^\s*Environment\s*=\s*"?([A-Za-z_][A-Za-z0-9_]*)=/.exec(line);
  return m?.[1] === key;
}

/** Ensure `[Service] Environment=KEY=VALUE` (replacing an existing single assignment of KEY). */
export function setServiceEnvironment(text: string, key: string, value: string): string {
  const want = `Environment=${key}=${value}`;
  const lines = text.split("\n");
  const r = sectionRange(lines, "Service");
  if (!r) {
    const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
    return `${base}${base.trim() ? "\n" : ""}[Service]\n${want}\n`;
  }
  let last = -1;
  for (let i = r.start + 1; i < r.end; i++) if (envLine(lines[i]!, key)) last = i;
  if (last >= 0) {
    if (lines[last]!.trim() === want) return text;
    lines[last] = want;
    return lines.join("\n");
  }
  lines.splice(r.start + 1, 0, want);
  return lines.join("\n");
}

/** Remove every `Environment=KEY=…` line from `[Service]`. */
export function removeServiceEnvironment(text: string, key: string): string {
  const lines = text.split("\n");
  const r = sectionRange(lines, "Service");
  if (!r) return text;
  const out = lines.filter((l, i) => !(i > r.start && i < r.end && envLine(l, key)));
  return out.length === lines.length ? text : out.join("\n");
}

/** Value of `Environment=KEY=…` in [Service], or null. */
export function serviceEnvironment(text: string, key: string): string | null {
  const lines = text.split("\n");
  const r = sectionRange(lines, "Service");
  if (!r) return null;
  let val: string | null = null;
  for (let i = r.start + 1; i < r.end; i++) {
    const m = /^\s*Environment\s*=\s*"?([A-Za-z_][A-Za-z0-9_]*)=([^"]*)"?\s*$/.exec(lines[i]!);
    if (m?.[1] === key) val = m[2]!;
  }
  return val;
}
