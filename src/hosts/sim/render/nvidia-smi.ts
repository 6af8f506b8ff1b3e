/** nvidia-smi, nvidia-smi -q, nvidia-smi vgpu, nvidia-smi vgpu -q. */
import { driverMajor, gpuVfVgpus, mixedSizeCapable, vgpuVerdict } from "../logic.ts";
import { simType } from "../nvidia-data.ts";
import type { SimGpu, SimState } from "../state.ts";
import { type CmdResult, ok } from "./types.ts";

export const SMI_FAILED =
  "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n";

/** ctime-style "Tue Jan 24 20:21:28 2023" of the simulated clock. */
export function ctime(s: SimState, offsetSec = 0): string {
  const d = new Date(Date.parse(s.clock) + offsetSec * 1000);
  const w = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()];
  const m = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][
    d.getUTCMonth()
  ];
  return `${w} ${m} ${String(d.getUTCDate()).padStart(2)} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()}`;
}

export function nvBus(addr: string): string {
  // "0000:01:00.0" → "00000000:01:00.0"
  return `0000${addr.toUpperCase()}`;
}

function trunc(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 3)}...`;
}

/** GPUs the nvidia driver owns (what nvidia-smi lists). */
export function smiGpus(s: SimState): SimGpu[] {
  return s.gpus.filter((g) => g.driver === "nvidia");
}

export function usedMiB(s: SimState, g: SimGpu): number {
  const base = g.architecture === "Pascal" ? 27 : 85;
  let used = base;
  for (const m of s.mdevs.filter((x) => x.parent === g.address)) {
    const t = simType(m.type);
    if (t) used += t.profileMiB;
  }
  for (const v of gpuVfVgpus(s, g)) used += simType(v.typeId)?.profileMiB ?? 0;
  return used;
}

export function notLoaded(s: SimState): CmdResult | null {
  if (!s.driver) return { stdout: "", stderr: "bash: nvidia-smi: command not found\n", exitCode: 127 };
  if (!s.driverLoaded) return { stdout: SMI_FAILED, stderr: "", exitCode: 9 };
  return null;
}

/**
 * Column layout of the `nvidia-smi` table per driver era, measured on real outputs
 * (test/fixtures/conformance/SOURCES.md): ≤ 525 is 79 wide (cells 31/22/22, 460.32.04 / 525.85.07 pastes),
 * 535 is 89 wide (41/22/22, 535.230.02), 550+ is 91 wide (41/24/22, 550.120 / 550.54.14): a wider bus-id
 * cell with the id indented by three spaces, and a wider version field in the header.
 */
interface TableLayout {
  width: number;
  cells: [number, number, number];
  /** width of the version after "NVIDIA-SMI " and after "Driver Version: " */
  versionPad: [number, number];
  gpuHead: [string, string];
  fanHead: [string, string];
  busCell: (bus: string) => string;
  nameCell: (i: number, name: string) => string;
  perfCell: (fan: string, pwr: string) => string;
  memCell: (used: number, total: number) => string;
}

function tableLayout(major: number): TableLayout {
  if (major < 530)
    return {
      width: 79,
      cells: [31, 22, 22],
      versionPad: [13, 13],
      gpuHead: [" GPU  Name        Persistence-M", " Bus-Id        Disp.A "],
      fanHead: [" Fan  Temp  Perf  Pwr:Usage/Cap", "         Memory-Usage "],
      busCell: (bus) => ` ${bus} Off `,
      nameCell: (i, name) => `   ${i}  ${trunc(name, 18).padEnd(18)}  On   `,
      perfCell: (fan, pwr) => ` ${fan.padStart(3)}   33C    P8  ${pwr.padStart(12)} `,
      memCell: (used, total) => `${`${used}MiB / ${String(total).padStart(5)}MiB`.padStart(21)} `,
    };
  const wide = major >= 550;
  return {
    width: wide ? 91 : 89,
    cells: [41, wide ? 24 : 22, 22],
    versionPad: [23, wide ? 15 : 13],
    gpuHead: [
      " GPU  Name                 Persistence-M ",
      wide ? " Bus-Id          Disp.A " : " Bus-Id        Disp.A ",
    ],
    fanHead: [
      " Fan  Temp   Perf          Pwr:Usage/Cap ",
      wide ? "           Memory-Usage " : "         Memory-Usage ",
    ],
    busCell: (bus) => (wide ? `   ${bus} Off ` : ` ${bus} Off `),
    nameCell: (i, name) => `   ${i}  ${trunc(name, 26).padEnd(26)}     On  `,
    perfCell: (fan, pwr) => ` ${fan.padStart(3)}   34C    P8  ${pwr.padStart(22)} `,
    memCell: (used, total) =>
      `${`${used}MiB / ${String(total).padStart(wide ? 6 : 5)}MiB`.padStart(wide ? 23 : 21)} `,
  };
}

/** The Processes box: "No running processes found", or one `C+G vgpu` row per running vGPU. */
function processBox(s: SimState, gpus: SimGpu[], W: number): string[] {
  const eq = "=".repeat(W - 2);
  const out = [`+${"-".repeat(W - 2)}+`, `|${" Processes:".padEnd(W - 2)}|`];
  out.push(`|${"  GPU   GI   CI        PID   Type   Process name".padEnd(W - 13)}GPU Memory |`);
  out.push(`|${"        ID   ID".padEnd(W - 13)}Usage      |`, `|${eq}|`);
  const rows: string[] = [];
  gpus.forEach((g, i) => {
    for (const v of activeVgpus(s, g)) {
      const left = `${String(i).padStart(5)}   N/A  N/A ${v.vmPid.padStart(10)}    C+G   vgpu`;
      rows.push(`|${left}${`${v.fbMiB}MiB`.padStart(W - 3 - left.length)} |`);
    }
  });
  if (rows.length === 0) rows.push(`|${"  No running processes found".padEnd(W - 2)}|`);
  return [...out, ...rows, `+${"-".repeat(W - 2)}+`];
}

export function renderNvidiaSmi(s: SimState): CmdResult {
  const nl = notLoaded(s);
  if (nl) return nl;
  const d = s.driver!;
  const gpus = smiGpus(s);
  if (gpus.length === 0) return { stdout: "No devices were found\n", stderr: "", exitCode: 6 };
  const L = tableLayout(driverMajor(s));
  const [c1, c2, c3] = L.cells;
  const W = L.width;
  const row = (a: string, b: string, c: string) => `|${a.padEnd(c1)}|${b.padEnd(c2)}|${c.padEnd(c3)}|`;
  const rule = (ch: string, edge: string) =>
    `${edge}${ch.repeat(c1)}+${ch.repeat(c2)}+${ch.repeat(c3)}${edge}`;
  const out: string[] = [`${ctime(s, 120)}       `, `+${"-".repeat(W - 2)}+`];
  const head = ` NVIDIA-SMI ${d.version.padEnd(L.versionPad[0])}Driver Version: ${d.version.padEnd(L.versionPad[1])}CUDA Version: N/A`;
  out.push(`|${head.padEnd(W - 2)}|`, `|${"-".repeat(c1)}+${"-".repeat(c2)}+${"-".repeat(c3)}+`);
  out.push(row(L.gpuHead[0], L.gpuHead[1], " Volatile Uncorr. ECC "));
  out.push(row(L.fanHead[0], L.fanHead[1], " GPU-Util  Compute M. "));
  out.push(row("", "", "               MIG M. "), rule("=", "|"));
  gpus.forEach((g, i) => {
    const tesla = g.productBrand === "Tesla";
    const pwr = `${tesla ? 7 : 43}W / ${String(g.powerCapW).padStart(L.width === 91 ? 4 : 3)}W`;
    out.push(
      row(
        L.nameCell(i, g.productName),
        L.busCell(nvBus(g.address)),
        `${(tesla ? "0" : "N/A").padStart(21)} `,
      ),
    );
    out.push(
      row(
        L.perfCell(tesla ? "N/A" : "26%", pwr),
        L.memCell(usedMiB(s, g), g.vramMiB),
        "      0%      Default ",
      ),
    );
    out.push(row("", "", "                  N/A "));
    // every GPU block is closed by a rule (real multi-GPU tables)
    out.push(rule("-", "+"));
  });
  // the blank line between the boxes is W - 2 spaces (real 550.120 paste)
  out.push(" ".repeat(W - 2), ...processBox(s, gpus, W));
  return ok(`${out.join("\n")}\n`);
}

export function renderNvidiaSmiVgpu(s: SimState): CmdResult {
  const nl = notLoaded(s);
  if (nl) return nl;
  const d = s.driver!;
  const gpus = smiGpus(s).filter((g) => vgpuVerdict(s, g).ok);
  if (gpus.length === 0) return ok("No supported devices in vGPU mode\n");
  const out = [ctime(s, 135)];
  out.push(`+${"-".repeat(77)}+`);
  out.push(`|${` NVIDIA-SMI ${d.version.padEnd(23)}Driver Version: ${d.version}`.padEnd(77)}|`);
  out.push(`|${"-".repeat(33)}+${"-".repeat(30)}+${"-".repeat(12)}+`);
  out.push(`|${" GPU  Name".padEnd(33)}|${" Bus-Id".padEnd(30)}|${" GPU-Util".padEnd(12)}|`);
  out.push(
    `|${"      vGPU ID     Name".padEnd(33)}|${" VM ID     VM Name".padEnd(30)}|${" vGPU-Util".padEnd(12)}|`,
  );
  out.push(`|${"=".repeat(33)}+${"=".repeat(30)}+${"=".repeat(12)}|`);
  smiGpus(s).forEach((g, i) => {
    if (!vgpuVerdict(s, g).ok) return;
    out.push(
      `|${`   ${i}  ${trunc(g.productName, 25)}`.padEnd(33)}|${` ${nvBus(g.address)}`.padEnd(30)}|${"   0%".padEnd(12)}|`,
    );
    for (const v of activeVgpus(s, g)) {
      out.push(
        `|${`      ${v.vgpuId}  ${trunc(v.typeName, 14)}`.padEnd(33)}|${` ${v.vmPid.padEnd(9)} ${trunc(v.vmName, 18)}`.padEnd(30)}|${"      0%".padEnd(12)}|`,
      );
    }
  });
  out.push(`+${"-".repeat(33)}+${"-".repeat(30)}+${"-".repeat(12)}+`);
  return ok(`${out.join("\n")}\n`);
}

export interface ActiveVgpuView {
  vgpuId: string;
  typeId: number;
  typeName: string;
  vmPid: string;
  vmName: string;
  /** mdev UUID; null for a vGPU on an SR-IOV VF (no mdev: vendor-specific VFIO) */
  uuid: string | null;
  fbMiB: number;
  /** vGPU 17+ `Placement ID` (the sim places vGPUs in creation order) */
  placementId: number;
}

/** vGPUs running on a GPU: its mdevs, or (SR-IOV) the VFs with a type set, each with the VM using it. */
export function activeVgpus(s: SimState, g: SimGpu): ActiveVgpuView[] {
  const onVfs = gpuVfVgpus(s, g).map((v) => ({ type: `nvidia-${v.typeId}`, vmid: v.vmid, uuid: null }));
  const mdevs = s.mdevs
    .filter((m) => m.parent === g.address)
    .map((m) => ({ type: m.type, vmid: m.vmid, uuid: m.uuid as string | null }));
  return [...mdevs, ...onVfs].map((m, i) => {
    const id = Number(m.type.replace("nvidia-", ""));
    const t = simType(m.type);
    const vm = m.vmid !== null ? s.vms.find((x) => x.vmid === m.vmid) : undefined;
    const name = vm?.config.name ?? (m.vmid !== null ? `vm${m.vmid}` : "");
    return {
      vgpuId: String(3251634190 + i),
      typeId: id,
      typeName: t?.name ?? m.type,
      vmPid: m.vmid !== null ? String(2000 + m.vmid) : "N/A",
      vmName: m.vmid !== null ? `${name},debug-threads=on` : "N/A",
      uuid: m.uuid,
      fbMiB: t?.profileMiB ?? 0,
      placementId: i,
    };
  });
}

/**
 * `nvidia-smi vgpu -i <index|bus id> -shm <0|1>`: switch a GPU between equal-size and mixed-size mode
 * (research/proxmox.md §3: prints "Enabled vGPU heterogeneous mode for GPU 00000000:41:00.0"; the mode
 * reverts on reboot and driver reload). Refused while vGPUs exist on the GPU with NVML's IN_USE text
 * ("In use by another client"; the refusal itself is modelled, not copied from a real paste).
 */
export function nvidiaSmiSetMixedSize(s: SimState, target: string, on: boolean): CmdResult {
  const nl = notLoaded(s);
  if (nl) return nl;
  const gpus = smiGpus(s);
  const g = /^\d+$/.test(target)
    ? gpus[Number(target)]
    : gpus.find((x) => nvBus(x.address) === target.toUpperCase() || x.address === target.toLowerCase());
  if (!g) return { stdout: "No devices were found\n", stderr: "", exitCode: 6 };
  const bus = nvBus(g.address);
  const verb = on ? "enable" : "disable";
  if (!mixedSizeCapable(s, g))
    return {
      stdout: `Unable to ${verb} vGPU heterogeneous mode for GPU ${bus}: Not Supported\n`,
      stderr: "",
      exitCode: 3,
    };
  if (activeVgpus(s, g).length > 0)
    return {
      stdout: `Unable to ${verb} vGPU heterogeneous mode for GPU ${bus}: In use by another client\n`,
      stderr: "",
      exitCode: 255,
    };
  const rest = (s.mixedSizeGpus ?? []).filter((a) => a !== g.address);
  s.mixedSizeGpus = on ? [...rest, g.address] : rest;
  return ok(`${on ? "Enabled" : "Disabled"} vGPU heterogeneous mode for GPU ${bus}\n`);
}
