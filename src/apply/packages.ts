/**
 * Packages apply brings in and uninstall takes out again — exactly those (issue 13 #10: "leave the host as
 * apply found it"). Apply records what an install newly brought in by comparing the host's dpkg database
 * before and after (`dpkg-query -W`: a package with a version is installed; config-files-only ones list
 * none). Uninstall removes only those of them that nothing else needs at that moment: apt's own answer,
 * `apt-get -s autoremove` (apt-get(8): "autoremove is used to remove packages that were automatically
 * installed to satisfy dependencies for other packages and are now no longer needed"; -s "No action;
 * perform a simulation"), intersected with our set. A package that was already an orphan before apply is
 * not ours and stays; so does one of ours another installed package depends on, or one someone marked
 * manually installed since (apt-mark(8) "manual").
 */
import { parseDpkgQueryW } from "../facts/system/dpkg.ts";
import type { ExecResult } from "../hosts/host.ts";

/** `dpkg-query -W` — the installed package names on the host. */
export const DPKG_LIST = ["dpkg-query", "-W"];

export function installedNames(dpkgQueryW: string): Set<string> {
  return new Set(Object.keys(parseDpkgQueryW(dpkgQueryW)));
}

/** Names in `after` that are not in `before`, in `after`'s order. */
export function newlyInstalled(before: Set<string>, after: Set<string>): string[] {
  return [...after].filter((p) => !before.has(p));
}

/**
 * The packages an apt simulation would remove: its `Remv NAME [VERSION]` lines (apt apt-pkg/algorithms.cc
 * pkgSimulate::RealRemove prints "Remv " then Describe(): the name, an architecture qualifier for a
 * foreign architecture, then the installed version in brackets). `Purg` is the --purge form.
 */
export function simulatedRemovals(stdout: string): Set<string> {
  const out = new Set<string>();
  for (const line of stdout.split("\n")) {
    const m = /^(?:Remv|Purg) (\S+)/.exec(line);
    if (m) out.add(m[1]!.replace(/:[a-z0-9_-]+$/i, ""));
  }
  return out;
}

export interface RemovalDecision {
  /** ours, still installed, and nothing needs them: removed */
  remove: string[];
  /** ours, still installed, but apt would keep them (something needs them, or marked manual since) */
  keep: string[];
}

/** Of `ours` still installed, which apt's autoremove simulation would take (`unneeded`) and which stay. */
export function decideRemoval(
  ours: string[],
  installed: Set<string>,
  unneeded: Set<string>,
): RemovalDecision {
  const present = ours.filter((p) => installed.has(p));
  return { remove: present.filter((p) => unneeded.has(p)), keep: present.filter((p) => !unneeded.has(p)) };
}

/** Runs one command on the host and fails the step when it exits non-zero. */
export type RunCommand = (argv: string[]) => Promise<ExecResult>;

/**
 * Uninstall's package removal, run on the host when its step comes: mark the packages apply asked for
 * by name automatic (the ones it pulled in already are, unless someone made them manual), ask apt which
 * automatic packages nothing needs, remove ours among them, and give the ones that stay their manual mark
 * back. Returns what was removed and what stayed.
 */
export async function removeUnneeded(
  run: RunCommand,
  ours: string[],
  manual: string[],
): Promise<RemovalDecision> {
  const installed = installedNames((await run(DPKG_LIST)).stdout);
  const toMark = manual.filter((p) => installed.has(p));
  if (ours.every((p) => !installed.has(p))) return { remove: [], keep: [] };
  if (toMark.length > 0) await run(["apt-mark", "auto", ...toMark]);
  const unneeded = simulatedRemovals((await run(["apt-get", "-s", "autoremove"])).stdout);
  const decision = decideRemoval(ours, installed, unneeded);
  if (decision.remove.length > 0) await run(["apt-get", "remove", "-y", ...decision.remove]);
  const remark = toMark.filter((p) => decision.keep.includes(p));
  if (remark.length > 0) await run(["apt-mark", "manual", ...remark]);
  return decision;
}

/** What apply brought in, as the uninstall plan sees it: the names, and those it asked for by name. */
export interface Brought {
  installed: string[];
  requested: string[];
}

/**
 * What the uninstall plan says about packages: which go (unless apt finds something needs them when the
 * step runs), which stay and why. `installed`: dpkg's list now; `manual`: those of ours apt-mark lists
 * as manually installed now.
 */
export function packagesPlanNotes(b: Brought, installed: Set<string>, manual: Set<string>): string[] {
  if (b.installed.length === 0) return [];
  const gone = b.installed.filter((p) => !installed.has(p));
  const chosen = b.installed.filter((p) => installed.has(p) && manual.has(p) && !b.requested.includes(p));
  const candidates = b.installed.filter((p) => installed.has(p) && !chosen.includes(p));
  const notes: string[] = [];
  if (candidates.length > 0)
    notes.push(
      `packages apply brought in are removed: ${candidates.join(", ")} — except any another installed package still needs (apt decides when the step runs: apt-get -s autoremove); packages that were on the host before apply stay, unneeded ones included`,
    );
  if (chosen.length > 0)
    notes.push(
      `${chosen.join(", ")} stay${chosen.length === 1 ? "s" : ""}: pulled in by apply, marked manually installed since`,
    );
  if (gone.length > 0) notes.push(`${gone.join(", ")}: brought in by apply, already removed`);
  return notes;
}
