/**
 * `vgpuctl override set|unset|show`: edit /etc/vgpu_unlock/profile_override.toml on a host.
 *
 * Everything is checked before anything is written (vgpu_unlock-rs re-reads the file at every VM
 * start and a bad file makes every VM start fail — research/unlock.md §1.2): the target exists
 * (VM config, known type), the VRAM size parses, the resolution is within the type's
 * max_resolution, and the edited file validates. The previous file is copied to
 * /var/backups/vgpuctl/ first; the change is shown as a unified diff.
 */

import { createTwoFilesPatch } from "diff";
import { deriveUnlock } from "../facts/derive.ts";
import { makeMdevType } from "../facts/nvidia/mdevctl.ts";
import { parseProfileOverride } from "../facts/nvidia/unlock.ts";
import { parseVmConfig } from "../facts/system/qemu-server.ts";
import type { Facts, MdevType, OverrideSection } from "../facts/types.ts";
import {
  closestName,
  isOverrideKey,
  normalizeTargetKey,
  OVERRIDE_KEY_NAMES,
  OVERRIDE_PATH,
  type OverrideChanges,
  type OverrideIssue,
  type OverrideTarget,
  sectionNameProblem,
  setOverride,
  unsetOverride,
  validateOverride,
} from "../formats/profile-override/index.ts";
import type { Host } from "../hosts/host.ts";
import { findType } from "../knowledge/vgpu-types.ts";
import { parseSize } from "../knowledge/vram.ts";
import { checkResolution, parseResolution } from "../place/display.ts";
import { mergeHostpci, type PlaceGpu, type PlacementModel, usersOf } from "../place/model.ts";
import { gpuClaims, overcommitMessage, vramFit } from "../place/vram-fit.ts";
import { NotCapturedError, UserError } from "../util/errors.ts";
import { loadPlacement } from "./vm.ts";

/**
 * Backups of hand-run edits (override set/unset, vm attach). Kept apart from apply's journal
 * backups under /var/lib/vgpuctl, which `uninstall` deletes once it has restored everything.
 */
export const BACKUP_DIR = "/var/backups/vgpuctl";

export interface OverrideTargetOptions {
  type?: string;
  vm?: string;
  mdev?: string;
}

export interface OverrideSetOptions extends OverrideTargetOptions {
  vram?: string;
  display?: string;
  displays?: string | number;
  frl?: string;
  cuda?: string;
  dryRun?: boolean;
  /** for tests: the clock used to name backups */
  now?: () => Date;
}

export interface OverrideUnsetOptions extends OverrideTargetOptions {
  keys?: string[];
  dryRun?: boolean;
  now?: () => Date;
}

export interface OverrideChangeResult {
  path: string;
  target: OverrideTarget;
  /** unified diff of the change ("" when nothing changes) */
  diff: string;
  changed: boolean;
  written: boolean;
  dryRun: boolean;
  /** where the previous file was copied, null when nothing was written or there was no file */
  backup: string | null;
  /** 1-based lines of the new file that were added or changed (set) / of the old file that were removed (unset) */
  changedLines: number[];
  warnings: OverrideIssue[];
  /** what was checked / assumed, for the user */
  notes: string[];
  /**
   * vgpu_unlock-rs, the only reader of the file, is preloaded into nvidia-vgpu-mgr (null: not known,
   * e.g. the drop-ins were not read). false: the file has no effect until it is (issue 13 item 6).
   */
  unlockPreloaded?: boolean | null;
}

export interface OverrideShowResult {
  path: string;
  present: boolean;
  sections: OverrideSection[];
  issues: OverrideIssue[];
  error: { message: string; line: number | null; column: number | null } | null;
}

/** Unified diff of a file change, "" when equal. */
export function unifiedDiff(path: string, before: string, after: string): string {
  if (before === after) return "";
  return createTwoFilesPatch(`a${path}`, `b${path}`, before, after, undefined, undefined, { context: 3 })
    .split("\n")
    .filter((l) => !/^={10,}$/.test(l))
    .join("\n");
}

