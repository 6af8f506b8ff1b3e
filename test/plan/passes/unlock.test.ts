import { describe, expect, it } from "vitest";
import type { VmSpec } from "../../../src/desired/schema.ts";
import { parseProfileOverride } from "../../../src/facts/nvidia/unlock.ts";
import type { Facts } from "../../../src/facts/types.ts";
import { unlockBuildPass } from "../../../src/plan/passes/unlock-build.ts";
import { unlockFilesPass } from "../../../src/plan/passes/unlock-files.ts";
import { UNLOCK_CONFIG } from "../../../src/plan/paths.ts";
import { codes, exampleEntry, fileAfter, ids, scenarioContext } from "./context.ts";

const VGPUD_DROPIN = "/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf";

describe("unlock drop-ins with odd paths (issue 13 item 11)", () => {
  it("a library path with % is written quoted with %% (no systemd specifier)", async () => {
    const entry = exampleEntry("seed-host.yaml", {
      vgpuUnlock: { library: "/opt/100%/libvgpu_unlock_rs.so" },
    });
    const r = unlockFilesPass(await scenarioContext("seed-fresh", entry));
    expect(fileAfter(r, VGPUD_DROPIN)).toBe(
      '[Service]\nEnvironment="LD_PRELOAD=/opt/100%%/libvgpu_unlock_rs.so"\n',
    );
  });

  it("a library path with a space is refused (LD_PRELOAD splits at spaces), nothing written", async () => {
    const entry = exampleEntry("seed-host.yaml", { vgpuUnlock: { source: "/opt/my unlock" } });
    const r = unlockFilesPass(await scenarioContext("seed-fresh", entry));
    expect(codes(r)).toEqual(["unlock-library-path"]);
    expect(r.blockers[0]!.fix[0]).toMatch(/vgpuUnlock\.source to a path without spaces or colons/);
    expect(fileAfter(r, VGPUD_DROPIN)).toBeUndefined();
  });
});

describe("unlock: auto on a native board with overrides in use (issue 13 item 6)", () => {
  const OVERRIDE = "[vm.100]\nframebuffer = 0x74000000\nframebuffer_reservation = 0xC000000\n";
  const withOverride = (f: Facts) => {
    f.profileOverride = { present: true, text: OVERRIDE, ...parseProfileOverride(OVERRIDE) };
  };
  const git = { git: "https://github.com/mbilker/vgpu_unlock-rs" };

  it("installs vgpu_unlock-rs with `unlock = false` (the guide's native-card setup) so the overrides are read", async () => {
    const entry = exampleEntry("p4-host.yaml", { vgpuUnlock: git });
    const ctx = await scenarioContext("p4-fresh", entry, withOverride);
    expect(ctx.useUnlock).toBe(false);
    expect([ctx.unlock.forOverrides, ctx.unlock.preload]).toEqual([true, true]);
    expect(ids(unlockBuildPass(ctx))).toEqual(["rust-toolchain", "unlock-source", "unlock-build"]);
    const files = unlockFilesPass(ctx);
    expect(fileAfter(files, VGPUD_DROPIN)).toBe(
      "[Service]\nEnvironment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so\n",
    );
    expect(fileAfter(files, UNLOCK_CONFIG)).toBe("unlock = false\n");
    expect(files.steps[0]!.why).toMatch(/read only by vgpu_unlock-rs.*`unlock = false`/);
  });

  it("a vgpu.yaml VM with `vram:` counts as overrides in use", async () => {
    const entry = exampleEntry("p4-host.yaml", { vms: [{ vmid: 100, vram: "2G" } as VmSpec] });
    expect((await scenarioContext("p4-fresh", entry)).unlock.forOverrides).toBe(true);
  });

  it("without overrides nothing of vgpu_unlock is planned, and `unlock: off` keeps it off", async () => {
    const none = await scenarioContext("p4-fresh", exampleEntry("p4-host.yaml"));
    expect([none.unlock.forOverrides, none.unlock.preload]).toEqual([false, false]);
    expect(unlockFilesPass(none).steps).toEqual([]);
    const off = await scenarioContext(
      "p4-fresh",
      exampleEntry("p4-host.yaml", { unlock: "off" }),
      withOverride,
    );
    expect(off.unlock.preload).toBe(false);
  });
});
