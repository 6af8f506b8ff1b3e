// vgpu_unlock-rs on a driver upgrade (passes/unlock-update.ts, knowledge/unlock-structs.ts): the struct sizes per
// branch are research/unlock.md §1.7 (4960 ≤16.x, 5096 17.x, 5232 18.x, 5424 19.0, 5432 19.1+ not upstream).
import { describe, expect, it } from "vitest";
import { unlockRebuildNeeded, unlockStructsFor } from "../../../src/knowledge/unlock-structs.ts";
import { readContext } from "../../../src/plan/context.ts";
import { unlockBuildPass } from "../../../src/plan/passes/unlock-build.ts";
import { argvs, exampleEntry, ids, scenarioInput } from "./context.ts";

const V17 = "/root/NVIDIA-Linux-x86_64-550.144.02-vgpu-kvm.run";
const SRC = "/opt/vgpu_unlock-rs";

/** seed-configured (15.1 + vgpu_unlock-rs built in /opt/vgpu_unlock-rs) planned against `installer`; `git`: a checkout. */
async function upgradeTo(installer: string, git: boolean, ref?: string) {
  const base = exampleEntry("seed-upgrade.yaml");
  const entry = {
    ...base,
    driver: { ...base.driver!, installer },
    vgpuUnlock: { ...base.vgpuUnlock!, ...(ref ? { ref } : {}) },
  };
  const input = await scenarioInput("seed-configured", entry);
  input.probes[`${SRC}/.git/HEAD`] = { exists: git, sha256: null, head: null };
  const { ctx } = readContext(entry, input);
  return unlockBuildPass(ctx!);
}

describe("which vgpu_unlock-rs a branch needs", () => {
  it("15.x and 16.x share the 4960-byte struct; 17.x, 18.x, 19.0 each need a newer one; 19.1+ is not upstream", () => {
    expect(unlockRebuildNeeded("15.1", "16.8")).toBe(false);
    expect(unlockRebuildNeeded("16.8", "17.5")).toBe(true);
    expect(unlockRebuildNeeded("17.5", "18.3")).toBe(true);
    expect(unlockRebuildNeeded("19.0", "19.1")).toBe(true);
    expect(unlockRebuildNeeded("18.3", "17.5")).toBe(false);
    expect(unlockStructsFor("19.2")).toEqual({ generation: 5, typeInfoSize: 5432, upstream: false });
  });
});

describe("unlock-update on a driver upgrade (sim:seed-configured, 15.1)", () => {
  it("15.1 → 16.8 (examples/seed-upgrade.yaml): same struct generation, no unlock step", async () => {
    expect(ids(await upgradeTo(exampleEntry("seed-upgrade.yaml").driver!.installer, true))).toEqual([]);
  });

  it("15.1 → 17.5 on a git checkout: git pull --ff-only, then cargo build", async () => {
    const r = await upgradeTo(V17, true);
    expect(ids(r)).toEqual(["unlock-update"]);
    expect(argvs(r)).toEqual([
      `git -C ${SRC} pull --ff-only`,
      `/root/.cargo/bin/cargo build --release --manifest-path ${SRC}/Cargo.toml`,
    ]);
  });

  it("a `ref:` in vgpu.yaml is fetched and checked out instead of pulled", async () => {
    const r = await upgradeTo(V17, true, "v2.6.0");
    expect(argvs(r).slice(0, 2)).toEqual([
      `git -C ${SRC} fetch --tags origin`,
      `git -C ${SRC} checkout v2.6.0 --`,
    ]);
  });

  it("not a git checkout: no step, a note saying to replace and rebuild it", async () => {
    const r = await upgradeTo(V17, false);
    expect(ids(r)).toEqual([]);
    expect(r.notes.join("\n")).toContain(
      `${SRC} is not a git checkout: replace it with a current one and rebuild`,
    );
  });
});
