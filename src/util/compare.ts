/**
 * Locale-free string orders for sorting names: PCI addresses, file paths, config keys, package names.
 * String.prototype.localeCompare and Intl.Collator build ICU's set of available locales on first use:
 * ~70 million instructions, most of a `vgpuctl inspect --host demo` start and more than all of Node's
 * own start (callgrind, issue 16), and their order follows the user's locale. These depend on neither;
 * for names of lowercase letters, digits, '-', '.', '/' and ':' in the same positions they give the
 * order localeCompare gives (test/util/compare.test.ts).
 */

/** By UTF-16 code units, as `<` compares strings. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const RUNS = /\d+|\D+/g;

/** Two runs of digits as numbers, without a size limit ("007" = "7"). */
function compareDigits(a: string, b: string): number {
  const x = a[0] === "0" ? a.replace(/^0+(?=\d)/, "") : a;
  const y = b[0] === "0" ? b.replace(/^0+(?=\d)/, "") : b;
  return x.length - y.length || compareText(x, y);
}

/**
 * Like compareText, but runs of digits compare as numbers: "6.8.12-4-pve" < "6.14.8-2-pve", as
 * `a.localeCompare(b, "en", { numeric: true })` orders such names.
 */
export function compareNatural(a: string, b: string): number {
  const ra = a.match(RUNS) ?? [];
  const rb = b.match(RUNS) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    const digits = /^\d/.test(x) && /^\d/.test(y);
    const c = digits ? compareDigits(x, y) : compareText(x, y);
    if (c !== 0) return c;
  }
  return ra.length - rb.length || compareText(a, b);
}
