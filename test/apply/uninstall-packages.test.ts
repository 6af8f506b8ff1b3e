// Issue 13 item 10: uninstall leaves the host as apply found it — the NVIDIA installer's logs go, and the
// packages apply installed are marked automatic and autoremoved with what they pulled in (gcc, g++, make,
// dpkg-dev, patch), except what something else still needs. The simulator decides from its own package
// data (src/hosts/sim/packages.ts: dependencies, auto marks, apt-mark, autoremove).
import { describe, expect, it } from "vitest";
import { applyHost, uninstallHost } from "../../src/apply/run.ts";
import { exampleEntry, simWithDeps } from "../helpers/seed-sim.ts";

const ENTRY = await exampleEntry();
const PULLED_IN = ["gcc", "g++", "make", "dpkg-dev", "patch"];

describe("uninstall removes what apply brought", () => {
  it("the installer logs and the build-essential / dkms dependencies are gone; untouched packages stay", async () => {
    const { host, deps } = simWithDeps();
    const before = { ...host.snapshot().packages };
    await applyHost(ENTRY, deps, { reboot: true });
    expect(await host.readFile("/var/log/nvidia-installer.log")).not.toBeNull();
    for (const p of PULLED_IN) expect(host.snapshot().packages, p).toHaveProperty(p);
    await uninstallHost(deps, { reboot: true });
    expect(await host.readFile("/var/log/nvidia-installer.log")).toBeNull();
    expect(await host.readFile("/var/log/nvidia-uninstall.log")).toBeNull();
    expect(host.snapshot().packages).toEqual(before);
  });

  it("a pulled-in package the user has since installed on purpose stays, with what it needs", async () => {
    const { host, deps } = simWithDeps();
    await applyHost(ENTRY, deps, { reboot: true });
    expect((await host.exec(["apt-get", "install", "-y", "dpkg-dev"])).exitCode).toBe(0); // now manual
    await uninstallHost(deps, { reboot: true });
    const pkgs = host.snapshot().packages;
    for (const p of ["dpkg-dev", "make", "patch"]) expect(pkgs, p).toHaveProperty(p);
    for (const p of ["gcc", "g++", "build-essential", "dkms"]) expect(pkgs, p).not.toHaveProperty(p);
  });
});
