/**
 * /etc/modules (one module per line, `#` comments): add missing modules at the end, remove
 * listed ones. Pure and idempotent; untouched lines keep their bytes.
 */

function moduleOf(line: string): string | null {
  const t = line.replace(/#.*$/, "").trim();
  if (!t) return null;
  return t.split(/\s+/)[0]!;
}

/** Module names listed (first word of each uncommented line). */
export function listedModules(text: string): string[] {
  return text
    .split("\n")
    .map(moduleOf)
    .filter((m): m is string => m !== null);
}

const norm = (m: string) => m.replaceAll("-", "_");

export function addModules(text: string, modules: readonly string[]): string {
  const have = new Set(listedModules(text).map(norm));
  const missing = modules.filter((m, i) => !have.has(norm(m)) && modules.indexOf(m) === i);
  if (missing.length === 0) return text;
  const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return `${base}${missing.join("\n")}\n`;
}

export function removeModules(text: string, modules: readonly string[]): string {
  const drop = new Set(modules.map(norm));
  const lines = text.split("\n");
  const kept = lines.filter((l) => {
    const m = moduleOf(l);
    return m === null || !drop.has(norm(m));
  });
  return kept.length === lines.length ? text : kept.join("\n");
}

/**
 * The vfio modules vGPU hosts load at boot. `vfio_virqfd` was merged into `vfio` in Linux 6.2
 * and listing it there makes systemd-modules-load fail (research/installers.md §5 #14).
 */
export function vfioModulesFor(kernelRelease: string): string[] {
  const base = ["vfio", "vfio_iommu_type1", "vfio_pci"];
  return kernelBefore(kernelRelease, 6, 2) ? [...base, "vfio_virqfd"] : base;
}

export function kernelBefore(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a < major || (a === major && b < minor);
}
