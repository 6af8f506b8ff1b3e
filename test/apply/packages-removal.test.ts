// Issue 13 item 10: what uninstall's package removal asks apt and removes (src/apply/packages.ts), over
// `apt-get -s autoremove` output in apt's simulation format ("Remv NAME [VERSION]", apt-pkg/algorithms.cc
// pkgSimulate; the sample lines are the simulator's rendering, src/hosts/sim/packages.ts aptAutoremove).
import { describe, expect, it } from "vitest";
import { removeUnneeded, simulatedRemovals } from "../../src/apply/packages.ts";

const ok = (stdout = "") => ({ stdout, stderr: "", exitCode: 0 });

describe("removeUnneeded", () => {
  it("removes ours that apt calls unneeded, leaves other orphans, re-marks kept ones manual", async () => {
    const ran: string[][] = [];
    const run = async (argv: string[]) => {
      ran.push(argv);
      if (argv[0] === "dpkg-query")
        return ok("dkms\t3.2.2-1\ngcc\t4:14.2.0-1\ncargo\t1.85.0\nmake\t4.4.1-2\n");
      if (argv.join(" ") === "apt-get -s autoremove")
        return ok("Reading package lists...\nRemv cargo [1.85.0]\nRemv gcc:amd64 [4:14.2.0-1]\n");
      return ok();
    };
    const d = await removeUnneeded(run, ["dkms", "gcc", "make", "patch"], ["dkms"]);
    expect(d).toEqual({ remove: ["gcc"], keep: ["dkms", "make"] });
    expect(ran.map((a) => a.join(" "))).toEqual([
      "dpkg-query -W",
      "apt-mark auto dkms",
      "apt-get -s autoremove",
      "apt-get remove -y gcc",
      "apt-mark manual dkms",
    ]);
  });

  it("runs nothing but the dpkg query when none of ours is installed any more", async () => {
    const ran: string[][] = [];
    const run = async (argv: string[]) => {
      ran.push(argv);
      return ok("cargo\t1.85.0\n");
    };
    const d = await removeUnneeded(run, ["gcc"], ["gcc"]);
    expect(d).toEqual({ remove: [], keep: [] });
    expect(ran).toEqual([["dpkg-query", "-W"]]);
  });

  it("reads Remv and Purg lines only", () => {
    expect([
      ...simulatedRemovals("The following packages will be REMOVED:\n  gcc\nRemv gcc [1]\nPurg make [2]\n"),
    ]).toEqual(["gcc", "make"]);
  });
});
