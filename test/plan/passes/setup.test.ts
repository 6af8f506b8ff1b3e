import { describe, expect, it } from "vitest";
import { readContext } from "../../../src/plan/context.ts";
import { PassOutput } from "../../../src/plan/passes/output.ts";
import { missingPackages, packagesPass } from "../../../src/plan/passes/packages.ts";
import { repositoryPass } from "../../../src/plan/passes/repository.ts";
import { servicesPass } from "../../../src/plan/passes/services.ts";
import { sriovPass } from "../../../src/plan/passes/sriov.ts";
import { unlockBuildPass } from "../../../src/plan/passes/unlock-build.ts";
import { unlockFilesPass } from "../../../src/plan/passes/unlock-files.ts";
import { vfioLeftover, vfioLeftoverPass } from "../../../src/plan/passes/vfio-leftover.ts";
import { vmsPass } from "../../../src/plan/passes/vms.ts";
import { UNLOCK_CONFIG } from "../../../src/plan/paths.ts";
import { argvs, codes, exampleEntry, fileAfter, ids, scenarioContext, scenarioInput } from "./context.ts";

const seed = exampleEntry("seed-host.yaml");
const p4 = exampleEntry("p4-host.yaml");
const ENT = "/etc/apt/sources.list.d/pve-enterprise.list";
const NOSUB = "/etc/apt/sources.list.d/pve-no-subscription.list";

