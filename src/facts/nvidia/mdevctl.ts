import { normalisePciAddress } from "../pci.ts";
import type { MdevDevice, MdevType } from "../types.ts";
import { isDigits, parseIntLoose, parseSizeMiB, splitLines } from "./common.ts";

export interface MdevDescription {
  framebufferMiB: number | null;
  maxInstances: number | null;
  numHeads: number | null;
  maxResolution: string | null;
  frlConfig: number | null;
}

/**
 * An mdev type description, in any of the dialects seen:
 * - sysfs / mdevctl: "num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24"
 * - PVE ≥ 9.1.11 (NVML, newline separated): "framebuffer-size=2048MiB\nnum-heads=4\nmax-resolution=…\nmax-instances=24"
 * - empty (PVE 8.2.5 … 9.1.10 vendor-specific VFIO) or keys missing → those fields null.
 * Sizes may be "1024M", "4096M", "2G", "2048MiB". Never throws.
 */
export function parseMdevDescription(text: string | null | undefined): MdevDescription {
  const out: MdevDescription = {
    framebufferMiB: null,
    maxInstances: null,
    numHeads: null,
    maxResolution: null,
    frlConfig: null,
  };
  if (typeof text !== "string") return out;
  // split at "," "\n" ";" by string (a regex split per description was start-up cost, issue 16)
  for (const part of text.replaceAll("\n", ",").replaceAll(";", ",").split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase().replaceAll("-", "_");
    const value = part.slice(eq + 1).trim();
    switch (key) {
      case "framebuffer":
      case "framebuffer_size":
      case "fb":
        out.framebufferMiB ??= roundMiB(parseSizeMiB(value));
        break;
      case "max_instance":
      case "max_instances":
        out.maxInstances ??= parseIntLoose(value);
        break;
      case "num_heads":
        out.numHeads ??= parseIntLoose(value);
        break;
      case "max_resolution":
        if (isResolution(value)) out.maxResolution ??= value.toLowerCase();
        break;
      case "frl_config":
        out.frlConfig ??= parseIntLoose(value);
        break;
    }
  }
  return out;
}

/** "5120x2880" (or "X"): what /^\d+x\d+$/i matches, by string. */
function isResolution(value: string): boolean {
  const lower = value.toLowerCase();
  const x = lower.indexOf("x");
  return x >= 0 && isDigits(lower.slice(0, x)) && isDigits(lower.slice(x + 1));
}

function roundMiB(n: number | null): number | null {
  return n === null ? null : Math.round(n);
}

/** Build an MdevType from raw strings (shared by `mdevctl types` and sysfs). */
export function makeMdevType(
  parent: string,
  type: string,
  raw: {
    name?: string | null;
    description?: string | null;
    availableInstances?: string | null;
    deviceApi?: string | null;
  },
): MdevType {
  const description = raw.description?.trim() ? raw.description.trim() : null;
  const name = raw.name?.trim() ? raw.name.trim().split("\n")[0]!.trim() : null;
  const deviceApi = raw.deviceApi?.trim() ? raw.deviceApi.trim() : null;
  return {
    parent,
    type,
    name,
    availableInstances: parseIntLoose(raw.availableInstances ?? null),
    deviceApi,
    ...parseMdevDescription(description),
    description,
  };
}

const TYPE_LINE = /^(?=.*[A-Za-z0-9])[A-Za-z0-9_.:-]+$/;
const PROP_LINE = /^([A-Za-z][A-Za-z ]*?):(?:\s(.*))?$/;

/**
 * `mdevctl types` text:
 * ```
 * 0000:01:00.0
 *   nvidia-256
 *     Available instances: 24
 *     Device API: vfio-pci
 *     Name: GRID RTX6000-1Q
 *     Description: num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24
 * ```
 * Parents are the unindented lines, types the next level, properties below. A property block whose
 * parent or type line is missing (e.g. output pasted through a web page) cannot be named and is skipped.
 * Empty output → []. Never throws.
 */
