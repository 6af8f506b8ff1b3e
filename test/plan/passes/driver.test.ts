import { describe, expect, it } from "vitest";
import { findRelease } from "../../../src/knowledge/drivers.ts";
import { readContext } from "../../../src/plan/context.ts";
import { driverPass } from "../../../src/plan/passes/driver.ts";
import { checkDriverKernels } from "../../../src/plan/passes/kernel.ts";
import { PassOutput } from "../../../src/plan/passes/output.ts";
import { argvs, codes, exampleEntry, ids, scenarioContext, scenarioInput } from "./context.ts";

const seed = exampleEntry("seed-host.yaml");
const p4 = exampleEntry("p4-host.yaml");

describe("driver (passes/driver.ts)", () => {
  it("patches the installer for vgpu_unlock and installs the patched copy with DKMS, modules not loaded", async () => {
    const ctx = await scenarioContext("seed-fresh", seed);
    expect(ctx.driver).toMatchObject({ installed: null, version: "525.85.07", needed: true });
    const r = driverPass(ctx);
    expect(ids(r)).toEqual(["driver-patch", "driver-install"]);
    expect(argvs(r)).toContain(
      "sh /root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm-custom.run --silent --dkms --no-nouveau-check --skip-module-load -m=kernel",
    );
    expect(argvs(r).at(-1)).toBe("systemctl enable nvidia-vgpud.service nvidia-vgpu-mgr.service");
  });

  it("installs a native board's driver unpatched, and builds it for the next boot's kernel too", async () => {
    const ctx = await scenarioContext("p4-fresh", p4);
    const r = driverPass({ ...ctx, bootKernel: "6.8.12-9-pve" });
    expect(ids(r)).toEqual(["driver-install"]);
    expect(argvs(r)).toContain("dkms install -m nvidia -v 535.216.01 -k 6.8.12-9-pve");
  });

  it("plans nothing when the driver is installed", async () => {
    const ctx = await scenarioContext("p4-configured", p4);
    expect(ctx.driver.needed).toBe(false);
    expect(driverPass(ctx).steps).toEqual([]);
  });

  it("replaces another installed version in place: keep the old installer, nvidia-uninstall, then install", async () => {
    const up = exampleEntry("seed-upgrade.yaml");
    const ctx = await scenarioContext("seed-configured", up);
    expect(ctx.driver).toMatchObject({
      version: "535.216.01",
      needed: true,
      replace: { version: "525.85.07" },
    });
    const r = driverPass(ctx);
    expect(ids(r)).toEqual(["driver-keep-previous", "driver-remove", "driver-patch", "driver-install"]);
    expect(argvs(r)).toContain(
      "env -C /var/lib/vgpuctl/previous-driver sh /root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run --apply-patch /root/vgpu-proxmox/525.85.07.patch",
    );
    const remove = r.steps.find((s) => s.id === "driver-remove")!;
    expect(remove.undo.commands[0]).toEqual([
      "sh",
      "/var/lib/vgpuctl/previous-driver/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm-custom.run",
      "--silent",
      "--dkms",
      "--no-nouveau-check",
      "-m=kernel",
    ]);
  });

  it("refuses a branch that dropped the GPU (Tesla P4 on 17.4) with driver-branch-drops-gpu, before the files", async () => {
    const p17 = exampleEntry("p4-host.yaml", {
      driver: { installer: "/root/NVIDIA-Linux-x86_64-550.127.06-vgpu-kvm.run", sha256: "a".repeat(64) },
    });
    const { found } = readContext(p17, await scenarioInput("p4-configured", p17));
    expect(codes(found)).toContain("driver-branch-drops-gpu");
    expect(codes(found)).not.toContain("driver-file-missing");
  });

  it("refuses while VMs run on vGPUs (driver-vms-running) unless stopVms, which shuts them down first", async () => {
    const up = exampleEntry("seed-upgrade.yaml");
    const input = await scenarioInput("seed-configured", up);
    const vm = input.facts.vms![0]!;
    const facts = {
      ...input.facts,
      vms: [
        {
          ...vm,
          hostpci: [
            {
              index: 0,
              raw: "0000:01:00.0,mdev=nvidia-259",
              address: "0000:01:00.0",
              mapping: null,
              mdev: "nvidia-259",
              pcie: false,
              xvga: false,
            },
          ],
        },
      ],
      qmList: [{ vmid: vm.vmid, name: "w", status: "running" }],
    };
    expect(codes(readContext(up, { ...input, facts }).found)).toContain("driver-vms-running");
    const { ctx, found } = readContext(up, { ...input, facts, stopVms: true });
    expect(codes(found)).not.toContain("driver-vms-running");
    expect(argvs(driverPass(ctx!))[0]).toBe(`qm shutdown ${vm.vmid}`);
  });

  it("blocks driver-missing when no driver is installed and vgpu.yaml names none", async () => {
    const entry = exampleEntry("seed-host.yaml", { driver: undefined });
    const { found } = readContext(entry, await scenarioInput("seed-fresh", entry));
    expect(codes(found)).toContain("driver-missing");
  });

  it("blocks patch-missing when a consumer GPU's driver has no patch", async () => {
    const entry = exampleEntry("seed-host.yaml");
    const { found } = readContext(
      { ...entry, driver: { ...entry.driver!, patch: undefined } },
      await scenarioInput("seed-fresh", entry),
    );
    expect(codes(found)).toContain("patch-missing");
  });
});

