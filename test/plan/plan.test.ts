// Facts: the seed guide's host (PVE 7.4, kernel 5.15, Intel, GRUB, RTX 2080 Ti 10de:1e07) as built by
// test/apply/world.ts from the fixtures in test/fixtures/formats-edit (see SOURCES.md there).
import { describe, expect, it } from "vitest";
import { sha256 } from "../../src/apply/journal.ts";
import { applyHost } from "../../src/apply/run.ts";
import type { HostEntry } from "../../src/desired/schema.ts";
import type { Facts } from "../../src/facts/types.ts";
import { buildPlan, NOUVEAU_BLACKLIST, probeRequests } from "../../src/plan/build.ts";
import type { Change, Plan, PlanInput } from "../../src/plan/types.ts";
import type { MemoryHost } from "../apply/memory-host.ts";
import {
  gatherWorld,
  INSTALLER,
  INSTALLER_TEXT,
  PATCH,
  PATCH_TEXT,
  seedEntry,
  seedFreshWorld,
} from "../apply/world.ts";

async function inputFor(
  host: MemoryHost,
  world: ReturnType<typeof seedFreshWorld>["world"],
  entry: HostEntry,
): Promise<PlanInput> {
  return gatherWorld(world)(host, entry);
}

async function seedPlan(entry = seedEntry(), tweak?: (f: Facts, host: MemoryHost) => void): Promise<Plan> {
  const { host, world } = seedFreshWorld();
  const input = await inputFor(host, world, entry);
  tweak?.(input.facts, host);
  return buildPlan(entry, { ...input, file: (p) => host.read(p) });
}

const ids = (p: Plan) => p.steps.map((s) => s.id);
const codes = (p: Plan) => p.blockers.map((b) => b.code);
const commands = (p: Plan, id: string) =>
  p.steps
    .find((s) => s.id === id)!
    .changes.filter((c): c is Extract<Change, { kind: "command" }> => c.kind === "command")
    .map((c) => c.argv.join(" "));
const fileAfter = (p: Plan, path: string) =>
  p.steps
    .flatMap((s) => s.changes)
    .find((c): c is Extract<Change, { kind: "file" }> => c.kind === "file" && c.path === path)?.after;

describe("buildPlan on the seed guide's fresh host", () => {
  it("lists the guide's work in an order that needs one reboot", async () => {
    const p = await seedPlan();
    expect(p.blockers).toEqual([]);
    expect(ids(p)).toEqual([
      "packages",
      "rust-toolchain",
      "unlock-build",
      "unlock-files",
      "driver-patch",
      "driver-install",
      "iommu-cmdline",
      "vfio-modules",
      "nouveau-blacklist",
      "initramfs",
    ]);
    expect(p.reboots).toBe(1);
    // the driver is installed while nouveau is still loaded, and not loaded until the reboot
    expect(ids(p).indexOf("driver-install")).toBeLessThan(ids(p).indexOf("nouveau-blacklist"));
    expect(commands(p, "driver-install")[0]).toBe(
      "sh /root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm-custom.run --silent --dkms --no-nouveau-check --skip-module-load -m=kernel",
    );
    expect(commands(p, "driver-patch")[1]).toBe(`env -C /root sh ${INSTALLER} --apply-patch ${PATCH}`);
    // one initramfs rebuild, last
    expect(ids(p).filter((i) => i === "initramfs")).toHaveLength(1);
    expect(ids(p).at(-1)).toBe("initramfs");
  });

  it("installs headers for the running kernel, dkms, build tools and mdevctl (seed guide `apt install`)", async () => {
    const p = await seedPlan();
    const pkg = p.steps[0]!.changes.find((c) => c.kind === "package" && "install" in c) as {
      install: string[];
    };
    expect(pkg.install).toEqual([
      "pve-headers-5.15.102-1-pve",
      "pve-headers",
      "dkms",
      "build-essential",
      "mdevctl",
    ]);
  });

  it("shows the exact file edits of the guide", async () => {
    const p = await seedPlan();
    expect(fileAfter(p, "/etc/default/grub")).toContain(
      'GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"',
    );
    expect(fileAfter(p, "/etc/modules")).toMatch(/vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n$/);
    expect(fileAfter(p, NOUVEAU_BLACKLIST)).toContain("blacklist nouveau\n");
    expect(fileAfter(p, "/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf")).toBe(
      "[Service]\nEnvironment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so\n",
    );
    // seed guide lines 99-100 write the same LD_PRELOAD drop-in for nvidia-vgpud and nvidia-vgpu-mgr
    expect(fileAfter(p, "/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf")).toBe(
      "[Service]\nEnvironment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so\n",
    );
    const grub = p.steps.find((s) => s.id === "iommu-cmdline")!.changes[0] as Extract<
      Change,
      { kind: "file" }
    >;
    expect(grub.diff).toContain('-GRUB_CMDLINE_LINUX_DEFAULT="quiet"');
    expect(grub.diff).toContain('+GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"');
    expect(commands(p, "iommu-cmdline")).toEqual(["update-grub"]);
  });

  it("switches the repository only when asked", async () => {
    expect(ids(await seedPlan())).not.toContain("repository");
    const p = await seedPlan(seedEntry({ repository: "no-subscription" }));
    expect(ids(p)[0]).toBe("repository");
    expect(fileAfter(p, "/etc/apt/sources.list.d/pve-enterprise.list")).toBe(
      "# deb https://enterprise.proxmox.com/debian/pve bullseye pve-enterprise\n",
    );
    expect(fileAfter(p, "/etc/apt/sources.list.d/pve-no-subscription.list")).toBe(
      "deb http://download.proxmox.com/debian/pve bullseye pve-no-subscription\n",
    );
  });

  it("asks to probe exactly the driver files, a GNU patch in /usr/local and the unlock build", () => {
    expect(probeRequests(seedEntry()).map((r) => r.path)).toEqual([
      INSTALLER,
      PATCH,
      "/usr/local/bin/patch",
      "/opt/vgpu_unlock-rs/Cargo.toml",
      "/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so",
      "/root/.cargo/bin/cargo",
    ]);
  });
});

