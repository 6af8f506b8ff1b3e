import { Command } from "@commander-js/extra-typings";
import { describe, expect, it } from "vitest";
import { registerCatalog } from "../../src/cli/commands/catalog.ts";
import type { CliContext } from "../../src/cli/context.ts";
import { colorsFor } from "../../src/cli/output.ts";
import { catalogDrivers, catalogGpu, catalogVram } from "../../src/commands/catalog.ts";
import { driverReleases } from "../../src/knowledge/drivers.ts";
import { UserError } from "../../src/util/errors.ts";

const DRIVER_RELEASES = driverReleases();

describe("catalog commands (pure)", () => {
  it("catalogGpu 1e07: unlock as Quadro RTX 6000 with its types", () => {
    // source: research/unlock.md §1.8; seed guide mdevctl types (GRID RTX6000-1Q max_instance=24)
    const r = catalogGpu("1e07");
    expect(r).toMatchObject({ support: "unlock", spoofAs: { deviceId: "1e30", name: "Quadro RTX 6000" } });
    expect(r.types.find((t) => t.type === "nvidia-256")).toMatchObject({
      name: "GRID RTX6000-1Q",
      framebufferMiB: 1024,
      maxInstances: 24,
    });
    expect(r.driverReleases).toContain("15.1");
    expect(r.driverReleases).not.toContain("16.12"); // no unlock patch
    expect(r.driverReleases).not.toContain("20.0"); // RTX 6000 profiles end with 19.x
  });

  it("catalogGpu for a Tesla P4 lists only 16.x and older releases", () => {
    const r = catalogGpu("1bb3");
    expect(r.support).toBe("native");
    expect(r.driverReleases.every((v) => Number.parseInt(v, 10) <= 16)).toBe(true);
    expect(r.driverReleases).toContain("16.12");
  });

  it("catalogGpu refuses unknown or malformed ids with a hint", () => {
    expect(() => catalogGpu("ffff")).toThrow(UserError);
    expect(() => catalogGpu("ffff")).toThrow(/unknown device id 10de:ffff/);
    let error: unknown = null;
    try {
      catalogGpu("zz");
    } catch (e) {
      error = e;
    }
    expect((error as UserError).hint).toMatch(/lspci -nn/);
    expect(() => catalogGpu("1e30", { subsystemId: "x" })).toThrow(UserError);
  });

  it("catalogDrivers with and without a kernel", () => {
    expect(catalogDrivers().releases.length).toBe(DRIVER_RELEASES.length);
    const k = catalogDrivers({ kernel: "6.8.12-4-pve" });
    expect(k.releases.every((r) => r.kernelOk === true)).toBe(true);
    expect(k.releases.map((r) => r.vgpuRelease)).toContain("17.1");
    expect(k.releases.map((r) => r.vgpuRelease)).not.toContain("15.1");
    expect(k.unknown).toContain("16.12");
    const u = catalogDrivers({ kernel: "5.15.102-1-pve", unlock: true });
    expect(u.releases.every((r) => r.patch !== null)).toBe(true);
    expect(() => catalogDrivers({ kernel: "linux" })).toThrow(UserError);
  });

  it("catalogVram", () => {
    // source: seed guide "3GB: framebuffer = 0xB0000000 / framebuffer_reservation = 0x10000000"
    expect(catalogVram("3G")).toMatchObject({
      vramMiB: 3072,
      framebufferHex: "0xB0000000",
      reservationHex: "0x10000000",
      overrideLines: ["framebuffer = 0xB0000000", "framebuffer_reservation = 0x10000000"],
    });
    expect(() => catalogVram("3GG")).toThrow(UserError);
  });
});

/** Drive the registrar on its own program, so these tests need no other command module. */
async function run(args: string[]): Promise<{ out: string; error: unknown }> {
  let out = "";
  const ctx = {
    out: (s: string) => {
      out += s;
    },
    err: () => {},
    env: {},
    colors: colorsFor({ isTTY: false }, {}, false),
    cwd: "/",
    openHost: () => Promise.reject(new Error("catalog must not open a host")),
  } as unknown as CliContext;
  const program = new Command().option("--json").exitOverride();
  registerCatalog(program as unknown as Parameters<typeof registerCatalog>[0], ctx, () => {});
  try {
    await program.parseAsync(["node", "vgpuctl", ...args]);
    return { out, error: null };
  } catch (error) {
    return { out, error };
  }
}

describe("catalog CLI registrar", () => {
  it("gpu 1e07 --json prints the classification and types", async () => {
    const { out, error } = await run(["catalog", "gpu", "1e07", "--json"]);
    expect(error).toBeNull();
    const j = JSON.parse(out);
    expect(j).toMatchObject({
      deviceId: "1e07",
      support: "unlock",
      spoofAs: { deviceId: "1e30" },
      needsSriov: false,
    });
    expect(j.types.length).toBe(18);
  });

  it("gpu 1e07 as text shows support, spoof target and a types table", async () => {
    const { out } = await run(["catalog", "gpu", "1e07"]);
    expect(out).toMatch(/vGPU via vgpu_unlock/);
    expect(out).toMatch(/Quadro RTX 6000 \[10de:1e30 subsystem 12ba\]/);
    expect(out).toMatch(/nvidia-259\s+GRID RTX6000-4Q\s+4 GiB\s+6/);
  });

  it("drivers --kernel filters and prints caveats", async () => {
    const { out } = await run(["catalog", "drivers", "--kernel", "5.15.102-1-pve"]);
    expect(out).toMatch(/15\.1\s+525\.85\.07\s+5\.14 – 6\.0\s+7\s+525\.85\.07\.patch/);
    expect(out).toMatch(/restarting VMs/);
    expect(out).not.toMatch(/^\s+17\.1\s/m);
  });

  it("vram 48G shows NVIDIA's values and the lines to paste", async () => {
    const { out } = await run(["catalog", "vram", "48G"]);
    expect(out).toMatch(/framebuffer = 0xB2D200000/);
    expect(out).toMatch(/framebuffer_reservation = 0xD2E00000/);
  });

  it("unknown id and bad size raise UserError", async () => {
    expect((await run(["catalog", "gpu", "ffff"])).error).toBeInstanceOf(UserError);
    expect((await run(["catalog", "vram", "0"])).error).toBeInstanceOf(UserError);
  });
});
