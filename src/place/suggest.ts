/**
 * `vgpuctl profile suggest`: which vGPU type to use for a guest OS and workload, and why. Pure.
 *
 * The rules, from the seed guide ("Important notes", lines 349–353) and research/unlock.md §3
 * (series letters; polloloco: "A profiles only work on Windows guests, C only on Linux, Q can be
 * slow in OpenGL → use B/A or vgpu_type="NVS""), research/proxmox.md §3 (series and workloads):
 * - Q = virtual workstation (pro graphics, CAD; CUDA; up to 4 heads, 60 fps). Q can perform badly in
 *   OpenGL applications and games → for games an equivalent B (or, on Windows, A) profile, or the
 *   override `vgpu_type = "NVS"`.
 * - B = business desktops / knowledge workers (45 fps frame-rate limit, limited heads/resolution).
 * - A = app streaming (1 head, 1280x1024) — Windows guests only ("A profiles … will NOT work on Linux").
 * - C = compute (CUDA, 1 head) — Linux guests only ("C profiles … only work on Linux").
 * What may join a GPU that already carries vGPUs follows the driver (model.ts sharingRule): before
 * driver 525 one type per GPU, so the type it carries is suggested (with a per-VM VRAM override) when
 * the guest can use it; from 525 a type of the same framebuffer size, of the best series for the guest;
 * in mixed-size mode any type.
 */
import type { Series } from "../knowledge/vgpu-types.ts";
import { formatSize } from "../report/units.ts";
import { canShareGpu, type SharingRule } from "./model.ts";

export type GuestOs = "windows" | "linux";
export type Workload = "desktop" | "cad" | "gaming" | "compute";

export const GUEST_OSES: readonly GuestOs[] = ["windows", "linux"];
export const WORKLOADS: readonly Workload[] = ["desktop", "cad", "gaming", "compute"];

export interface SuggestType {
  type: string;
  name: string | null;
  series: Series | null;
  /** profile size, MiB */
  framebufferMiB: number | null;
  maxResolution: string | null;
  numHeads: number | null;
}

/** The fields suggestProfile reads, from any richer type record (offered mdev type or knowledge table). */
export function toSuggestType(t: SuggestType): SuggestType {
  const { type, name, series, framebufferMiB, maxResolution, numHeads } = t;
  return { type, name, series, framebufferMiB, maxResolution, numHeads };
}

export interface SuggestInput {
  os: GuestOs;
  workload: Workload;
  /** wanted VRAM, MiB (default per workload) */
  vramMiB?: number;
  /** types the GPU offers (or, when it offers none yet, the knowledge table's types for it) */
  types: SuggestType[];
  /** whether `types` are what the host offers now (false = from the knowledge table) */
  offered: boolean;
  /** `sharing`: the driver's rule for the GPU (absent = one type per GPU) */
  gpu?: { address: string; vramMiB: number | null; currentTypes: string[]; sharing?: SharingRule } | null;
}

export interface Suggestion {
  type: string;
  name: string | null;
  series: Series | null;
  /** VRAM the VM gets, MiB */
  vramMiB: number;
  /** a per-VM override is needed to give the VM `vramMiB` (the type's own size differs) */
  overrideVramMiB: number | null;
  /** extra overrides worth setting, as `vgpuctl override set` arguments */
  overrideArgs: string[];
  reasons: string[];
  warnings: string[];
  /** other acceptable types, best first */
  alternatives: Array<{ type: string; name: string | null; why: string }>;
  source: "offered" | "knowledge";
}

const SOURCE = "polloloco's vGPU on Proxmox guide, gitlab.com/polloloco/vgpu-proxmox, “Important notes”";

/** Series the guest OS can use at all. */
export function seriesForOs(os: GuestOs): Series[] {
  return os === "windows" ? ["Q", "B", "A"] : ["Q", "B", "C"];
}

