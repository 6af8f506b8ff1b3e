/**
 * How the vGPU type table's rows (vgpu-types.generated.ts) are read: by board, so a command that looks
 * at one GPU reads that board's rows and no others. From sources these look into the generated array;
 * the build (scripts/bundle-options.mjs, vgpuTypesByBoard) replaces this module with the same three
 * functions over one JSON text per board, each parsed the first time it is asked for — parsing and
 * building all 590 rows at start took ~20 ms of every command's start (issue 16).
 */

import { VGPU_TYPES_DATA } from "./vgpu-types.generated.ts";
import type { VgpuTypeRow } from "./vgpu-types.ts";

/** Every board (pgpu device id, 4 lowercase hex digits) that has types, in the order of its first type id. */
export function vgpuTypeBoards(): readonly string[] {
  return [...new Set(VGPU_TYPES_DATA.map((r) => r.pgpu.deviceId))];
}

/** The rows of one board, in ascending type id; [] for a board without types. */
export function vgpuTypeRowsOfBoard(deviceId: string): readonly VgpuTypeRow[] {
  return VGPU_TYPES_DATA.filter((r) => r.pgpu.deviceId === deviceId);
}

/** The board a type id belongs to; undefined for an unknown id. */
export function boardOfTypeId(id: number): string | undefined {
  return VGPU_TYPES_DATA.find((r) => r.id === id)?.pgpu.deviceId;
}
