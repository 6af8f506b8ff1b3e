import { describe, expect, it } from "vitest";
import { parseProxmoxBootToolStatus } from "../../src/facts/system/boot-tool.ts";
import { cmdlineValue, splitCmdline } from "../../src/facts/system/cmdline.ts";
import { parseDkmsStatus } from "../../src/facts/system/dkms.ts";
import { parseDmesg } from "../../src/facts/system/dmesg.ts";
import { parseDpkgQueryW } from "../../src/facts/system/dpkg.ts";
import { parseGrubDefaults } from "../../src/facts/system/grub.ts";
import { journalMessages } from "../../src/facts/system/journal.ts";
import { cpuVendorFromLscpu } from "../../src/facts/system/lscpu.ts";
import { parseLsmod } from "../../src/facts/system/lsmod.ts";
import { parseLspciDnnk } from "../../src/facts/system/lspci.ts";
import { parseModprobeFile, parseModulesLoad } from "../../src/facts/system/modules.ts";
import { parseMokutilSbState } from "../../src/facts/system/mokutil.ts";
import { parsePciMappingCfg } from "../../src/facts/system/pci-mapping.ts";
import { parsePveversion } from "../../src/facts/system/pveversion.ts";
import { parseVmConfig } from "../../src/facts/system/qemu-server.ts";
import { parseQmList } from "../../src/facts/system/qm.ts";
import { parseSystemctlIsActive } from "../../src/facts/system/systemctl.ts";
import { parseDropin } from "../../src/facts/system/systemd.ts";
import { parseUnameA, parseUnameR } from "../../src/facts/system/uname.ts";

/** Deterministic pseudo-random text with the characters parsers care about. */
function garbage(seed: number, length: number): string {
  const alphabet = "abcXYZ019 :,./\\-_=[]()\"'#;\t\n\r$\u00e9\u0000{}|<>*";
  let x = seed >>> 0 || 1;
  let out = "";
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += alphabet[(x >>> 0) % alphabet.length];
  }
  return out;
}

const parsers: Record<string, (t: string) => unknown> = {
  uname: parseUnameA,
  unameR: parseUnameR,
  pveversion: parsePveversion,
  cmdline: (t) => cmdlineValue(splitCmdline(t), "iommu"),
  grub: (t) => parseGrubDefaults(t, [t]),
  bootTool: parseProxmoxBootToolStatus,
  dmesg: parseDmesg,
  lspci: parseLspciDnnk,
  lsmod: parseLsmod,
  lscpu: cpuVendorFromLscpu,
  dkms: parseDkmsStatus,
  mokutil: parseMokutilSbState,
  dpkg: parseDpkgQueryW,
  modulesLoad: (t) => parseModulesLoad("/etc/modules", t),
  modprobe: (t) => parseModprobeFile("/etc/modprobe.d/x.conf", t),
  dropin: (t) => parseDropin("u.service", "/p", t),
  vm: (t) => parseVmConfig(100, t),
  pciMapping: parsePciMappingCfg,
  qm: parseQmList,
  systemctl: (t) => parseSystemctlIsActive(["a.service"], t),
  journal: journalMessages,
};

const inputs = [
  "",
  "\n\n\n",
  "garbage text that is not any format at all",
  'unterminated "quote and \\',
  "[PENDING]\n[\n]\nhostpci: \nhostpciX: ,,,=\n",
  ...Array.from({ length: 40 }, (_, i) => garbage(i + 1, 50 + i * 37)),
  "x".repeat(200_000),
  ":".repeat(5000),
];

describe("garbled input never throws", () => {
  for (const [name, parse] of Object.entries(parsers)) {
    it(name, () => {
      for (const input of inputs)
        expect(() => parse(input), JSON.stringify(input.slice(0, 80))).not.toThrow();
    });
  }

  it("non-string input (a bug elsewhere) does not throw either", () => {
    for (const parse of Object.values(parsers))
      expect(() => parse(undefined as unknown as string)).not.toThrow();
  });

  it("empty input gives empty / null results", () => {
    expect(parseUnameA("")).toBeNull();
    expect(parsePveversion("")).toBeNull();
    expect(parseProxmoxBootToolStatus("")).toBeNull();
    expect(parseLspciDnnk("")).toEqual([]);
    expect(parseDkmsStatus("")).toEqual([]);
    expect(parseMokutilSbState("")).toBeNull();
    expect(parseDmesg("").lines).toEqual([]);
    expect(parseGrubDefaults("", [])).toEqual({
      vars: {},
      cmdlineLinuxDefault: [],
      cmdlineLinux: [],
      cmdlineLinuxDefaultLine: null,
    });
    expect(parseVmConfig(1, "").hostpci).toEqual([]);
  });

  it("random text yields no invented devices or VMs", () => {
    for (let i = 1; i <= 40; i++) {
      const t = garbage(i, 400);
      expect(parseLspciDnnk(t)).toEqual([]);
      expect(parseQmList(t)).toEqual([]);
      expect(parsePveversion(t)).toBeNull();
    }
  });
});
