import type { CmdlineTokens } from "../types.ts";
import { shellWords } from "./text.ts";

/**
 * Split a kernel command line (/proc/cmdline, /etc/kernel/cmdline, GRUB_CMDLINE_*) into tokens.
 * Quotes group words and are removed: `foo="a b"` → `foo=a b`. Several lines are joined.
 */
export function splitCmdline(text: string): CmdlineTokens {
  if (typeof text !== "string") return [];
  // what .replace(/\r?\n/g, " ") gives, without a regex (start-up cost, issue 16)
  return shellWords(text.replaceAll("\r\n", " ").replaceAll("\n", " "));
}

/**
 * Value of `key` in the tokens (the last occurrence wins, as for the kernel):
 * "on" for `intel_iommu=on`, "" for a bare flag `quiet`, null when absent.
 */
export function cmdlineValue(tokens: readonly string[], key: string): string | null {
  let value: string | null = null;
  for (const t of tokens) {
    if (t === key) value = "";
    else if (t.startsWith(`${key}=`)) value = t.slice(key.length + 1);
  }
  return value;
}
