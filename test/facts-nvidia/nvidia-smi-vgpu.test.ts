import { describe, expect, it } from "vitest";
import { parseNvidiaVgpuQuery, parseNvidiaVgpuTable } from "../../src/facts/nvidia/nvidia-smi-vgpu.ts";
import { crlf, fixture, garble } from "./fixture.ts";

describe("parseNvidiaVgpuQuery", () => {
  it("reads a PVE vGPU with the 15.x field set (VM UUID empty, MDEV UUID set)", () => {
    // source: https://github.com/akb486/vgpu README
    const q = parseNvidiaVgpuQuery(fixture("akb486-nvidia-smi-vgpu-q.txt"));
    expect(q.error).toBeNull();
    expect(q.gpus).toEqual([
      {
        busId: "0000:01:00.0",
        activeVgpus: 1,
        vgpus: [
          {
            gpuBusId: "0000:01:00.0",
            vgpuId: "3251634190",
            uuid: "00000000-0000-0000-0000-000000000101",
            vmId: null,
            vmName: "win10test,debug-threads=on",
            typeName: "NVIDIA RTXA6000-2Q",
            typeId: "525",
            fbUsageMiB: 2048,
            licensed: "N/A (Expiry: N/A)",
          },
        ],
      },
    ]);
  });

  it("reads the older field set with VM ID", () => {
    // source: research/proxmox.md §3 (-q format sample)
    const v = parseNvidiaVgpuQuery(fixture("research-vgpu-q-old-vm-id.txt")).gpus[0]!.vgpus[0]!;
    expect(v).toMatchObject({
      gpuBusId: "0000:c1:00.0",
      vmId: "2103066",
      vmName: "Win11SV2_View87",
      typeName: "GRID T4-4Q",
      typeId: "232",
      fbUsageMiB: 4096,
      licensed: "Licensed (Expiry: 2022-11-23 5:2:12 GMT)",
    });
  });

  it("reads several vGPUs of the newest field set (Placement ID, no MDEV UUID)", () => {
    // source: bigstack-oss/cubecos test fixture (index id 66050694460)
    const q = parseNvidiaVgpuQuery(fixture("cubecos-nvidia-smi-vgpu-q.txt"));
    const gpu = q.gpus[0]!;
    expect(gpu.busId).toBe("0001:c8:00.0");
    expect(gpu.activeVgpus).toBe(2);
    expect(gpu.vgpus.map((v) => [v.vgpuId, v.vmId, v.uuid, v.typeId, v.fbUsageMiB, v.licensed])).toEqual([
      ["3251637554", "083bc63f-0a3c-4647-9bb4-27f905b7d7bb", null, "1519", 3072, "N/A (Expiry: N/A)"],
      ["3251637566", "f0adb76f-7612-4c68-84b4-375a4e6c5476", null, "1519", 3072, "Unlicensed (Unrestricted)"],
    ]);
  });

  it("survives CRLF and reports 'No supported devices in vGPU mode'", () => {
    const q = parseNvidiaVgpuQuery(crlf(fixture("akb486-nvidia-smi-vgpu-q.txt")));
    expect(q.gpus[0]!.vgpus[0]!.typeName).toBe("NVIDIA RTXA6000-2Q");
    // source: seed guide line 337
    const e = parseNvidiaVgpuQuery(fixture("seed-nvidia-smi-vgpu-unsupported.txt"));
    expect(e).toEqual({ driverVersion: null, gpus: [], error: "No supported devices in vGPU mode" });
  });

  it("a GPU with no active vGPUs", () => {
    const q = parseNvidiaVgpuQuery("GPU 00000000:01:00.0\n    Active vGPUs                          : 0\n");
    expect(q.gpus).toEqual([{ busId: "0000:01:00.0", activeVgpus: 0, vgpus: [] }]);
  });

  it("never throws on garbage", () => {
    for (const g of garble(fixture("cubecos-nvidia-smi-vgpu-q.txt")))
      expect(() => parseNvidiaVgpuQuery(g)).not.toThrow();
  });
});

describe("parseNvidiaVgpuTable", () => {
  it("reads the seed guide's table (no vGPUs yet)", () => {
    // source: seed guide lines 329-333
    const t = parseNvidiaVgpuTable(fixture("seed-nvidia-smi-vgpu.txt"));
    expect(t).toEqual({
      driverVersion: "525.85.07",
      gpus: [{ index: 0, name: "NVIDIA GeForce RTX 208...", busId: "0000:01:00.0", vgpus: [] }],
      error: null,
    });
  });

  it("reads an active vGPU row (truncated names kept as printed)", () => {
    // source: https://github.com/akb486/vgpu README
    const t = parseNvidiaVgpuTable(fixture("akb486-nvidia-smi-vgpu.txt"));
    expect(t.gpus[0]!.vgpus).toEqual([
      { vgpuId: "3251634190", name: "NVIDIA RTXA...", vmId: "f267...", vmName: "win10test,debug-..." },
    ]);
  });

  it("reports errors and never throws", () => {
    expect(parseNvidiaVgpuTable(fixture("seed-nvidia-smi-vgpu-unsupported.txt")).error).toBe(
      "No supported devices in vGPU mode",
    );
    for (const g of garble(fixture("akb486-nvidia-smi-vgpu.txt")))
      expect(() => parseNvidiaVgpuTable(g)).not.toThrow();
  });
});
