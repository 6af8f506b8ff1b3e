import { describe, expect, it } from "vitest";
import { unlockFilesPass } from "../../../src/plan/passes/unlock-files.ts";
import { codes, exampleEntry, fileAfter, scenarioContext } from "./context.ts";

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
