/**
 * What shell completion offers from the last inspection (issue 16, "Completions"): `vgpuctl inspect` saves
 * the VM ids and vGPU type names it found in $XDG_CACHE_HOME/vgpuctl/last-inspect.json (~/.cache when
 * XDG_CACHE_HOME is unset or relative: XDG Base Directory Specification,
 * https://specifications.freedesktop.org/basedir-spec/latest/). Ids and names only: no host address, no
 * user, nothing from files. Written atomically (a temporary file renamed over the old one). Each list is
 * one line of the file, so the completion scripts (src/commands/completion.ts) read it with the shell alone.
 */

import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { InspectReport } from "../commands/inspect.ts";
import { withoutVendor } from "../knowledge/type-name.ts";

export interface LastInspection {
  vmids: string[];
  types: string[];
}

/** The cache file, null when neither XDG_CACHE_HOME nor HOME says where the user's cache is. */
export function lastInspectPath(env: NodeJS.ProcessEnv): string | null {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, "vgpuctl", "last-inspect.json");
  return env.HOME && isAbsolute(env.HOME) ? join(env.HOME, ".cache", "vgpuctl", "last-inspect.json") : null;
}

/** A word a shell completes as it is: no quotes, spaces or other characters a shell or JSON treats specially. */
const completable = (w: string) => /^[\w.:+-]+$/.test(w);

/** The VM ids and the types the GPUs offer, by mdev type ("nvidia-1155") and name without vendor ("L40S-24Q"). */
export function lastInspection(report: InspectReport): LastInspection {
  const vmids = report.vms.map((vm) => String(vm.vmid));
  const types = report.gpus.flatMap((g) =>
    g.mdevTypes.flatMap((t) => [t.type, t.name ? withoutVendor(t.name) : ""]),
  );
  const words = (xs: string[]) => [...new Set(xs)].filter(completable);
  return { vmids: words(vmids), types: words(types) };
}

/** The file's text: JSON with each list on one line of its own. */
export function lastInspectText(last: LastInspection, savedAt: Date): string {
  return `{
  "savedAt": ${JSON.stringify(savedAt.toISOString())},
  "vmids": ${JSON.stringify(last.vmids)},
  "types": ${JSON.stringify(last.types)}
}
`;
}

/**
 * Save the report's ids and names for completion. A cache that cannot be written (read-only home, full
 * disk) does not fail the inspection: the reason is one note on stderr and nothing else changes.
 */
export function saveLastInspection(
  report: InspectReport,
  env: NodeJS.ProcessEnv,
  note: (text: string) => void,
): void {
  const path = lastInspectPath(env);
  if (!path) return;
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(tmp, lastInspectText(lastInspection(report), new Date()));
    renameSync(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code !== "string") throw e;
    if (existsSync(tmp)) rmSync(tmp);
    note(`note: completion cache not saved (${path}: ${code})\n`);
  }
}