export function parseMdevctlTypes(text: string): MdevType[] {
  const out: MdevType[] = [];
  if (typeof text !== "string") return out;
  let parent: string | null = null;
  let parentIndent = -1;
  let current: { type: string; props: Record<string, string> } | null = null;
  let typeIndent = -1;

  const flush = () => {
    if (parent !== null && current !== null) {
      out.push(
        makeMdevType(parent, current.type, {
          name: current.props.name ?? null,
          description: current.props.description ?? null,
          availableInstances: current.props["available instances"] ?? null,
          deviceApi: current.props["device api"] ?? null,
        }),
      );
    }
    current = null;
  };

  for (const rawLine of splitLines(text)) {
    const line = rawLine.replaceAll("\t", "    ").trimEnd();
    if (line.trim() === "") continue;
    const indent = line.length - line.trimStart().length;
    const body = line.trim();
    const prop = PROP_LINE.exec(body);
    if (!prop) {
      if (!TYPE_LINE.test(body)) continue; // noise: shell prompts, "...", table borders
      if (parent === null || indent <= parentIndent) {
        flush();
        parent = normalisePciAddress(body, "required") ?? body;
        parentIndent = indent;
      } else {
        flush();
        current = { type: body, props: {} };
        typeIndent = indent;
      }
      continue;
    }
    if (current !== null && indent > typeIndent) {
      const key = prop[1]!.trim().toLowerCase();
      if (!(key in current.props)) current.props[key] = (prop[2] ?? "").trim();
    }
  }
  flush();
  return out;
}

const UUID_RE = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const LIST_LINE = new RegExp(
  `^(${UUID_RE})\\s+(\\S+)\\s+(\\S+)(?:\\s+(auto|manual))?(?:\\s+\\((defined|active)\\))?\\s*$`,
);

export interface MdevctlListOptions {
  /**
   * Which listing the text is: "active" (`mdevctl list`, the default: every line is running; a
   * "(defined)" suffix says it is also defined) or "defined" (`mdevctl list -d`: "(active)" marks the
   * running ones, the others are defined but stopped).
   */
  listing?: "active" | "defined";
}

/**
 * `mdevctl list` text: "<uuid> <parent> <type> <auto|manual>[ (defined)|(active)]"; `-v` attribute
 * lines are skipped. UUIDs lowercased, parents normalised. Never throws.
 */
export function parseMdevctlList(text: string, options: MdevctlListOptions = {}): MdevDevice[] {
  const out: MdevDevice[] = [];
  if (typeof text !== "string") return out;
  const listing = options.listing ?? "active";
  for (const rawLine of splitLines(text)) {
    const m = LIST_LINE.exec(rawLine.trim());
    if (!m) continue;
    const suffix = m[5];
    let active: boolean;
    if (listing === "active") active = true;
    else active = suffix === "active";
    out.push({
      uuid: m[1]!.toLowerCase(),
      parent: normalisePciAddress(m[2]!, "required") ?? m[2]!,
      type: m[3]!,
      start: (m[4] as "auto" | "manual" | undefined) ?? null,
      active,
    });
  }
  return out;
}

/**
 * `mdevctl list --dumpjson`: `[ { "<parent>": [ { "<uuid>": { "mdev_type", "start", "attrs" } } ] } ]`
 * (mdevctl 1.x), also accepted as a bare object keyed by parent. `[]` → []. A bare config object
 * (`-u` with one result: no uuid/parent) or unreadable JSON → null. `active` follows `options.listing`
 * ("active": true; "defined": null, JSON does not say). Never throws.
 */
export function parseMdevctlListJson(text: string, options: MdevctlListOptions = {}): MdevDevice[] | null {
  if (typeof text !== "string") return null;
  const trimmed = text.trim();
  if (trimmed === "") return [];
  let data: unknown;
  try {
    data = JSON.parse(trimmed);
  } catch (e) {
    if (e instanceof SyntaxError) return null; // unreadable JSON: unknown (the only error JSON.parse of a string has)
    throw e;
  }
  const listing = options.listing ?? "active";
  const byParent: Array<Record<string, unknown>> = [];
  if (Array.isArray(data)) {
    for (const item of data) if (isObject(item)) byParent.push(item);
  } else if (isObject(data)) {
    if ("mdev_type" in data) return null;
    byParent.push(data);
  } else return null;

  const out: MdevDevice[] = [];
  for (const group of byParent) {
    for (const [parentRaw, devices] of Object.entries(group)) {
      const parent = normalisePciAddress(parentRaw, "required") ?? parentRaw;
      const list = Array.isArray(devices) ? devices : isObject(devices) ? [devices] : [];
      for (const entry of list) {
        if (!isObject(entry)) continue;
        for (const [uuid, cfg] of Object.entries(entry)) {
          if (!isObject(cfg)) continue;
          const type = typeof cfg.mdev_type === "string" ? cfg.mdev_type : null;
          if (type === null) continue;
          const start = cfg.start === "auto" || cfg.start === "manual" ? cfg.start : null;
          out.push({
            uuid: uuid.toLowerCase(),
            parent,
            type,
            start,
            active: listing === "active" ? true : null,
          });
        }
      }
    }
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