/** Copy the current content to BACKUP_DIR, then write atomically (Host.writeFile is atomic). */
export async function writeWithBackup(
  host: Host,
  path: string,
  before: string | null,
  after: string,
  now: () => Date = () => new Date(),
): Promise<string | null> {
  let backup: string | null = null;
  if (before !== null) {
    const stamp = now().toISOString().replace(/[:.]/g, "-");
    const base = path.slice(path.lastIndexOf("/") + 1);
    backup = `${BACKUP_DIR}/${base}.${stamp}`;
    await host.writeFile(backup, before, { mode: 0o600 });
  }
  await host.writeFile(path, after, { mode: 0o644 });
  return backup;
}

function onOff(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (["on", "1", "yes", "true"].includes(s)) return true;
  if (["off", "0", "no", "false"].includes(s)) return false;
  throw new UserError(`--${name} takes on or off, got ${JSON.stringify(v)}`);
}

/**
 * The vGPU types the host offers, read straight from sysfs (no full capture). [] when none; what a bundle
 * did not capture counts as absent. Any other failure (EACCES, a lost connection) is an error.
 */
export async function readOfferedTypes(host: Host): Promise<MdevType[]> {
  const base = "/sys/bus/pci/devices";
  const out: MdevType[] = [];
  for (const dev of (await unlessNotCaptured(() => host.list(base))) ?? []) {
    const dir = `${base}/${dev}/mdev_supported_types`;
    for (const type of (await unlessNotCaptured(() => host.list(dir))) ?? []) {
      const read = (f: string) => unlessNotCaptured(() => host.readFile(`${dir}/${type}/${f}`));
      out.push(
        makeMdevType(dev, type, {
          name: await read("name"),
          description: await read("description"),
          availableInstances: await read("available_instances"),
        }),
      );
    }
  }
  return out;
}

/** `read()`, or null when a bundle did not capture it (NotCapturedError); every other error propagates. */
async function unlessNotCaptured<T>(read: () => Promise<T | null>): Promise<T | null> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof NotCapturedError) return null;
    throw e;
  }
}

interface TargetInfo {
  target: OverrideTarget;
  /** the vGPU type the section applies to, when it can be known */
  type: string | null;
  notes: string[];
}

const VM_CONF = (vmid: string) => `/etc/pve/qemu-server/${vmid}.conf`;

async function vgpuTypeOfVm(host: Host, vmid: string): Promise<string | null | undefined> {
  const text = await host.readFile(VM_CONF(vmid));
  if (text === null) return undefined;
  const vm = parseVmConfig(Number(vmid), text);
  return mergeHostpci(vm.hostpci, vm.pendingHostpci).find((h) => h.mdev)?.mdev ?? null;
}

function unknownVm(vmid: string): UserError {
  return new UserError(
    `VM ${vmid} does not exist on this host (no ${VM_CONF(vmid)}); nothing was written`,
    "check the VMID in the Proxmox VE UI or `qm list`",
  );
}

