/**
 * parseFacts: a Capture (support bundle) → typed Facts. Pure; never throws.
 * Every field is null when its evidence was not captured or could not be read, with a note saying which.
 */
import { type Capture, type CapturedCommand, Evidence, formatCommand } from "./capture.ts";
import { isDigits } from "./nvidia/common.ts";
import { isOpenKernelModule, parseProcDriverVersion } from "./nvidia/driver-version.ts";
import { parseInstallerLog } from "./nvidia/installer-log.ts";
import { parseMdevctlList, parseMdevctlListJson, parseMdevctlTypes } from "./nvidia/mdevctl.ts";
import { parseModinfoNvidia } from "./nvidia/modinfo.ts";
import { parseNvidiaSmi } from "./nvidia/nvidia-smi.ts";
import { parseNvidiaSmiQuery } from "./nvidia/nvidia-smi-q.ts";
import { parseNvidiaVgpuQuery } from "./nvidia/nvidia-smi-vgpu.ts";
import { virtualFunctionsFromSysfs } from "./nvidia/sriov.ts";
import {
  creatableTypesFromSysfs,
  functionsFromSysfs,
  mdevTypesFromSysfs,
  sriovFromSysfs,
} from "./nvidia/sysfs.ts";
import { parseProfileOverride, parseUnlockConfig } from "./nvidia/unlock.ts";
import { parseAptSources } from "./system/apt-sources.ts";
import { parseProxmoxBootToolStatus } from "./system/boot-tool.ts";
import { splitCmdline } from "./system/cmdline.ts";
import { parseDkmsStatus } from "./system/dkms.ts";
import { parseDmesg } from "./system/dmesg.ts";
import { parseDpkgQueryW } from "./system/dpkg.ts";
import {
  type FailureLog,
  failureLogLines,
  failureLogOfCommand,
  failureLogOfPath,
} from "./system/failure-log.ts";
import { parseGrubDefaults } from "./system/grub.ts";
import { journalMessages } from "./system/journal.ts";
import { parseKernelPkgnames } from "./system/kernel-packages.ts";
import { cpuVendorFromLscpu } from "./system/lscpu.ts";
import { parseLsmod } from "./system/lsmod.ts";
import { parseLspciDnnk } from "./system/lspci.ts";
import { parseModprobeFile, parseModulesLoad } from "./system/modules.ts";
import { parseMokutilSbState, parseMokutilTestKey } from "./system/mokutil.ts";
import { parsePciMappingCfg } from "./system/pci-mapping.ts";
import { parsePveversion } from "./system/pveversion.ts";
import { parseVmConfig } from "./system/qemu-server.ts";
import { parseQmList } from "./system/qm.ts";
import { parseSystemctlIsActive, statusJournalLines, unitStateFromSystemctl } from "./system/systemctl.ts";
import { parseDropin } from "./system/systemd.ts";
import { parseUnameA, parseUnameR } from "./system/uname.ts";
import { parseZpoolGet } from "./system/zpool.ts";
import type {
  Facts,
  ModprobeFile,
  ModuleLoadEntry,
  NvidiaSmiTable,
  SystemdDropin,
  VmConfig,
} from "./types.ts";

