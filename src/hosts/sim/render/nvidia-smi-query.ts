/**
 * `nvidia-smi -q` and `nvidia-smi vgpu -q` of the simulated host, following the driver era.
 *
 * Layouts copied from real outputs (test/fixtures/conformance/SOURCES.md):
 * - `-q`: a Tesla P40 on vGPU 16 host driver 535.129.03 (full 220-line report: BAR1, Utilization,
 *   ECC, Temperature, Power, Clocks, Processes); an Ada card on 525.147.01 (akb486/vgpu README:
 *   "vGPU Device Capability" block already present); an RTX PRO 6000 on 580.105.06 (bigstack-oss/cubecos:
 *   `Utilization / GPU` instead of `Gpu`).
 * - `vgpu -q`: 525.147.01 on Proxmox VE (akb486/vgpu README: starts at `GPU 0000…`, no NVSMI LOG header,
 *   `VM UUID` empty, empty `vGPU UUID`, `License Status : N/A (Expiry: N/A)`, Utilization / Encoder
 *   Stats / FBC Stats blocks) and 580.105.06 on OpenStack (cubecos: `Placement ID`, a real `vGPU UUID`,
 *   no Accounting/ECC/Frame Rate Limit lines, no Encoder/FBC blocks). On KVM NVML reports the VM by
 *   UUID (nvmlVgpuVmIdType_t NVML_VGPU_VM_ID_UUID), hence `VM UUID`; `VM ID` (a domain id) is what
 *   VMware/Xen hosts print (research/proxmox.md §3 sample).
 * Branch boundaries between the samples (535 → 570 for `GPU`, 550 for `Placement ID`) are the simulator's
 * assumption, stated where used.
 */
import { driverMajor, mixedSizeCapable, mixedSizeOn, vgpuVerdict } from "../logic.ts";
import type { SimGpu, SimState } from "../state.ts";
import { activeVgpus, ctime, notLoaded, nvBus, smiGpus, usedMiB } from "./nvidia-smi.ts";
import { type CmdResult, ok } from "./types.ts";

/** One `key : value` line, key padded to column 42 as nvidia-smi does; "" = a section header. */
function kv(indent: number, key: string, value: string | number): string {
  if (value === "") return `${" ".repeat(indent)}${key}`;
  return emptyKv(indent, key) + String(value);
}

/** A field whose value is empty: the key, the colon and its space, nothing after ("VM UUID : "). */
function emptyKv(indent: number, key: string): string {
  return `${" ".repeat(indent)}${key.padEnd(42 - indent)}: `;
}

/** A section header followed by its fields one level (4 spaces) deeper. */
function section(indent: number, name: string, fields: Array<[string, string | number]>): string[] {
  return [kv(indent, name, ""), ...fields.map(([k, v]) => kv(indent + 4, k, v))];
}

