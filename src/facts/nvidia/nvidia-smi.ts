import { normalisePciAddress } from "../pci.ts";
import type { NvidiaSmiTable } from "../types.ts";
import { findNvidiaSmiError, firstLine, naToNull, splitLines } from "./common.ts";

const DRIVER_VERSION = /Driver Version:\s*([^\s|]+)/;
const CUDA_VERSION = /CUDA Version:\s*([^\s|]+(?:\s+Found)?)/;
const BUS_ID_CELL = /^\s*([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])\b/;
const GPU_CELL = /^\s*(\d+)\s+(.*?)\s*$/;
const PERSISTENCE = /\s+(On|Off|WDDM|TCC|N\/A)$/;
const MEMORY = /(\d+)\s*MiB\s*\/\s*(\d+)\s*MiB/;

/** How many lines after a GPU row its "used / total" memory may appear. */
const MEMORY_WINDOW = 3;

/**
 * `nvidia-smi` default table. Understands the pre-535 layout ("Driver Version: 525.85.07    CUDA Version: N/A",
 * "|   0  NVIDIA GeForce ...  On   | 00000000:01:00.0 Off |") and the 535+ layout (wider columns, bus id
 * indented), with or without the "+----+" border lines. Error output (driver not loaded, no devices)
 * gives `error` and no GPUs. Never throws.
 */
export function parseNvidiaSmi(text: string): NvidiaSmiTable {
  const result: NvidiaSmiTable = { driverVersion: null, cudaVersion: null, gpus: [], error: null };
  if (typeof text !== "string") return { ...result, error: "no output" };
  const lines = splitLines(text);
  let lastGpuLine = -1;
  let memoryPending = false;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (result.driverVersion === null) {
      const dv = DRIVER_VERSION.exec(line);
      if (dv) {
        result.driverVersion = naToNull(dv[1]);
        const cv = CUDA_VERSION.exec(line);
        if (cv) result.cudaVersion = naToNull(cv[1]);
        continue;
      }
    }
    if (!line.includes("|")) continue;
    const cells = line.split("|");
    // cells[0] is what precedes the first "|" (usually empty)
    if (cells.length >= 3) {
      const bus = BUS_ID_CELL.exec(cells[2]!);
      const gpu = GPU_CELL.exec(cells[1]!);
      if (bus && gpu) {
        const busId = normalisePciAddress(bus[1]!, "required");
        if (busId) {
          let name = gpu[2]!;
          name = name.replace(PERSISTENCE, "").trim();
          result.gpus.push({
            index: Number.parseInt(gpu[1]!, 10),
            name,
            busId,
            memoryUsedMiB: null,
            memoryTotalMiB: null,
          });
          lastGpuLine = i;
          memoryPending = true;
          continue;
        }
      }
    }
    if (memoryPending && i - lastGpuLine <= MEMORY_WINDOW) {
      const mem = MEMORY.exec(line);
      if (mem) {
        const gpu = result.gpus[result.gpus.length - 1]!;
        gpu.memoryUsedMiB = Number.parseInt(mem[1]!, 10);
        gpu.memoryTotalMiB = Number.parseInt(mem[2]!, 10);
        memoryPending = false;
      }
    } else memoryPending = false;
  }

  if (result.gpus.length === 0 && result.driverVersion === null) {
    result.error = findNvidiaSmiError(text) ?? firstLine(text) ?? "empty output";
  } else if (result.gpus.length === 0) {
    // A header but no GPU rows: report an explicit error line if there is one.
    result.error = findNvidiaSmiError(text);
  }
  return result;
}
