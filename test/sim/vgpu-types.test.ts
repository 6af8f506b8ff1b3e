/**
 * The simulated driver offers the vGPU types of its own data (src/hosts/sim/nvidia-data.ts, rows copied
 * from NVIDIA's vgpuConfig.xml via data/vgpu-types.csv). The knowledge base (src/knowledge/vgpu-types.ts)
 * is read here only to cross-check: both must agree on every type the simulator models, so a wrong row
 * on either side fails a test.
 */
import { describe, expect, it } from "vitest";
import { parseMdevctlTypes } from "../../src/facts/nvidia/mdevctl.ts";
import { simSysfsDescription, simVgpuTypes } from "../../src/hosts/sim/nvidia-data.ts";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import type { SimGpu, SimState } from "../../src/hosts/sim/state.ts";
import {
  findType,
  parseResolution,
  sysfsDescription,
  typesForBoard,
  typesForGpu,
  vgpuBoardFor,
} from "../../src/knowledge/vgpu-types.ts";
import { openSim, run } from "./helpers.ts";

// source: openstack/charm-guide doc/source/admin/vgpu.rst ("list-vgpu-types" sample output: the type
// dir name, parent, sysfs name and sysfs description of a Tesla V100 on the 510.47.03 host driver).
// The C (compute) lines of the sample are left out: C types are not in vgpuConfig.xml's data.
const V100_SYSFS = `nvidia-105, 0000:c1:00.0, GRID V100-1Q, num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=16
nvidia-106, 0000:c1:00.0, GRID V100-2Q, num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=8
nvidia-107, 0000:c1:00.0, GRID V100-4Q, num_heads=4, frl_config=60, framebuffer=4096M, max_resolution=7680x4320, max_instance=4
nvidia-108, 0000:c1:00.0, GRID V100-8Q, num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=2
nvidia-109, 0000:c1:00.0, GRID V100-16Q, num_heads=4, frl_config=60, framebuffer=16384M, max_resolution=7680x4320, max_instance=1
nvidia-110, 0000:c1:00.0, GRID V100-1A, num_heads=1, frl_config=60, framebuffer=1024M, max_resolution=1280x1024, max_instance=16
nvidia-111, 0000:c1:00.0, GRID V100-2A, num_heads=1, frl_config=60, framebuffer=2048M, max_resolution=1280x1024, max_instance=8
nvidia-112, 0000:c1:00.0, GRID V100-4A, num_heads=1, frl_config=60, framebuffer=4096M, max_resolution=1280x1024, max_instance=4
nvidia-113, 0000:c1:00.0, GRID V100-8A, num_heads=1, frl_config=60, framebuffer=8192M, max_resolution=1280x1024, max_instance=2
nvidia-114, 0000:c1:00.0, GRID V100-16A, num_heads=1, frl_config=60, framebuffer=16384M, max_resolution=1280x1024, max_instance=1
nvidia-115, 0000:c1:00.0, GRID V100-1B, num_heads=4, frl_config=45, framebuffer=1024M, max_resolution=5120x2880, max_instance=16
nvidia-163, 0000:c1:00.0, GRID V100-2B, num_heads=4, frl_config=45, framebuffer=2048M, max_resolution=5120x2880, max_instance=8
nvidia-217, 0000:c1:00.0, GRID V100-2B4, num_heads=4, frl_config=45, framebuffer=2048M, max_resolution=5120x2880, max_instance=8
nvidia-247, 0000:c1:00.0, GRID V100-1B4, num_heads=4, frl_config=45, framebuffer=1024M, max_resolution=5120x2880, max_instance=16`;

