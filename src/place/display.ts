/** `--display 1920x1080` parsing and the check against a type's max_resolution. Pure. */
import { UserError } from "../util/errors.ts";

export interface Resolution {
  width: number;
  height: number;
}

/** "1920x1080" (also "1920X1080", "1920×1080") → {width, height}; UserError otherwise. */
export function parseResolution(text: string): Resolution {
  const m = /^\s*(\d{1,5})\s*[x×]\s*(\d{1,5})\s*$/i.exec(text ?? "");
  const w = m ? Number(m[1]) : 0;
  const h = m ? Number(m[2]) : 0;
  if (!m || w < 1 || h < 1 || w > 65535 || h > 65535) {
    throw new UserError(
      `"${text}" is not a display resolution`,
      "give WIDTHxHEIGHT in pixels, e.g. --display 1920x1080",
    );
  }
  return { width: w, height: h };
}

/** "7680x4320" → Resolution, null when missing or garbled. */
export function parseMaxResolution(text: string | null | undefined): Resolution | null {
  const m = /^\s*(\d+)\s*x\s*(\d+)\s*$/i.exec(text ?? "");
  return m ? { width: Number(m[1]), height: Number(m[2]) } : null;
}

/**
 * Refuse a resolution larger than the type's max_resolution (from the host's mdev description or
 * the knowledge table). `max` null = unknown: nothing to check.
 */
export function checkResolution(
  want: Resolution,
  max: string | null,
  typeLabel: string,
  source: string,
): void {
  const m = parseMaxResolution(max);
  if (!m) return;
  if (want.width > m.width || want.height > m.height) {
    throw new UserError(
      `${want.width}x${want.height} is beyond ${typeLabel}'s max resolution ${m.width}x${m.height} (${source}); nothing was written`,
      `use at most ${m.width}x${m.height}, or a type with a larger max_resolution (Q and B types allow more than A types)`,
    );
  }
}
