import { describe, expect, it } from "vitest";
import { parseNvidiaSmi } from "../../src/facts/nvidia/nvidia-smi.ts";
import { crlf, fixture, garble } from "./fixture.ts";

describe("parseNvidiaSmi", () => {
  it("reads the seed guide's table (no border lines)", () => {
    // source: seed guide lines 288-300
    const t = parseNvidiaSmi(fixture("seed-nvidia-smi.txt"));
    expect(t).toEqual({
      driverVersion: "525.85.07",
      cudaVersion: null,
      gpus: [
        {
          index: 0,
          name: "NVIDIA GeForce ...",
          busId: "0000:01:00.0",
          memoryUsedMiB: 85,
          memoryTotalMiB: 11264,
        },
      ],
      error: null,
    });
  });

  it("reads the old layout with a shell prompt before it", () => {
    // source: https://github.com/DualCoder/vgpu_unlock/issues/30
    const t = parseNvidiaSmi(fixture("vgpu_unlock-issue30-nvidia-smi.txt"));
    expect(t.driverVersion).toBe("460.32.04");
    expect(t.gpus).toEqual([
      { index: 0, name: "Quadro P400", busId: "0000:01:00.0", memoryUsedMiB: 1011, memoryTotalMiB: 2047 },
    ]);
  });

  it("takes the driver version, not the NVIDIA-SMI version, and keeps a CUDA version", () => {
    // source: https://github.com/DualCoder/vgpu_unlock/issues/110
    const t = parseNvidiaSmi(fixture("vgpu_unlock-issue110-nvidia-smi.txt"));
    expect(t.driverVersion).toBe("510.85.03");
    expect(t.cudaVersion).toBe("11.6");
    expect(t.gpus[0]).toMatchObject({ busId: "0000:01:00.0", memoryUsedMiB: 1743, memoryTotalMiB: 4096 });
  });

  it("reads the 535+ layout", () => {
    // source: https://github.com/anomixer/proxmox-vgpu-installer/issues/15
    const t = parseNvidiaSmi(fixture("anomixer-issue15-nvidia-smi.txt"));
    expect(t.driverVersion).toBe("535.230.02");
    expect(t.cudaVersion).toBeNull();
    expect(t.gpus).toEqual([
      {
        index: 0,
        name: "NVIDIA GeForce GTX 1080",
        busId: "0000:02:00.0",
        memoryUsedMiB: 32,
        memoryTotalMiB: 8192,
      },
    ]);
  });

  it("reads several GPUs, lower-cases hex bus ids and ignores the process table", () => {
    // source: https://github.com/NVIDIA/go-nvml/issues/57 and https://github.com/akb486/vgpu
    const t = parseNvidiaSmi(fixture("go-nvml-issue57-nvidia-smi.txt"));
    expect(t.gpus.map((g) => [g.index, g.busId, g.memoryTotalMiB])).toEqual([
      [0, "0000:31:00.0", 81920],
      [1, "0000:b1:00.0", 81920],
    ]);
    const a = parseNvidiaSmi(fixture("akb486-nvidia-smi.txt"));
    expect(a.gpus).toHaveLength(1);
    expect(a.gpus[0]).toMatchObject({ memoryUsedMiB: 2036, memoryTotalMiB: 8188 });
  });

  it("reports the driver-not-loaded error with no GPUs", () => {
    // source: https://github.com/ci-for-research/self-hosted-runners/issues/40
    const t = parseNvidiaSmi(fixture("ci-for-research-issue40-nvidia-smi-failed.txt"));
    expect(t.gpus).toEqual([]);
    expect(t.driverVersion).toBeNull();
    expect(t.error).toMatch(/^NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
  });

  it("survives CRLF and extra whitespace", () => {
    const t = parseNvidiaSmi(crlf(fixture("anomixer-issue15-nvidia-smi.txt")));
    expect(t.driverVersion).toBe("535.230.02");
    expect(t.gpus[0]).toMatchObject({ busId: "0000:02:00.0", memoryTotalMiB: 8192 });
  });

  it("never throws on garbled input and flags empty output", () => {
    for (const g of garble(fixture("seed-nvidia-smi.txt"))) expect(() => parseNvidiaSmi(g)).not.toThrow();
    expect(parseNvidiaSmi("").error).toBe("empty output");
    expect(parseNvidiaSmi("No devices were found\n")).toMatchObject({
      gpus: [],
      error: "No devices were found",
    });
  });
});
