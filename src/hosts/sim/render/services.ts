/** `systemctl is-active`, `journalctl -u nvidia-vgpud/nvidia-vgpu-mgr`. */

import {
  abortedByUnlockConfig,
  pveMajor,
  unitEnabled,
  unitState,
  unlockConfigError,
  unlockSizeMismatch,
  vgpuServicesInstalled,
  vgpuVerdict,
} from "../logic.ts";
import type { SimState } from "../state.ts";
import type { CmdResult } from "./types.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The stamps of the clock last asked about, by offset: a journal asks for one per line (~200 lines of
 * nvidia-vgpud's, a few distinct offsets), and the stamp depends on the clock text and offset alone.
 */
let stamps: { clock: string; byOffset: Map<number, string> } | undefined;

/** "Jan 24 20:19:02" from the simulated clock plus `offsetSec`. */
export function syslogTime(s: SimState, offsetSec = 0): string {
  if (stamps?.clock !== s.clock) stamps = { clock: s.clock, byOffset: new Map() };
  let stamp = stamps.byOffset.get(offsetSec);
  if (stamp === undefined) {
    stamp = formatSyslogTime(s.clock, offsetSec);
    stamps.byOffset.set(offsetSec, stamp);
  }
  return stamp;
}

function formatSyslogTime(clock: string, offsetSec: number): string {
  const d = new Date(Date.parse(clock) + offsetSec * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

export function renderSystemctlIsActive(s: SimState, units: string[]): CmdResult {
  const states = units.map((u) => {
    const name = u.replace(/\.service$/, "");
    if (name === "nvidia-vgpud" || name === "nvidia-vgpu-mgr") return unitState(s, name);
    if (name === "pveproxy" || name === "pvedaemon" || name === "pve-cluster") return "active";
    return "inactive";
  });
  return {
    stdout: states.map((x) => `${x}\n`).join(""),
    stderr: "",
    exitCode: states.includes("active") ? 0 : 3,
  };
}

function journalHeader(s: SimState): string {
  if (pveMajor(s) >= 8) return "";
  const d = new Date(Date.parse(s.clock) - 3 * 86400 * 1000);
  const w = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const fmt = (x: Date) =>
    `${w[x.getUTCDay()]} ${x.toISOString().slice(0, 10)} ${x.toISOString().slice(11, 19)} UTC`;
  return `-- Journal begins at ${fmt(d)}, ends at ${fmt(new Date(Date.parse(s.clock) + 180_000))}. --\n`;
}

function hx(n: number): string {
  return `0x${n.toString(16)}`;
}

/** "12ba" / "012b" (hex text) → "0x12ba" / "0x12b", as vgpud prints ids */
function hxs(hex: string): string {
  return hx(Number.parseInt(hex, 16));
}

export function renderJournal(s: SimState, unit: string): CmdResult {
  const name = unit.replace(/\.service$/, "");
  const header = journalHeader(s);
  const vgpuUnit = name === "nvidia-vgpud" || name === "nvidia-vgpu-mgr";
  const lines =
    !vgpuUnit || !vgpuServicesInstalled(s)
      ? null
      : name === "nvidia-vgpud"
        ? vgpudJournal(s)
        : vgpuMgrJournal(s);
  if (lines === null) return { stdout: `${header}-- No entries --\n`, stderr: "", exitCode: 0 };
  return { stdout: `${header}${lines.join("\n")}\n`, stderr: "", exitCode: 0 };
}

/** systemd[1]'s own lines about a unit, appended to `lines`. */
function systemdLogger(s: SimState, lines: string[]): (off: number, msg: string) => void {
  return (off, msg) => lines.push(`${syslogTime(s, off)} ${s.hostname} systemd[1]: ${msg}`);
}

/** nvidia-vgpud's journal this boot: its start, the types it sends per GPU, its exit. */
function vgpudJournal(s: SimState): string[] {
  const lines: string[] = [];
  const host = s.hostname;
  const sys = systemdLogger(s, lines);
  const indent = " ".repeat(`${syslogTime(s)} ${host} nvidia-vgpud[1120]: `.length);
  const pid = 1120;
  const log = (off: number, msg: string) =>
    lines.push(
      `${syslogTime(s, off)} ${host} nvidia-vgpud[${pid}]: ${msg.replaceAll("\n", `\n${indent}`)}`.trimEnd(),
    );
  sys(20, "Starting NVIDIA vGPU Daemon...");
  if (abortedByUnlockConfig(s, "nvidia-vgpud")) {
    sys(20, "Started NVIDIA vGPU Daemon.");
    log(20, `Failed to decode config: ${unlockConfigError(s)}`);
    sys(20, "nvidia-vgpud.service: Main process exited, code=dumped, status=6/ABRT");
    sys(20, "nvidia-vgpud.service: Failed with result 'core-dump'.");
    return lines;
  }
  if (!s.driverLoaded) {
    log(20, "Verbose syslog connection opened");
    log(20, `Started (${pid})`);
    sys(20, "Started NVIDIA vGPU Daemon.");
    log(20, "error: failed to open /dev/nvidiactl: No such file or directory");
    log(20, `Shutdown (${pid})`);
    sys(20, "nvidia-vgpud.service: Main process exited, code=exited, status=1/FAILURE");
    sys(20, "nvidia-vgpud.service: Failed with result 'exit-code'.");
    return lines;
  }
  log(20, "Verbose syslog connection opened");
  log(20, `Started (${pid})`);
  sys(20, "Started NVIDIA vGPU Daemon.");
  log(20, "Global settings:");
  log(20, "Size: 16\nVersion 1");
  log(20, "Homogeneous vGPUs: 1");
  log(20, "vGPU types: 653");
  log(20, "");
  let failed = false;
  s.gpus.forEach((g, i) => {
    const bus = Number.parseInt(g.address.slice(5, 7), 16);
    log(21, `pciId of gpu [${i}]: 0:${bus.toString(16)}:0:0`);
    const v = vgpuVerdict(s, g);
    if (!v.ok) {
      log(
        21,
        `GPU not supported by vGPU at PCI Id: 0:${bus.toString(16)}:0:0 DevID: 0x10de / 0x${g.deviceId} / 0x${g.subsystemVendorId} / 0x${g.subsystemDeviceId}`,
      );
      failed = true;
      return;
    }
    log(21, "Physical GPU:");
    log(21, `PciID: 0x0000 / 0x${bus.toString(16).padStart(4, "0")} / 0x0000 / 0x0000`);
    log(21, "Size: 52\nVersion 1");
    log(
      21,
      `DevID: 0x10de / ${hxs(v.pgpu.deviceId)} / 0x10de / ${hxs(v.pgpu.subsystemId ?? g.subsystemDeviceId)}`,
    );
    log(21, `Supported vGPUs count: ${v.pgpu.types.length}`);
    log(21, "");
    for (const t of v.pgpu.types) log(21, `Supported VGPU ${hx(t.id)}: max ${t.maxInstances}`);
    log(21, "");
    for (const t of v.pgpu.types) {
      const [width, height] = t.maxResolution.split("x");
      log(21, `VGPU Type ${hx(t.id)}: ${t.name} Class: ${t.vgpuClass}`);
      log(21, `DevId: 0x10de / ${hxs(t.vdevId)} / 0x10de / ${hxs(t.vdevSubsystemId)}`);
      log(21, `Framebuffer: ${hx(t.framebufferBytes ?? 0)}`);
      log(21, `Framebuffer reservation: ${hx(t.reservationBytes ?? 0)}`);
      log(21, `FRL configuration: ${hx(t.frlFps ?? 0)}`);
      log(21, `Number of Displays: ${t.numHeads}`);
      log(21, `Max pixels: ${t.maxPixels}`);
      log(21, `Display: width ${width}, height ${height}`);
      log(21, `License: ${t.licenses.join(";")}`);
    }
  });
  if (failed && !s.gpus.some((g) => vgpuVerdict(s, g).ok)) {
    log(21, "error: failed to send vGPU configuration info to RM: 6");
    log(21, "PID file unlocked.");
    log(21, "PID file closed.");
    log(21, `Shutdown (${pid})`);
    sys(21, "nvidia-vgpud.service: Main process exited, code=exited, status=6/NOTCONFIGURED");
    sys(21, "nvidia-vgpud.service: Failed with result 'exit-code'.");
  } else {
    log(21, "PID file unlocked.");
    log(21, "PID file closed.");
    log(21, `Shutdown (${pid})`);
    sys(
      21,
      pveMajor(s) >= 8
        ? "nvidia-vgpud.service: Deactivated successfully."
        : "nvidia-vgpud.service: Succeeded.",
    );
  }
  return lines;
}

/** nvidia-vgpu-mgr's journal this boot (null: the unit is not enabled, so it never started). */
function vgpuMgrJournal(s: SimState): string[] | null {
  const lines: string[] = [];
  const host = s.hostname;
  const sys = systemdLogger(s, lines);
  const pid = 1130;
  const log = (off: number, msg: string, p = pid) =>
    lines.push(`${syslogTime(s, off)} ${host} nvidia-vgpu-mgr[${p}]: ${msg}`);
  // Not enabled: never started this boot.
  if (!unitEnabled(s, "nvidia-vgpu-mgr")) return null;
  sys(20, "Starting NVIDIA vGPU Manager Daemon...");
  if (abortedByUnlockConfig(s, "nvidia-vgpu-mgr")) {
    sys(20, "Started NVIDIA vGPU Manager Daemon.");
    log(20, `Failed to decode config: ${unlockConfigError(s)}`);
    sys(20, "nvidia-vgpu-mgr.service: Main process exited, code=dumped, status=6/ABRT");
    sys(20, "nvidia-vgpu-mgr.service: Failed with result 'core-dump'.");
    return lines;
  }
  if (!s.driverLoaded) {
    log(20, "error: vmiop_env_log: Failed to open /dev/nvidiactl: No such file or directory");
    sys(20, "nvidia-vgpu-mgr.service: Control process exited, code=exited, status=1/FAILURE");
    sys(20, "nvidia-vgpu-mgr.service: Failed with result 'exit-code'.");
    sys(20, "Failed to start NVIDIA vGPU Manager Daemon.");
    return lines;
  }
  sys(20, "Started NVIDIA vGPU Manager Daemon.");
  log(21, "notice: vmiop_env_log: nvidia-vgpu-mgr daemon started");
  const mismatch = unlockSizeMismatch(s);
  const startCall = (off: number, m: { uuid: string; parent: string; type: string }, p: number) => {
    const bdf = m.parent.slice(5);
    const id = m.type.replace("nvidia-", "");
    log(
      off,
      `notice: vmiop_env_log: (0x0): Received start call from nvidia-vgpu-vfio module: mdev uuid ${m.uuid} GPU PCI id ${bdf} config params vgpu_type_id=${id}`,
      p,
    );
    log(off, `notice: vmiop_env_log: (0x0): pluginconfig: vgpu_type_id=${id}`, p);
    log(off, "notice: vmiop_env_log: Successfully updated env symbols!", p);
    if (mismatch) {
      const text = `Parameters size for ${mismatch.param} was ${mismatch.was} bytes, expected ${mismatch.expected} bytes`;
      log(off, text, p);
      log(off, "cmd: 0x2080014b failed.", p);
      log(off, text, p);
    }
  };
  (s.failedVgpuStarts ?? []).forEach((m, i) => {
    const p = 4100 + i;
    startCall(500 + i, m, p);
    log(500 + i, "error: vmiop_log: (0x0): vGPU is supported only on VGX capable boards", p);
    log(
      500 + i,
      "error: vmiop_log: (0x0): init_device_instance failed for inst 0 with error 1 (vGPU validation of the GPU failed)",
      p,
    );
    log(500 + i, "error: vmiop_log: (0x0): Initialization: init_device_instance failed error 1", p);
  });
  s.mdevs.forEach((m, i) => {
    const p = 4200 + i;
    startCall(600 + i, m, p);
    log(601 + i, "notice: vmiop_log: (0x0): vGPU license state: Unlicensed (Unrestricted)", p);
  });
  return lines;
}
