import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { openSim, tempStateDir } from "./helpers.ts";

async function cli(args: string[], env: NodeJS.ProcessEnv) {
  let out = "";
  let err = "";
  const code = await main(["node", "vgpuctl", ...args], {
    out: (s) => (out += s),
    err: (s) => (err += s),
    env,
  });
  return { code, out, err };
}

describe("vgpuctl sim", () => {
  it("sim list --json names every scenario with a description", async () => {
    const env = { VGPUCTL_SIM_DIR: await tempStateDir(), NO_COLOR: "1" };
    const r = await cli(["sim", "list", "--json"], env);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as Array<{ name: string; description: string }>;
    expect(list.map((s) => s.name)).toEqual(
      expect.arrayContaining(["seed-fresh", "seed-configured", "p4-fresh", "rtx3080"]),
    );
    const text = await cli(["sim", "list"], env);
    expect(text.out).toMatch(/^seed-fresh\s+the guide's host before the guide/m);
  });

  it("sim reset forgets the stored state; unknown names exit 2", async () => {
    const dir = await tempStateDir();
    const env = { VGPUCTL_SIM_DIR: dir, NO_COLOR: "1" };
    const host = await openSim("seed-fresh", dir);
    await host.writeFile("/root/x", "1");
    expect((await cli(["sim", "reset", "seed-fresh"], env)).code).toBe(0);
    expect(await (await openSim("seed-fresh", dir)).readFile("/root/x")).toBeNull();
    const bad = await cli(["sim", "reset", "nope"], env);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("seed-configured");
  });
});
