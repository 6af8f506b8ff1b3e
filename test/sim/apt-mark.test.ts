// The simulated apt-mark behaves like apt's (cmdline/apt-mark.cc DoAuto / ShowAuto messages), and
// autoremove then takes what only auto packages needed.
import { describe, expect, it } from "vitest";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";

describe("sim apt-mark", () => {
  it("auto / already auto / not installed / unknown, then autoremove takes the orphans", async () => {
    const host = SimHost.fromState(buildScenarioState("seed-configured"));
    const installed = Object.keys(host.snapshot().packages);
    expect(installed).toContain("build-essential");
    let r = await host.exec(["apt-mark", "auto", "build-essential", "cargo"]);
    expect(r).toMatchObject({
      exitCode: 0,
      stdout:
        "build-essential set to automatically installed.\ncargo can not be marked as it is not installed.\n",
    });
    r = await host.exec(["apt-mark", "auto", "build-essential"]);
    expect(r.stdout).toBe("build-essential was already set to automatically installed.\n");
    expect((await host.exec(["apt-mark", "showauto", "build-essential"])).stdout).toBe("build-essential\n");
    r = await host.exec(["apt-mark", "auto", "no-such-package"]);
    expect(r).toMatchObject({ exitCode: 100, stderr: "E: Unable to locate package no-such-package\n" });
    r = await host.exec(["apt-get", "autoremove", "-y"]);
    expect(r.exitCode).toBe(0);
    expect(host.snapshot().packages).not.toHaveProperty("build-essential");
  });
});
