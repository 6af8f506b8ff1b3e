/**
 * The simulated host's filesystem: state.files/dirs plus rendered /proc, /sys and
 * /etc/pve/qemu-server. Paths are absolute and normalised ("/a/b", no trailing slash).
 */

import { nodeCrypto } from "../../util/node-crypto.ts";
import type { FileStat } from "../host.ts";
import { consoleFramebuffer } from "./logic.ts";
import { view } from "./read-scope.ts";
import { renderFwPlatformSize } from "./render/boot.ts";
import { listSysPci, readSysPci, SYS_PCI } from "./render/pci.ts";
import { parseVmConf, renderVmConf } from "./render/qm.ts";
import { renderNvidiaProcVersion, renderOsRelease, renderProcCmdline } from "./render/system.ts";
import type { SimState } from "./state.ts";

export const QEMU_SERVER = "/etc/pve/qemu-server";

/**
 * "/a/b" for "a//b/./c/../", "/" for "". A path already normal is returned as is: every host call
 * normalises its path, and splitting each one cost ~1 M instructions of a cold capture (issue 16).
 */
export function normalisePath(p: string): string {
  if (isNormal(p)) return p;
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join("/")}`;
}

/** Absolute, no empty, "." or ".." segment, no trailing slash ("/." also catches "/.cargo": then split). */
function isNormal(p: string): boolean {
  return p.length > 1 && p[0] === "/" && p[p.length - 1] !== "/" && !p.includes("//") && !p.includes("/.");
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

/** Paths rendered from the state instead of stored: writes there are refused. */
export function isVirtualPath(path: string): boolean {
  return isUnder(path, "/proc") || isUnder(path, "/sys");
}

/** /proc/sys/kernel/random/boot_id: a UUID that changes with every boot (derived, so outputs stay deterministic). */
export function renderBootId(s: SimState): string {
  const h = nodeCrypto()
    .createHash("sha256")
    .update(`${s.scenario}/${s.hostname}/boot/${s.bootCount}`)
    .digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}\n`;
}

/** The content of `path` (readVirtual), rendered once per read scope: a capture stats a file, then reads it. */
export function contentOf(s: SimState, path: string): string | null {
  return view(s, `content ${path}`, () => readVirtual(s, path));
}

export function readVirtual(s: SimState, path: string): string | null {
  if (path === "/proc/cmdline") return renderProcCmdline(s);
  if (path === "/proc/fb") return `0 ${consoleFramebuffer(s)}\n`;
  if (path === "/proc/sys/kernel/random/boot_id") return renderBootId(s);
  if (path === "/proc/driver/nvidia/version") return renderNvidiaProcVersion(s);
  if (path === "/sys/firmware/efi/fw_platform_size") return renderFwPlatformSize(s);
  if (isUnder(path, SYS_PCI) && path !== SYS_PCI) return readSysPci(s, path);
  if (path === "/etc/os-release") return renderOsRelease(s);
  const vm = vmConfPath(s, path);
  if (vm) return renderVmConf(vm);
  if (isVirtualPath(path)) return null;
  return s.files[path] ?? null;
}

function vmConfPath(s: SimState, path: string) {
  const m = /^\/etc\/pve\/qemu-server\/(\d+)\.conf$/.exec(path);
  return m ? s.vms.find((v) => v.vmid === Number(m[1])) : undefined;
}

/** Synthetic directory entries (rendered trees), or null when `path` is not such a dir. */
function listRendered(s: SimState, path: string): string[] | null {
  if (isUnder(path, SYS_PCI)) return listSysPci(s, path);
  const rendered: Record<string, string[]> = {
    "/proc": ["cmdline", "fb", ...(renderNvidiaProcVersion(s) ? ["driver"] : [])],
    "/proc/driver": renderNvidiaProcVersion(s) ? ["nvidia"] : [],
    "/proc/driver/nvidia": renderNvidiaProcVersion(s) ? ["version"] : [],
    "/sys": ["bus", ...(s.boot.efi ? ["firmware"] : [])],
    "/sys/bus": ["pci"],
    "/sys/bus/pci": ["devices"],
    ...(s.boot.efi ? { "/sys/firmware": ["efi"], "/sys/firmware/efi": ["fw_platform_size"] } : {}),
  };
  if (path in rendered) {
    if (path === "/proc/driver/nvidia" && !renderNvidiaProcVersion(s)) return null;
    return rendered[path]!;
  }
  if (isVirtualPath(path)) return null;
  return null;
}

export function listDir(s: SimState, path: string): string[] | null {
  const names = entriesOf(s, path);
  return names && [...names];
}

/** listDir's answer, computed once per read scope (read-scope.ts; not to be mutated). */
function entriesOf(s: SimState, path: string): readonly string[] | null {
  return view(s, `entries ${path}`, () => computeListDir(s, path));
}

function computeListDir(s: SimState, path: string): string[] | null {
  const r = listRendered(s, path);
  if (r) return [...r].sort();
  if (isVirtualPath(path)) return null;
  const names = new Set<string>();
  let exists = path === "/" || s.dirs.includes(path);
  const prefix = path === "/" ? "/" : `${path}/`;
  const consider = (p: string) => {
    if (!p.startsWith(prefix)) return;
    exists = true;
    names.add(p.slice(prefix.length).split("/")[0]!);
  };
  for (const p of Object.keys(s.files)) consider(p);
  for (const d of s.dirs) consider(d);
  if (path === "/") names.add("proc").add("sys");
  if (path === "/etc") names.add("os-release").add("pve");
  if (path === "/etc/pve") {
    names.add("qemu-server");
    exists = true;
  }
  if (path === QEMU_SERVER) {
    exists = true;
    for (const vm of s.vms) names.add(`${vm.vmid}.conf`);
  }
  if (!exists) return null;
  return [...names].sort();
}

export function statPath(s: SimState, path: string): FileStat | null {
  const content = contentOf(s, path);
  if (content !== null) {
    const sysfs = isUnder(path, "/sys");
    return { type: "file", size: sysfs ? 4096 : Buffer.byteLength(content), mode: sysfs ? 0o444 : 0o644 };
  }
  if (entriesOf(s, path) !== null) return { type: "dir", size: 4096, mode: 0o755 };
  return null;
}

/** Store a file; a VM conf updates the VM itself. Returns false when the path cannot be written. */
export function writePath(s: SimState, path: string, content: string): boolean {
  if (isVirtualPath(path) || path === "/etc/os-release") return false;
  const m = /^\/etc\/pve\/qemu-server\/(\d+)\.conf$/.exec(path);
  if (m) {
    const vmid = Number(m[1]);
    const existing = s.vms.find((v) => v.vmid === vmid);
    const base = existing ?? { vmid, running: false, config: {}, pending: {}, pendingDelete: [] };
    const parsed = parseVmConf(base, content);
    if (existing) Object.assign(existing, parsed);
    else s.vms.push(parsed);
    return true;
  }
  s.files[path] = content;
  return true;
}

export function removePath(s: SimState, path: string): void {
  const m = /^\/etc\/pve\/qemu-server\/(\d+)\.conf$/.exec(path);
  if (m) {
    s.vms = s.vms.filter((v) => v.vmid !== Number(m[1]));
    return;
  }
  for (const p of Object.keys(s.files)) if (isUnder(p, path)) delete s.files[p];
  s.dirs = s.dirs.filter((d) => !isUnder(d, path));
}

export function mkdirPath(s: SimState, path: string): void {
  if (!s.dirs.includes(path)) s.dirs.push(path);
}
