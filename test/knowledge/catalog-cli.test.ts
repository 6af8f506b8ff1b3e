// End-to-end through the real CLI entry (src/cli/main.ts): needs every registered command module to load.
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";

async function cli(...args: string[]) {
  let out = "";
  let err = "";
  const code = await main(["node", "vgpuctl", ...args], {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    env: { NO_COLOR: "1" },
    openHost: () => Promise.reject(new Error("catalog must not open a host")),
  });
  return { code, out, err };
}

describe("vgpuctl catalog", () => {
  it("catalog gpu 1e07 --json", async () => {
    const { code, out } = await cli("catalog", "gpu", "1e07", "--json");
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j).toMatchObject({
      deviceId: "1e07",
      support: "unlock",
      spoofAs: { deviceId: "1e30", name: "Quadro RTX 6000" },
    });
    expect(j.types.map((t: { type: string }) => t.type)).toContain("nvidia-259");
  });

  it("--json works before the subcommand too", async () => {
    const { code, out } = await cli("--json", "catalog", "vram", "2G");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ framebufferHex: "0x74000000", reservationHex: "0xC000000" });
  });

  it("unknown device id exits 2 with a hint", async () => {
    const { code, err } = await cli("catalog", "gpu", "ffff");
    expect(code).toBe(2);
    expect(err).toMatch(/unknown device id 10de:ffff/);
    expect(err).toMatch(/fix:.*lspci -nn/);
  });

  it("bad VRAM size exits 2 saying what is wrong", async () => {
    const { code, err } = await cli("catalog", "vram", "3GG");
    expect(code).toBe(2);
    expect(err).toMatch(/unknown unit "GG"/);
  });
});

describe("vgpuctl catalog: knowledge you can cite (issue 17 done-means)", () => {
  it("catalog drivers --json: NVIDIA's host drivers for 16.10/16.11, 18.5 present, every release with an http(s) source", async () => {
    // source: NVIDIA vGPU documentation index (16.10 Linux vGPU Manager 535.247.02, 16.11 535.261.04) and
    // product-security bulletin a_id 5703 ("535.261.04 (All versions prior to and including vGPU 16.11)")
    const { code, out } = await cli("catalog", "drivers", "--json");
    expect(code).toBe(0);
    const rel = (v: string) =>
      JSON.parse(out).releases.find((r: { vgpuRelease: string }) => r.vgpuRelease === v);
    expect(rel("16.10")).toMatchObject({ driverVersion: "535.247.02", guestLinux: "535.247.01" });
    expect(rel("16.11")).toMatchObject({ driverVersion: "535.261.04", guestLinux: "535.261.03" });
    expect(rel("16.12")).toMatchObject({ driverVersion: "535.274.03", guestLinux: "535.274.02" });
    expect(rel("18.5")).toMatchObject({ driverVersion: "570.195.02", branch: "R570" });
    for (const r of JSON.parse(out).releases as Array<{ vgpuRelease: string; sources: string[] }>) {
      expect(
        r.sources.some((s) => /^https?:\/\//.test(s)),
        r.vgpuRelease,
      ).toBe(true);
      expect(
        r.sources.filter((s) => !/^https?:\/\//.test(s)),
        r.vgpuRelease,
      ).toEqual([]);
    }
  });

  it("catalog drivers (text) prints a numbered source footnote", async () => {
    const { code, out } = await cli("catalog", "drivers", "--kernel", "6.17.2-1-pve");
    expect(code).toBe(0);
    expect(out).toMatch(/^Sources$/m);
    expect(out).toMatch(/^\s+\[1\] https:\/\//m);
    expect(out).toMatch(/^\s+19\.4\s+580\.126\.08\s+6\.8 – 6\.17\s.*reported working.*\[\d+\]/m);
  });

  it("catalog gpu 2bb5 --json lists vGPU types", async () => {
    const { code, out } = await cli("catalog", "gpu", "2bb5", "--json");
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.support).toBe("native");
    expect(j.types.map((t: { name: string }) => t.name)).toContain("NVIDIA RTX Pro 6000 Blackwell DC-4Q");
  });

  it("catalog gpu 2237 does not call the A10G a consumer card", async () => {
    const { code, out } = await cli("catalog", "gpu", "2237");
    expect(code).toBe(0);
    expect(out).toMatch(/A10G/);
    expect(out).not.toMatch(/consumer/i);
    expect(out).toMatch(/professional\/data-center Ampere board/);
  });

  it("catalog gpu 2bb1 / 2bb4 / 2bb3 are known devices, not 'unknown device id'", async () => {
    for (const id of ["2bb1", "2bb4", "2bb3"]) {
      const { code, out } = await cli("catalog", "gpu", id);
      expect(code, id).toBe(0);
      expect(out, id).toMatch(/RTX PRO [56]000 Blackwell/);
    }
  });
});
