/**
 * modprobe.d files: `blacklist MODULE` and `options MODULE …` lines, added once and removable.
 */

function directive(line: string): { verb: string; module: string; rest: string } | null {
  const t = line.replace(/#.*$/, "").trim();
  const m = /^(\w+)\s+(\S+)\s*(.*)$/.exec(t);
  return m ? { verb: m[1]!, module: m[2]!, rest: m[3]! } : null;
}

export function blacklists(text: string, module: string): boolean {
  return text.split("\n").some((l) => {
    const d = directive(l);
    return d?.verb === "blacklist" && d.module === module;
  });
}

/** Ensure `blacklist MODULE` (and optional `options MODULE ARGS`) lines exist. */
export function addBlacklist(text: string, module: string, options?: string): string {
  const add: string[] = [];
  if (!blacklists(text, module)) add.push(`blacklist ${module}`);
  if (options) {
    const has = text.split("\n").some((l) => {
      const d = directive(l);
      return d?.verb === "options" && d.module === module && d.rest === options;
    });
    if (!has) add.push(`options ${module} ${options}`);
  }
  if (add.length === 0) return text;
  const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return `${base}${add.join("\n")}\n`;
}

/** Remove `blacklist MODULE` and `options MODULE …` lines. */
export function removeBlacklist(text: string, module: string): string {
  const lines = text.split("\n");
  const kept = lines.filter((l) => {
    const d = directive(l);
    return !(d && (d.verb === "blacklist" || d.verb === "options") && d.module === module);
  });
  return kept.length === lines.length ? text : kept.join("\n");
}

/** Modules whose `softdep MODULE pre: vfio-pci` makes vfio-pci claim an NVIDIA GPU first. */
const NVIDIA_SOFTDEP = /^(nvidia[\w-]*\*?|nouveau)$/;
/** Blacklisted, these keep the vGPU host driver itself from loading. */
const VGPU_MODULES = /^(nvidia|nvidia[-_]vgpu[-_]vfio)$/;

/**
 * Leftover PCI-passthrough configuration that keeps the NVIDIA driver off a GPU, removed line-wise
 * (research/installers.md §5 #5; community-scripts gpu-passthrough.sh writes exactly these):
 *  - `options vfio-pci ids=…`: the given ids (vendor:device, any case) are taken out; the line is
 *    dropped when no id remains (its other options only mattered for the devices it bound);
 *  - `softdep nvidia… pre: vfio-pci` (nvidia, nvidia_drm, nvidia*, nouveau, nvidiafb): dropped;
 *    `softdep drm pre: vfio-pci` too once no `options vfio-pci ids=` is left in the file;
 *  - `blacklist nvidia` / `blacklist nvidia_vgpu_vfio`: dropped.
 * Every other line (comments, other modules' options, `blacklist nouveau`, `blacklist nvidiafb`) is
 * kept byte-for-byte.
 */
export function removeVfioLeftovers(text: string, ids: readonly string[]): string {
  const drop = new Set(ids.map((i) => i.toLowerCase()));
  const out: Array<string | null> = [];
  let changed = false;
  let idsLeft = false;
  const drmSoftdeps: number[] = [];
  for (const line of text.split("\n")) {
    const d = directive(line);
    const mod = d?.module.replaceAll("-", "_");
    if (d?.verb === "options" && mod === "vfio_pci") {
      const m = /(^|\s)ids=([^\s#]*)/.exec(d.rest);
      if (m) {
        const list = m[2]!.split(",").filter((x) => x !== "");
        const kept = list.filter((x) => !drop.has(x.toLowerCase()));
        if (kept.length > 0) idsLeft = true;
        if (kept.length !== list.length) {
          changed = true;
          if (kept.length > 0) out.push(line.replace(`ids=${m[2]}`, `ids=${kept.join(",")}`));
          continue;
        }
      }
    } else if (d?.verb === "softdep" && /\bvfio[-_]pci\b/.test(d.rest)) {
      if (NVIDIA_SOFTDEP.test(d.module)) {
        changed = true;
        continue;
      }
      if (d.module === "drm") drmSoftdeps.push(out.length);
    } else if (d?.verb === "blacklist" && VGPU_MODULES.test(d.module)) {
      changed = true;
      continue;
    }
    out.push(line);
  }
  if (!changed) return text;
  if (!idsLeft) for (const i of drmSoftdeps) out[i] = null;
  return out.filter((l): l is string => l !== null).join("\n");
}
