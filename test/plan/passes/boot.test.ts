import { describe, expect, it } from "vitest";
import { initramfsPass } from "../../../src/plan/passes/initramfs.ts";
import {
  decideIommu,
  iommuConfiguredButNotLive,
  kernelCmdlinePass,
} from "../../../src/plan/passes/kernel-cmdline.ts";
import { nouveauBlacklistPass, nouveauStillLoaded } from "../../../src/plan/passes/nouveau.ts";
import { PassOutput } from "../../../src/plan/passes/output.ts";
import { rebootPass, withOwedFixes } from "../../../src/plan/passes/reboot.ts";
import { vfioModulesPass } from "../../../src/plan/passes/vfio-modules.ts";
import { NOUVEAU_BLACKLIST } from "../../../src/plan/paths.ts";
import type { Step } from "../../../src/plan/types.ts";
import { argvs, codes, exampleEntry, fileAfter, ids, scenarioContext, scenarioInput } from "./context.ts";

const seed = exampleEntry("seed-host.yaml");
const p4 = exampleEntry("p4-host.yaml");
const step = (id: string, reboot: boolean, fixes?: string[]): Step => ({
  id,
  title: id,
  why: "",
  changes: [],
  reboot,
  ...(fixes ? { fixes } : {}),
  undo: { description: "", commands: [], regenerate: [] },
});

describe("IOMMU parameters and the kernel command line (passes/kernel-cmdline.ts)", () => {
  it("wants intel_iommu=on iommu=pt on an Intel host whose IOMMU is off, and iommu=pt only on AMD", async () => {
    const intel = await scenarioInput("seed-fresh", seed);
    expect(decideIommu(seed, intel.facts, new PassOutput()).iommuParams).toEqual([
      "intel_iommu=on",
      "iommu=pt",
    ]);
    const amd = await scenarioInput("p4-fresh", p4, (f) => {
      f.dmesg = null;
    });
    expect(decideIommu(p4, amd.facts, new PassOutput()).iommuParams).toEqual(["iommu=pt"]);
  });

  it("blocks cpu-unknown when the CPU vendor is not known and the parameters are wanted", async () => {
    const { facts } = await scenarioInput("seed-fresh", seed, (f) => {
      f.cpuVendor = null;
    });
    const out = new PassOutput();
    decideIommu(seed, facts, out);
    expect(codes(out)).toEqual(["cpu-unknown"]);
  });

  it("adds the parameters to GRUB_CMDLINE_LINUX_DEFAULT with one update-grub", async () => {
    const ctx = await scenarioContext("seed-fresh", seed);
    const r = kernelCmdlinePass(ctx);
    expect(ids(r)).toEqual(["iommu-cmdline"]);
    expect(fileAfter(r, "/etc/default/grub")).toMatch(
      /GRUB_CMDLINE_LINUX_DEFAULT="[^"]*intel_iommu=on iommu=pt"/,
    );
    expect(argvs(r)).toEqual(["update-grub"]);
  });

  it("moves parameters from /etc/default/grub to /etc/kernel/cmdline on a systemd-boot host", async () => {
    const ctx = await scenarioContext("iommu-cmdline-wrong-bootloader", p4);
    const r = kernelCmdlinePass(ctx);
    expect(r.steps[0]?.fixes).toContain("iommu-cmdline-wrong-bootloader");
    expect(
      r.steps[0]?.changes.filter((c) => c.kind === "file").map((c) => (c as { path: string }).path),
    ).toEqual(["/etc/kernel/cmdline", "/etc/default/grub"]);
    expect(argvs(r)).toEqual(["proxmox-boot-tool refresh"]);
  });

  it("sees parameters that are configured but not active (cmdline-not-applied), with no file to change", async () => {
    const ctx = await scenarioContext("cmdline-not-applied", seed);
    expect(kernelCmdlinePass(ctx).steps).toEqual([]);
    expect(iommuConfiguredButNotLive(ctx)).toBe(true);
  });

  it("blocks not-captured when the GRUB file could not be read", async () => {
    const ctx = await scenarioContext("seed-fresh", seed, (_f, files) => {
      files.set("/etc/default/grub", undefined);
    });
    expect(codes(kernelCmdlinePass(ctx))).toEqual(["not-captured"]);
  });
});

