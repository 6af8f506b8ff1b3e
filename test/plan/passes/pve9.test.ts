// Proxmox VE 9 / native cards / no reboot: the passes on the simulated PVE 9.1 L40S hosts (and on
// facts of older scenarios changed the way a PVE 9 host differs).
import { describe, expect, it } from "vitest";
import { readContext } from "../../../src/plan/context.ts";
import { liveEvidence, liveOrReboot } from "../../../src/plan/passes/live.ts";
import { MIXED_SIZE_DROPIN, mixedSizePass } from "../../../src/plan/passes/mixed-size.ts";
import { packagesPass, proxmoxWay } from "../../../src/plan/passes/packages.ts";
import type { Step } from "../../../src/plan/types.ts";
import { argvs, codes, exampleEntry, fileAfter, ids, scenarioContext, scenarioInput } from "./context.ts";

const l40s = exampleEntry("pve9-l40s.yaml");
const seed = exampleEntry("seed-host.yaml");
const step = (id: string, reboot: boolean): Step => ({
  id,
  title: id,
  why: "",
  changes: [],
  reboot,
  undo: { description: "", commands: [], regenerate: [] },
});

describe("no reboot where none is needed (passes/live.ts)", () => {
  it("takes the IOMMU in dmesg and a console on the BMC's framebuffer as evidence", async () => {
    const ev = liveEvidence(await scenarioContext("pve9-l40s-fresh", l40s));
    expect(ev.against).toEqual([]);
    expect(ev.evidence.join("; ")).toMatch(/IOMMU is active in this boot.*\/proc\/fb: 0 astdrmfb/);
  });

  it("keeps the reboot when nouveau drives the console, and says so", async () => {
    const ctx = await scenarioContext("pve9-l40s-nouveau-console", l40s);
    expect(liveEvidence(ctx).against[0]).toMatch(/nouveau drives a framebuffer.*nouveaudrmfb/);
    const r = liveOrReboot(ctx, [step("driver-install", true), step("initramfs", true)]);
    expect(r.steps.map((s) => s.reboot)).toEqual([true, true]);
    expect(r.notes[0]).toMatch(/^1 reboot: the setup cannot be loaded now — nouveau drives a framebuffer/);
  });

  it("keeps the reboot when /proc/fb was not captured or the IOMMU is not known to be on", async () => {
    const noFb = await scenarioContext("pve9-l40s-fresh", l40s, (_f, files) =>
      files.set("/proc/fb", undefined),
    );
    expect(liveEvidence(noFb).against).toEqual([
      "whether nouveau drives the console is unknown (/proc/fb not captured)",
    ]);
    const noDmesg = await scenarioContext("pve9-l40s-fresh", l40s, (f) => {
      f.dmesg = null;
    });
    expect(liveEvidence(noDmesg).against).toEqual([
      "the IOMMU is not known to be active in this boot (dmesg)",
    ]);
  });

  it("keeps the reboot for a step that only a boot can put into effect (the kernel command line)", async () => {
    const ctx = await scenarioContext("pve9-l40s-fresh", l40s);
    const steps = [step("iommu-cmdline", true), step("initramfs", true)];
    expect(liveOrReboot(ctx, steps)).toEqual({ steps, notes: [] });
  });

  it("loads the setup now: nouveau unloaded, the driver loaded (no vfio modules: vendor-specific VFIO), services started, VFs enabled", async () => {
    const ctx = await scenarioContext("pve9-l40s-fresh", l40s);
    const r = liveOrReboot(ctx, [step("driver-install", true), step("sriov", true), step("initramfs", true)]);
    expect(ids(r as never)).toEqual(["driver-install", "initramfs", "load-now"]);
    expect(r.steps.every((s) => !s.reboot)).toBe(true);
    expect(argvs(r as never)).toEqual([
      "modprobe -r nouveau",
      "modprobe nvidia",
      "modprobe nvidia_vgpu_vfio",
      "systemctl restart nvidia-vgpud.service nvidia-vgpu-mgr.service",
      "systemctl enable --now pve-nvidia-sriov@ALL.service",
    ]);
    expect(r.steps.at(-1)?.undo.commands).toEqual([["systemctl", "disable", "pve-nvidia-sriov@ALL.service"]]);
    expect(r.notes[0]).toMatch(/^no reboot: /);
  });

  it("never reloads a loaded driver (running VMs keep their vGPUs): only the VFs are enabled", async () => {
    const entry = exampleEntry("p4-host.yaml", { gpus: undefined, driver: undefined });
    const ctx = await scenarioContext("sriov-vfs-missing", entry);
    const r = liveOrReboot(ctx, [step("sriov", true)]);
    expect(argvs(r as never)).toEqual(["systemctl enable --now pve-nvidia-sriov@ALL.service"]);
  });
});

