/**
 * The one VRAM overcommit rule (issue 13 item 5), used by `vm attach` (place/attach.ts gpuRefusal),
 * `override set` (commands/override.ts) and doctor (checks/vms.ts vram-overcommit): the vGPUs of a GPU
 * fit when the VRAM they take — each its type's profile size, or framebuffer + framebuffer_reservation
 * from profile_override.toml (knowledge/vram.ts effectiveVramMiB) — adds up to at most what the GPU can
 * hand out (place/model.ts vgpuBudgetMiB). When it does not, the vGPU manager refuses the VM that starts
 * last ("error allocating framebuffer", research/unlock.md §5): running VMs keep what they hold, the
 * others start in VMID order.
 */
import type { OverrideSection } from "../facts/types.ts";
import { findType } from "../knowledge/vgpu-types.ts";
import { effectiveVramMiB } from "../knowledge/vram.ts";
import { formatSize } from "../report/units.ts";
import { type PlaceGpu, type PlacementModel, typeMiB, usersOf } from "./model.ts";

export interface VramClaim {
  /** the VM the vGPU belongs to (null: an mdev no VM config explains) */
  vmid: number | null;
  uuid: string | null;
  mib: number;
  /** how the size was found, e.g. "via [vm.100]" (shown after the size) */
  how: string | null;
  /** the VM runs now and holds its VRAM (null/false: it would have to start) */
  running: boolean | null;
}

export interface VramFit {
  budgetMiB: number;
  totalMiB: number;
  fits: boolean;
  claims: VramClaim[];
  /** the vGPUs whose VM would fail to start ([] when everything fits) */
  wontStart: VramClaim[];
}

/** Decide whether `claims` fit in `budgetMiB`, and which would fail to start when they do not. */
export function vramFit(budgetMiB: number, claims: readonly VramClaim[]): VramFit {
  const totalMiB = claims.reduce((n, c) => n + c.mib, 0);
  const order = [...claims].sort(
    (a, b) =>
      Number(b.running === true) - Number(a.running === true) ||
      (a.vmid ?? Number.MAX_SAFE_INTEGER) - (b.vmid ?? Number.MAX_SAFE_INTEGER),
  );
  let used = 0;
  const wontStart: VramClaim[] = [];
  for (const c of order) {
    if (c.running !== true && used + c.mib > budgetMiB) wontStart.push(c);
    else used += c.mib;
  }
  return { budgetMiB, totalMiB, fits: totalMiB <= budgetMiB, claims: [...claims], wontStart };
}

export function claimText(c: VramClaim): string {
  const who = c.vmid !== null ? `VM ${c.vmid}` : `mdev ${c.uuid}`;
  return `${who} ${formatSize(c.mib)}${c.how ? ` ${c.how}` : ""}${c.running === true ? " (running)" : ""}`;
}

function whoWontStart(fit: VramFit): string {
  const names = fit.wontStart.map((c) => (c.vmid !== null ? `VM ${c.vmid}` : `mdev ${c.uuid}`));
  if (names.length === 0) return "A VM";
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/**
 * One line for an overcommit: "VM 101 will fail to start: GPU 0000:01:00.0 has 11 GiB of VRAM;
 * VM 100 8 GiB via [vm.100], VM 101 4 GiB is 12 GiB ("error allocating framebuffer")" (sizes: report/units.ts).
 */
export function overcommitMessage(fit: VramFit, gpuLabel: string): string {
  return `${whoWontStart(fit)} will fail to start: ${gpuLabel} has ${formatSize(fit.budgetMiB)} of VRAM; ${fit.claims.map(claimText).join(", ")} is ${formatSize(fit.totalMiB)} ("error allocating framebuffer")`;
}

/**
 * The VRAM claims of the vGPUs configured on `gpu` (placement model), sized with `sections` (the
 * override file as it is, or as an edit would leave it); `except` leaves one VM out. Claims whose
 * size is unknown are left out (they cannot be counted either way).
 */
export function gpuClaims(
  model: PlacementModel,
  gpu: PlaceGpu,
  sections: readonly OverrideSection[],
  except: number | null = null,
): VramClaim[] {
  const claims: VramClaim[] = [];
  for (const u of usersOf(model, gpu)) {
    if (except !== null && u.vmid === except) continue;
    const v = effectiveVramMiB(sections, u, typeMiB(gpu, u.type), findType);
    if (v.mib === null) continue;
    const running = u.vmid === null ? true : (model.vms.find((x) => x.vmid === u.vmid)?.running ?? null);
    claims.push({ vmid: u.vmid, uuid: u.uuid, mib: v.mib, how: v.from ? `via ${v.from}` : null, running });
  }
  return claims;
}