/** Series in order of preference for a workload on an OS (only series the OS can use). */
export function preferredSeries(os: GuestOs, workload: Workload): Series[] {
  const order: Record<Workload, Series[]> = {
    cad: ["Q", "B"],
    desktop: ["B", "Q", "A"],
    gaming: ["B", "A", "Q"],
    compute: ["C", "Q"],
  };
  const ok = seriesForOs(os);
  return order[workload].filter((s) => ok.includes(s));
}

const DEFAULT_VRAM: Record<Workload, number> = { desktop: 2048, cad: 4096, gaming: 4096, compute: 4096 };

function why(series: Series, workload: Workload): string {
  switch (series) {
    case "Q":
      return workload === "compute"
        ? "Q (virtual workstation) types have CUDA enabled and work on Windows and Linux"
        : "Q = virtual workstation: professional graphics (Quadro/RTX features) for CAD and 3D";
    case "B":
      return workload === "gaming"
        ? `B instead of Q: Q profiles can perform badly in OpenGL applications and games; the guide's fix is an equivalent B or A profile (${SOURCE})`
        : "B = business desktops and knowledge workers (frame rate limited to 45 fps, fewer heads)";
    case "A":
      return `A = app streaming; works on Windows guests only (${SOURCE})`;
    case "C":
      return `C = compute (CUDA, 1 head); works on Linux guests only (${SOURCE})`;
  }
}

/**
 * Pick the type; throws nothing — when nothing fits (no usable series, or more VRAM asked than the
 * GPU has), `type` is "" and `warnings` say why.
 */
