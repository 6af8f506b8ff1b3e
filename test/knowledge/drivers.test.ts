import { describe, expect, it } from "vitest";
import {
  compareKernel,
  compatibleReleases,
  driverReleases,
  findRelease,
  kernelInRange,
  kernelVerdict,
  releaseDropsGeneration,
  releaseForDriverVersion,
  releaseSupportsGeneration,
  releasesForDriverVersion,
} from "../../src/knowledge/drivers.ts";

const DRIVER_RELEASES = driverReleases();

const names = (rs: Array<{ vgpuRelease: string }>) => rs.map((r) => r.vgpuRelease);

describe("driver matrix data", () => {
  it("lists the seed guide's patched releases with their host drivers", () => {
    // source: seed guide "patches for the following driver versions: 15.1 (525.85.07) - 15.0 (525.60.12)
    // - 14.4 (510.108.03) - 14.3 (510.108.03) - 14.2 (510.85.03)"
    for (const [rel, drv] of [
      ["15.1", "525.85.07"],
      ["15.0", "525.60.12"],
      ["14.4", "510.108.03"],
      ["14.3", "510.108.03"],
      ["14.2", "510.85.03"],
    ]) {
      expect(findRelease(rel!)).toMatchObject({
        driverVersion: drv,
        pve: ["7"],
        patch: { file: `${drv}.patch` },
      });
    }
  });

  it("is newest first, unique, and every patch is named after its driver", () => {
    const majors = DRIVER_RELEASES.map((r) => r.vgpuRelease.split(".").map(Number));
    for (let i = 1; i < majors.length; i++) {
      const [a, b] = [majors[i - 1]!, majors[i]!];
      expect(a[0]! > b[0]! || (a[0] === b[0] && a[1]! > b[1]!), `${a} before ${b}`).toBe(true);
    }
    for (const r of DRIVER_RELEASES) {
      if (r.patch) expect(r.patch.file).toBe(`${r.driverVersion}.patch`);
      // a range is stated unless nothing at all is known about the release's kernels
      if (r.kernel.confidence !== "unknown") expect(r.kernelRange, r.vgpuRelease).toBeTruthy();
      expect(r.sources.length).toBeGreaterThan(0);
    }
  });

  it("records the 15.0 VM-restart caveat", () => {
    // source: seed guide "with the 15.0 version, some Proxmox users were experiencing issues after restarting VMs"
    expect(findRelease("15.0")?.caveats.join(" ")).toMatch(/restarting VMs.*host reboot.*14\.4/);
  });

  it("knows which releases have no unlock patch", () => {
    // source: research/installers.md §2.1 (driver_patches.json: nothing for 16.10+), §3.1 (no 16.3 patch file)
    expect(findRelease("16.3")?.patch).toBeNull();
    expect(findRelease("16.12")?.patch).toBeNull();
    expect(findRelease("20.1")?.patch).toBeNull();
    expect(findRelease("17.6")?.patch).toEqual({ file: "550.163.02.patch", availability: "polloloco" });
  });
});

describe("releaseForDriverVersion", () => {
  it("maps host driver versions to vGPU releases", () => {
    // source: seed guide nvidia-smi "Driver Version: 525.85.07" on the 15.1 driver
    expect(releaseForDriverVersion("525.85.07")?.vgpuRelease).toBe("15.1");
    expect(releaseForDriverVersion("550.54.16")?.vgpuRelease).toBe("17.1");
    expect(releaseForDriverVersion("NVIDIA-Linux-x86_64-535.230.02-vgpu-kvm.run")?.vgpuRelease).toBe("16.9");
  });

  it("returns the newer release when two share a driver, and null when unknown", () => {
    expect(releaseForDriverVersion("535.161.05")?.vgpuRelease).toBe("16.5");
    expect(names(releasesForDriverVersion("510.108.03"))).toEqual(["14.4", "14.3"]);
    expect(releaseForDriverVersion("999.1.1")).toBeNull();
    expect(releaseForDriverVersion("garbage")).toBeNull();
  });
});

