import { isDigits } from "../nvidia/common.ts";
import type { Uname } from "../types.ts";
import { lines } from "./text.ts";

/**
 * Machine names: /^(x86_64|amd64|i[3-6]86|aarch64|arm64|armv\d+l?|ppc64le|ppc64|s390x|riscv64|unknown)$/
 * by string (each regex compiled is start-up cost, issue 16).
 */
const ARCH_NAMES: ReadonlySet<string> = new Set([
  "x86_64",
  "amd64",
  "i386",
  "i486",
  "i586",
  "i686",
  "aarch64",
  "arm64",
  "ppc64le",
  "ppc64",
  "s390x",
  "riscv64",
  "unknown",
]);

function isArch(word: string): boolean {
  if (ARCH_NAMES.has(word)) return true;
  if (!word.startsWith("armv")) return false;
  const n = word.endsWith("l") ? word.slice(4, -1) : word.slice(4);
  return isDigits(n);
}

/**
 * `uname -a`, e.g. "Linux pve 5.15.102-1-pve #1 SMP PVE 5.15.102-1 (2023-03-14T13:48Z) x86_64 GNU/Linux".
 * Fields: kernel-name nodename release version… machine [processor] [platform] [os].
 */
export function parseUnameA(text: string): Uname | null {
  const first = lines(text)
    .map((l) => l.trim())
    .find((l) => l !== "");
  if (!first) return null;
  const t = first.split(/\s+/);
  if (t.length < 3) return null;
  const release = t[2]!;
  const dot = release.indexOf("."); // /^\d+\.\d+/
  if (dot <= 0 || !isDigits(release.slice(0, dot)) || !isDigits(release[dot + 1] ?? "")) return null;
  let end = t.length;
  if (end > 3 && (t[end - 1] === "GNU/Linux" || t[end - 1] === "Linux")) end--;
  let archStart = end;
  while (archStart > 3 && isArch(t[archStart - 1]!)) archStart--;
  const machine = archStart < end ? t[archStart]! : null;
  const version = archStart > 3 ? t.slice(3, archStart).join(" ") : null;
  return { release, nodename: t[1] ?? null, version, machine };
}

/** `uname -r`: the trimmed first line, or null when empty. */
export function parseUnameR(text: string): string | null {
  const first = lines(text)
    .map((l) => l.trim())
    .find((l) => l !== "");
  return first && !/\s/.test(first) ? first : null;
}
