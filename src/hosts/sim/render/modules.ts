/** `lsmod`, `dkms status`. */
import { KERNEL_MODULE_DEPS, KERNEL_MODULE_SIZES, loadedModules, pveMajor } from "../logic.ts";
import type { SimState } from "../state.ts";

export function renderLsmod(s: SimState): string {
  const mods = loadedModules(s);
  const usedBy = new Map<string, string[]>();
  for (const m of mods)
    for (const d of KERNEL_MODULE_DEPS[m] ?? []) usedBy.set(d, [...(usedBy.get(d) ?? []), m]);
  let out = "Module                  Size  Used by\n";
  for (const m of mods) {
    const users = usedBy.get(m) ?? [];
    const size = KERNEL_MODULE_SIZES[m] ?? 16384;
    out += `${m.padEnd(19)} ${String(size).padStart(8)}  ${users.length}${users.length ? ` ${users.join(",")}` : ""}\n`;
  }
  return out;
}

/** dkms 2.8 (bullseye) prints "nvidia, 525.85.07, 5.15…, x86_64: installed"; dkms 3 "nvidia/525.85.07, …". */
export function renderDkmsStatus(s: SimState): string {
  if (!s.driver) return "";
  const d = s.driver;
  // registered (dkms.conf in /usr/src) but built for no kernel: DKMS lists it as "added", e.g. after the kernel it
  // was built for was removed (facts/system/dkms.ts parses both forms)
  if (d.dkmsKernels.length === 0 && s.files[`/usr/src/nvidia-${d.version}/dkms.conf`] !== undefined)
    return pveMajor(s) >= 8 ? `nvidia/${d.version}: added\n` : `nvidia, ${d.version}: added\n`;
  return d.dkmsKernels
    .map((k) =>
      pveMajor(s) >= 8
        ? `nvidia/${d.version}, ${k}, x86_64: installed\n`
        : `nvidia, ${d.version}, ${k}, x86_64: installed\n`,
    )
    .join("");
}