describe("kernels", () => {
  it("compareKernel orders Proxmox kernel releases numerically", () => {
    expect(compareKernel("6.8.12-4-pve", "6.8.12-10-pve")).toBe(-1);
    expect(compareKernel("6.11.0-1-pve", "6.8.12-4-pve")).toBe(1);
    expect(compareKernel("5.15.102-1-pve", "5.15.102-1-pve")).toBe(0);
    expect(compareKernel("6.2", "6.2.16-3-pve")).toBe(-1);
    expect(compareKernel("garbage", "6.2")).toBe(-1);
    const sorted = ["6.8.12-4-pve", "5.15.102-1-pve", "6.14.8-2-pve", "6.5.13-5-pve"].sort(compareKernel);
    expect(sorted).toEqual(["5.15.102-1-pve", "6.5.13-5-pve", "6.8.12-4-pve", "6.14.8-2-pve"]);
  });

  it("kernelInRange follows the sources' ranges", () => {
    // source: seed guide "5.14 up to 6.0 should work. Newer kernels like 6.1 or 6.2 do NOT work"
    expect(kernelInRange("15.1", "5.15.102-1-pve")).toBe(true);
    expect(kernelInRange("15.1", "6.0.19-1-pve")).toBe(true);
    expect(kernelInRange("15.1", "6.2.16-3-pve")).toBe(false);
    expect(kernelInRange("15.1", "5.13.19-6-pve")).toBe(false);
    // source: research/installers.md §3.1 (16.5 / 17.1 patches add kernel 6.8; 16.9 patch 6.12/6.14)
    expect(kernelInRange("16.5", "6.8.12-4-pve")).toBe(true);
    expect(kernelInRange("16.2", "6.8.12-4-pve")).toBe(false);
    expect(kernelInRange("16.9", "6.14.8-2-pve")).toBe(true);
    // a reduced object (checks' KbRelease) works too
    expect(kernelInRange({ vgpuRelease: "17.0" }, "6.5.13-5-pve")).toBe(true);
  });

  it("answers null, never a guess, when the upper limit or the input is unknown", () => {
    expect(kernelInRange("16.12", "6.8.12-4-pve")).toBeNull();
    expect(kernelInRange("16.9", "5.4.0-1-pve")).toBe(false); // below the minimum is still known
    expect(kernelInRange("99.9", "6.8.12-4-pve")).toBeNull();
    expect(kernelInRange("15.1", "not-a-kernel")).toBeNull();
  });

  it("compatibleReleases on the PVE 8.2+ kernel 6.8", () => {
    const rs = names(compatibleReleases("6.8.12-4-pve"));
    expect(rs).toContain("17.1");
    expect(rs).toContain("16.5");
    expect(rs).toContain("18.0");
    expect(rs).not.toContain("15.1");
    expect(rs).not.toContain("16.2");
    expect(rs).not.toContain("16.12"); // unknown is not "compatible"
    expect(rs).toEqual([...rs].sort((a, b) => compareKernel(b, a))); // newest first
  });

  it("compatibleReleases for the seed host (PVE 7.4, kernel 5.15) with unlock and Turing", () => {
    const rs = names(
      compatibleReleases("5.15.102-1-pve", { unlock: true, generation: "turing", deviceId: "1e30" }),
    );
    expect(rs).toEqual([
      "16.9",
      "16.8",
      "16.7",
      "16.6", // shares host driver 535.183.04 (and so its patch) with 16.7 — NVIDIA's release table
      "16.5",
      "16.4",
      "16.2",
      "16.1",
      "16.0",
      "15.1",
      "15.0",
      "14.4",
      "14.3",
      "14.2",
    ]);
  });

  it("compatibleReleases for a Pascal card drops 17+", () => {
    const rs = names(compatibleReleases("6.8.12-4-pve", { generation: "pascal" }));
    expect(rs.every((r) => r.startsWith("16."))).toBe(true);
    expect(rs).toContain("16.9");
  });
});

