/**
 * Shared views over Facts for the checks: the host's GPUs with their classification, the running
 * kernel, bootloader, driver, and helpers that turn a wanted change into exact commands for THIS host.
 * Pure; computed once per (facts, kb) pair.
 */
import {
  type Bootloader,
  type DriverState,
  deriveBootloader,
  deriveDriver,
  nvidiaGpuFunctions,
} from "../facts/derive.ts";
import type { Facts, PciFunction, VmConfig } from "../facts/types.ts";
import type { Kb, KbGpu, KbRelease } from "./types.ts";

export interface GpuView {
  address: string;
  fn: PciFunction;
  cls: KbGpu | null;
  /** "0000:01:00.0 NVIDIA GeForce RTX 2080 Ti [10de:1e07]" */
  label: string;
  /** physical VRAM in MiB: nvidia-smi, else the knowledge base */
  vramMiB: number | null;
}

export interface HostView {
  facts: Facts;
  kb: Kb;
  /** running kernel release, e.g. "5.15.102-1-pve" */
  kernel: string | null;
  bootloader: Bootloader | null;
  driver: DriverState | null;
  release: KbRelease | null;
  /** physical NVIDIA GPUs (SR-IOV virtual functions folded into their PF); null when lspci was not captured */
  gpus: GpuView[] | null;
}

const cache = new WeakMap<Facts, WeakMap<Kb, HostView>>();

export function hostView(facts: Facts, kb: Kb): HostView {
  let byKb = cache.get(facts);
  if (!byKb) {
    byKb = new WeakMap();
    cache.set(facts, byKb);
  }
  const seen = byKb.get(kb);
  if (seen) return seen;
  const driver = deriveDriver(facts);
  const view: HostView = {
    facts,
    kb,
    kernel: facts.uname?.release ?? facts.pve?.runningKernel ?? null,
    bootloader: deriveBootloader(facts),
    driver,
    release: driver ? safe(() => kb.releaseForDriverVersion(driver.version)) : null,
    gpus: facts.pci ? physicalGpus(facts).map((fn) => gpuView(facts, kb, fn)) : null,
  };
  byKb.set(kb, view);
  return view;
}

function safe<T>(fn: () => T | null): T | null {
  try {
    return fn() ?? null;
  } catch {
    return null;
  }
}

/** false only when the GPUs are known and none can do vGPU (then host preparation is moot: gpu-unsupported says why). */
export function vgpuPossible(v: HostView): boolean {
  return v.gpus === null || v.gpus.some((g) => g.cls === null || g.cls.support !== "unsupported");
}

/** NVIDIA display functions, minus SR-IOV virtual functions (same bus as a PF that has VFs enabled). */
export function physicalGpus(f: Facts): PciFunction[] {
  const all = nvidiaGpuFunctions(f.pci ?? []);
  const pfs = new Set((f.sriov ?? []).filter((s) => (s.numVfs ?? 0) > 0).map((s) => s.address));
  return all.filter((p) => pfs.has(p.address) || ![...pfs].some((pf) => sameBus(pf, p.address)));
}

export function sameBus(a: string, b: string): boolean {
  return a.slice(0, 7) === b.slice(0, 7);
}

function gpuView(f: Facts, kb: Kb, fn: PciFunction): GpuView {
  const cls = safe(() =>
    kb.classifyGpu({
      deviceId: fn.deviceId,
      subsystemVendorId: fn.subsystemVendorId,
      subsystemDeviceId: fn.subsystemDeviceId,
    }),
  );
  const smi = f.nvidiaSmi?.gpus.find((g) => g.busId === fn.address)?.memoryTotalMiB ?? null;
  const q = f.nvidiaSmiQuery?.gpus.find((g) => g.busId === fn.address)?.fbTotalMiB ?? null;
  const name = cls?.name ?? bracketName(fn.description) ?? fn.description;
  return {
    address: fn.address,
    fn,
    cls,
    label: `${fn.address} ${name} [${fn.vendorId}:${fn.deviceId}]`,
    vramMiB: smi ?? q ?? cls?.vramMiB ?? null,
  };
}

function bracketName(desc: string): string | null {
  const m = /\[([^\]]+)\][^[]*$/.exec(desc.replace(/\s*\[[0-9a-f]{4}:[0-9a-f]{4}\].*$/, ""));
  return m ? m[1]! : null;
}

/** The GPU (PF) a PCI address belongs to: exact match, or a VF on the same bus. */
export function gpuForAddress(v: HostView, address: string | null): GpuView | null {
  if (!address || !v.gpus) return null;
  const a = /\.[0-7]$/.test(address) ? address : `${address}.0`;
  return v.gpus.find((g) => g.address === a) ?? v.gpus.find((g) => sameBus(g.address, a)) ?? null;
}

/** The PCI address a VM's hostpci entry points at (resolving a resource mapping for this node). */
export function hostpciAddress(f: Facts, h: VmConfig["hostpci"][number]): string | null {
  if (h.address) return /\.[0-7]$/.test(h.address) ? h.address : `${h.address}.0`;
  if (!h.mapping || !f.pciMappings) return null;
  const m = f.pciMappings.find((x) => x.id === h.mapping);
  if (!m) return null;
  const node = f.uname?.nodename ?? f.host;
  const e =
    m.entries.find((x) => x.node === node && x.path) ?? (m.entries.length === 1 ? m.entries[0] : undefined);
  if (!e?.path) return null;
  const p = e.path.toLowerCase();
  const full = /^[0-9a-f]{4,}:/.test(p) && p.split(":").length === 3 ? p : `0000:${p}`;
  return /\.[0-7]$/.test(full) ? full : `${full}.0`;
}

