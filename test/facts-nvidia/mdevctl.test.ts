import { describe, expect, it } from "vitest";
import {
  parseMdevctlList,
  parseMdevctlListJson,
  parseMdevctlTypes,
  parseMdevDescription,
} from "../../src/facts/nvidia/mdevctl.ts";
import { crlf, fixture, garble } from "./fixture.ts";

describe("parseMdevDescription", () => {
  it("reads the sysfs dialect", () => {
    // source: seed guide line 311
    expect(
      parseMdevDescription(
        "num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24",
      ),
    ).toEqual({
      framebufferMiB: 1024,
      maxInstances: 24,
      numHeads: 4,
      maxResolution: "5120x2880",
      frlConfig: 60,
    });
  });

  it("reads the NVML dialect of PVE >= 9.1.11 (research/proxmox.md §1a)", () => {
    const d = parseMdevDescription(
      "class=Quadro\nmax-instances=24\nmax-instances-per-vm=1\nframebuffer-size=2048MiB\nnum-heads=4\nmax-resolution=7680x4320\nlicense=GRID-Virtual-WS,2.0\n",
    );
    expect(d).toEqual({
      framebufferMiB: 2048,
      maxInstances: 24,
      numHeads: 4,
      maxResolution: "7680x4320",
      frlConfig: null,
    });
  });

  it("handles G units, missing keys and empty text", () => {
    expect(parseMdevDescription("framebuffer=4G, num_heads=1").framebufferMiB).toBe(4096);
    expect(parseMdevDescription("framebuffer=4096M").maxInstances).toBeNull();
    expect(parseMdevDescription("")).toEqual({
      framebufferMiB: null,
      maxInstances: null,
      numHeads: null,
      maxResolution: null,
      frlConfig: null,
    });
    expect(parseMdevDescription("framebuffer=lots, max_instance=many").framebufferMiB).toBeNull();
  });
});

describe("parseMdevctlTypes", () => {
  it("reads a full RTX A6000 (spoofed) listing", () => {
    // source: https://github.com/akb486/vgpu README
    const types = parseMdevctlTypes(fixture("akb486-mdevctl-types.txt"));
    expect(types).toHaveLength(29);
    expect(types.every((t) => t.parent === "0000:01:00.0" && t.deviceApi === "vfio-pci")).toBe(true);
    expect(types.find((t) => t.type === "nvidia-525")).toEqual({
      parent: "0000:01:00.0",
      type: "nvidia-525",
      name: "NVIDIA RTXA6000-2Q",
      availableInstances: 23,
      deviceApi: "vfio-pci",
      framebufferMiB: 2048,
      maxInstances: 24,
      numHeads: 4,
      maxResolution: "7680x4320",
      frlConfig: 60,
      description: "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=24",
    });
    expect(types.find((t) => t.type === "nvidia-522")).toMatchObject({
      availableInstances: 0,
      maxInstances: 32,
    });
  });

  it("reads the unlocked RTX 2060 listing with a prompt and elisions", () => {
    // source: https://github.com/VGPU-Community-Drivers/vGPU-Unlock-patcher/issues/1
    const types = parseMdevctlTypes(fixture("patcher-issue1-mdevctl-types.txt"));
    expect(types.map((t) => [t.type, t.name, t.framebufferMiB, t.availableInstances])).toEqual([
      ["nvidia-256", "GRID RTX6000-1Q", 1024, 24],
      ["nvidia-257", "GRID RTX6000-2Q", 2048, 12],
      ["nvidia-331", "GRID RTX2070-1", 1024, 1],
      ["nvidia-332", "GRID RTX2070-2", 2048, 1],
    ]);
  });

  it("reads a P40 listing cut off mid-line", () => {
    // source: https://github.com/mdevctl/mdevctl/issues/115
    const types = parseMdevctlTypes(fixture("mdevctl-issue115-types.txt"));
    expect(types).toHaveLength(7);
    expect(types[0]).toMatchObject({
      parent: "0000:02:00.0",
      type: "nvidia-156",
      name: "GRID P40-2B",
      frlConfig: 45,
    });
    expect(types[6]).toMatchObject({ type: "nvidia-286", framebufferMiB: 12288, maxInstances: null });
  });

  it("reads several parents and types without Description (mdevctl test data)", () => {
    // source: mdevctl/mdevctl tests/types/default/full.text
    const types = parseMdevctlTypes(fixture("mdevctl-testdata-types-full.txt"));
    expect(types.map((t) => `${t.parent} ${t.type}`)).toEqual([
      "0.0.26ab vfio_ccw-io",
      "0000:00:02.0 mdev_type1",
      "0000:00:02.0 mdev_type2",
      "0000:00:02.0 mdev_type3",
      "0000:00:03.0 nvidia-155",
      "0000:00:03.0 nvidia-36",
    ]);
    expect(types[4]).toMatchObject({
      name: "GRID M10-2B",
      description: null,
      framebufferMiB: null,
      availableInstances: 4,
    });
  });

  it("skips blocks whose parent/type lines were lost (seed guide rendering)", () => {
    // source: seed guide lines 308-319
    expect(parseMdevctlTypes(fixture("seed-mdevctl-types.txt"))).toEqual([]);
  });

  it("survives CRLF, empty output and garbage", () => {
    expect(parseMdevctlTypes(crlf(fixture("patcher-issue1-mdevctl-types.txt")))).toHaveLength(4);
    expect(parseMdevctlTypes("")).toEqual([]);
    for (const g of garble(fixture("akb486-mdevctl-types.txt")))
      expect(() => parseMdevctlTypes(g)).not.toThrow();
  });
});