describe("generations", () => {
  it("Pascal and Maxwell 2.0 are gone from 17.x", () => {
    // source: research/installers.md §5 #11 "NVIDIA removed Pascal in 17.0"; research/unlock.md §7 (PR #50)
    expect(releaseDropsGeneration("17.0", "pascal")).toBe(true);
    expect(releaseDropsGeneration("16.9", "pascal")).toBe(false);
    expect(releaseDropsGeneration("17.0", "maxwell")).toBe(true);
    expect(releaseDropsGeneration({ vgpuRelease: "18.0" }, "pascal")).toBe(true);
  });

  it("Tesla M10, Volta and Quadro RTX 6000/8000 end with 19.x; T4 and newer continue", () => {
    // source: research/unlock.md §1.8 PR #50 message; research/installers.md §4 (20.x "Turing → Blackwell")
    expect(releaseDropsGeneration("19.5", "maxwell", "13bd")).toBe(false);
    expect(releaseDropsGeneration("20.0", "maxwell", "13bd")).toBe(true);
    expect(releaseDropsGeneration("19.5", "volta")).toBe(false);
    expect(releaseDropsGeneration("20.0", "volta")).toBe(true);
    expect(releaseDropsGeneration("20.0", "turing", "1e30")).toBe(true);
    expect(releaseDropsGeneration("20.0", "turing", "1eb8")).toBe(false);
    expect(releaseDropsGeneration("20.1", "ampere")).toBe(false);
  });

  it("Kepler is unsupported everywhere; Blackwell only from 18", () => {
    expect(releaseDropsGeneration("14.2", "kepler")).toBe(true);
    expect(releaseSupportsGeneration("16.9", "blackwell")).toBe(false);
    expect(releaseSupportsGeneration("18.0", "blackwell")).toBe(true);
    expect(releaseSupportsGeneration("16.9", "pascal")).toBe(true);
    expect(releaseSupportsGeneration("nope", "pascal")).toBe(false);
  });
});

describe("NVIDIA's own numbers (docs.nvidia.com/vgpu/index.html driver tables, product-security bulletins)", () => {
  it.each([
    // [release, host vGPU Manager, Linux guest, Windows guest]
    ["13.0", "470.63", "470.63.01", "471.68"],
    ["14.3", "510.108.03", "510.108.03", "513.91"],
    ["15.2", "525.105.14", "525.105.17", "528.89"],
    ["15.4", "525.147.01", "525.147.05", "529.19"],
    ["16.6", "535.183.04", "535.183.01", "538.67"],
    ["16.10", "535.247.02", "535.247.01", "539.28"],
    ["16.11", "535.261.04", "535.261.03", "539.41"],
    ["16.12", "535.274.03", "535.274.02", "539.56"],
    ["16.13", "535.288.01", "535.288.01", "539.64"],
    ["17.2", "550.90.05", "550.90.07", "552.55"],
    ["18.5", "570.195.02", "570.195.03", "573.76"],
    ["18.6", "570.211.01", "570.211.01", "573.96"],
    ["19.4", "580.126.08", "580.126.09", "582.16"],
  ])("%s: host %s, Linux guest %s, Windows guest %s", (rel, host, linux, windows) => {
    expect(findRelease(rel)).toMatchObject({ driverVersion: host, guestLinux: linux, guestWindows: windows });
  });

  it("keeps the rows tests and scenarios rely on", () => {
    expect(releaseForDriverVersion("525.85.07")?.vgpuRelease).toBe("15.1");
    expect(releaseForDriverVersion("535.216.01")?.vgpuRelease).toBe("16.8");
    expect(releaseForDriverVersion("550.127.06")?.vgpuRelease).toBe("17.4");
  });

  it("marks releases that share one host driver, and resolves the driver to the newer release", () => {
    expect(findRelease("16.6")?.sharesHostDriverWith).toEqual(["16.7"]);
    expect(findRelease("17.2")?.sharesHostDriverWith).toEqual(["17.3"]);
    expect(names(releasesForDriverVersion("535.183.04"))).toEqual(["16.7", "16.6"]);
    expect(names(releasesForDriverVersion("550.90.05"))).toEqual(["17.3", "17.2"]);
  });

  it("records where NVIDIA's documents disagree (14.3's host driver)", () => {
    expect(findRelease("14.3")?.caveats.join(" ")).toMatch(/a_id 5415.*510\.85\.03/);
  });

  it("dates every release NVIDIA dates, and says which generations a branch dropped", () => {
    expect(findRelease("16.10")?.released).toBe("2025-04");
    expect(findRelease("17.0")?.drops).toEqual([
      "Maxwell 2.0 boards (Tesla M60/M6)",
      "Pascal boards (Tesla P4/P6/P40/P100)",
    ]);
    expect(findRelease("20.0")?.drops.join("; ")).toMatch(/Volta.*Tesla M10.*Quadro RTX 6000/);
  });
});