describe("vfio modules (passes/vfio-modules.ts)", () => {
  it("adds the vfio modules the seed host's kernel needs to /etc/modules", async () => {
    const r = vfioModulesPass(await scenarioContext("seed-fresh", seed));
    expect(ids(r)).toEqual(["vfio-modules"]);
    expect(fileAfter(r, "/etc/modules")).toMatch(/^vfio$/m);
  });

  it("drops vfio_virqfd on a kernel ≥ 6.2", async () => {
    const r = vfioModulesPass(await scenarioContext("vfio-module-missing", p4));
    expect(r.steps[0]?.title).toMatch(/drop vfio_virqfd/);
    expect(fileAfter(r, "/etc/modules")).not.toMatch(/vfio_virqfd/);
  });

  it("plans nothing on a configured host", async () => {
    expect(vfioModulesPass(await scenarioContext("p4-configured", p4)).steps).toEqual([]);
  });
});

describe("nouveau blacklist (passes/nouveau.ts)", () => {
  it("writes vgpuctl's blacklist file on a fresh host", async () => {
    const r = nouveauBlacklistPass(await scenarioContext("p4-fresh", p4));
    expect(fileAfter(r, NOUVEAU_BLACKLIST)).toMatch(/^blacklist nouveau$/m);
    expect(fileAfter(r, NOUVEAU_BLACKLIST)).toMatch(/^options nouveau modeset=0$/m);
  });

  it("plans nothing once nouveau is blacklisted, and says whether it is still loaded", async () => {
    const ctx = await scenarioContext("p4-configured", p4);
    expect(nouveauBlacklistPass(ctx).steps).toEqual([]);
    expect(nouveauStillLoaded(ctx)).toBe(false);
  });

  it("blocks not-captured when /etc/modprobe.d could not be read", async () => {
    const ctx = await scenarioContext("p4-fresh", p4, (f) => {
      f.modprobe = null;
    });
    expect(codes(nouveauBlacklistPass(ctx))).toEqual(["not-captured"]);
  });
});

describe("initramfs and reboot (passes/initramfs.ts, passes/reboot.ts)", () => {
  it("rebuilds the initramfs once after a module or blacklist change, not otherwise", async () => {
    const ctx = await scenarioContext("p4-configured", p4);
    expect(ids(initramfsPass(ctx, [step("nouveau-blacklist", true)]))).toEqual(["initramfs"]);
    expect(initramfsPass(ctx, [step("packages", false)]).steps).toEqual([]);
    expect(
      ids(
        initramfsPass({ ...ctx, input: { ...ctx.input, pending: { initramfs: true, reboot: false } } }, []),
      ),
    ).toEqual(["initramfs"]);
  });

  it("adds a bare reboot when the driver is installed but not loaded, and none when a step reboots anyway", async () => {
    const ctx = await scenarioContext("driver-not-loaded", seed);
    const r = rebootPass(ctx, []);
    expect(ids(r)).toEqual(["reboot"]);
    expect(r.steps[0]?.why).toBe("the NVIDIA driver is installed but not loaded");
    expect(rebootPass(ctx, [step("initramfs", true)]).steps).toEqual([]);
  });

  it("hands fixes applied before an owed reboot to the last reboot step, once", () => {
    const steps = [step("iommu-cmdline", true, ["x"]), step("initramfs", true), step("vm-100", false)];
    const out = withOwedFixes(steps, { initramfs: false, reboot: true, fixes: ["vfio-bound", "x"] });
    expect(out.map((s) => s.fixes)).toEqual([["x"], ["vfio-bound"], undefined]);
    expect(steps[1]?.fixes).toBeUndefined();
  });
});

describe("vfio modules on SR-IOV boards (passes/vfio-modules.ts)", () => {
  it("adds none when every GPU is an SR-IOV board on a kernel ≥ 6.8 (vendor-specific VFIO)", async () => {
    const l40s = exampleEntry("pve9-l40s.yaml");
    expect(vfioModulesPass(await scenarioContext("pve9-l40s-fresh", l40s)).steps).toEqual([]);
  });
});
