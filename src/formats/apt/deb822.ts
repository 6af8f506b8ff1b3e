/**
 * APT's deb822 source files (`/etc/apt/sources.list.d/*.sources`, sources.list(5) "DEB822-STYLE
 * FORMAT"): stanzas of `Key: value` fields separated by blank lines, `#` comment lines, fields
 * continued on lines that start with a space. Reading never throws; editing keeps every other byte.
 *
 * Disabling an entry the way Proxmox documents it (pve-docs pve-package-repos.adoc, "You can disable
 * this repository by adding an `Enabled: no` line to the relevant entry in the file").
 */

export interface Deb822Stanza {
  /** Field names lowercased → value (continuation lines joined with a space). */
  fields: Record<string, string>;
  /** Index of the stanza's last field line in the file's lines. */
  lastLine: number;
  /** Index of its `Enabled:` line, if any. */
  enabledLine: number | null;
}

const BLANK = /^\s*$/;
const COMMENT = /^\s*#/;

/** The stanzas of a deb822 file, in order. */
export function deb822Stanzas(text: string): Deb822Stanza[] {
  const lines = text.split("\n");
  const out: Deb822Stanza[] = [];
  let cur: Deb822Stanza | null = null;
  let key: string | null = null;
  lines.forEach((line, i) => {
    if (BLANK.test(line)) {
      cur = null;
      key = null;
      return;
    }
    if (COMMENT.test(line)) return;
    if (/^\s/.test(line) && cur && key) {
      cur.fields[key] = `${cur.fields[key]} ${line.trim()}`.trim();
      cur.lastLine = i;
      return;
    }
    const m = /^([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) return;
    if (!cur) {
      cur = { fields: {}, lastLine: i, enabledLine: null };
      out.push(cur);
    }
    key = m[1]!.toLowerCase();
    cur.fields[key] = m[2]!.trim();
    cur.lastLine = i;
    if (key === "enabled") cur.enabledLine = i;
  });
  return out;
}

/**
 * Lines of a deb822 file that are none of: blank, `#` comment, continuation, `Key: value`
 * (1-based line numbers). apt refuses such a file ("Malformed stanza"), so vgpuctl does not edit it.
 */
export function deb822MalformedLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let inStanza = false;
  text.split("\n").forEach((line, i) => {
    if (BLANK.test(line)) inStanza = false;
    else if (COMMENT.test(line)) return;
    else if (/^\s/.test(line) && inStanza) return;
    else if (/^([^:\s]+):\s*(.*)$/.test(line)) inStanza = true;
    else out.push({ line: i + 1, text: line });
  });
  return out;
}

/** apt's boolean for `Enabled:` (absent = enabled). */
export function stanzaEnabled(s: Deb822Stanza): boolean {
  const v = s.fields.enabled;
  return v === undefined || !/^(no|false|off|disable|without)$/i.test(v.trim());
}

/** Every enabled stanza `match` selects gets `Enabled: no` (replacing an `Enabled: yes`). */
export function disableStanzas(text: string, match: (s: Deb822Stanza) => boolean): string {
  const lines = text.split("\n");
  const targets = deb822Stanzas(text).filter((s) => stanzaEnabled(s) && match(s));
  // from the end, so earlier line numbers stay valid
  for (const s of [...targets].reverse()) {
    if (s.enabledLine !== null) lines[s.enabledLine] = "Enabled: no";
    else lines.splice(s.lastLine + 1, 0, "Enabled: no");
  }
  return lines.join("\n");
}

/** `text` with `stanza` (lines without a trailing blank line) appended as a stanza of its own. */
export function appendStanza(text: string | null, stanza: string[]): string {
  const body = `${stanza.join("\n")}\n`;
  if (text === null || BLANK.test(text)) return body;
  return `${text}${text.endsWith("\n") ? "" : "\n"}\n${body}`;
}