describe("sysfsDescription (knowledge)", () => {
  it("reproduces real sysfs descriptions of a V100 (A, B, Q series)", () => {
    const lines = V100_SYSFS.split("\n");
    expect(lines).toHaveLength(14);
    for (const line of lines) {
      const [mdev, , name, ...desc] = line.split(", ");
      const t = findType(mdev!);
      expect(t?.name, mdev).toBe(name);
      expect(sysfsDescription(t!)).toBe(desc.join(", "));
    }
  });

  it("the order is ascending type id, as the data and the V100 listing have it", () => {
    // source: the V100 sample above lists nvidia-105 … 115, 163, 217, 247 in that order
    const ids = typesForBoard("1db4").map((t) => t.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(V100_SYSFS.split("\n").map((l) => Number(l.slice(7, l.indexOf(","))))).toEqual(ids);
  });

  it("parseResolution splits WxH and rejects anything else", () => {
    expect(parseResolution("7680x4320")).toEqual({ width: 7680, height: 4320 });
    expect(parseResolution("5120 x 2880")).toBeNull();
    expect(parseResolution("")).toBeNull();
  });
});

describe("vgpuBoardFor (knowledge)", () => {
  it("Turing consumer → the Quadro RTX 6000 table with the forced subsystem 12ba", () => {
    // source: research/unlock.md §1.8 (vgpu_unlock-rs spoofs Turing as 10de:1e30 / 12ba)
    const b = vgpuBoardFor("1e07", "12fa");
    expect(b).toMatchObject({ via: "unlock", deviceId: "1e30", subsystemId: "12ba" });
    expect(b!.types.map((t) => t.id)).toEqual([
      256, 257, 258, 259, 260, 261, 262, 263, 435, 436, 437, 438, 439, 440, 441, 442, 443, 444,
    ]);
  });

  it("native boards sharing an id are told apart by subsystem (RTX 6000 12ba / RTX 8000 129e)", () => {
    expect(vgpuBoardFor("1e30", "129e")!.types[0]!.name).toBe("GRID RTX8000-1Q");
    expect(vgpuBoardFor("1e30", "12ba")).toMatchObject({ via: "native", subsystemId: "12ba" });
  });

  it("null when the GPU gets no types; typesForGpu agrees", () => {
    for (const [dev, sub] of [
      ["2206", "1467"], // RTX 3080: Ampere consumer, no unlock
      ["20f1", "145f"], // A100 PCIe: compute-only, C types not in the data
      ["zzzz", null],
    ] as const) {
      expect(vgpuBoardFor(dev, sub), dev).toBeNull();
      expect(typesForGpu(dev, sub)).toEqual([]);
    }
    expect(typesForGpu("1e07", "12fa")).toEqual(vgpuBoardFor("1e07", "12fa")!.types);
  });
});

describe("the simulator's own type data agrees with the knowledge base", () => {
  it("every simulated type has the knowledge row's name, size, maximum and board", () => {
    expect(simVgpuTypes().length).toBe(120);
    for (const t of simVgpuTypes()) {
      const k = findType(t.type);
      expect(k, t.type).not.toBeNull();
      expect({ name: t.name, mib: t.profileMiB, max: t.maxInstances, pgpu: t.pgpu }, t.type).toEqual({
        name: k!.name,
        mib: k!.profileMiB,
        max: k!.maxInstances,
        pgpu: k!.pgpu,
      });
      expect(simSysfsDescription(t)).toBe(sysfsDescription(k!));
    }
  });
});

describe("the simulated host offers the types of its own data", () => {
  it("seed-configured: mdevctl types = the RTX 6000 types of the data, description text included", async () => {
    const out = (await run(await openSim("seed-configured"), "mdevctl types")).stdout;
    const parsed = parseMdevctlTypes(out);
    const expected = vgpuBoardFor("1e07", "12fa")!.types;
    expect(parsed.map((p) => p.type).sort()).toEqual(expected.map((t) => t.type).sort());
    for (const p of parsed) {
      const t = findType(p.type)!;
      expect(p.name).toBe(t.name);
      expect(p.description).toBe(sysfsDescription(t));
      expect(p.framebufferMiB).toBe(t.profileMiB);
      expect(p.maxInstances).toBe(t.maxInstances);
      expect(p.availableInstances).toBe(t.maxInstances);
    }
  });

  it("seed-configured: nvidia-vgpud logs each type's vgpuConfig.xml values", async () => {
    const log = (await run(await openSim("seed-configured"), "journalctl --no-pager -u nvidia-vgpud.service"))
      .stdout;
    const body = log
      .split("\n")
      .map((l) => l.replace(/^.*nvidia-vgpud\[\d+\]: /, ""))
      .join("\n");
    // source: src/knowledge/data/vgpu-types.csv line 223 (nvidia-259 GRID RTX6000-4Q)
    expect(body).toContain(
      [
        "VGPU Type 0x103: GRID RTX6000-4Q Class: Quadro",
        "DevId: 0x10de / 0x1e30 / 0x10de / 0x1328",
        "Framebuffer: 0xec000000",
        "Framebuffer reservation: 0x14000000",
        "FRL configuration: 0x3c",
        "Number of Displays: 4",
        "Max pixels: 58982400",
        "Display: width 7680, height 4320",
        "License: QVDWS;VWS;VWSExt",
      ].join("\n"),
    );
    expect(body).toContain("DevID: 0x10de / 0x1e30 / 0x10de / 0x12ba\nSupported vGPUs count: 18\n");
  });

  /** A configured scenario with its GPU replaced (same slot, driver bound). */
  async function withGpu(scenario: string, gpu: Partial<SimGpu>): Promise<SimHost> {
    const s: SimState = (await openSim(scenario)).snapshot();
    s.gpus[0] = { ...s.gpus[0]!, ...gpu };
    return SimHost.fromState(s);
  }

  it("a native board the scenarios never used (Tesla T4) offers its types from the data", async () => {
    // p4-configured: stock 16.8 driver, unlock disabled; only the board differs
    const host = await withGpu("p4-configured", {
      deviceId: "1eb8",
      subsystemDeviceId: "12a2",
      architecture: "Turing",
    });
    const parsed = parseMdevctlTypes((await run(host, "mdevctl types")).stdout);
    expect(parsed.map((p) => p.name)).toContain("GRID T4-16Q");
    expect(parsed.map((p) => p.type).sort()).toEqual(
      typesForBoard("1eb8")
        .map((t) => t.type)
        .sort(),
    );
    const desc = await host.readFile(
      "/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types/nvidia-222/description",
    );
    expect(desc).toBe(`${sysfsDescription(findType("nvidia-222")!)}\n`);
  });

  it("an unlocked Pascal consumer card gets the Tesla P40 types its spoof target has", async () => {
    // seed-configured: patched 15.1 driver + vgpu_unlock-rs; GTX 1080 (1b80) → Tesla P40 (research/unlock.md §1.8)
    const host = await withGpu("seed-configured", {
      deviceId: "1b80",
      subsystemDeviceId: "119e",
      architecture: "Pascal",
    });
    const parsed = parseMdevctlTypes((await run(host, "mdevctl types")).stdout);
    expect(parsed.length).toBe(typesForBoard("1b38").length);
    expect(parsed.find((p) => p.type === "nvidia-46")?.name).toBe("GRID P40-1Q");
  });

  it("an unsupported card (RTX 3080, Ampere consumer) offers nothing even with the patched driver", async () => {
    const host = await withGpu("seed-configured", {
      deviceId: "2206",
      subsystemDeviceId: "1467",
      architecture: "Ampere",
    });
    expect((await run(host, "mdevctl types")).stdout).toBe("");
  });
});