/** The exact command lines of gather-spec.ts (formatCommand of the argv). */
export const CMD = {
  unameA: formatCommand(["uname", "-a"]),
  unameR: formatCommand(["uname", "-r"]),
  hostname: formatCommand(["hostname"]),
  pveversion: formatCommand(["pveversion", "-v"]),
  dmesg: formatCommand(["dmesg"]),
  lspci: formatCommand(["lspci", "-Dnnk"]),
  lsmod: formatCommand(["lsmod"]),
  lscpu: formatCommand(["lscpu"]),
  dkms: formatCommand(["dkms", "status"]),
  mokutil: formatCommand(["mokutil", "--sb-state"]),
  mokTestKey: formatCommand(["mokutil", "--test-key", "/var/lib/dkms/mok.pub"]),
  zpoolGet: formatCommand(["zpool", "get", "-H", "-o", "name,property,value", "all"]),
  kernelPkgsProxmox: formatCommand(["apt-cache", "pkgnames", "proxmox-kernel-"]),
  kernelPkgsPve: formatCommand(["apt-cache", "pkgnames", "pve-kernel-"]),
  nvidiaSmi: formatCommand(["nvidia-smi"]),
  nvidiaSmiQ: formatCommand(["nvidia-smi", "-q"]),
  vgpuQ: formatCommand(["nvidia-smi", "vgpu", "-q"]),
  mdevctlTypes: formatCommand(["mdevctl", "types"]),
  mdevctlList: formatCommand(["mdevctl", "list"]),
  mdevctlListJson: formatCommand(["mdevctl", "list", "--dumpjson"]),
  journalVgpuMgr: formatCommand(["journalctl", "--no-pager", "-b", "0", "-u", "nvidia-vgpu-mgr.service"]),
  journalVgpud: formatCommand(["journalctl", "--no-pager", "-b", "0", "-u", "nvidia-vgpud.service"]),
  services: formatCommand(["systemctl", "is-active", "nvidia-vgpud.service", "nvidia-vgpu-mgr.service"]),
  bootTool: formatCommand(["proxmox-boot-tool", "status"]),
  dpkg: formatCommand(["dpkg-query", "-W"]),
  qmList: formatCommand(["qm", "list"]),
  unlockLs: formatCommand(["ls", "-1", "/opt/vgpu_unlock-rs/target/release"]),
} as const;

/** Not gathered by support-bundle (not in CMD); read when a paste or a hand-made bundle holds it. */
export const MODINFO_CMD = formatCommand(["modinfo", "nvidia"]);

export const INSTALLER_LOG = "/var/log/nvidia-installer.log";

export const SERVICE_UNITS = ["nvidia-vgpud.service", "nvidia-vgpu-mgr.service"] as const;
export const DROPIN_DIRS = [
  "/etc/systemd/system/nvidia-vgpud.service.d",
  "/etc/systemd/system/nvidia-vgpu-mgr.service.d",
] as const;

export function parseFacts(capture: Capture): Facts {
  const r = factReader(capture);
  const identity = readIdentity(r);
  const boot = readBoot(r);
  return {
    host: capture.host,
    capturedAt: capture.capturedAt,
    notes: r.notes,
    ...identity,
    ...boot,
    ...readKernelState(r, boot.efi),
    ...readNvidia(r),
    ...readConfigFiles(r),
    ...readProxmox(r, capture),
    failureLogs: readFailureLogs(capture),
  };
}

/** The capture with its notes and the small readers every section of parseFacts uses. */
type FactReader = ReturnType<typeof factReader>;