/** Resolve --type/--vm/--mdev to a section, checking that it exists. */
async function resolveTarget(
  host: Host,
  o: OverrideTargetOptions,
  offered: MdevType[],
  requireExisting: boolean,
): Promise<TargetInfo> {
  const given = [o.type, o.vm, o.mdev].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UserError("give exactly one of --type nvidia-N, --vm VMID or --mdev UUID");
  const notes: string[] = [];
  if (o.vm !== undefined) {
    const vmid = o.vm.trim();
    const problem = sectionNameProblem("vm", vmid);
    if (problem) throw new UserError(problem.message, problem.fix);
    const type = await vgpuTypeOfVm(host, vmid);
    if (type === undefined) {
      if (requireExisting) throw unknownVm(vmid);
      notes.push(`VM ${vmid} does not exist (any more)`);
      return { target: { kind: "vm", key: vmid }, type: null, notes };
    }
    if (type === null) notes.push(`VM ${vmid} has no vGPU yet; the override applies once one is attached`);
    return { target: { kind: "vm", key: vmid }, type, notes };
  }
  if (o.type !== undefined) {
    const raw = o.type.trim();
    const key = normalizeTargetKey("profile", raw);
    const byId = /^nvidia-\d+$/.test(key) ? key : null;
    const offeredHit = offered.find((t) => (byId ? t.type === byId : sameName(t.name, raw)));
    const known = findType(raw);
    const type = offeredHit?.type ?? known?.type ?? null;
    if (!type) {
      if (!requireExisting && byId) return { target: { kind: "profile", key: byId }, type: byId, notes };
      throw new UserError(
        `unknown vGPU type ${JSON.stringify(raw)}: not offered by this host and not in the NVIDIA type table; nothing was written`,
        "give the mdev type as nvidia-N (see `mdevctl types` or `vgpuctl inspect`)",
      );
    }
    if (offered.length > 0 && !offeredHit)
      notes.push(`${type} is not offered by this host's GPUs; the override only matters where it is`);
    return { target: { kind: "profile", key: type }, type, notes };
  }
  const uuid = o.mdev!.trim();
  const problem = sectionNameProblem("mdev", uuid.toLowerCase());
  if (problem) throw new UserError(problem.message, problem.fix);
  const pve = /^(\d{8})-0000-0000-0000-(\d{12})$/.exec(uuid);
  let type: string | null = null;
  if (pve) {
    const vmid = String(Number(pve[2]));
    const t = await vgpuTypeOfVm(host, vmid);
    if (t === undefined) notes.push(`mdev ${uuid} is Proxmox VE's UUID for VM ${vmid}, which does not exist`);
    else type = t;
    if (uuid !== uuid.toLowerCase())
      notes.push("UUID written in lowercase (vgpu_unlock-rs matches lowercase)");
  }
  return { target: { kind: "mdev", key: uuid.toLowerCase() }, type, notes };
}

function sameName(a: string | null, b: string): boolean {
  if (!a) return false;
  const n = (s: string) =>
    s
      .trim()
      .toLowerCase()
      .replace(/^(grid|nvidia)\s+/, "");
  return n(a) === n(b);
}

function maxResolutionOf(type: string, offered: MdevType[]): { max: string | null; source: string } {
  const o = offered.find((t) => t.type === type && t.maxResolution);
  if (o) return { max: o.maxResolution, source: `mdev description on ${o.parent}` };
  const k = findType(type);
  return { max: k?.maxResolution ?? null, source: "NVIDIA type table" };
}

/** Parse and check the value options into editor changes (throws UserError on bad input). */
export function overrideChangesFrom(o: OverrideSetOptions): OverrideChanges {
  const changes: OverrideChanges = {};
  if (o.vram !== undefined) changes.vramMiB = parseSize(o.vram);
  if (o.display !== undefined) changes.display = parseResolution(o.display);
  if (o.displays !== undefined) {
    const n = typeof o.displays === "number" ? o.displays : Number(String(o.displays).trim());
    if (!Number.isInteger(n) || n < 1 || n > 16)
      throw new UserError(
        `--displays must be a whole number from 1 to 16, got ${JSON.stringify(o.displays)}`,
      );
    changes.displays = n;
  }
  const frl = onOff("frl", o.frl);
  if (frl !== undefined) changes.frl = frl;
  const cuda = onOff("cuda", o.cuda);
  if (cuda !== undefined) changes.cuda = cuda;
  return changes;
}