describe("mixed-size mode (passes/mixed-size.ts)", () => {
  it("writes the drop-in and sets the mode now when the driver is loaded without a reboot", async () => {
    const ctx = await scenarioContext("pve9-l40s-fresh", l40s);
    const r = mixedSizePass(ctx, [step("load-now", false)]);
    expect(fileAfter(r, MIXED_SIZE_DROPIN)).toContain(
      "ExecStartPost=-/usr/bin/nvidia-smi vgpu -i 0000:41:00.0 -shm 1",
    );
    expect(argvs(r)).toEqual(["systemctl daemon-reload", "nvidia-smi vgpu -i 0000:41:00.0 -shm 1"]);
    expect(r.steps[0]?.reboot).toBe(false);
  });

  it("only writes the drop-in (for the next boot) when the setup reboots", async () => {
    const ctx = await scenarioContext("pve9-l40s-nouveau-console", l40s);
    const r = mixedSizePass(ctx, [step("initramfs", true)]);
    expect(argvs(r)).toEqual(["systemctl daemon-reload"]);
    expect(r.steps[0]?.reboot).toBe(true);
  });

  it("refuses mixed-size mode with a vGPU 16 driver", async () => {
    const entry = exampleEntry("p4-host.yaml", {
      gpus: [{ address: "0000:01:00.0", type: "GRID P4-2Q", mixedSizes: true }],
    });
    const ctx = await scenarioContext("p4-configured", entry);
    expect(codes(mixedSizePass(ctx, []))).toEqual(["mixed-size-unsupported"]);
  });

  it("plans nothing without `mixedSizes` and no drop-in", async () => {
    const entry = exampleEntry("pve9-l40s.yaml", {
      gpus: [{ address: "0000:41:00.0", type: "NVIDIA L40S-4Q" }],
    });
    expect(mixedSizePass(await scenarioContext("pve9-l40s-fresh", entry), []).steps).toEqual([]);
  });
});

describe("native cards the Proxmox way (passes/packages.ts)", () => {
  it("installs pve-nvidia-vgpu-helper for a native card on Proxmox VE ≥ 8.3.4, and says how its setup is done", async () => {
    const ctx = await scenarioContext("pve9-l40s-fresh", l40s);
    expect(proxmoxWay(ctx)).toBe(true);
    expect(ctx.packages).toContain("pve-nvidia-vgpu-helper");
    expect(ctx.packages).toContain("proxmox-headers-6.17.2-1-pve");
    expect(packagesPass(ctx).notes[0]).toMatch(/its `setup` asks questions on a terminal/);
  });

  it("does not before pve-manager 8.3.4 (a P4 on 8.2)", async () => {
    const ctx = await scenarioContext("p4-fresh", exampleEntry("p4-host.yaml"));
    expect(proxmoxWay(ctx)).toBe(false);
    expect(ctx.packages).not.toContain("pve-nvidia-vgpu-helper");
  });
});

describe("Proxmox VE 9 refusals before anything changes (passes/driver*.ts)", () => {
  const pve9 = (f: Parameters<NonNullable<Parameters<typeof scenarioInput>[2]>>[0]) => {
    f.pve!.manager = "9.0.10";
    f.packages!.patch = "2.8-2";
  };

  it("refuses the driver patch under GNU patch 2.8 (NUL byte) and names the 2.7.6 remedy", async () => {
    const { found } = readContext(seed, await scenarioInput("seed-fresh", seed, pve9));
    const b = found.blockers.find((x) => x.code === "patch-nul-byte");
    expect(b?.title).toMatch(
      /GNU patch 2\.8-2 refuses the driver patch \("patch line 9 contains NUL byte"\)/,
    );
    expect(b?.fix[0]).toContain("patch-2.7.6");
  });

  it("goes ahead once GNU patch is in /usr/local, or with patch 2.7", async () => {
    const withLocal = await scenarioInput("seed-fresh", seed, pve9);
    withLocal.probes["/usr/local/bin/patch"] = { exists: true, sha256: null, head: null };
    expect(codes(readContext(seed, withLocal).found)).not.toContain("patch-nul-byte");
    const old = await scenarioInput("seed-fresh", seed, (f) => {
      f.packages!.patch = "2.7.6-7";
    });
    expect(codes(readContext(seed, old).found)).not.toContain("patch-nul-byte");
  });

  it("refuses a consumer Pascal card on Proxmox VE 9 (unlock patches need kernel ≤ 6.5)", async () => {
    const input = await scenarioInput("seed-fresh", seed, (f) => {
      pve9(f);
      const gpu = f.pci!.find((p) => p.address === "0000:01:00.0")!;
      gpu.deviceId = "1b80"; // GeForce GTX 1080
      gpu.subsystemVendorId = null;
      gpu.subsystemDeviceId = null;
    });
    expect(codes(readContext(seed, input).found)).toContain("pascal-unlock-pve9");
  });
});

describe("mixed-size mode while vGPUs run (passes/mixed-size.ts)", () => {
  it("refuses to switch a GPU with running vGPUs (the driver answers 'In use by another client')", async () => {
    const ctx = await scenarioContext("pve9-l40s-fresh", l40s, (f) => {
      f.vgpuQuery = {
        driverVersion: null,
        gpus: [{ busId: "0000:41:00.0", activeVgpus: 1, vgpus: [] }],
        error: null,
      };
    });
    const r = mixedSizePass(ctx, [step("load-now", false)]);
    expect(codes(r)).toEqual(["mixed-size-busy"]);
    expect(argvs(r)).toEqual(["systemctl daemon-reload"]);
  });
});
