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