export async function runOverrideSet(
  o: OverrideSetOptions,
  deps: { host: Host },
): Promise<OverrideChangeResult> {
  const { host } = deps;
  const changes = overrideChangesFrom(o);
  if (Object.keys(changes).length === 0)
    throw new UserError("nothing to set", "give --vram, --display, --displays, --frl or --cuda");
  const offered = await readOfferedTypes(host);
  const info = await resolveTarget(host, o, offered, true);
  if (changes.display && info.type) {
    const { max, source } = maxResolutionOf(info.type, offered);
    checkResolution(changes.display, max, info.type, source);
  }
  const { model, facts } = await loadPlacement(host);
  if (changes.vramMiB !== undefined) checkVramBound(changes.vramMiB, o.vram ?? "", targetGpus(model, info));
  const before = await host.readFile(OVERRIDE_PATH);
  const edit = editValidFile(before, () => setOverride(before ?? "", info.target, changes));
  refuseOvercommit(model, parseProfileOverride(edit.text).sections);
  const result = await finish(host, before, edit, info, Boolean(o.dryRun), o.now);
  const preloaded = unlockPreloaded(facts);
  if (preloaded === false)
    result.notes.push(
      "nothing reads this file yet: vgpu_unlock-rs is not preloaded into nvidia-vgpu-mgr; `vgpuctl apply` with `unlock: auto` installs it (with `unlock = false` on natively supported GPUs)",
    );
  return { ...result, unlockPreloaded: preloaded };
}

/** Whether nvidia-vgpu-mgr preloads vgpu_unlock-rs (null when the drop-ins were not read). */
function unlockPreloaded(facts: Facts): boolean | null {
  if (facts.dropins === null) return null;
  const u = deriveUnlock(facts);
  return u.preloadedIn.includes("nvidia-vgpu-mgr.service") && u.installed !== false;
}

/**
 * The GPUs an override of `info.target` sizes vGPUs on: the VM's (or mdev's) GPU, those offering the
 * type; every GPU of the host when that is not known yet (a VM without a vGPU).
 */
function targetGpus(model: PlacementModel, info: TargetInfo): PlaceGpu[] {
  const { kind, key } = info.target;
  const hit = model.gpus.filter((g) =>
    kind === "profile"
      ? g.types.some((t) => t.type === key)
      : usersOf(model, g).some((u) => (kind === "vm" ? String(u.vmid) === key : u.uuid === key)),
  );
  return hit.length > 0 ? hit : model.gpus;
}

/** --vram within what the target's GPU can hand out (issue 13 item 4); unknown GPUs: the editor's cap. */
function checkVramBound(mib: number, given: string, gpus: PlaceGpu[]): void {
  const sized = gpus.filter((g) => g.vramMiB !== null);
  if (sized.length === 0) return;
  const most = sized.reduce((a, b) => (b.vramMiB! > a.vramMiB! ? b : a));
  if (mib <= most.vramMiB!) return;
  throw new UserError(
    `--vram ${given.trim()}${Number.isSafeInteger(mib) ? ` (${mib} MiB)` : ""} is more than GPU ${most.address} has: ${most.vramMiB} MiB of VRAM; nothing was written`,
    `give at most ${most.vramMiB} MiB, e.g. --vram ${Math.floor(most.vramMiB! / 1024)}G`,
  );
}

/**
 * Refuse an edit after which the vGPUs of a GPU no longer fit its VRAM (the rule vm attach and
 * doctor use, place/vram-fit.ts) — unless it was over before and the edit does not make it worse.
 */
function refuseOvercommit(model: PlacementModel, after: readonly OverrideSection[]): void {
  for (const gpu of model.gpus) {
    if (gpu.vramMiB === null) continue;
    const was = vramFit(gpu.vramMiB, gpuClaims(model, gpu, model.overrides));
    const now = vramFit(gpu.vramMiB, gpuClaims(model, gpu, after));
    if (now.fits || now.totalMiB <= was.totalMiB) continue;
    throw new UserError(
      `${overcommitMessage(now, `GPU ${gpu.address}`)}; nothing was written`,
      "give the VMs on that GPU less VRAM in total (vgpuctl override set --vm VMID --vram SIZE), or move one to another GPU",
    );
  }
}

/**
 * Run an edit of the override file; a file that does not validate is not edited (issue 13 item 4) unless
 * the edit is what fixes it (the editor refuses any result with errors). The refusal names the file's
 * line and the fix.
 */