/** Deterministic lowercase hex digits from a seed (FNV-1a, re-mixed per 8 digits). */
export function seededHex(seed: string, digits: number): string {
  let out = "";
  let h = 0x811c9dc5;
  for (let round = 0; out.length < digits; round++) {
    for (const ch of `${seed}#${round}`) {
      h ^= ch.charCodeAt(0);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, digits);
}

/** "GPU-bcb96e0b-81bf-9648-8611-af34ef926bae": 8-4-4-4-12 hex digits, as every real report shows. */
export function gpuUuid(g: SimGpu): string {
  const h = seededHex(`gpu:${g.address}:${g.deviceId}`, 32);
  return `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function eccErrorBlock(indent: number, value: string): string[] {
  const kinds = [
    "Device Memory",
    "Register File",
    "L1 Cache",
    "L2 Cache",
    "Texture Memory",
    "Texture Shared",
    "CBU",
    "Total",
  ];
  const bits = (name: string) =>
    section(
      indent + 8,
      name,
      kinds.map((k) => [k, value]),
    );
  return [
    kv(indent, "ECC Errors", ""),
    kv(indent + 4, "Volatile", ""),
    ...bits("Single Bit"),
    ...bits("Double Bit"),
    kv(indent + 4, "Aggregate", ""),
    ...bits("Single Bit"),
    ...bits("Double Bit"),
  ];
}

/** vGPU capability lines: `vGPU Device Capability` exists from vGPU 15 (525) on. */
function vgpuDeviceCapability(s: SimState, g: SimGpu): string[] {
  if (driverMajor(s) < 525) return [];
  return section(4, "vGPU Device Capability", [
    [
      "Fractional Multi-vGPU",
      g.productBrand === "Tesla" && g.architecture !== "Pascal" ? "Supported" : "Not Supported",
    ],
    ["Heterogeneous Time-Slice Profiles", "Supported"],
    ["Heterogeneous Time-Slice Sizes", mixedSizeCapable(s, g) ? "Supported" : "Not Supported"],
  ]);
}

function identityLines(s: SimState, g: SimGpu): string[] {
  const major = driverMajor(s);
  const serial =
    g.productBrand === "Tesla"
      ? String(Number.parseInt(seededHex(g.address, 8), 16)).padStart(13, "0")
      : "N/A";
  return [
    kv(4, "Product Name", g.productName),
    kv(4, "Product Brand", g.productBrand),
    kv(4, "Product Architecture", g.architecture),
    kv(4, "Display Mode", "Disabled"),
    kv(4, "Display Active", "Disabled"),
    kv(4, "Persistence Mode", "Enabled"),
    ...(major >= 535 ? [kv(4, "Addressing Mode", "N/A")] : []),
    ...vgpuDeviceCapability(s, g),
    ...section(4, "MIG Mode", [
      ["Current", "N/A"],
      ["Pending", "N/A"],
    ]),
    kv(4, "Accounting Mode", "Disabled"),
    kv(4, "Accounting Mode Buffer Size", 4000),
    ...section(4, "Driver Model", [
      ["Current", "N/A"],
      ["Pending", "N/A"],
    ]),
    kv(4, "Serial Number", serial),
    kv(4, "GPU UUID", gpuUuid(g)),
    kv(4, "Minor Number", smiGpus(s).indexOf(g)),
    kv(4, "VBIOS Version", g.vbios),
    kv(4, "MultiGPU Board", "No"),
    kv(4, "Board ID", `0x${g.address.slice(5, 7)}00`),
    kv(4, "Board Part Number", "N/A"),
    kv(4, "GPU Part Number", `${g.deviceId.toUpperCase()}-${seededHex(g.address, 3).toUpperCase()}-A1`),
    kv(4, "FRU Part Number", "N/A"),
    kv(4, "Module ID", 1),
    ...section(4, "Inforom Version", [
      ["Image Version", "N/A"],
      ["OEM Object", "N/A"],
      ["ECC Object", "N/A"],
      ["Power Management Object", "N/A"],
    ]),
    ...section(4, "Inforom BBX Object Flush", [
      ["Latest Timestamp", "N/A"],
      ["Latest Duration", "N/A"],
    ]),
    ...section(4, "GPU Operation Mode", [
      ["Current", "N/A"],
      ["Pending", "N/A"],
    ]),
    kv(4, "GSP Firmware Version", "N/A"),
  ];
}

function virtualizationLines(s: SimState, g: SimGpu): string[] {
  const capable = vgpuVerdict(s, g).ok;
  return [
    ...section(4, "GPU Virtualization Mode", [
      ["Virtualization Mode", capable ? "Host VGPU" : "None"],
      ["Host VGPU Mode", capable ? (g.sriov ? "SR-IOV" : "Non SR-IOV") : "N/A"],
    ]),
    ...(mixedSizeCapable(s, g)
      ? [kv(4, "vGPU Heterogeneous Mode", mixedSizeOn(s, g) ? "Enabled" : "Disabled")]
      : []),
    ...section(4, "GPU Reset Status", [
      ["Reset Required", "No"],
      ["Drain and Reset Recommended", "N/A"],
    ]),
    ...section(4, "IBMNPU", [["Relaxed Ordering Mode", "N/A"]]),
  ];
}

function pciLines(g: SimGpu): string[] {
  const gen = /^(\d+)/.exec(g.linkSpeed)?.[1] === "16" ? 4 : 3;
  return [
    kv(4, "PCI", ""),
    kv(8, "Bus", `0x${g.address.slice(5, 7).toUpperCase()}`),
    kv(8, "Device", `0x${g.address.slice(8, 10).toUpperCase()}`),
    kv(8, "Domain", `0x${g.address.slice(0, 4)}`),
    kv(8, "Device Id", `0x${g.deviceId.toUpperCase()}10DE`),
    kv(8, "Bus Id", nvBus(g.address)),
    kv(8, "Sub System Id", `0x${g.subsystemDeviceId.toUpperCase()}${g.subsystemVendorId.toUpperCase()}`),
    kv(8, "GPU Link Info", ""),
    ...section(12, "PCIe Generation", [
      ["Max", gen],
      ["Current", gen],
      ["Device Current", gen],
      ["Device Max", gen],
      ["Host Max", "N/A"],
    ]),
    ...section(12, "Link Width", [
      ["Max", "16x"],
      ["Current", "16x"],
    ]),
    ...section(8, "Bridge Chip", [
      ["Type", "N/A"],
      ["Firmware", "N/A"],
    ]),
    kv(8, "Replays Since Reset", 0),
    kv(8, "Replay Number Rollovers", 0),
    kv(8, "Tx Throughput", "0 KB/s"),
    kv(8, "Rx Throughput", "0 KB/s"),
    kv(8, "Atomic Caps Inbound", "N/A"),
    kv(8, "Atomic Caps Outbound", "N/A"),
  ];
}

function memoryLines(s: SimState, g: SimGpu): string[] {
  const major = driverMajor(s);
  const used = usedMiB(s, g);
  const reserved = g.architecture === "Pascal" ? 0 : 248;
  const bar1 = g.vramMiB > 16384 ? 32768 : 256;
  const reasons = major >= 535 ? "Clocks Event Reasons" : "Clocks Throttle Reasons";
  return [
    kv(4, "Fan Speed", g.productBrand === "Tesla" ? "N/A" : "26 %"),
    kv(4, "Performance State", "P8"),
    ...section(4, reasons, [
      ["Idle", "Active"],
      ["Applications Clocks Setting", "Not Active"],
      ["SW Power Cap", "Not Active"],
      ["HW Slowdown", "Not Active"],
    ]),
    kv(12, "HW Thermal Slowdown", "Not Active"),
    kv(12, "HW Power Brake Slowdown", "Not Active"),
    kv(8, "Sync Boost", "Not Active"),
    kv(8, "SW Thermal Slowdown", "Not Active"),
    kv(8, "Display Clock Setting", "Not Active"),
    ...section(4, "FB Memory Usage", [
      ["Total", `${g.vramMiB} MiB`],
      ["Reserved", `${reserved} MiB`],
      ["Used", `${used} MiB`],
      ["Free", `${g.vramMiB - reserved - used} MiB`],
    ]),
    ...section(4, "BAR1 Memory Usage", [
      ["Total", `${bar1} MiB`],
      ["Used", "2 MiB"],
      ["Free", `${bar1 - 2} MiB`],
    ]),
    ...(major >= 535
      ? section(4, "Conf Compute Protected Memory Usage", [
          ["Total", "0 MiB"],
          ["Used", "0 MiB"],
          ["Free", "0 MiB"],
        ])
      : []),
    kv(4, "Compute Mode", "Default"),
  ];
}

function statsLines(s: SimState, g: SimGpu): string[] {
  const major = driverMajor(s);
  const ecc = g.productBrand === "Tesla" && g.architecture !== "Pascal";
  const util: Array<[string, string]> = [
    // "Gpu" in 525/535 reports, "GPU" in the 580 one (switch assumed at 570).
    [major >= 570 ? "GPU" : "Gpu", "0 %"],
    ["Memory", "0 %"],
    ["Encoder", "0 %"],
    ["Decoder", "0 %"],
    ...(major >= 535
      ? ([
          ["JPEG", "N/A"],
          ["OFA", "N/A"],
        ] as Array<[string, string]>)
      : []),
  ];
  const stats: Array<[string, number]> = [
    ["Active Sessions", 0],
    ["Average FPS", 0],
    ["Average Latency", 0],
  ];
  return [
    ...section(4, "Utilization", util),
    ...section(4, "Encoder Stats", stats),
    ...section(4, "FBC Stats", stats),
    ...section(4, "ECC Mode", [
      ["Current", ecc ? "Enabled" : "Disabled"],
      ["Pending", ecc ? "Enabled" : "Disabled"],
    ]),
    ...eccErrorBlock(4, ecc ? "0" : "N/A"),
    ...section(4, "Retired Pages", [
      ["Single Bit ECC", ecc ? 0 : "N/A"],
      ["Double Bit ECC", ecc ? 0 : "N/A"],
      ["Pending Page Blacklist", ecc ? "No" : "N/A"],
    ]),
    kv(4, "Remapped Rows", "N/A"),
  ];
}

function sensorLines(s: SimState, g: SimGpu): string[] {
  const major = driverMajor(s);
  const watts = (n: number) => `${n.toFixed(2)} W`;
  const power: Array<[string, string]> = [
    ["Power Draw", watts(g.productBrand === "Tesla" ? 7 : 43)],
    ["Current Power Limit", watts(g.powerCapW)],
    ["Requested Power Limit", watts(g.powerCapW)],
    ["Default Power Limit", watts(g.powerCapW)],
    ["Min Power Limit", watts(Math.round(g.powerCapW / 2))],
    ["Max Power Limit", watts(g.powerCapW)],
  ];
  const clocks: Array<[string, string]> = [
    ["Graphics", "210 MHz"],
    ["SM", "210 MHz"],
    ["Memory", "405 MHz"],
    ["Video", "555 MHz"],
  ];
  return [
    ...section(4, "Temperature", [
      ["GPU Current Temp", "34 C"],
      ["GPU T.Limit Temp", "N/A"],
      ["GPU Shutdown Temp", "95 C"],
      ["GPU Slowdown Temp", "92 C"],
      ["GPU Max Operating Temp", "N/A"],
      ["GPU Target Temperature", "N/A"],
      ["Memory Current Temp", "N/A"],
      ["Memory Max Operating Temp", "N/A"],
    ]),
    ...section(4, major >= 535 ? "GPU Power Readings" : "Power Readings", power),
    ...(major >= 535
      ? section(
          4,
          "Module Power Readings",
          power.map(([k]) => [k, "N/A"]),
        )
      : []),
    ...section(4, "Clocks", clocks),
    ...section(4, "Applications Clocks", [
      ["Graphics", "N/A"],
      ["Memory", "N/A"],
    ]),
    ...section(4, "Default Applications Clocks", [
      ["Graphics", "N/A"],
      ["Memory", "N/A"],
    ]),
    ...section(4, "Deferred Clocks", [["Memory", "N/A"]]),
    ...section(4, "Max Clocks", clocks),
    ...section(4, "Max Customer Boost Clocks", [["Graphics", "N/A"]]),
    ...section(4, "Clock Policy", [
      ["Auto Boost", "N/A"],
      ["Auto Boost Default", "N/A"],
    ]),
    ...section(4, "Voltage", [["Graphics", "N/A"]]),
    ...section(4, "Fabric", [
      ["State", "N/A"],
      ["Status", "N/A"],
    ]),
  ];
}

/** `Processes : None`, or one `vgpu` C+G process per running vGPU (nvidia-vgpu-mgr's view). */
function processLines(s: SimState, g: SimGpu): string[] {
  const vs = activeVgpus(s, g);
  if (vs.length === 0) return [kv(4, "Processes", "None")];
  const out = [kv(4, "Processes", "")];
  for (const v of vs) {
    out.push(kv(8, "GPU instance ID", "N/A"), kv(8, "Compute instance ID", "N/A"));
    out.push(kv(8, "Process ID", v.vmPid), kv(12, "Type", "C+G"), kv(12, "Name", "vgpu"));
    out.push(kv(12, "Used GPU Memory", `${v.fbMiB} MiB`));
  }
  return out;
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
  if (driverMajor(s) >= 525)
    out.push("vGPU Driver Capability", kv(8, "Heterogenous Multi-vGPU", "Supported"));
  out.push("", kv(0, "Attached GPUs", gpus.length));
  for (const g of gpus) {
    out.push(`GPU ${nvBus(g.address)}`);
    out.push(...identityLines(s, g), ...virtualizationLines(s, g), ...pciLines(g));
    out.push(...memoryLines(s, g), ...statsLines(s, g), ...sensorLines(s, g), ...processLines(s, g));
  }
  return ok(`${out.join("\n")}\n\n`);
}

/**
 * `nvidia-smi vgpu -q`: per GPU `Active vGPUs`, then each vGPU. Proxmox VE starts QEMU without telling
 * the vGPU its VM, so `VM UUID` is empty (real 525 paste); `MDEV UUID` exists on mdev hosts only.
 */
export function renderNvidiaSmiVgpuQ(s: SimState): CmdResult {
  const nl = notLoaded(s);
  if (nl) return nl;
  const gpus = smiGpus(s).filter((g) => vgpuVerdict(s, g).ok);
  if (gpus.length === 0) return ok("No supported devices in vGPU mode\n");
  const major = driverMajor(s);
  const out: string[] = [];
  for (const g of gpus) {
    const vs = activeVgpus(s, g);
    out.push(`GPU ${nvBus(g.address)}`);
    out.push(kv(4, "Active vGPUs", vs.length));
    for (const v of vs) {
      out.push(kv(4, "vGPU ID", v.vgpuId));
      out.push(emptyKv(8, "VM UUID"), kv(8, "VM Name", v.vmName));
      out.push(kv(8, "vGPU Name", v.typeName), kv(8, "vGPU Type", v.typeId));
      // An empty vGPU UUID in the 525 paste; 580 reports one (time-based UUID, v1).
      const vu = seededHex(`vgpu:${v.vgpuId}:${v.uuid ?? g.address}`, 32);
      const vgpuUuid = `${vu.slice(0, 8)}-${vu.slice(8, 12)}-11${vu.slice(14, 16)}-${vu.slice(16, 20)}-${vu.slice(20)}`;
      out.push(major >= 535 ? kv(8, "vGPU UUID", vgpuUuid) : emptyKv(8, "vGPU UUID"));
      if (v.uuid !== null) out.push(kv(8, "MDEV UUID", v.uuid));
      out.push(kv(8, "Guest Driver Version", "N/A"), kv(8, "License Status", "N/A (Expiry: N/A)"));
      out.push(kv(8, "GPU Instance ID", "N/A"));
      if (major >= 550) out.push(kv(8, "Placement ID", v.placementId));
      if (major < 570) {
        out.push(kv(8, "Accounting Mode", "N/A"), kv(8, "ECC Mode", "N/A"));
        out.push(kv(8, "Accounting Buffer Size", 4000), kv(8, "Frame Rate Limit", "N/A"));
      }
      out.push(...section(8, "PCI", [["Bus Id", "00000000:00:00.0"]]));
      out.push(
        ...section(8, "FB Memory Usage", [
          ["Total", `${v.fbMiB} MiB`],
          ["Used", "0 MiB"],
          ["Free", `${v.fbMiB} MiB`],
        ]),
      );
      out.push(
        ...section(8, "Utilization", [
          [major >= 570 ? "GPU" : "Gpu", "0 %"],
          ["Memory", "0 %"],
          ["Encoder", "0 %"],
          ["Decoder", "0 %"],
        ]),
      );
      if (major < 570) {
        const stats: Array<[string, number]> = [
          ["Active Sessions", 0],
          ["Average FPS", 0],
          ["Average Latency", 0],
        ];
        out.push(...section(8, "Encoder Stats", stats), ...section(8, "FBC Stats", stats));
      }
    }
  }
  return ok(`${out.join("\n")}\n`);
}
