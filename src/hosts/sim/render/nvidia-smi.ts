/** nvidia-smi, nvidia-smi -q, nvidia-smi vgpu, nvidia-smi vgpu -q. */
import { driverMajor, gpuVfVgpus, mixedSizeCapable, mixedSizeOn, vgpuVerdict } from "../logic.ts";
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

function nvBus(addr: string): string {
  // "0000:01:00.0" → "00000000:01:00.0"
  return `0000${addr.toUpperCase()}`;
}

function trunc(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 3)}...`;
}

/** GPUs the nvidia driver owns (what nvidia-smi lists). */
function smiGpus(s: SimState): SimGpu[] {
  return s.gpus.filter((g) => g.driver === "nvidia");
}

function usedMiB(s: SimState, g: SimGpu): number {
  const base = g.architecture === "Pascal" ? 27 : 85;
  let used = base;
  for (const m of s.mdevs.filter((x) => x.parent === g.address)) {
    const t = simType(m.type);
    if (t) used += t.profileMiB;
  }
  for (const v of gpuVfVgpus(s, g)) used += simType(v.typeId)?.profileMiB ?? 0;
  return used;
}

function notLoaded(s: SimState): CmdResult | null {
  if (!s.driver) return { stdout: "", stderr: "bash: nvidia-smi: command not found\n", exitCode: 127 };
  if (!s.driverLoaded) return { stdout: SMI_FAILED, stderr: "", exitCode: 9 };
  return null;
}

export function renderNvidiaSmi(s: SimState): CmdResult {
  const nl = notLoaded(s);
  if (nl) return nl;
  const d = s.driver!;
  const gpus = smiGpus(s);
  if (gpus.length === 0) return { stdout: "No devices were found\n", stderr: "", exitCode: 6 };
  const modern = driverMajor(s) >= 530;
  const W = modern ? 89 : 79;
  const c1 = modern ? 41 : 31;
  const dash = (n: number) => "-".repeat(n);
  const eq = (n: number) => "=".repeat(n);
  const row = (a: string, b: string, c: string) => `|${a.padEnd(c1)}|${b.padEnd(22)}|${c.padEnd(22)}|`;
  const out: string[] = [`${ctime(s, 120)}       `];
  out.push(`+${dash(W - 2)}+`);
  const head = modern
    ? ` NVIDIA-SMI ${d.version.padEnd(22)}Driver Version: ${d.version.padEnd(13)}CUDA Version: N/A`
    : ` NVIDIA-SMI ${d.version.padEnd(13)}Driver Version: ${d.version.padEnd(13)}CUDA Version: N/A`;
  out.push(`|${head.padEnd(W - 2)}|`);
  out.push(`|${dash(c1)}+${dash(22)}+${dash(22)}+`);
  if (modern) {
    out.push(
      row(" GPU  Name                 Persistence-M ", " Bus-Id        Disp.A ", " Volatile Uncorr. ECC "),
    );
    out.push(
      row(" Fan  Temp   Perf          Pwr:Usage/Cap ", "         Memory-Usage ", " GPU-Util  Compute M. "),
    );
  } else {
    out.push(row(" GPU  Name        Persistence-M", " Bus-Id        Disp.A ", " Volatile Uncorr. ECC "));
    out.push(row(" Fan  Temp  Perf  Pwr:Usage/Cap", "         Memory-Usage ", " GPU-Util  Compute M. "));
  }
  out.push(row("", "", "               MIG M. "));
  out.push(`|${eq(c1)}+${eq(22)}+${eq(22)}|`);
  gpus.forEach((g, i) => {
    const ecc = g.productBrand === "Tesla" ? "0" : "N/A";
    const fan = g.productBrand === "Tesla" ? "N/A" : "26%";
    const mem = `${usedMiB(s, g)}MiB / ${String(g.vramMiB).padStart(5)}MiB`;
    const pwr = `${g.productBrand === "Tesla" ? 7 : 43}W / ${String(g.powerCapW).padStart(3)}W`;
    if (modern) {
      out.push(
        row(
          `   ${i}  ${trunc(g.productName, 26).padEnd(26)}     On  `,
          ` ${nvBus(g.address)} Off `,
          `${ecc.padStart(21)} `,
        ),
      );
      out.push(
        row(
          ` ${fan.padStart(3)}   34C    P8  ${pwr.padStart(22)} `,
          `${mem.padStart(21)} `,
          "      0%      Default ",
        ),
      );
    } else {
      out.push(
        row(
          `   ${i}  ${trunc(g.productName, 18).padEnd(18)}  On   `,
          ` ${nvBus(g.address)} Off `,
          `${ecc.padStart(21)} `,
        ),
      );
      out.push(
        row(
          ` ${fan.padStart(3)}   33C    P8  ${pwr.padStart(12)} `,
          `${mem.padStart(21)} `,
          "      0%      Default ",
        ),
      );
    }
    out.push(row("", "", "                  N/A "));
  });
  out.push(`+${dash(c1)}+${dash(22)}+${dash(22)}+`);
  out.push(" ".repeat(W));
  out.push(`+${dash(W - 2)}+`);
  out.push(`|${" Processes:".padEnd(W - 2)}|`);
  out.push(`|${"  GPU   GI   CI        PID   Type   Process name".padEnd(W - 13)}GPU Memory |`);
  out.push(`|${"        ID   ID".padEnd(W - 13)}Usage      |`);
  out.push(`|${eq(W - 2)}|`);
  out.push(`|${"  No running processes found".padEnd(W - 2)}|`);
  out.push(`+${dash(W - 2)}+`);
  return ok(`${out.join("\n")}\n`);
}

function kv(indent: number, key: string, value: string | number): string {
  if (value === "") return `${" ".repeat(indent)}${key}`;
  return `${" ".repeat(indent)}${key.padEnd(42 - indent)}: ${value}`;
}

export function renderNvidiaSmiQ(s: SimState): CmdResult {
  const nl = notLoaded(s);
  if (nl) return nl;
  const d = s.driver!;
  const gpus = smiGpus(s);
  const out = [
    "",
    "==============NVSMI LOG==============",
    "",
    kv(0, "Timestamp", ctime(s, 125)),
    kv(0, "Driver Version", d.version),
    kv(0, "CUDA Version", "Not Found"),
  ];
  out.push("vGPU Driver Capability", kv(8, "Heterogenous Multi-vGPU", "Supported"), "");
  out.push(kv(0, "Attached GPUs", gpus.length));
  for (const g of gpus) {
    const capable = vgpuVerdict(s, g).ok;
    const used = usedMiB(s, g);
    const reserved = g.architecture === "Pascal" ? 0 : 248;
    out.push(`GPU ${nvBus(g.address)}`);
    out.push(kv(4, "Product Name", g.productName));
    out.push(kv(4, "Product Brand", g.productBrand));
    out.push(kv(4, "Product Architecture", g.architecture));
    out.push(kv(4, "Display Mode", "Disabled"));
    out.push(kv(4, "Display Active", "Disabled"));
    out.push(kv(4, "Persistence Mode", "Enabled"));
    out.push(kv(4, "vGPU Device Capability", ""));
    out.push(kv(8, "Fractional Multi-vGPU", "Not Supported"));
    out.push(kv(8, "Heterogeneous Time-Slice Profiles", "Supported"));
    out.push(kv(8, "Heterogeneous Time-Slice Sizes", mixedSizeCapable(s, g) ? "Supported" : "Not Supported"));
    out.push(kv(4, "MIG Mode", ""));
    out.push(kv(8, "Current", "N/A"));
    out.push(kv(8, "Pending", "N/A"));
    out.push(kv(4, "Serial Number", "N/A"));
    out.push(
      kv(4, "GPU UUID", `GPU-${g.address.replace(/[:.]/g, "").toLowerCase()}-5c6e-3a1b-9f2d-7d1e4b2a9c01`),
    );
    out.push(kv(4, "VBIOS Version", g.vbios));
    out.push(kv(4, "GPU Virtualization Mode", ""));
    out.push(kv(8, "Virtualization Mode", capable ? "Host VGPU" : "None"));
    out.push(kv(8, "Host VGPU Mode", capable ? (g.sriov ? "SR-IOV" : "Non SR-IOV") : "N/A"));
    if (mixedSizeCapable(s, g))
      out.push(kv(4, "vGPU Heterogeneous Mode", mixedSizeOn(s, g) ? "Enabled" : "Disabled"));
    out.push(kv(4, "PCI", ""));
    out.push(kv(8, "Bus", `0x${g.address.slice(5, 7)}`));
    out.push(kv(8, "Device", `0x${g.address.slice(8, 10)}`));
    out.push(kv(8, "Domain", `0x${g.address.slice(0, 4)}`));
    out.push(kv(8, "Device Id", `0x${g.deviceId.toUpperCase()}10DE`));
    out.push(kv(8, "Bus Id", nvBus(g.address)));
    out.push(
      kv(8, "Sub System Id", `0x${g.subsystemDeviceId.toUpperCase()}${g.subsystemVendorId.toUpperCase()}`),
    );
    out.push(kv(4, "FB Memory Usage", ""));
    out.push(kv(8, "Total", `${g.vramMiB} MiB`));
    out.push(kv(8, "Reserved", `${reserved} MiB`));
    out.push(kv(8, "Used", `${used} MiB`));
    out.push(kv(8, "Free", `${g.vramMiB - reserved - used} MiB`));
  }
  return ok(`${out.join("\n")}\n\n`);
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

interface ActiveVgpuView {
  vgpuId: string;
  typeId: number;
  typeName: string;
  vmPid: string;
  vmName: string;
  /** mdev UUID; null for a vGPU on an SR-IOV VF (no mdev: vendor-specific VFIO) */
  uuid: string | null;
  fbMiB: number;
}

/** vGPUs running on a GPU: its mdevs, or (SR-IOV) the VFs with a type set, each with the VM using it. */
function activeVgpus(s: SimState, g: SimGpu): ActiveVgpuView[] {
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

export function renderNvidiaSmiVgpuQ(s: SimState): CmdResult {
  const nl = notLoaded(s);
  if (nl) return nl;
  const d = s.driver!;
  const gpus = smiGpus(s).filter((g) => vgpuVerdict(s, g).ok);
  if (gpus.length === 0) return ok("No supported devices in vGPU mode\n");
  const out = [
    "",
    "==============NVSMI LOG==============",
    "",
    kv(0, "Timestamp", ctime(s, 140)),
    kv(0, "Driver Version", d.version),
    "",
  ];
  for (const g of gpus) {
    const vs = activeVgpus(s, g);
    out.push(`GPU ${nvBus(g.address)}`);
    out.push(kv(4, "Active vGPUs", vs.length));
    for (const v of vs) {
      out.push(kv(4, "vGPU ID", v.vgpuId));
      out.push(kv(8, "VM ID", v.vmPid));
      out.push(kv(8, "VM Name", v.vmName));
      out.push(kv(8, "vGPU Name", v.typeName));
      out.push(kv(8, "vGPU Type", v.typeId));
      out.push(kv(8, "vGPU UUID", `${(v.uuid ?? v.vgpuId).slice(0, 8)}-5a3e-11ee-8c99-0242ac120002`));
      out.push(kv(8, "MDEV UUID", v.uuid ?? "N/A"));
      out.push(kv(8, "Guest Driver Version", "N/A"));
      out.push(kv(8, "License Status", "N/A"));
      out.push(kv(8, "GPU Instance ID", "N/A"));
      out.push(kv(8, "Accounting Mode", "Disabled"));
      out.push(kv(8, "ECC Mode", "N/A"));
      out.push(kv(8, "Accounting Buffer Size", "4000"));
      out.push(kv(8, "Frame Rate Limit", "60 FPS"));
      out.push(kv(8, "PCI", ""));
      out.push(kv(12, "Bus Id", "00000000:00:00.0"));
      out.push(kv(8, "FB Memory Usage", ""));
      out.push(kv(12, "Total", `${v.fbMiB} MiB`));
      out.push(kv(12, "Used", "0 MiB"));
      out.push(kv(12, "Free", `${v.fbMiB} MiB`));
    }
  }
  return ok(`${out.join("\n")}\n\n`);
}
