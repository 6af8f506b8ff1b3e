/** Building blocks of plan steps: a file change with its unified diff, an undo with nothing to run. */
import { createTwoFilesPatch } from "diff";
import type { Change, Undo } from "./types.ts";

export function fileChange(path: string, before: string | null, after: string | null, mode?: number): Change {
  const diff = createTwoFilesPatch(
    before === null ? "/dev/null" : path,
    after === null ? "/dev/null" : path,
    before ?? "",
    after ?? "",
    "",
    "",
    {
      context: 3,
    },
  );
  return { kind: "file", path, before, after, diff, ...(mode !== undefined ? { mode } : {}) };
}

export const noUndo = (description: string): Undo => ({
  description,
  commands: [] as string[][],
  regenerate: [] as string[][],
});

export function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

export function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}
