// Facts: the simulated seed-fresh host (the seed guide's host: PVE 7.4, kernel 5.15, Intel, GRUB, RTX 2080 Ti
// 10de:1e07 on nouveau, the 15.1 installer and patch in /root) and p4-fresh (PVE 8.2, kernel 6.8.12-4, AMD,
// ZFS + systemd-boot, Tesla P4), gathered as the CLI gathers them; a case may change a file on the
// simulated host or a fact of the gathered input first. Entries: examples/seed-host.yaml and p4-host.yaml.
import { describe, expect, it } from "vitest";
import { sha256 } from "../../src/apply/journal.ts";
import { applyHost } from "../../src/apply/run.ts";
import { gatherForPlan } from "../../src/commands/plan.ts";
import type { HostEntry } from "../../src/desired/schema.ts";
import type { Facts } from "../../src/facts/types.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { buildPlan, NOUVEAU_BLACKLIST, probeRequests } from "../../src/plan/build.ts";
import type { Change, Plan } from "../../src/plan/types.ts";
import { exampleEntry, SEED_FRESH_STEPS } from "../helpers/seed-sim.ts";

const SEED = await exampleEntry();
/** examples/seed-host.yaml's entry, apt sources left alone unless a case asks */
const seedEntry = (over: Partial<HostEntry> = {}): HostEntry =>
  structuredClone({ ...SEED, repository: null, ...over });
const INSTALLER = SEED.driver!.installer;
const PATCH = SEED.driver!.patch!.path;

const simHost = (scenario = "seed-fresh") => SimHost.fromState(buildScenarioState(scenario));

async function planOn(host: SimHost, entry: HostEntry, tweak?: (f: Facts) => void): Promise<Plan> {
  const input = await gatherForPlan(host, entry);
  tweak?.(input.facts);
  return buildPlan(entry, input);
}

async function seedPlan(entry = seedEntry(), tweak?: (f: Facts) => void): Promise<Plan> {
  return planOn(simHost(), entry, tweak);
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
    // the seed guide's steps, apt sources left alone
    expect(ids(p)).toEqual(SEED_FRESH_STEPS.filter((id) => id !== "repository"));
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
      "git", // the simulated host has no git: the vgpu_unlock-rs clone needs it
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

  it("asks to probe exactly the driver files, a GNU patch in /usr/local, the unlock build and whether it is a git checkout", () => {
    expect(probeRequests(seedEntry()).map((r) => r.path)).toEqual([
      INSTALLER,
      PATCH,
      "/usr/local/bin/patch",
      "/opt/vgpu_unlock-rs/Cargo.toml",
      "/opt/vgpu_unlock-rs/.git/HEAD",
      "/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so",
      "/root/.cargo/bin/cargo",
    ]);
  });
});

describe("buildPlan on a configured host", () => {
  it("is empty after apply + reboot", async () => {
    const host = simHost();
    // the fresh host has no subscription: apt needs the no-subscription repository (as the example says)
    const entry = seedEntry({ repository: "no-subscription" });
    const r = await applyHost(entry, { host, gather: gatherForPlan }, { reboot: true });
    expect(r.verified).toBe(true);
    const p = await planOn(host, entry);
    expect(p.steps).toEqual([]);
    expect(p.reboots).toBe(0);
    expect(p.blockers).toEqual([]);
  });

  it("plans only a reboot when the edits are made but not yet active", async () => {
    const host = simHost();
    const entry = seedEntry({ repository: "no-subscription" });
    await applyHost(entry, { host, gather: gatherForPlan }, { reboot: false });
    const p = await planOn(host, entry);
    expect(ids(p)).toEqual(["reboot"]);
    expect(p.steps[0]!.why).toMatch(/IOMMU parameters are configured but not active/);
    expect(p.reboots).toBe(1);
  });
});

describe("refusals", () => {
  it("Secure Boot on is no refusal: the modules are signed and the key enrolled (passes/secure-boot.ts)", async () => {
    const p = await seedPlan(seedEntry(), (f) => {
      f.secureBoot = true;
    });
    expect(codes(p)).not.toContain("secure-boot");
    expect(p.steps.map((s) => s.id)).toEqual(
      expect.arrayContaining(["secure-boot-key", "dkms-signing", "mok-import"]),
    );
  });

  it("a GPU that cannot do vGPU (GeForce RTX 3080, 10de:2206)", async () => {
    const p = await seedPlan(seedEntry(), (f) => {
      const gpu = f.pci!.find((x) => x.address === "0000:01:00.0")!;
      gpu.deviceId = "2206";
      gpu.description = "NVIDIA Corporation GA102 [GeForce RTX 3080]";
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

    const host = simHost();
    const page = "<!DOCTYPE html><html><title>Just a moment...</title>";
    await host.writeFile(INSTALLER, page);
    const e = seedEntry();
    e.driver!.sha256 = sha256(page);
    const p = await planOn(host, e);
    expect(codes(p)).toContain("driver-not-installer");
    expect(p.blockers.find((b) => b.code === "driver-not-installer")!.fix[0]).toMatch(/web page/);

    const other = seedEntry();
    const host2 = simHost();
    const patchText = (await host2.readFile(PATCH))!;
    await host2.writeFile("/root/vgpu-proxmox/535.54.06.patch", patchText);
    other.driver!.patch = { path: "/root/vgpu-proxmox/535.54.06.patch", sha256: sha256(patchText) };
    expect(codes(await planOn(host2, other))).toContain("patch-version-mismatch");
  });

  it("a missing driver file, and consumer GPUs without a patch", async () => {
    const host = simHost();
    await host.remove(INSTALLER);
    expect(codes(await planOn(host, seedEntry()))).toContain("driver-file-missing");
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
    const entry: HostEntry = {
      ...(await exampleEntry("examples/p4-host.yaml", "sim:p4-fresh")),
      iommu: "on",
      repository: null,
    };
    const host = simHost("p4-fresh");
    const cmdlineBefore = (await host.readFile("/etc/kernel/cmdline"))!.trim();
    const p = await planOn(host, entry);
    expect(p.blockers).toEqual([]);
    expect(ids(p)).toEqual([
      "packages",
      "driver-install",
      "iommu-cmdline",
      "vfio-modules",
      "nouveau-blacklist",
      "initramfs",
    ]);
    expect(fileAfter(p, "/etc/kernel/cmdline")).toBe(`${cmdlineBefore} iommu=pt\n`);
    expect(commands(p, "iommu-cmdline")).toEqual(["proxmox-boot-tool refresh"]);
    expect(fileAfter(p, "/etc/modules")).not.toContain("vfio_virqfd");
    const pkg = p.steps[0]!.changes.find((c) => c.kind === "package") as { install: string[] };
    expect(pkg.install).toEqual([
      "proxmox-headers-6.8.12-4-pve",
      "proxmox-default-headers",
      "dkms",
      "build-essential",
      "mdevctl", // not on the fresh host
    ]);
  });

  it("drops a stale vfio_virqfd on kernel 6.2+", async () => {
    const host = simHost();
    await host.writeFile("/etc/modules", "vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n");
    const p = await planOn(host, seedEntry({ driver: undefined, unlock: "off", gpus: [] }), (f) => {
      f.uname!.release = "6.2.16-3-pve";
      f.packages!["pve-kernel-6.2.16-3-pve"] = "6.2.16-3";
    });
    expect(fileAfter(p, "/etc/modules")).toBe("vfio\nvfio_iommu_type1\nvfio_pci\n");
  });
});