describe("repository (passes/repository.ts)", () => {
  it("comments out the enterprise repository and adds pve-no-subscription for the host's Debian release", async () => {
    const r = repositoryPass(await scenarioContext("p4-fresh", p4));
    expect(fileAfter(r, ENT)).toMatch(/^# deb https:\/\/enterprise\.proxmox\.com/m);
    expect(fileAfter(r, NOSUB)).toBe(
      "deb http://download.proxmox.com/debian/pve bookworm pve-no-subscription\n",
    );
    expect(argvs(r)).toEqual(["apt-get update"]);
  });

  it("leaves the apt sources alone without `repository: no-subscription`", async () => {
    const entry = exampleEntry("p4-host.yaml", { repository: null });
    expect(repositoryPass(await scenarioContext("p4-fresh", entry)).steps).toEqual([]);
  });

  it("notes a Proxmox VE major version it does not know instead of guessing a codename", async () => {
    const ctx = await scenarioContext("p4-fresh", p4);
    const r = repositoryPass({ ...ctx, pveMajor: 6 });
    expect(r.steps).toEqual([]);
    expect(r.notes).toEqual(["repository: Proxmox VE 6 not known; apt sources left alone"]);
  });
});

describe("packages (passes/packages.ts)", () => {
  it("installs pve-headers for the running kernel, dkms, build tools and mdevctl on Proxmox VE 7", async () => {
    const ctx = await scenarioContext("seed-fresh", seed);
    expect(ctx.packages).toEqual(
      expect.arrayContaining([`pve-headers-${ctx.running}`, "dkms", "build-essential", "mdevctl"]),
    );
    expect(argvs(packagesPass(ctx))).toEqual(["apt-get update"]);
  });

  it("names proxmox-headers-<kernel> and proxmox-default-headers on Proxmox VE 8", async () => {
    const ctx = await scenarioContext("p4-fresh", p4);
    expect(ctx.packages).toEqual(
      expect.arrayContaining([`proxmox-headers-${ctx.running}`, "proxmox-default-headers"]),
    );
  });

  it("blocks not-captured when the installed packages are unknown", async () => {
    const ctx = await scenarioContext("seed-fresh", seed);
    const out = new PassOutput();
    expect(missingPackages({ ...ctx, facts: { ...ctx.facts, packages: null } }, out)).toEqual([]);
    expect(codes(out)).toEqual(["not-captured"]);
  });
});

describe("vgpu_unlock (passes/unlock-build.ts, passes/unlock-files.ts)", () => {
  it("installs rust, clones the checkout vgpu.yaml names and builds it", async () => {
    const ctx = await scenarioContext("seed-fresh", seed);
    expect(ids(unlockBuildPass(ctx))).toEqual(["rust-toolchain", "unlock-source", "unlock-build"]);
    expect(argvs(unlockBuildPass(ctx))).toContain(
      "git clone -- https://github.com/mbilker/vgpu_unlock-rs /opt/.vgpu_unlock-rs.vgpuctl-tmp",
    );
  });

  it("blocks unlock-source-missing and builds nothing when the checkout is missing and no git URL is given", async () => {
    const entry = exampleEntry("seed-host.yaml", { vgpuUnlock: { source: "/opt/vgpu_unlock-rs" } });
    const { ctx, found } = readContext(entry, await scenarioInput("seed-fresh", entry));
    expect(codes(found)).toContain("unlock-source-missing");
    expect(ids(unlockBuildPass(ctx!))).toEqual(["rust-toolchain"]);
  });

  it("preloads the library into both daemons and leaves config.toml absent (vgpu_unlock-rs spoofs by default) for a consumer GPU", async () => {
    const r = unlockFilesPass(await scenarioContext("seed-fresh", seed));
    expect(fileAfter(r, "/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf")).toMatch(
      /LD_PRELOAD=\/opt\/vgpu_unlock-rs\/target\/release\/libvgpu_unlock_rs\.so/,
    );
    expect(fileAfter(r, "/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf")).toMatch(
      /LD_PRELOAD=/,
    );
    expect(fileAfter(r, UNLOCK_CONFIG)).toBeUndefined();
  });

  it("sets `unlock = false` where vgpu_unlock is preloaded on a natively supported board", async () => {
    const r = unlockFilesPass(await scenarioContext("unlock-enabled-native", p4));
    expect(fileAfter(r, UNLOCK_CONFIG)).toMatch(/^unlock = false$/m);
    expect(r.steps[0]?.why).toBe("natively supported GPUs must not be spoofed: `unlock = false`");
  });
});

describe("SR-IOV and services (passes/sriov.ts, passes/services.ts)", () => {
  const a40 = exampleEntry("p4-host.yaml", { gpus: undefined, driver: undefined });

  it("enables pve-nvidia-sriov@ALL at boot when the A40's virtual functions are missing", async () => {
    const r = sriovPass(await scenarioContext("sriov-vfs-missing", a40));
    expect(argvs(r)).toEqual(["systemctl enable pve-nvidia-sriov@ALL.service"]);
    expect(r.steps[0]?.reboot).toBe(true);
  });

  it("plans nothing when the virtual functions are enabled", async () => {
    expect(sriovPass(await scenarioContext("vm-uses-physical-function", a40)).steps).toEqual([]);
  });

  it("starts and enables an inactive nvidia-vgpu-mgr, and leaves an active one alone", async () => {
    expect(argvs(servicesPass(await scenarioContext("vgpu-mgr-inactive", p4)))).toEqual([
      "systemctl enable --now nvidia-vgpu-mgr.service",
    ]);
    expect(servicesPass(await scenarioContext("p4-configured", p4)).steps).toEqual([]);
  });
});

describe("leftover passthrough (passes/vfio-leftover.ts)", () => {
  it("collects the ids of every NVIDIA function on the card (GPU and audio)", async () => {
    const ctx = await scenarioContext("vfio-leftover", seed);
    expect(vfioLeftover(ctx.facts, ctx.gpus, () => {}).ids).toEqual(expect.arrayContaining(["10de:1e07"]));
    expect(ctx.leftover.bound).toEqual(["0000:01:00.0"]);
  });

  it("removes the GPU's ids from the leftover vfio.conf", async () => {
    const r = vfioLeftoverPass(await scenarioContext("vfio-leftover", seed));
    expect(ids(r)).toEqual(["vfio-leftover"]);
    expect(r.steps[0]?.fixes).toEqual(["vfio-bound", "vfio-config-leftover"]);
    const file = r.steps[0]!.changes[0] as { after: string };
    expect(file.after).not.toMatch(/10de:1e07/);
  });

  it("plans nothing on a host without passthrough configuration", async () => {
    expect(vfioLeftoverPass(await scenarioContext("seed-configured", seed)).steps).toEqual([]);
  });
});

describe("VMs (passes/vms.ts)", () => {
  it("plans nothing when vgpu.yaml lists no VMs", async () => {
    const r = vmsPass(await scenarioContext("seed-configured", seed), []);
    expect(r.out.steps).toEqual([]);
    expect(r.split).toBeNull();
  });

  it("attaches the VMs of seed-vms.yaml after the setup's reboot when one is still due", async () => {
    const entry = exampleEntry("seed-vms.yaml");
    const ctx = await scenarioContext("seed-configured", entry);
    const now = vmsPass(ctx, []);
    expect(ids(now.out)).toEqual(["vm-100", "vm-101"]);
    expect(now.out.steps.some((s) => s.afterReboot)).toBe(false);
    const reboot = {
      id: "reboot",
      title: "",
      why: "",
      changes: [],
      reboot: true,
      undo: { description: "", commands: [], regenerate: [] },
    };
    expect(vmsPass(ctx, [reboot]).out.steps.every((s) => s.afterReboot)).toBe(true);
  });
});
