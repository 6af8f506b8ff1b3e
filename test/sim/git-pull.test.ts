// `git pull --ff-only` on the simulated host (src/hosts/sim/tools.ts gitPull): the simulated origin has one
// revision, so a fresh clone is "Already up to date."; files behind it are fast-forwarded; no checkout refuses.
import { describe, expect, it } from "vitest";
import { openSim, run } from "./helpers.ts";

describe("git pull in a vgpu_unlock-rs checkout (sim:seed-configured)", () => {
  it("fresh clone: up to date; an older Cargo.toml: fast-forwarded to the origin's; not a checkout: refused", async () => {
    const h = await openSim("seed-configured");
    await run(h, "apt-get install -y git");
    expect((await run(h, "git clone https://github.com/mbilker/vgpu_unlock-rs /opt/u2")).exitCode).toBe(0);
    expect((await run(h, "git -C /opt/u2 pull --ff-only")).stdout).toBe("Already up to date.\n");
    const fresh = await h.readFile("/opt/u2/Cargo.toml");
    await h.writeFile("/opt/u2/Cargo.toml", '[package]\nname = "vgpu_unlock-rs"\nversion = "2.0.0"\n');
    const p = await run(h, "git -C /opt/u2 pull --ff-only");
    expect(p.exitCode).toBe(0);
    expect(p.stdout).toContain("Fast-forward\n Cargo.toml | 2 +-\n");
    expect(await h.readFile("/opt/u2/Cargo.toml")).toBe(fresh);
    const no = await run(h, "git -C /opt/vgpu_unlock-rs pull --ff-only");
    expect(no.exitCode).toBe(128);
    expect(no.stderr).toBe("fatal: not a git repository (or any of the parent directories): .git\n");
  });
});
