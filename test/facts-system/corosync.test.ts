import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCorosyncConf } from "../../src/facts/system/corosync.ts";

const fixture = (f: string) => readFileSync(join(import.meta.dirname, "../fixtures/facts-system", f), "utf8");

describe("parseCorosyncConf (/etc/pve/corosync.conf)", () => {
  it("reads the cluster name and the node names of pve-docs' example", () => {
    expect(parseCorosyncConf(fixture("corosync-testcluster.conf"))).toEqual({
      name: "testcluster",
      nodes: ["due", "tre", "uno"],
    });
  });

  it("no file, or no totem cluster_name: not a cluster (null)", () => {
    expect(parseCorosyncConf(null)).toBeNull();
    expect(parseCorosyncConf("logging {\n  debug: off\n}\n")).toBeNull();
  });
});