describe("parseMdevctlList", () => {
  it("reads the active listing (PVE-created mdev)", () => {
    const list = parseMdevctlList("00000000-0000-0000-0000-000000000101 0000:01:00.0 nvidia-525 manual\n");
    expect(list).toEqual([
      {
        uuid: "00000000-0000-0000-0000-000000000101",
        parent: "0000:01:00.0",
        type: "nvidia-525",
        start: "manual",
        active: true,
      },
    ]);
  });

  it("reads the defined listing, with and without -v", () => {
    // source: mdevctl/mdevctl tests/list/default/defined.text and defined-verbose.text
    const plain = parseMdevctlList(fixture("mdevctl-testdata-list-defined.txt"), { listing: "defined" });
    expect(plain.map((d) => [d.uuid.slice(0, 8), d.parent, d.type, d.start, d.active])).toEqual([
      ["4a0a190f", "0000:00:02.0", "i915-GVTg_V5_8", "auto", false],
      ["9f579710", "0000:00:02.0", "vfio_ap-passthrough", "manual", false],
      ["9f579710", "0000:00:03.0", "vfio_ap-passthrough", "manual", false],
    ]);
    const verbose = parseMdevctlList(fixture("mdevctl-testdata-list-defined-verbose.txt"), {
      listing: "defined",
    });
    expect(verbose).toHaveLength(3);
  });

  it("understands the (defined)/(active) suffixes and upper-case UUIDs", () => {
    const text =
      "AB3C9E4A-1111-2222-3333-444455556666 0000:01:00.0 nvidia-259 auto (defined)\n" +
      "00000000-0000-0000-0000-000000000100 0000:01:00.0 nvidia-259 manual\n";
    expect(parseMdevctlList(text).map((d) => [d.uuid, d.active])).toEqual([
      ["ab3c9e4a-1111-2222-3333-444455556666", true],
      ["00000000-0000-0000-0000-000000000100", true],
    ]);
    const defined = parseMdevctlList(text.replace("(defined)", "(active)"), { listing: "defined" });
    expect(defined.map((d) => d.active)).toEqual([true, false]);
  });

  it("never throws on garbage", () => {
    expect(parseMdevctlList("")).toEqual([]);
    for (const g of garble(fixture("mdevctl-testdata-list-defined-verbose.txt")))
      expect(() => parseMdevctlList(g)).not.toThrow();
  });
});

describe("parseMdevctlListJson", () => {
  it("reads the array-of-parents form", () => {
    // source: mdevctl/mdevctl tests/list/default/defined.json
    const list = parseMdevctlListJson(fixture("mdevctl-testdata-list-defined.json"), { listing: "defined" });
    expect(list).toEqual([
      {
        uuid: "4a0a190f-dcf3-4def-9342-c48768f0c940",
        parent: "0000:00:02.0",
        type: "i915-GVTg_V5_8",
        start: "auto",
        active: null,
      },
      {
        uuid: "9f579710-6ffc-4201-987a-4ffa0fb1f3a5",
        parent: "0000:00:02.0",
        type: "vfio_ap-passthrough",
        start: "manual",
        active: null,
      },
      {
        uuid: "9f579710-6ffc-4201-987a-4ffa0fb1f3a5",
        parent: "0000:00:03.0",
        type: "vfio_ap-passthrough",
        start: "manual",
        active: null,
      },
    ]);
  });

  it("reads an object keyed by parent, [] and a bare config object", () => {
    const obj =
      '{"0000:01:00.0":[{"00000000-0000-0000-0000-000000000100":{"mdev_type":"nvidia-259","start":"manual"}}]}';
    expect(parseMdevctlListJson(obj)).toEqual([
      {
        uuid: "00000000-0000-0000-0000-000000000100",
        parent: "0000:01:00.0",
        type: "nvidia-259",
        start: "manual",
        active: true,
      },
    ]);
    expect(parseMdevctlListJson("[]\n")).toEqual([]);
    // source: mdevctl/mdevctl tests/list/default/active-uuid-verbose.json (no uuid/parent in it)
    expect(parseMdevctlListJson(fixture("mdevctl-testdata-list-active-uuid-verbose.json"))).toBeNull();
  });

  it("returns null on unreadable JSON, never throws", () => {
    expect(parseMdevctlListJson("[{")).toBeNull();
    expect(parseMdevctlListJson("42")).toBeNull();
    expect(parseMdevctlListJson('[{"p":[{"u":{"mdev_type":1}}, 5, null]}]')).toEqual([]);
    for (const g of garble(fixture("mdevctl-testdata-list-defined.json")))
      expect(() => parseMdevctlListJson(g)).not.toThrow();
  });
});