describe("kernel against driver (passes/kernel.ts)", () => {
  const rel = findRelease("16.8")!;

  const host = {
    pveMajor: 8,
    running: "6.14.8-2-pve",
    bootKernel: "6.14.8-2-pve",
    kernels: ["6.8.12-4-pve", "6.14.8-2-pve"],
  };

  it("pins an installed kernel in range when the running one is outside it (driver already installed)", () => {
    const out = new PassOutput();
    expect(checkDriverKernels(host, rel, "535.216.01", out)).toEqual({
      kernel: "6.8.12-4-pve",
      outside: ["6.14.8-2-pve"],
    });
    expect(out.blockers).toEqual([]);
  });

  it("blocks when the driver is to be installed on a running kernel outside the range: pin, reboot, re-run", () => {
    const out = new PassOutput();
    expect(checkDriverKernels(host, rel, "535.216.01", out, true)).toBeNull();
    expect(codes(out)).toEqual(["kernel-unsupported"]);
    expect(out.blockers[0]!.fix[0]).toBe("proxmox-boot-tool kernel pin 6.8.12-4-pve");
  });

  it("blocks with the kernel series to install when no installed kernel is in range", () => {
    const out = new PassOutput();
    expect(checkDriverKernels({ ...host, kernels: ["6.14.8-2-pve"] }, rel, "535.216.01", out)).toBeNull();
    expect(codes(out)).toEqual(["kernel-unsupported"]);
    expect(out.blockers[0]!.fix[0]).toMatch(
      /^install a 6\.8 series kernel with its headers \(apt install proxmox-kernel-6\.8 proxmox-headers-6\.8\)/,
    );
  });

  const offered = {
    repoKernels: [
      { kernel: "6.5.13-6-pve", package: "proxmox-kernel-6.5.13-6-pve-signed" },
      { kernel: "6.8.12-4-pve", package: "proxmox-kernel-6.8.12-4-pve-signed" },
      { kernel: "6.8.12-9-pve", package: "proxmox-kernel-6.8.12-9-pve-signed" },
      { kernel: "6.14.8-2-pve", package: "proxmox-kernel-6.14.8-2-pve-signed" },
    ],
  };

  it("none installed in range: installs the newest the repositories offer in it, with its headers, and pins it", () => {
    const out = new PassOutput();
    expect(
      checkDriverKernels({ ...host, kernels: ["6.14.8-2-pve"], ...offered }, rel, "535.216.01", out),
    ).toEqual({
      kernel: "6.8.12-9-pve",
      outside: ["6.14.8-2-pve"],
      install: { image: "proxmox-kernel-6.8.12-9-pve-signed", headers: "proxmox-headers-6.8.12-9-pve" },
    });
    expect(out.blockers).toEqual([]);
  });

  it("none installed in range and the driver installed now: blocks with the install, pin and reboot lines", () => {
    const out = new PassOutput();
    const h = { ...host, kernels: ["6.14.8-2-pve"], ...offered };
    expect(checkDriverKernels(h, rel, "535.216.01", out, true)).toBeNull();
    expect(out.blockers[0]!.fix).toEqual([
      "apt-get install proxmox-kernel-6.8.12-9-pve-signed proxmox-headers-6.8.12-9-pve",
      "proxmox-boot-tool kernel pin 6.8.12-9-pve",
      "reboot, then re-run",
    ]);
  });

  it("none in range installed nor offered: the series refusal says the repositories have none either", () => {
    const out = new PassOutput();
    const h = { ...host, kernels: ["6.14.8-2-pve"], repoKernels: offered.repoKernels.slice(3) };
    expect(checkDriverKernels(h, rel, "535.216.01", out)).toBeNull();
    expect(codes(out)).toEqual(["kernel-unsupported"]);
    expect(out.blockers[0]!.evidence).toContain("none of the kernels the repositories offer is in it either");
  });

  it("accepts a kernel in range without a note", () => {
    const out = new PassOutput();
    checkDriverKernels(
      { pveMajor: 8, running: "6.8.12-4-pve", bootKernel: "6.8.12-4-pve", kernels: ["6.8.12-4-pve"] },
      rel,
      "535.216.01",
      out,
    );
    expect(out.blockers).toEqual([]);
    expect(out.notes).toEqual([]);
  });
});
