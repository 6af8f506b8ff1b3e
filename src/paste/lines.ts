/**
 * The line-level reading of a paste: what each line of a forum post is before any output is
 * recognised — a shell prompt with its command, a markdown fence, an elision mark, blank, or text.
 * Pure; never throws.
 */

/** Largest paste read (bytes). A forum post is kilobytes; a whole dmesg a few hundred. */
export const MAX_PASTE_BYTES = 8 * 1024 * 1024;

export type LineKind = "prompt" | "fence" | "elided" | "blank" | "text";

export interface PasteLine {
  /** 1-based line number in the paste */
  no: number;
  kind: LineKind;
  /** the line without its line end and without a markdown quote marker ("> ") */
  text: string;
  /** prompt lines: the command typed after the prompt */
  command?: string;
}

/**
 * Why a text cannot be read as a paste at all, or null when it can: binary data (NUL bytes or mostly
 * control characters) and empty text are refused with one line.
 */
export function unreadablePaste(text: string): string | null {
  if (text.trim() === "") return "the paste is empty";
  const head = text.slice(0, 65536);
  if (head.includes("\u0000")) return "the paste is binary data (it holds NUL bytes), not text";
  let control = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 27) || c === 0xfffd) control++;
  }
  if (control > head.length / 10) return "the paste is binary data (mostly control characters), not text";
  return null;
}

/**
 * Programs a bare `$ ` / `# ` / `> ` prompt may start (a markdown heading "# My problem" is not a
 * prompt); `user@host:~#` prompts accept any command.
 */
const KNOWN_PROGRAMS =
  /^(?:sudo\s+(?:-\S+\s+)*)?(?:nvidia-smi|nvidia-\S+|mdevctl|lspci|dmesg|journalctl|uname|pveversion|lsmod|dkms|modinfo|cat|systemctl|qm|pvesh|mokutil|proxmox-boot-tool|dpkg|dpkg-query|apt|apt-get|ls|grep|lscpu|hostname|modprobe|update-grub|update-initramfs|tail|head|find|lsblk|\S*sriov-manage|\.\/NVIDIA-\S+|sh|bash)(?:\s|$)/;

const USER_PROMPT = /^(?:\([\w.-]+\)\s*)?\[?[\w.-]+@[\w.-]+(?::\s?[^\s#$]*|\s+[^\]\s]*\])?\s?[#$%]\s*(.+)$/;
const BARE_PROMPT = /^(?:[#$%>❯]|PS [^>]*>)\s+(.+)$/;

/** The host name a `user@host:~#` prompt shows, else null. */
export function promptHost(line: string): string | null {
  const m = /^(?:\([\w.-]+\)\s*)?\[?[\w.-]+@([\w.-]+)[:\s\]#$%]/.exec(line.trim());
  return m && USER_PROMPT.test(line.trim()) ? m[1]! : null;
}

/** The command of a prompt line, or null when the line is no prompt. */
export function promptCommand(line: string): string | null {
  const t = line.trim();
  const user = USER_PROMPT.exec(t);
  if (user && user[1]!.trim() !== "") return user[1]!.trim();
  const bare = BARE_PROMPT.exec(t);
  if (bare && KNOWN_PROGRAMS.test(bare[1]!.trim())) return bare[1]!.trim();
  return null;
}

const FENCE = /^\s*(?:```|~~~)/;
/** "…", "...", "[...]", "(…)", "<snip>", "[snip]", "---8<---" alone on a line */
const ELIDED =
  /^\s*(?:…|\.{3,}|\[(?:…|\.{3,}|snip|snipped|truncated)\]|\((?:…|\.{3,}|snip)\)|<snip>|-*8<-*|\[\s*…\s*\])\s*$/i;

/** Split a paste into classified lines (CRLF and lone CR line ends, BOM, markdown quotes handled). */
export function pasteLines(text: string): PasteLine[] {
  const raw = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  if (raw.length > 0 && raw[raw.length - 1] === "") raw.pop();
  const quoted = raw.filter((l) => /^>\s?/.test(l)).length;
  const unquote = quoted > 0 && quoted >= raw.filter((l) => l.trim() !== "").length * 0.8;
  return raw.map((l, i) => classifyLine(unquote ? l.replace(/^>\s?/, "") : l, i + 1));
}

function classifyLine(text: string, no: number): PasteLine {
  if (FENCE.test(text)) return { no, kind: "fence", text };
  if (text.trim() === "") return { no, kind: "blank", text };
  if (ELIDED.test(text)) return { no, kind: "elided", text };
  const command = promptCommand(text);
  if (command !== null) return { no, kind: "prompt", text, command };
  return { no, kind: "text", text };
}
