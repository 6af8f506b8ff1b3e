import { describe, expect, it } from "vitest";
import {
  detectEra,
  normalizeFingerprint,
  normalizeMdevTypes,
  parseMapEntry,
  parsePermissionMessage,
  parseUpid,
} from "../../src/pve/index.ts";

describe("parseUpid", () => {
  it("parses a task id with a token user", () => {
    // source: research/proxmox.md §1f (UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:)
    expect(parseUpid("UPID:pve1:000035F2:0001A2B3:6650A1B2:qmstart:100:root@pam!vgpuctl:")).toEqual({
      upid: "UPID:pve1:000035F2:0001A2B3:6650A1B2:qmstart:100:root@pam!vgpuctl:",
      node: "pve1",
      pid: 0x35f2,
      pstart: 0x1a2b3,
      starttime: 0x6650a1b2,
      type: "qmstart",
      id: "100",
      user: "root@pam!vgpuctl",
      tokenid: "vgpuctl",
    });
  });

  it("accepts an empty id and a 9-digit pstart", () => {
    expect(parseUpid("UPID:pve-2:0000ABCD:1A2B3C4D5:6650A1B2:aptupdate::root@pam:")).toMatchObject({
      id: "",
      tokenid: null,
      pstart: 0x1a2b3c4d5,
    });
  });

  it.each([
    "",
    "UPID:pve1:35F2:0001A2B3:6650A1B2:qmstart:100:root@pam:",
    "UPID:pve1:000035F2:0001A2B3:6650A1B2:qmstart:100:root@pam",
    "hello",
  ])("returns null for %j", (s) => {
    expect(parseUpid(s)).toBeNull();
  });
});

describe("parsePermissionMessage", () => {
  it("splits path and privileges", () => {
    expect(parsePermissionMessage("Permission check failed (/vms/100, VM.Config.HW)\n")).toEqual({
      aclPath: "/vms/100",
      privileges: ["VM.Config.HW"],
    });
    expect(parsePermissionMessage("Permission check failed (/, Sys.Audit|Sys.Modify)")).toEqual({
      aclPath: "/",
      privileges: ["Sys.Audit", "Sys.Modify"],
    });
    expect(parsePermissionMessage("Permission check failed")).toEqual({ aclPath: null, privileges: [] });
  });
});

describe("normalizeFingerprint", () => {
  it("normalises spelling", () => {
    const hex = "ab".repeat(32);
    expect(normalizeFingerprint(hex)).toBe(Array(32).fill("AB").join(":"));
    expect(normalizeFingerprint(`sha256=${hex}`)).toBe(Array(32).fill("AB").join(":"));
    expect(() => normalizeFingerprint("AB:CD")).toThrow();
  });
});

describe("mdev listing dialects", () => {
  it("detects the era from the description", () => {
    expect(
      detectEra("num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=7680x4320, max_instance=12\n"),
    ).toBe("mdev-sysfs");
    expect(detectEra("")).toBe("nvidia-vfio");
    expect(detectEra("class=Quadro\nmax-instances=32\nframebuffer-size=1024MiB")).toBe("nvml");
  });

  it("never throws on garbage", () => {
    expect(normalizeMdevTypes(null)).toEqual([]);
    expect(normalizeMdevTypes([null, 5, { type: 7 }, { type: "x", description: 3 }])).toMatchObject([
      { type: "x", typeId: null, era: "nvidia-vfio" },
    ]);
  });
});

describe("parseMapEntry", () => {
  it("parses a map property string with several paths", () => {
    // source: research/proxmox.md §1c map entry format
    expect(parseMapEntry("node=pve1,path=0000:41:00.4;0000:41:00.5,id=10de:26b9,iommugroup=75")).toEqual({
      node: "pve1",
      path: "0000:41:00.4;0000:41:00.5",
      id: "10de:26b9",
      subsystemId: null,
      iommugroup: 75,
      description: null,
    });
  });
});