function factReader(capture: Capture) {
  const ev = new Evidence(capture);
  const notes: string[] = [...(capture.notes ?? []).map((n) => `capture: ${n}`)];

  /** Run a parser; a throw (never expected) becomes null + a note. */
  const safe = <T>(what: string, fn: () => T): T | null => {
    try {
      return fn();
    } catch (e) {
      notes.push(`could not parse ${what}: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
  };
  /** The captured command, or undefined with a "not captured" note. */
  const command = (cmd: string): CapturedCommand | undefined => {
    const c = ev.command(cmd);
    if (!c) notes.push(`not captured: ${cmd}`);
    return c;
  };
  /** stdout of a command that must succeed; a failure is noted and gives undefined. */
  const okStdout = (cmd: string): string | undefined => {
    const c = command(cmd);
    if (!c) return undefined;
    if (c.exitCode !== 0) {
      notes.push(`${cmd} failed (exit ${c.exitCode})`);
      return undefined;
    }
    return c.stdout;
  };
  /** Content of a file, or undefined (not captured, noted) / null (absent on the host). */
  const file = (path: string): string | null | undefined => {
    const f = ev.file(path);
    if (f === undefined) notes.push(`not captured: ${path}`);
    return f;
  };

  return { ev, notes, safe, command, okStdout, file };
}

/** Kernel release, Proxmox VE versions, CPU vendor. */
function readIdentity(r: FactReader) {
  const { ev, notes, safe, okStdout } = r;
  let uname: Facts["uname"] = null;
  const unameCmd = ev.command(CMD.unameA);
  if (unameCmd && unameCmd.exitCode === 0) {
    uname = safe(CMD.unameA, () => parseUnameA(unameCmd.stdout));
    if (!uname) notes.push(`could not parse ${CMD.unameA}`);
  }
  if (!uname) {
    const r = ev.stdout(CMD.unameR);
    const release = r === undefined ? null : safe(CMD.unameR, () => parseUnameR(r));
    if (release) {
      const host = ev.stdout(CMD.hostname)?.trim();
      uname = { release, nodename: host || null, version: null, machine: null };
    } else if (!unameCmd) notes.push(`not captured: ${CMD.unameA}`);
    else if (unameCmd.exitCode !== 0) notes.push(`${CMD.unameA} failed (exit ${unameCmd.exitCode})`);
  }

  let pve: Facts["pve"] = null;
  const pveText = okStdout(CMD.pveversion);
  if (pveText !== undefined) {
    pve = safe(CMD.pveversion, () => parsePveversion(pveText));
    if (!pve) notes.push(`could not parse ${CMD.pveversion} (no pve-manager line)`);
  }

  let cpuVendor: Facts["cpuVendor"] = null;
  const lscpu = ev.stdout(CMD.lscpu);
  if (lscpu !== undefined) cpuVendor = safe(CMD.lscpu, () => cpuVendorFromLscpu(lscpu));
  if (!cpuVendor) {
    const cpuinfo = ev.file("/proc/cpuinfo");
    if (typeof cpuinfo === "string") cpuVendor = safe("/proc/cpuinfo", () => cpuVendorFromLscpu(cpuinfo));
  }
  if (!cpuVendor)
    notes.push(lscpu === undefined ? `not captured: ${CMD.lscpu}` : "CPU vendor unknown (lscpu)");

  return { uname, pve, cpuVendor };
}

/** Kernel command line, GRUB and /etc/kernel/cmdline, EFI, proxmox-boot-tool. */
function readBoot(r: FactReader) {
  const { ev, notes, safe, command, file } = r;
  let cmdline: Facts["cmdline"] = null;
  const procCmdline = file("/proc/cmdline");
  if (typeof procCmdline === "string") cmdline = safe("/proc/cmdline", () => splitCmdline(procCmdline));
  else if (procCmdline === null) notes.push("/proc/cmdline is absent in the capture");

  let grub: Facts["grub"] = null;
  const grubMain = file("/etc/default/grub");
  if (grubMain === null) grub = { present: false };
  else if (typeof grubMain === "string") {
    const dropins = ev.glob("/etc/default/grub.d/*.cfg").map((f) => f.content);
    const g = safe("/etc/default/grub", () => parseGrubDefaults(grubMain, dropins));
    grub = g ? { present: true, ...g } : null;
  }

  let kernelCmdlineFile: Facts["kernelCmdlineFile"] = null;
  const kc = file("/etc/kernel/cmdline");
  if (kc === null) kernelCmdlineFile = { present: false };
  else if (typeof kc === "string") {
    const tokens = safe("/etc/kernel/cmdline", () => splitCmdline(kc));
    kernelCmdlineFile = tokens ? { present: true, tokens } : null;
  }

  let efi: Facts["efi"] = null;
  const fw = file("/sys/firmware/efi/fw_platform_size");
  if (fw !== undefined) efi = fw !== null;

  let bootTool: Facts["bootTool"] = null;
  const bt = command(CMD.bootTool);
  if (bt) bootTool = safe(CMD.bootTool, () => parseProxmoxBootToolStatus(bt.stdout));
  if (!bootTool && ev.file("/etc/kernel/proxmox-boot-uuids") === null) {
    // "E: /etc/kernel/proxmox-boot-uuids does not exist." goes to stderr; the absent file says the same.
    bootTool = { configured: false, mode: efi === null ? null : efi ? "uefi" : "legacy", esps: [] };
  }
  if (bt && !bootTool) notes.push(`could not parse ${CMD.bootTool} (exit ${bt.exitCode})`);

  const pin = file("/etc/kernel/proxmox-boot-pin");
  const kernelPin = pin === undefined ? {} : { kernelPin: pin?.trim() || null };
  return { cmdline, grub, kernelCmdlineFile, bootTool, efi, ...kernelPin };
}

/** dmesg, lspci, lsmod, dkms, Secure Boot (the EFI fact decides a BIOS host), packages. */
function readKernelState(r: FactReader, efi: Facts["efi"]) {
  const { ev, notes, safe, command, okStdout } = r;
  let dmesg: Facts["dmesg"] = null;
  const dmesgText = okStdout(CMD.dmesg);
  if (dmesgText !== undefined) dmesg = safe(CMD.dmesg, () => parseDmesg(dmesgText));
  // A grep'd paste shows only some lines: nothing may be concluded from a line being absent.
  if (dmesg && ev.isFiltered(CMD.dmesg)) dmesg.filtered = true;

  let pci: Facts["pci"] = null;
  const lspci = okStdout(CMD.lspci);
  if (lspci !== undefined) {
    pci = safe(CMD.lspci, () => parseLspciDnnk(lspci));
    if (pci && pci.length === 0 && lspci.trim() !== "") {
      notes.push(`could not parse ${CMD.lspci} (no device lines)`);
      pci = null;
    }
  }

  let lsmod: Facts["lsmod"] = null;
  const lsmodText = okStdout(CMD.lsmod);
  if (lsmodText !== undefined) lsmod = safe(CMD.lsmod, () => parseLsmod(lsmodText));

  let dkms: Facts["dkms"] = null;
  const dk = command(CMD.dkms);
  if (dk) {
    const entries = safe(CMD.dkms, () => parseDkmsStatus(dk.stdout));
    if (dk.exitCode === 0 || (entries && entries.length > 0)) dkms = entries;
    else notes.push(`${CMD.dkms} failed (exit ${dk.exitCode})`);
  }

  let secureBoot: Facts["secureBoot"] = null;
  const mok = command(CMD.mokutil);
  if (mok) secureBoot = safe(CMD.mokutil, () => parseMokutilSbState(mok.stdout));
  // Legacy BIOS boot has no Secure Boot ("EFI variables are not supported" goes to stderr).
  if (secureBoot === null && efi === false) secureBoot = false;
  // Without mokutil (not installed by default on PVE 7), the kernel's own boot line says it.
  if (secureBoot === null && dmesg) {
    // startsWith, not /^secureboot: Secure boot (enabled|disabled)/ on every kernel line (start-up cost)
    for (const l of dmesg.lines) {
      const state = l.startsWith("secureboot: Secure boot ") ? l.slice(24, 32) : "";
      if (state.startsWith("enabled") || state === "disabled") {
        secureBoot = state.startsWith("enabled");
        break;
      }
    }
  }
  if (mok && secureBoot === null) notes.push(`could not read ${CMD.mokutil} (exit ${mok.exitCode})`);
  const tk = command(CMD.mokTestKey);
  const mokKey = tk ? { mokKey: parseMokutilTestKey(tk.stdout, tk.exitCode) } : {};
  const zp = okStdout(CMD.zpoolGet);
  const zpools = zp !== undefined ? { zpoolFeatures: safe(CMD.zpoolGet, () => parseZpoolGet(zp)) } : {};

  const repoKernels = readRepoKernels(r);
  let packages: Facts["packages"] = null;
  const dpkg = okStdout(CMD.dpkg);
  if (dpkg !== undefined) packages = safe(CMD.dpkg, () => parseDpkgQueryW(dpkg));

  return { dmesg, pci, lsmod, dkms, secureBoot, packages, ...mokKey, ...zpools, ...repoKernels };
}

/** `apt-cache pkgnames proxmox-kernel-` and `pve-kernel-`: the kernel image packages apt knows (absent: not captured). */
function readRepoKernels(r: FactReader): Pick<Facts, "repoKernels"> {
  const texts = [CMD.kernelPkgsProxmox, CMD.kernelPkgsPve].map((c) => r.okStdout(c));
  if (texts.every((t) => t === undefined)) return {};
  return { repoKernels: r.safe(CMD.kernelPkgsProxmox, () => parseKernelPkgnames(texts.join("\n"))) };
}

/** nvidia-smi outputs, the loaded driver, mdev types and devices, SR-IOV sysfs. */
function readNvidia(r: FactReader) {
  const { ev, notes, safe, command, file } = r;
  /** nvidia-smi failing is evidence: the parser sees its output and reports `error`. */
  const nvidiaCmd = <T extends { error: string | null }>(cmd: string, parse: (t: string) => T): T | null => {
    const c = command(cmd);
    if (!c) return null;
    const r = safe(cmd, () => parse(c.stdout));
    if (r && c.exitCode !== 0 && !r.error)
      r.error = c.stdout.trim() || `${cmd} exited with status ${c.exitCode}`;
    return r;
  };
  const nvidiaSmi: NvidiaSmiTable | null = nvidiaCmd(CMD.nvidiaSmi, parseNvidiaSmi);
  const nvidiaSmiQuery = nvidiaCmd(CMD.nvidiaSmiQ, parseNvidiaSmiQuery);
  const vgpuQuery = nvidiaCmd(CMD.vgpuQ, parseNvidiaVgpuQuery);

  let loadedDriverVersion: Facts["loadedDriverVersion"] = null;
  const procVer = file("/proc/driver/nvidia/version");
  if (typeof procVer === "string")
    loadedDriverVersion = safe("/proc/driver/nvidia/version", () => parseProcDriverVersion(procVer));
  else if (procVer === null)
    notes.push("/proc/driver/nvidia/version absent: the NVIDIA kernel module is not loaded");
  let driverModuleOpen: Facts["driverModuleOpen"] = null;
  if (typeof procVer === "string" && loadedDriverVersion !== null)
    driverModuleOpen = safe("/proc/driver/nvidia/version", () => isOpenKernelModule(procVer));

  const sysfsMdevTypes = safe("sysfs mdev_supported_types", () => mdevTypesFromSysfs(ev));
  let mdevTypes: Facts["mdevTypes"] = sysfsMdevTypes;
  if (mdevTypes === null) {
    const t = ev.stdout(CMD.mdevctlTypes);
    if (t !== undefined) mdevTypes = safe(CMD.mdevctlTypes, () => parseMdevctlTypes(t));
    else notes.push(`not captured: sysfs mdev_supported_types nor ${CMD.mdevctlTypes}`);
  }

  let mdevs: Facts["mdevs"] = null;
  const mj = ev.stdout(CMD.mdevctlListJson);
  if (mj !== undefined) mdevs = safe(CMD.mdevctlListJson, () => parseMdevctlListJson(mj));
  if (mdevs === null) {
    const ml = ev.stdout(CMD.mdevctlList);
    if (ml !== undefined) mdevs = safe(CMD.mdevctlList, () => parseMdevctlList(ml));
    else notes.push(`not captured: ${CMD.mdevctlList}`);
  }

  const sriov = safe("sysfs SR-IOV", () => sriovFromSysfs(ev));
  if (sriov === null) notes.push("not captured: SR-IOV sysfs files");
  const creatableVgpuTypes = safe("sysfs creatable_vgpu_types", () => creatableTypesFromSysfs(ev));
  const sysfsVfs = safe("sysfs SR-IOV virtual functions", () =>
    virtualFunctionsFromSysfs(ev, sriov, sysfsMdevTypes),
  );

  const sysfsFunctions = safe("sysfs PCI ids", () => functionsFromSysfs(ev));
  const mi = ev.command(MODINFO_CMD);
  const modinfo = mi ? safe(MODINFO_CMD, () => parseModinfoNvidia(mi.stdout)) : null;
  const log = ev.file(INSTALLER_LOG);
  const installerLog = typeof log === "string" ? safe(INSTALLER_LOG, () => parseInstallerLog(log)) : null;

  return {
    sysfsFunctions,
    modinfo,
    installerLog,
    nvidiaSmi,
    nvidiaSmiQuery,
    vgpuQuery,
    loadedDriverVersion,
    driverModuleOpen,
    mdevTypes,
    mdevs,
    sriov,
    creatableVgpuTypes,
    virtualFunctions: sysfsVfs,
  };
}

/** Module lists, modprobe.d, the vGPU daemons' drop-ins, vgpu_unlock files. */
function readConfigFiles(r: FactReader) {
  const { ev, notes, safe, command, file } = r;
  let modulesLoad: Facts["modulesLoad"] = null;
  const etcModules = ev.file("/etc/modules");
  const loadD = ev.isCaptured("/etc/modules-load.d");
  if (etcModules !== undefined || loadD) {
    const entries: ModuleLoadEntry[] = [];
    if (typeof etcModules === "string")
      entries.push(...(safe("/etc/modules", () => parseModulesLoad("/etc/modules", etcModules)) ?? []));
    for (const f of ev.glob("/etc/modules-load.d/*.conf"))
      entries.push(...(safe(f.path, () => parseModulesLoad(f.path, f.content)) ?? []));
    modulesLoad = entries;
  } else notes.push("not captured: /etc/modules, /etc/modules-load.d");

  let modprobe: Facts["modprobe"] = null;
  if (ev.isCaptured("/etc/modprobe.d")) {
    modprobe = ev
      .glob("/etc/modprobe.d/*.conf")
      .map((f) => safe(f.path, () => parseModprobeFile(f.path, f.content)))
      .filter((m): m is ModprobeFile => m !== null);
  } else notes.push("not captured: /etc/modprobe.d");

  let dropins: Facts["dropins"] = null;
  if (DROPIN_DIRS.some((d) => ev.isCaptured(d))) {
    dropins = [];
    for (const dir of DROPIN_DIRS) {
      const base = dir.slice(dir.lastIndexOf("/") + 1);
      const unit = base.endsWith(".d") ? base.slice(0, -2) : base;
      for (const f of ev.glob(`${dir}/*.conf`)) {
        const d = safe(f.path, () => parseDropin(unit, f.path, f.content));
        if (d) dropins.push(d as SystemdDropin);
      }
    }
  } else notes.push(`not captured: ${DROPIN_DIRS.join(", ")}`);

  let unlockConfig: Facts["unlockConfig"] = null;
  const uc = file("/etc/vgpu_unlock/config.toml");
  if (uc === null) unlockConfig = { present: false };
  else if (typeof uc === "string") {
    const p = safe("/etc/vgpu_unlock/config.toml", () => parseUnlockConfig(uc));
    unlockConfig = p ? { present: true, ...p } : null;
  }

  let profileOverride: Facts["profileOverride"] = null;
  const po = file("/etc/vgpu_unlock/profile_override.toml");
  if (po === null) profileOverride = { present: false };
  else if (typeof po === "string") {
    const p = safe("/etc/vgpu_unlock/profile_override.toml", () => parseProfileOverride(po));
    profileOverride = p ? { present: true, text: po, ...p } : null;
  }

  let unlockLibraryFiles: Facts["unlockLibraryFiles"] = null;
  const ls = command(CMD.unlockLs);
  if (ls) {
    if (ls.exitCode === 0)
      unlockLibraryFiles = ls.stdout
        .split("\n")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    else if (ls.stdout.trim() === "")
      unlockLibraryFiles = []; // ls: cannot access …: the folder does not exist
    else notes.push(`${CMD.unlockLs} failed (exit ${ls.exitCode})`);
  }

  const aptRepos = readAptRepos(r);
  return { modulesLoad, modprobe, dropins, unlockConfig, profileOverride, unlockLibraryFiles, aptRepos };
}

/** apt's Proxmox VE repositories from /etc/apt/sources.list and sources.list.d (null: not captured). */
function readAptRepos(r: FactReader): Facts["aptRepos"] {
  const { ev, safe } = r;
  const main = ev.file("/etc/apt/sources.list");
  if (main === undefined && !ev.isCaptured("/etc/apt/sources.list.d")) return null;
  const files = [
    ...(typeof main === "string" ? [{ path: "/etc/apt/sources.list", content: main }] : []),
    ...ev.glob("/etc/apt/sources.list.d/*.list"),
    ...ev.glob("/etc/apt/sources.list.d/*.sources"),
  ];
  return safe("apt sources", () => parseAptSources(files));
}

/** VM configs, PCI mappings, qm list, the vGPU services and their journals. */
function readProxmox(r: FactReader, capture: Capture) {
  const { ev, notes, safe, command, okStdout, file } = r;
  let vms: Facts["vms"] = null;
  if (ev.isCaptured("/etc/pve/qemu-server")) {
    vms = [];
    for (const f of ev.glob("/etc/pve/qemu-server/*.conf")) {
      // the VM id of "…/100.conf" (/\/(\d+)\.conf$/, by string: start-up cost, issue 16)
      const slash = f.path.lastIndexOf("/");
      const id = slash >= 0 && f.path.endsWith(".conf") ? f.path.slice(slash + 1, -5) : "";
      if (!isDigits(id)) continue;
      const vm = safe(f.path, () => parseVmConfig(Number(id), f.content));
      if (vm) vms.push(vm as VmConfig);
    }
    vms.sort((a, b) => a.vmid - b.vmid);
  } else notes.push("not captured: /etc/pve/qemu-server");

  let pciMappings: Facts["pciMappings"] = null;
  const pm = file("/etc/pve/mapping/pci.cfg");
  if (pm === null) pciMappings = [];
  else if (typeof pm === "string")
    pciMappings = safe("/etc/pve/mapping/pci.cfg", () => parsePciMappingCfg(pm));

  let qmList: Facts["qmList"] = null;
  const qm = okStdout(CMD.qmList);
  if (qm !== undefined) qmList = safe(CMD.qmList, () => parseQmList(qm));

  let services: Facts["services"] = null;
  const sc = command(CMD.services);
  if (sc) {
    const s = safe(CMD.services, () => parseSystemctlIsActive(SERVICE_UNITS, sc.stdout));
    if (s && Object.keys(s).length > 0) services = s;
    else notes.push(`could not read ${CMD.services} (exit ${sc.exitCode})`);
  }
  // Hand-assembled bundles: `systemctl status nvidia-vgpud`, a failed `systemctl enable nvidia-vgpu-mgr`.
  const pastedSystemctl = (unit: string) =>
    capture.commands.filter((c) =>
      new RegExp(
        `^(?:sudo\\s+)?systemctl\\s+(?:[-\\w=]+\\s+)*(?:status|enable|start|restart)\\s+(?:[-\\w=]+\\s+)*(?:\\S+\\s+)*${unit.replace(/\.service$/, "").replace(/[.]/g, "\\.")}(?:\\.service)?(?:\\s|$)`,
      ).test(c.cmd.trim()),
    );
  for (const unit of SERVICE_UNITS) {
    if (services?.[unit] !== undefined) continue;
    for (const c of pastedSystemctl(unit)) {
      const st = safe(c.cmd, () => unitStateFromSystemctl(unit, c.stdout));
      if (st) {
        services = { ...(services ?? {}), [unit]: st };
        break;
      }
    }
  }

  const journal = (cmd: string, unit: string): string[] | null => {
    const t = ev.stdout(cmd);
    if (t !== undefined) return safe(cmd, () => journalMessages(t));
    // the journal tail of a pasted `systemctl status <unit>`
    const st = pastedSystemctl(unit).find((c) => /\bstatus\b/.test(c.cmd));
    if (st) return safe(st.cmd, () => journalMessages(statusJournalLines(st.stdout)));
    okStdout(cmd); // notes why it is unknown
    return null;
  };
  const journals = {
    vgpud: journal(CMD.journalVgpud, "nvidia-vgpud.service"),
    vgpuMgr: journal(CMD.journalVgpuMgr, "nvidia-vgpu-mgr.service"),
  };

  return { vms, pciMappings, qmList, services, journals };
}

/** `qm start` output, task logs, nvidia-installer.log, DKMS make.log: whichever were pasted or captured. */
function readFailureLogs(capture: Capture): FailureLog[] {
  const out: FailureLog[] = [];
  for (const c of capture.commands) {
    const k = failureLogOfCommand(c.cmd);
    if (k) out.push({ source: c.cmd, ...k, lines: failureLogLines(c.stdout) });
  }
  for (const [path, text] of Object.entries(capture.files)) {
    const k = failureLogOfPath(path);
    if (k) out.push({ source: path, ...k, lines: failureLogLines(text) });
  }
  return out;
}
