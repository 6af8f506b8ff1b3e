import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUNDLED_CLI, REPO, runCli, tempSimDir } from "../helpers/cli.ts";

describe("vgpuctl inspect (built CLI against sim hosts)", () => {
  const env = { VGPUCTL_SIM_DIR: tempSimDir() };

  it("demo prints the DESIGN.md inspect shape", () => {
    const r = runCli(["inspect", "--host", "demo", "--json"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = r.json();
    for (const k of [
      "host",
      "pve",
      "kernel",
      "bootloader",
      "cpuVendor",
      "iommu",
      "secureBoot",
      "driver",
      "unlock",
      "gpus",
      "vms",
    ])
      expect(j).toHaveProperty(k);
    expect(j.gpus[0]).toMatchObject({ address: "0000:01:00.0", vendorId: "10de", deviceId: "1e07" });
  });

  it("seed-fresh: the RTX 2080 Ti can do vGPU through vgpu_unlock, presented as a Quadro RTX 6000", () => {
    const j = runCli(["inspect", "--host", "sim:seed-fresh", "--json"], env).json();
    expect(j.pve.version).toMatch(/^7\.4/);
    expect(j.kernel.release).toMatch(/^5\.15\./);
    expect(j.bootloader).toBe("grub");
    expect(j.cpuVendor).toBe("intel");
    expect(j.driver).toBeNull();
    const gpu = j.gpus.find((g: any) => g.deviceId === "1e07");
    expect(gpu.support).toBe("unlock");
    expect(gpu.spoofAs.name).toMatch(/Quadro RTX 6000/);
    expect(gpu.driverInUse).toBe("nouveau");
    expect(gpu.mdevTypes).toEqual([]);
  });

  it("seed-configured: the RTX6000 types with the seed's framebuffers and instance counts", () => {
    const j = runCli(["inspect", "--host", "sim:seed-configured", "--json"], env).json();
    expect(j.driver).toMatchObject({ version: "525.85.07", vgpuRelease: "15.1", flavour: "proprietary" });
    expect(j.unlock).toMatchObject({ installed: true, enabled: true });
    expect(j.iommu.enabled).toBe(true);
    const types = j.gpus[0].mdevTypes;
    const byName = Object.fromEntries(types.map((t: any) => [t.name, t]));
    expect(byName["GRID RTX6000-1Q"]).toMatchObject({
      framebufferMiB: 1024,
      maxInstances: 24,
      availableInstances: 24,
    });
    expect(byName["GRID RTX6000-2Q"]).toMatchObject({ framebufferMiB: 2048, maxInstances: 12 });
    expect(byName["GRID RTX6000-3Q"]).toMatchObject({ framebufferMiB: 3072, maxInstances: 8 });
    expect(j.vms.map((v: any) => v.vmid)).toEqual([100, 101]);
    expect(j.vms.every((v: any) => v.hostpci.length === 0)).toBe(true);
  });

  it("p4-fresh: AMD, systemd-boot, Tesla P4 natively supported", () => {
    const j = runCli(["inspect", "--host", "sim:p4-fresh", "--json"], env).json();
    expect(j.cpuVendor).toBe("amd");
    expect(j.bootloader).toBe("systemd-boot");
    expect(j.gpus[0]).toMatchObject({ deviceId: "1bb3", support: "native", spoofAs: null });
  });

  it("rtx3080: not supported, with the reason", () => {
    const j = runCli(["inspect", "--host", "sim:rtx3080", "--json"], env).json();
    expect(j.gpus[0].support).toBe("unsupported");
    expect(j.gpus[0].supportReason).toMatch(/Ampere/i);
  });

  it("human output is a readable table without colour when piped", () => {
    const r = runCli(["inspect", "--host", "demo"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("GPU 0000:01:00.0");
    expect(r.stdout).toContain("GRID RTX6000-1Q");
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });
});

describe("bad input exits 2 with one clear line", () => {
  it.each([
    [["inspect", "--host", "ftp://x"], /malformed --host/],
    [["inspect", "--host", "ssh://root@host:99999"], /port 99999/],
    [["inspect", "--host", "sim:no-such-scenario"], /no-such-scenario/],
    [["inspect", "--host", "bundle:/nonexistent/x.tar.gz"], /\/nonexistent\/x\.tar\.gz/],
  ])("%j", (args, msg) => {
    const r = runCli(args, { VGPUCTL_SIM_DIR: tempSimDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe("");
  });
});

describe("output into a closed pipe", () => {
  it("`vgpuctl inspect | true` (reader gone before the first write) ends quietly with status 0", () => {
    // `true` exits at once, long before node has started, so every write meets a closed pipe.
    const r = spawnSync(
      "bash",
      ["-c", `set -o pipefail; "${process.execPath}" "${BUNDLED_CLI}" inspect --host demo | true`],
      {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", VGPUCTL_SIM_DIR: tempSimDir() },
      },
    );
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(r.status).toBe(0);
  });

  it("`vgpuctl --version | true` through bin/vgpuctl.js (its own short write) ends quietly with status 0", () => {
    const bin = join(REPO, "bin", "vgpuctl.js");
    const r = spawnSync("bash", ["-c", `set -o pipefail; "${process.execPath}" "${bin}" --version | true`], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "" },
    });
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(r.status).toBe(0);
  });
});
