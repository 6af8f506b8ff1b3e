/**
 * profile suggest rules (src/place/suggest.ts).
 * source: seed guide "Important notes" (lines 349-353): Q profiles can give horrible OpenGL/game
 * performance → equivalent A or B profile; C profiles only work on Linux; A profiles only on Windows.
 * research/unlock.md §3 (series letters; C-series ids of the RTX6000 from the 510.47.03 table:
 * nvidia-343 RTX6000-4C … 347 24C). Types of the RTX6000 come from the knowledge table (vgpuConfig.xml).
 */
import { describe, expect, it } from "vitest";
import { findType, type VgpuType } from "../../src/knowledge/vgpu-types.ts";
import { type SuggestType, suggestProfile } from "../../src/place/suggest.ts";

function t(id: string): SuggestType {
  const k = findType(id) as VgpuType;
  return {
    type: k.type,
    name: k.name,
    series: k.series,
    framebufferMiB: k.framebufferMiB,
    maxResolution: k.maxResolution,
    numHeads: k.numHeads,
  };
}

// what the seed host offers (seed guide lines 308-319 continue with the same RTX6000 list)
const RTX6000 = [
  "nvidia-256",
  "nvidia-257",
  "nvidia-258",
  "nvidia-259",
  "nvidia-260",
  "nvidia-261",
  "nvidia-435",
  "nvidia-436",
  "nvidia-437",
  "nvidia-438",
  "nvidia-440",
].map(t);

// C types are not in vgpuConfig.xml 16.x/17.x; research/unlock.md §3 table (S4): RTX6000-4C = nvidia-343
const C4: SuggestType = {
  type: "nvidia-343",
  name: "GRID RTX6000-4C",
  series: "C",
  framebufferMiB: 4096,
  maxResolution: "4096x2160",
  numHeads: 1,
};

const GPU = { address: "0000:01:00.0", vramMiB: 11264, currentTypes: [] as string[] };

describe("suggestProfile", () => {
  it("CAD → Q, with the OpenGL caveat", () => {
    const s = suggestProfile({ os: "windows", workload: "cad", types: RTX6000, offered: true, gpu: GPU });
    expect(s.type).toBe("nvidia-259");
    expect(s.series).toBe("Q");
    expect(s.warnings.join("\n")).toContain("OpenGL");
    expect(s.overrideVramMiB).toBeNull();
  });

  it("gaming → B rather than Q (Q is slow in OpenGL/games), frame limiter off suggested", () => {
    const s = suggestProfile({
      os: "windows",
      workload: "gaming",
      vramMiB: 2048,
      types: RTX6000,
      offered: true,
      gpu: GPU,
    });
    expect(s.type).toBe("nvidia-436");
    expect(s.reasons[0]).toContain("Q profiles can perform badly in OpenGL applications and games");
    expect(s.overrideArgs.join(" ")).toContain("--frl off");
  });

  it("never suggests A on Linux nor C on Windows", () => {
    const onlyA = [t("nvidia-437"), t("nvidia-438")];
    const lin = suggestProfile({ os: "linux", workload: "desktop", types: onlyA, offered: true });
    expect(lin.type).toBe("");
    expect(lin.warnings.join("\n")).toContain("none of the GPU's types suits desktop on linux");
    const win = suggestProfile({
      os: "windows",
      workload: "compute",
      types: [C4, t("nvidia-259")],
      offered: true,
    });
    expect(win.type).toBe("nvidia-259");
    expect(win.warnings.join("\n")).toContain("C (compute) types do not work on Windows guests");
  });

  it("compute on Linux → C when the GPU offers it", () => {
    const s = suggestProfile({ os: "linux", workload: "compute", types: [...RTX6000, C4], offered: true });
    expect(s.type).toBe("nvidia-343");
    expect(s.reasons[0]).toContain("Linux guests only");
  });

  it("a size without its own type → the next larger type plus a per-VM VRAM override", () => {
    const s = suggestProfile({
      os: "windows",
      workload: "cad",
      vramMiB: 5120,
      types: RTX6000,
      offered: true,
    });
    expect(s.type).toBe("nvidia-260");
    expect(s.overrideVramMiB).toBe(5120);
  });

  it("keeps the GPU's single type and sizes the VM with an override", () => {
    const s = suggestProfile({
      os: "linux",
      workload: "desktop",
      vramMiB: 2048,
      types: RTX6000,
      offered: true,
      gpu: { ...GPU, currentTypes: ["nvidia-259"] },
    });
    expect(s.type).toBe("nvidia-259");
    expect(s.overrideVramMiB).toBe(2048);
    expect(s.reasons.join("\n")).toContain("one type per GPU");
  });

  it("says when the GPU's type cannot serve the guest OS", () => {
    const s = suggestProfile({
      os: "linux",
      workload: "desktop",
      types: RTX6000,
      offered: true,
      gpu: { ...GPU, currentTypes: ["nvidia-437"] },
    });
    expect(s.warnings.join("\n")).toContain("which a linux guest cannot use");
    expect(s.series).not.toBe("A");
  });

  it("driver 525 (one framebuffer size per GPU): beside a 2A, a Linux desktop gets the 2B, not another size", () => {
    const s = suggestProfile({
      os: "linux",
      workload: "desktop",
      vramMiB: 4096,
      types: RTX6000,
      offered: true,
      gpu: { ...GPU, currentTypes: ["nvidia-438"], sharing: "one-size" },
    });
    expect(s.type).toBe("nvidia-436");
    expect(s.overrideVramMiB).toBe(4096);
    expect(s.reasons.join("\n")).toContain(
      "from driver 525 only types of that framebuffer size run beside it",
    );
  });

  it("mixed-size mode: the GPU's current type does not constrain the suggestion", () => {
    const s = suggestProfile({
      os: "windows",
      workload: "cad",
      vramMiB: 4096,
      types: RTX6000,
      offered: true,
      gpu: { ...GPU, currentTypes: ["nvidia-436"], sharing: "mixed-sizes" },
    });
    expect(s.type).toBe("nvidia-259");
    expect(s.overrideVramMiB).toBeNull();
  });

  it("warns when the VRAM asked is more than the GPU has", () => {
    const s = suggestProfile({
      os: "windows",
      workload: "cad",
      vramMiB: 12288,
      types: RTX6000,
      offered: true,
      gpu: GPU,
    });
    expect(s.warnings.join("\n")).toContain("12 GiB is more than the GPU's 11 GiB of VRAM");
    // nothing is suggested: no type (nor override) can give a VM more VRAM than the GPU has
    expect(s.type).toBe("");
    expect(s.overrideVramMiB).toBeNull();
  });
});
