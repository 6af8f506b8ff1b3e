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
  pciProductName,
} from "../facts/derive.ts";
import { type DriverFlavour, type DriverKind, driverSummary } from "../facts/driver-evidence.ts";
import { gpuIdentities, identifiedGpuFunctions } from "../facts/identity.ts";
import { normalisePciAddress, sameBus } from "../facts/pci.ts";
import type { Facts, PciFunction, VmConfig } from "../facts/types.ts";
import type { Finding, FindingCode, Kb, KbGpu, KbRelease } from "./types.ts";

export interface GpuView {
  address: string;
  fn: PciFunction;
  cls: KbGpu | null;
  /** "0000:01:00.0 NVIDIA GeForce RTX 2080 Ti [10de:1e07]" */
  label: string;
  /** physical VRAM in MiB: nvidia-smi, else the knowledge base */
  vramMiB: number | null;
  /** the output that names the GPU ("lspci -Dnnk", or without lspci the most direct other one: "nvidia-smi -q", "kernel log", …) */
  source: string;
  /** the device id is unknown; `cls` (when set) comes from the GPU's name as nvidia-smi prints it */
  byName: boolean;
}

export interface HostView {
  facts: Facts;
  kb: Kb;
  /** running kernel release, e.g. "5.15.102-1-pve" */
  kernel: string | null;
  bootloader: Bootloader | null;
  driver: DriverState | null;
  /** the driver's kind and flavour from every output that shows them (facts/driver-evidence.ts), even when its version is unknown */
  driverKind: DriverKind | null;
  /** the output the kind was read from ("packages", "installer log", "nvidia-smi -q", …) */
  driverKindFrom: string | null;
  driverFlavour: DriverFlavour | null;
  release: KbRelease | null;
  /**
   * physical NVIDIA GPUs (SR-IOV virtual functions folded into their PF) from lspci; without lspci, the
   * GPUs the other outputs identify (facts/identity.ts, the same list inspect reports); null when no
   * output names a GPU and lspci was not captured
   */
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
  const summary = driverSummary(facts);
  const view: HostView = {
    facts,
    kb,
    kernel: facts.uname?.release ?? facts.pve?.runningKernel ?? null,
    bootloader: deriveBootloader(facts),
    driver,
    driverKind: summary.kind,
    driverKindFrom: summary.kindFrom,
    driverFlavour: driver?.flavour ?? summary.flavour,
    release: driver ? kb.releaseForDriverVersion(driver.version) : null,
    gpus: gpuViews(facts, kb),
  };
  byKb.set(kb, view);
  return view;
}

/** false only when the GPUs are known and none can do vGPU (then host preparation is moot: gpu-unsupported says why). */
export function vgpuPossible(v: HostView): boolean {
  return v.gpus === null || v.gpus.some((g) => g.cls === null || g.cls.support !== "unsupported");
}

/** One view per GPU inspect reports (facts/identity.ts identifiedGpuFunctions): lspci's, else every other output's. */
function gpuViews(f: Facts, kb: Kb): GpuView[] | null {
  const fns = identifiedGpuFunctions(f);
  if (!f.pci && fns.length === 0) return null;
  const ids = f.pci ? [] : gpuIdentities(f);
  return fns.map((fn) => {
    const source = f.pci ? "lspci -Dnnk" : (ids.find((i) => i.address === fn.address)?.sources[0] ?? "?");
    return gpuView(f, kb, fn, source);
  });
}

/**
 * The knowledge base's class of one GPU: by its device id, else (no lspci) by its name when the name
 * names one class of board; null when neither is known (unknown, never "unsupported").
 */
function classOf(kb: Kb, fn: PciFunction): { cls: KbGpu | null; byName: boolean } {
  const sub = { subsystemVendorId: fn.subsystemVendorId, subsystemDeviceId: fn.subsystemDeviceId };
  if (fn.deviceId) return { cls: kb.classifyGpu({ deviceId: fn.deviceId, ...sub }), byName: false };
  const id = kb.classDeviceIdForName?.(fn.description) ?? kb.deviceIdForName?.(fn.description) ?? null;
  return { cls: id ? kb.classifyGpu({ deviceId: id, ...sub }) : null, byName: true };
}

function gpuView(f: Facts, kb: Kb, fn: PciFunction, source: string): GpuView {
  const { cls, byName } = classOf(kb, fn);
  const smi = f.nvidiaSmi?.gpus.find((g) => g.busId === fn.address)?.memoryTotalMiB ?? null;
  const q = f.nvidiaSmiQuery?.gpus.find((g) => g.busId === fn.address)?.fbTotalMiB ?? null;
  // a name cut short by nvidia-smi ("GeForce GTX 105...") stays as printed: the class is not the board
  const exact = !byName || kb.deviceIdForName?.(fn.description);
  const name = exact ? (cls?.name ?? pciProductName(fn.description) ?? fn.description) : fn.description;
  return {
    address: fn.address,
    fn,
    cls,
    label: `${fn.address} ${name} [${fn.vendorId}:${fn.deviceId || "????"}]`,
    vramMiB: smi ?? q ?? (byName ? null : (cls?.vramMiB ?? null)),
    source,
    byName,
  };
}

/** The GPU (PF) a PCI address belongs to: exact match, or a VF on the same bus. */
export function gpuForAddress(v: HostView, address: string | null): GpuView | null {
  const a = address ? normalisePciAddress(address, "zero") : null;
  if (!a || !v.gpus) return null;
  return v.gpus.find((g) => g.address === a) ?? v.gpus.find((g) => sameBus(g.address, a)) ?? null;
}

/** The PCI address a VM's hostpci entry points at (resolving a resource mapping for this node). */
export function hostpciAddress(f: Facts, h: VmConfig["hostpci"][number]): string | null {
  if (h.address) return normalisePciAddress(h.address, "zero");
  if (!h.mapping || !f.pciMappings) return null;
  const m = f.pciMappings.find((x) => x.id === h.mapping);
  if (!m) return null;
  const node = f.uname?.nodename ?? f.host;
  const e =
    m.entries.find((x) => x.node === node && x.path) ?? (m.entries.length === 1 ? m.entries[0] : undefined);
  return e?.path ? normalisePciAddress(e.path, "zero") : null;
}

// ── fixes ─────────────────────────────────────────────────────────────────────

const sameTokens = (a: string[], b: string[]) => a.length === b.length && a.every((t) => b.includes(t));

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
    const line = `GRUB_CMDLINE_LINUX_DEFAULT="${apply(current).join(" ")}"`;
    // already written (e.g. by apply) and waiting for the reboot: say so instead of asking for the same edit
    if (g && sameTokens(apply(current), current))
      return [
        `${where} already reads ${line}: written, it takes effect at the reboot`,
        "update-grub   (if not run since the edit)",
      ];
    return [`Edit ${where} to read: ${line}`, "update-grub"];
  };
  const sdSteps = (): string[] => {
    const k = f.kernelCmdlineFile?.present ? f.kernelCmdlineFile.tokens : null;
    const text = k ? apply(k).join(" ") : `<current content> ${add.join(" ")}`.trim();
    if (k && sameTokens(apply(k), k))
      return [
        `/etc/kernel/cmdline already reads: ${text}: written, it takes effect at the reboot`,
        "proxmox-boot-tool refresh   (if not run since the edit)",
      ];
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
  code: FindingCode,
  severity: "error" | "warning" | "info",
  title: string,
  evidence: string[],
  fix: string[],
  gpu?: string,
): Finding {
  return gpu ? { code, severity, title, evidence, fix, gpu } : { code, severity, title, evidence, fix };
}