export function suggestProfile(input: SuggestInput): Suggestion {
  const { os, workload } = input;
  const wanted = input.vramMiB ?? DEFAULT_VRAM[workload];
  const allowed = seriesForOs(os);
  const prefs = preferredSeries(os, workload);
  const warnings: string[] = [];
  const reasons: string[] = [];
  const overrideArgs: string[] = [];
  const source = input.offered ? "offered" : "knowledge";
  if (!input.offered)
    reasons.push("the GPU offers no types yet: chosen from NVIDIA's type table for this GPU");
  const phys = input.gpu?.vramMiB ?? null;
  if (phys !== null && wanted > phys) {
    // no type can give a VM more VRAM than the GPU has: the VM would not start
    vramWarnings(input, wanted, warnings);
    return {
      type: "",
      name: null,
      series: null,
      vramMiB: wanted,
      overrideVramMiB: null,
      overrideArgs,
      reasons,
      warnings,
      alternatives: [],
      source,
    };
  }

  const sized = (t: SuggestType) => t.framebufferMiB ?? 0;
  let usable = input.types.filter((t) => t.series !== null && allowed.includes(t.series));
  if (workload === "compute" && os === "windows")
    warnings.push(`C (compute) types do not work on Windows guests (${SOURCE}); a Q type with CUDA is used`);
  if (workload === "gaming" && os === "linux")
    warnings.push(`A types do not work on Linux guests (${SOURCE})`);

  // One type per GPU (< 525): reuse the type the GPU already carries when the guest can use it.
  const current = input.gpu?.currentTypes ?? [];
  const rule = input.gpu?.sharing ?? "one-type";
  const carried = input.types.find((t) => t.type === current[0]) ?? null;
  if (carried && rule === "one-size") {
    usable = usable.filter((t) => canShareGpu(rule, t, carried));
    reasons.push(
      `GPU ${input.gpu!.address} already runs ${carried.type}${carried.name ? ` (${carried.name})` : ""} (${formatSize(sized(carried))}); from driver 525 only types of that framebuffer size run beside it (equal-size mode)`,
    );
  }
  if (current.length > 0 && rule === "one-type") {
    const cur = input.types.find((t) => t.type === current[0]) ?? null;
    if (cur?.series && allowed.includes(cur.series)) {
      const curSize = sized(cur);
      reasons.push(
        `GPU ${input.gpu!.address} already runs ${cur.type}${cur.name ? ` (${cur.name})` : ""}; time-sliced vGPU allows one type per GPU, so the VM uses it too`,
      );
      if (cur.series !== prefs[0])
        warnings.push(
          `${cur.series} is not the first choice for ${workload} on ${os} (${prefs[0] ?? "none"} is); use another GPU for a different type`,
        );
      if (cur.series === "Q" && workload === "gaming")
        overrideArgs.push(`vgpu_type = "NVS" (Q profiles can be slow in OpenGL/games; ${SOURCE})`);
      const needOverride = curSize !== wanted;
      if (needOverride)
        reasons.push(
          `${cur.type} is ${formatSize(curSize)}; the VM gets ${formatSize(wanted)} through a per-VM override (framebuffer + framebuffer_reservation)`,
        );
      vramWarnings(input, wanted, warnings);
      return {
        type: cur.type,
        name: cur.name,
        series: cur.series,
        vramMiB: wanted,
        overrideVramMiB: needOverride ? wanted : null,
        overrideArgs,
        reasons,
        warnings,
        alternatives: [],
        source,
      };
    }
    if (cur) {
      warnings.push(
        `GPU ${input.gpu!.address} already runs ${cur.type}${cur.name ? ` (${cur.name})` : ""}, which a ${os} guest cannot use; a different type needs another GPU (one type per GPU)`,
      );
    }
  }

  for (const series of prefs) {
    const of = usable.filter((t) => t.series === series).sort((a, b) => sized(a) - sized(b));
    if (of.length === 0) continue;
    const exact = of.find((t) => sized(t) === wanted);
    const bigger = of.find((t) => sized(t) > wanted);
    const pick = exact ?? bigger ?? of[of.length - 1]!;
    reasons.unshift(why(series, workload));
    if (series !== prefs[0]) {
      reasons.push(`no ${prefs[0]} type available${input.offered ? " on this GPU" : ""}, so ${series}`);
    }
    const needOverride = sized(pick) !== wanted;
    if (needOverride)
      reasons.push(
        `no ${series} type of exactly ${formatSize(wanted)}: ${pick.type} (${formatSize(sized(pick))}) with a per-VM VRAM override to ${formatSize(wanted)}`,
      );
    if (series === "Q" && (workload === "gaming" || workload === "cad"))
      warnings.push(
        `Q profiles can perform badly in OpenGL applications/games (${SOURCE}); if so, set vgpu_type = "NVS" in the override or use the equivalent B/A type`,
      );
    if (series === "B" && workload === "gaming")
      overrideArgs.push("--frl off (B types cap the frame rate at 45 fps)");
    if (series === "A")
      warnings.push(`A types show one display of at most ${pick.maxResolution ?? "1280x1024"}`);
    vramWarnings(input, wanted, warnings);
    const alternatives = usable
      .filter((t) => t.series !== series && t.series !== null && prefs.includes(t.series))
      .filter((t) => sized(t) >= wanted)
      .sort((a, b) => prefs.indexOf(a.series!) - prefs.indexOf(b.series!) || sized(a) - sized(b))
      .filter((t, i, arr) => arr.findIndex((x) => x.series === t.series) === i)
      .map((t) => ({ type: t.type, name: t.name, why: why(t.series!, workload) }));
    return {
      type: pick.type,
      name: pick.name,
      series: pick.series,
      vramMiB: wanted,
      overrideVramMiB: needOverride ? wanted : null,
      overrideArgs,
      reasons,
      warnings,
      alternatives,
      source,
    };
  }
  warnings.push(
    input.types.length === 0
      ? "no vGPU types are known for this GPU"
      : `none of the GPU's types suits ${workload} on ${os} (usable series: ${prefs.join(", ") || "none"})`,
  );
  return {
    type: "",
    name: null,
    series: null,
    vramMiB: wanted,
    overrideVramMiB: null,
    overrideArgs,
    reasons,
    warnings,
    alternatives: [],
    source,
  };
}

function vramWarnings(input: SuggestInput, wanted: number, warnings: string[]): void {
  const phys = input.gpu?.vramMiB ?? null;
  if (phys !== null && wanted > phys)
    warnings.push(
      `${formatSize(wanted)} is more than the GPU's ${formatSize(phys)} of VRAM: the VM would not start`,
    );
}