function editValidFile<T>(before: string | null, edit: () => T): T {
  const errors = before === null ? [] : validateOverride(before).filter((i) => i.severity === "error");
  try {
    return edit();
  } catch (e) {
    if (!(e instanceof UserError) || errors.length === 0) throw e;
    const first = errors[0]!;
    const at = `${OVERRIDE_PATH}${first.line !== null ? `:${first.line}${first.column !== null ? `:${first.column}` : ""}` : ""}`;
    throw new UserError(
      `${at}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more error(s))` : ""}; refusing to edit a file that does not validate, nothing was written`,
      `${first.fix}; \`vgpuctl override show\` lists every problem`,
    );
  }
}

export async function runOverrideUnset(
  o: OverrideUnsetOptions,
  deps: { host: Host },
): Promise<OverrideChangeResult> {
  const { host } = deps;
  const info = await resolveTarget(host, o, await readOfferedTypes(host), false);
  const before = await host.readFile(OVERRIDE_PATH);
  if (before === null) {
    return {
      path: OVERRIDE_PATH,
      target: info.target,
      diff: "",
      changed: false,
      written: false,
      dryRun: Boolean(o.dryRun),
      backup: null,
      changedLines: [],
      warnings: [],
      notes: [...info.notes, `${OVERRIDE_PATH} does not exist: nothing to remove`],
    };
  }
  const keys = o.keys && o.keys.length > 0 ? o.keys.map((k) => k.trim()) : undefined;
  if (keys) {
    const section = parseProfileOverride(before).sections.find(
      (x) => x.kind === info.target.kind && x.key === info.target.key,
    );
    for (const k of keys) {
      if (section && k in section.values) continue;
      if (!isOverrideKey(k)) {
        const near = closestName(k, OVERRIDE_KEY_NAMES);
        throw new UserError(
          `${JSON.stringify(k)} is not a profile_override.toml key${near ? ` (did you mean ${near}?)` : ""} and [${info.target.kind}.${info.target.key}] does not set it; nothing was written`,
          `known keys: ${OVERRIDE_KEY_NAMES.join(", ")}`,
        );
      }
      info.notes.push(`[${info.target.kind}.${info.target.key}] does not set ${k}`);
    }
  }
  const edit = editValidFile(before, () => unsetOverride(before, info.target, keys));
  // removing an override that gave a VM less VRAM than its type can overcommit the GPU too
  if (edit.text !== before)
    refuseOvercommit((await loadPlacement(host)).model, parseProfileOverride(edit.text).sections);
  return finish(host, before, edit, info, Boolean(o.dryRun), o.now);
}

async function finish(
  host: Host,
  before: string | null,
  edit: { text: string; changedLines: number[]; warnings: OverrideIssue[] },
  info: TargetInfo,
  dryRun: boolean,
  now?: () => Date,
): Promise<OverrideChangeResult> {
  const old = before ?? "";
  const changed = edit.text !== old;
  const diff = unifiedDiff(OVERRIDE_PATH, old, edit.text);
  let backup: string | null = null;
  let written = false;
  if (changed && !dryRun) {
    backup = await writeWithBackup(host, OVERRIDE_PATH, before, edit.text, now);
    written = true;
  }
  return {
    path: OVERRIDE_PATH,
    target: info.target,
    diff,
    changed,
    written,
    dryRun,
    backup,
    changedLines: edit.changedLines,
    warnings: edit.warnings,
    notes: info.notes,
  };
}

export async function runOverrideShow(
  _o: Record<string, never>,
  deps: { host: Host },
): Promise<OverrideShowResult> {
  const text = await deps.host.readFile(OVERRIDE_PATH);
  if (text === null) return { path: OVERRIDE_PATH, present: false, sections: [], issues: [], error: null };
  const parsed = parseProfileOverride(text);
  const issues = validateOverride(text);
  // what the reader could not parse is an error here too: show and --json say the same (issue 13 item 4)
  if (parsed.error && !issues.some((i) => i.severity === "error"))
    issues.unshift({
      severity: "error",
      line: parsed.error.line,
      column: parsed.error.column,
      key: null,
      message: parsed.error.message,
      fix: "correct this line (vgpuctl override show lists the sections it could read)",
    });
  return { path: OVERRIDE_PATH, present: true, sections: parsed.sections, issues, error: parsed.error };
}