describe("kernel verdicts for Proxmox VE 9 kernels 6.14 / 6.17 / 7.0", () => {
  const v = (rel: string, k: string, ctx = {}) => kernelVerdict(rel, k, ctx);

  it("19.4 on 6.17: reported working (Proxmox VE 9.1 notes); a patched 19.4 on 6.17: reported failing", () => {
    expect(v("19.4", "6.17.2-1-pve")).toMatchObject({ inRange: true, status: "reported working" });
    expect(v("19.4", "6.17.2-1-pve", { unlock: true })).toMatchObject({
      inRange: false,
      status: "reported failing",
    });
  });

  it("19.0–19.3 native on 6.17: unknown, not failing", () => {
    expect(v("19.3", "6.17.2-1-pve", { unlock: false })).toMatchObject({ inRange: false, status: "unknown" });
  });

  it("7.0: 19.5 and 20.x reported working; 18.x unknown", () => {
    expect(v("19.5", "7.0.2-6-pve").inRange).toBe(true);
    expect(v("20.1", "7.0.2-6-pve").status).toBe("reported working");
    expect(v("18.4", "7.0.2-6-pve")).toMatchObject({ inRange: false, status: "unknown" });
  });

  it("16.9 with the unlock patch: documented up to 6.14, but consumer Pascal above 6.5 is reported failing", () => {
    expect(v("16.9", "6.14.8-2-pve", { unlock: true, generation: "turing" })).toMatchObject({
      inRange: true,
      status: "documented",
    });
    expect(v("16.9", "6.14.8-2-pve", { unlock: true, generation: "pascal" })).toMatchObject({
      inRange: false,
      status: "reported failing",
    });
    expect(v("16.9", "6.17.2-1-pve", { unlock: true })).toMatchObject({
      inRange: false,
      status: "reported failing",
    });
  });

  it("16.10+ native: no upper limit known, reported working on 6.2–7.0 by a community installer", () => {
    expect(kernelInRange("16.14", "6.17.2-1-pve")).toBeNull();
    expect(v("16.14", "6.17.2-1-pve", { unlock: false })).toMatchObject({
      inRange: true,
      status: "reported working",
    });
  });

  it("every verdict that is not 'unknown' names at least one https source (all releases × PVE 7.4–9.2 kernels)", () => {
    const kernels = [
      "5.15.102-1-pve",
      "6.2.16-3-pve",
      "6.5.13-5-pve",
      "6.8.12-9-pve",
      "6.14.8-2-pve",
      "6.17.2-1-pve",
      "7.0.2-6-pve",
    ];
    let known = 0;
    for (const r of DRIVER_RELEASES)
      for (const k of kernels)
        for (const ctx of [{}, { unlock: true }]) {
          const verdict = v(r.vgpuRelease, k, ctx);
          if (verdict.status === "unknown") continue;
          known++;
          expect(verdict.sources.length, `${r.vgpuRelease} on ${k}`).toBeGreaterThan(0);
          expect(
            verdict.sources.every((s) => /^https:\/\//.test(s)),
            `${r.vgpuRelease} on ${k}: ${verdict.sources.join(", ")}`,
          ).toBe(true);
        }
    expect(known).toBeGreaterThan(50); // the loop did look at real verdicts
  });
});