describe("buildPlan on a configured host", () => {
  it("is empty after apply + reboot", async () => {
    const { host, world } = seedFreshWorld();
    const r = await applyHost(seedEntry(), { host, gather: gatherWorld(world) }, { reboot: true });
    expect(r.verified).toBe(true);
    const input = await inputFor(host, world, seedEntry());
    const p = buildPlan(seedEntry(), input);
    expect(p.steps).toEqual([]);
    expect(p.reboots).toBe(0);
    expect(p.blockers).toEqual([]);
  });

  it("plans only a reboot when the edits are made but not yet active", async () => {
    const { host, world } = seedFreshWorld();
    await applyHost(seedEntry(), { host, gather: gatherWorld(world) }, { reboot: false });
    const p = buildPlan(seedEntry(), await inputFor(host, world, seedEntry()));
    expect(ids(p)).toEqual(["reboot"]);
    expect(p.steps[0]!.why).toMatch(/IOMMU parameters are configured but not active/);
    expect(p.reboots).toBe(1);
  });
});

describe("refusals", () => {
  it("Secure Boot on", async () => {
    const p = await seedPlan(seedEntry(), (f) => {
      f.secureBoot = true;
    });
    expect(codes(p)).toContain("secure-boot");
  });

  it("a GPU that cannot do vGPU (GeForce RTX 3080, 10de:2206)", async () => {
    const p = await seedPlan(seedEntry(), (f) => {
      f.pci![0]!.deviceId = "2206";
      f.pci![0]!.description = "NVIDIA Corporation GA102 [GeForce RTX 3080]";
    });
    expect(codes(p)).toContain("gpu-unsupported");
    expect(p.blockers.find((b) => b.code === "gpu-unsupported")!.evidence[0]).toMatch(/Ampere|not/i);
  });

  it("a kernel outside the driver's range names the kernel to pin", async () => {
    const p = await seedPlan(seedEntry(), (f) => {
      f.uname!.release = "6.2.16-3-pve";
      f.packages!["pve-kernel-6.2.16-3-pve"] = "6.2.16-3";
    });
    const b = p.blockers.filter((x) => x.code === "kernel-unsupported");
    expect(b.length).toBeGreaterThan(0);
    expect(b[0]!.title).toMatch(
      /6\.2\.16-3-pve is outside the range of driver 525\.85\.07 \(vGPU 15\.1: kernels 5\.14 – 6\.0\)/,
    );
    expect(b[0]!.fix[0]).toBe("proxmox-boot-tool kernel pin 5.15.102-1-pve");
  });

  it("not a Proxmox VE host", async () => {
    const p = await seedPlan(seedEntry(), (f) => {
      f.pve = null;
    });
    expect(codes(p)).toEqual(["not-proxmox"]);
    expect(p.steps).toEqual([]);
  });

  it("installer checksum, magic bytes, and a patch for another version", async () => {
    const bad = seedEntry();
    bad.driver!.sha256 = "0".repeat(64);
    expect(codes(await seedPlan(bad))).toContain("driver-checksum-mismatch");

    const { host, world } = seedFreshWorld();
    host.files.set(INSTALLER, {
      content: "<!DOCTYPE html><html><title>Just a moment...</title>",
      mode: 0o644,
    });
    const e = seedEntry();
    e.driver!.sha256 = sha256(host.read(INSTALLER)!);
    const p = buildPlan(e, await inputFor(host, world, e));
    expect(codes(p)).toContain("driver-not-installer");
    expect(p.blockers.find((b) => b.code === "driver-not-installer")!.fix[0]).toMatch(/web page/);

    const other = seedEntry();
    other.driver!.patch = { path: "/root/vgpu-proxmox/535.54.06.patch", sha256: sha256(PATCH_TEXT) };
    expect(codes(await seedPlan(other))).toContain("patch-version-mismatch");
  });

  it("a missing driver file, and consumer GPUs without a patch", async () => {
    const { host, world } = seedFreshWorld();
    host.files.delete(INSTALLER);
    expect(codes(buildPlan(seedEntry(), await inputFor(host, world, seedEntry())))).toContain(
      "driver-file-missing",
    );
    const e = seedEntry();
    delete e.driver!.patch;
    expect(codes(await seedPlan(e))).toContain("patch-missing");
  });

  it("unlock: off with a consumer GPU", async () => {
    expect(codes(await seedPlan(seedEntry({ unlock: "off" })))).toContain("unlock-missing");
  });
});

