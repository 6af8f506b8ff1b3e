import { describe, expect, it } from "vitest";
import { parseMokutilTestKey } from "../../../src/facts/system/mokutil.ts";
import { parseZpoolGet } from "../../../src/facts/system/zpool.ts";
import { featuresTooNewFor, zfsOfKernel } from "../../../src/knowledge/kernel-zfs.ts";
import { secureBootPass, withSigningKey } from "../../../src/plan/passes/secure-boot.ts";
import { exampleEntry, ids, scenarioContext } from "./context.ts";

const p4 = exampleEntry("p4-host.yaml");

describe("Secure Boot (passes/secure-boot.ts)", () => {
  it("sets mok_signing_key / mok_certificate in place of Debian's commented defaults, once", () => {
    const stock = '# mok_signing_key="/var/lib/dkms/mok.key"\n# mok_certificate="/var/lib/dkms/mok.pub"\n';
    const once = withSigningKey(stock);
    expect(once).toBe('mok_signing_key="/var/lib/dkms/mok.key"\nmok_certificate="/var/lib/dkms/mok.pub"\n');
    expect(withSigningKey(once)).toBe(once);
    expect(withSigningKey("")).toBe(once);
  });

  it("secure-boot-on: key, DKMS signing, signed rebuild, mokutil --import reading the password on stdin", async () => {
    const ctx = await scenarioContext("secure-boot-on", p4);
    const r = secureBootPass(ctx);
    expect(ids(r)).toEqual(["secure-boot-key", "dkms-signing", "driver-sign", "mok-import"]);
    const imp = r.steps.at(-1)!;
    expect(imp.changes).toEqual([
      {
        kind: "command",
        argv: ["mokutil", "--import", "/var/lib/dkms/mok.pub"],
        stdinSecret: "mok-password",
      },
    ]);
    expect(imp.reboot).toBe(true);
  });

  it("reuses an enrolled key: no key step, no import; nothing at all once the signed driver is loaded", async () => {
    const ctx = await scenarioContext("secure-boot-on", p4);
    const enrolled = { ...ctx, facts: { ...ctx.facts, mokKey: "enrolled" as const } };
    expect(ids(secureBootPass(enrolled))).toEqual(["dkms-signing", "driver-sign"]);
    const loaded = await scenarioContext("p4-configured", p4);
    expect(ids(secureBootPass({ ...loaded, facts: { ...loaded.facts, secureBoot: true } }))).toEqual([]);
  });
});

describe("parsers and knowledge behind it", () => {
  // lcp/mokutil test_key's messages; a missing file: "Failed to open …" on stderr, failing exit status
  it("mokutil --test-key", () => {
    expect(parseMokutilTestKey("/var/lib/dkms/mok.pub is already enrolled\n", 1)).toBe("enrolled");
    expect(parseMokutilTestKey("/var/lib/dkms/mok.pub is not enrolled\n", 0)).toBe("not-enrolled");
    expect(parseMokutilTestKey("/var/lib/dkms/mok.pub is already in the enrollment request\n", 1)).toBe(
      "pending",
    );
    expect(parseMokutilTestKey("", 255)).toBe("absent");
    expect(parseMokutilTestKey("", 127)).toBeNull();
  });

  // zpool-get(8) -H: pool<TAB>property<TAB>value
  it("zpool get -H -o name,property,value all: the feature@ states per pool", () => {
    const text =
      "rpool\tsize\t928G\nrpool\tfeature@async_destroy\tenabled\nrpool\tfeature@fast_dedup\tactive\n";
    expect(parseZpoolGet(text)).toEqual({ rpool: { async_destroy: "enabled", fast_dedup: "active" } });
    expect(parseZpoolGet("")).toEqual({});
  });

  it("a kernel's ZFS and the active features it cannot import", () => {
    expect([zfsOfKernel("5.15.102-1-pve"), zfsOfKernel("6.8.12-4-pve"), zfsOfKernel("6.14.0-2-pve")]).toEqual(
      ["2.1", "2.2", "2.3"],
    );
    const f = { head_errlog: "active", fast_dedup: "active", longname: "enabled" };
    expect(featuresTooNewFor("6.8.12-4-pve", f)).toEqual([{ feature: "fast_dedup", zfs: "2.3" }]);
    expect(featuresTooNewFor("5.15.102-1-pve", f).map((x) => x.feature)).toEqual([
      "head_errlog",
      "fast_dedup",
    ]);
    expect(featuresTooNewFor("6.14.0-2-pve", f)).toEqual([]);
  });
});