// ── kernel versions ───────────────────────────────────────────────────────────

/** "6.8.12-4-pve" → [6, 8, 12]; null when unreadable. */
export function kernelVersion(release: string | null): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release ?? "");
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

export function kernelAtLeast(release: string | null, major: number, minor: number): boolean | null {
  const v = kernelVersion(release);
  if (!v) return null;
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

export function compareKernels(a: string, b: string): number {
  const va = kernelVersion(a) ?? [0, 0, 0];
  const vb = kernelVersion(b) ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) if (va[i] !== vb[i]) return va[i]! - vb[i]!;
  const ra = Number(/-(\d+)-/.exec(a)?.[1] ?? 0);
  const rb = Number(/-(\d+)-/.exec(b)?.[1] ?? 0);
  return ra - rb;
}

/** Kernel releases installed on the host ("6.5.13-5-pve"), from pveversion/dpkg package names and the ESPs. */
export function installedKernels(f: Facts): string[] {
  const out = new Set<string>();
  const names = [...Object.keys(f.pve?.packages ?? {}), ...Object.keys(f.packages ?? {})];
  for (const n of names) {
    const m = /^(?:pve|proxmox)-kernel-(\d+\.\d+\.\d+-\d+-pve)(?:-signed)?$/.exec(n);
    if (m) out.add(m[1]!);
  }
  for (const e of f.bootTool?.esps ?? [])
    for (const k of e.kernels) if (/^\d+\.\d+\.\d+-\d+-pve$/.test(k)) out.add(k);
  return [...out].sort(compareKernels);
}

// ── fixes ─────────────────────────────────────────────────────────────────────

/**
 * Exact steps to change the kernel command line on this host: the file to edit with its new
 * content, the refresh command, the reboot. `add` tokens replace tokens with the same key.
 */
export function cmdlineFix(v: HostView, add: string[], remove: string[] = []): string[] {
  const f = v.facts;
  const keyOf = (t: string) => t.split("=")[0]!;
  const apply = (tokens: string[]) => {
    const drop = new Set([...remove, ...add.map(keyOf)]);
    const kept = tokens.filter((t) => !drop.has(t) && !drop.has(keyOf(t)) && !remove.includes(t));
    return [...kept, ...add];
  };
  const grubSteps = (): string[] => {
    const g = f.grub?.present ? f.grub : null;
    const current = g ? g.cmdlineLinuxDefault : ["quiet"];
    const where = g?.cmdlineLinuxDefaultLine
      ? `/etc/default/grub line ${g.cmdlineLinuxDefaultLine}`
      : "/etc/default/grub";
    return [`Edit ${where} to read: GRUB_CMDLINE_LINUX_DEFAULT="${apply(current).join(" ")}"`, "update-grub"];
  };
  const sdSteps = (): string[] => {
    const k = f.kernelCmdlineFile?.present ? f.kernelCmdlineFile.tokens : null;
    const text = k ? apply(k).join(" ") : `<current content> ${add.join(" ")}`.trim();
    return [`Edit /etc/kernel/cmdline (one line) to read: ${text}`, "proxmox-boot-tool refresh"];
  };
  if (v.bootloader === "grub") return [...grubSteps(), "reboot"];
  if (v.bootloader === "systemd-boot") return [...sdSteps(), "reboot"];
  return [
    "Bootloader unknown (proxmox-boot-tool status was not captured). With GRUB:",
    ...grubSteps().map((s) => `  ${s}`),
    "With systemd-boot (ZFS root booted in UEFI mode):",
    ...sdSteps().map((s) => `  ${s}`),
    "reboot",
  ];
}

/** `sed` command deleting the given 1-based lines of a file. */
export function deleteLines(path: string, lines: number[]): string {
  const uniq = [...new Set(lines)].sort((a, b) => b - a);
  return `sed -i ${uniq.map((n) => `-e '${n}d'`).join(" ")} ${path}`;
}

export const REBUILD_INITRAMFS = "update-initramfs -u -k all";

export function vmConfPath(vmid: number): string {
  return `/etc/pve/qemu-server/${vmid}.conf`;
}

export function runningKernelText(v: HostView): string {
  return v.kernel ? `running kernel ${v.kernel}` : "running kernel unknown";
}

export function driverText(v: HostView): string {
  if (!v.driver) return "no NVIDIA driver";
  return `NVIDIA driver ${v.driver.version}${v.release ? ` (vGPU ${v.release.vgpuRelease})` : ""}`;
}

/** Lines of a list that match, quoted as evidence (at most `max`). */
export function grep(lines: readonly string[] | null | undefined, re: RegExp, max = 6): string[] {
  if (!lines) return [];
  const out: string[] = [];
  for (const l of lines) {
    if (re.test(l)) out.push(l.trim());
    if (out.length >= max) break;
  }
  return out;
}

export function finding(
  code: string,
  severity: "error" | "warning" | "info",
  title: string,
  evidence: string[],
  fix: string[],
  gpu?: string,
): import("./types.ts").Finding {
  return gpu ? { code, severity, title, evidence, fix, gpu } : { code, severity, title, evidence, fix };
}
