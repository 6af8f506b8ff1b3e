/**
 * The vGPU type name without a leading "GRID" or "NVIDIA" (any case) and the white space after it
 * ("GRID RTX6000-4Q" → "RTX6000-4Q"), as `name.replace(/^(GRID|NVIDIA)\s+/i, "")` gives: under the i flag
 * an ASCII letter matches only itself in either case, which comparing the lowercased head gives, and
 * trimStart removes what \s matches. Without the expression, whose compile was part of every inspect start
 * (issue 16). Its own small module: completion and the last-inspection file use it without the type table.
 */
export function withoutVendor(name: string): string {
  for (const vendor of ["grid", "nvidia"]) {
    if (name.slice(0, vendor.length).toLowerCase() !== vendor) continue;
    const rest = name.slice(vendor.length);
    const trimmed = rest.trimStart();
    if (trimmed.length < rest.length) return trimmed;
  }
  return name;
}