describe("other hosts", () => {
  it("systemd-boot, AMD, kernel 6.8, native Tesla P4: /etc/kernel/cmdline, no vfio_virqfd, no unlock", async () => {
    const P4_INSTALLER = "/root/NVIDIA-Linux-x86_64-535.230.02-vgpu-kvm.run";
    const entry: HostEntry = {
      host: "sim:p4-fresh",
      driver: { installer: P4_INSTALLER, sha256: sha256(INSTALLER_TEXT) },
      unlock: "auto",
      iommu: "on",
      repository: null,
    };
    const { host, world } = seedFreshWorld();
    host.files.set(P4_INSTALLER, { content: INSTALLER_TEXT, mode: 0o644 });
    host.files.set("/etc/kernel/cmdline", { content: "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n", mode: 0o644 });
    const input = await inputFor(host, world, entry);
    const f = input.facts;
    f.cpuVendor = "amd";
    f.uname!.release = "6.8.12-4-pve";
    f.pve = { manager: "8.3.0", runningKernel: "6.8.12-4-pve", packages: {} };
    f.packages = { "proxmox-kernel-6.8.12-4-pve-signed": "6.8.12-4", mdevctl: "1.2.0-3" };
    f.bootTool = {
      configured: true,
      mode: "uefi",
      esps: [{ uuid: "A1B2-C3D4", bootloader: "systemd-boot", kernels: ["6.8.12-4-pve"] }],
    };
    f.pci![0]!.deviceId = "1bb3";
    f.pci![0]!.description = "NVIDIA Corporation GP104GL [Tesla P4]";
    f.pci![0]!.subsystemDeviceId = "11d8";
    const p = buildPlan(entry, input);
    expect(p.blockers).toEqual([]);
    expect(ids(p)).toEqual([
      "packages",
      "driver-install",
      "iommu-cmdline",
      "vfio-modules",
      "nouveau-blacklist",
      "initramfs",
    ]);
    expect(fileAfter(p, "/etc/kernel/cmdline")).toBe("root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt\n");
    expect(commands(p, "iommu-cmdline")).toEqual(["proxmox-boot-tool refresh"]);
    expect(fileAfter(p, "/etc/modules")).not.toContain("vfio_virqfd");
    const pkg = p.steps[0]!.changes.find((c) => c.kind === "package") as { install: string[] };
    expect(pkg.install).toEqual([
      "proxmox-headers-6.8.12-4-pve",
      "proxmox-default-headers",
      "dkms",
      "build-essential",
    ]);
  });

  it("drops a stale vfio_virqfd on kernel 6.2+", async () => {
    const { host, world } = seedFreshWorld();
    host.files.set("/etc/modules", {
      content: "vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n",
      mode: 0o644,
    });
    const input = await inputFor(host, world, seedEntry());
    input.facts.uname!.release = "6.2.16-3-pve";
    input.facts.packages!["pve-kernel-6.2.16-3-pve"] = "6.2.16-3";
    const p = buildPlan(seedEntry({ driver: undefined, unlock: "off", gpus: [] }), input);
    expect(fileAfter(p, "/etc/modules")).toBe("vfio\nvfio_iommu_type1\nvfio_pci\n");
  });
});
