// SR-IOV GPUs, Proxmox VE 9 and the no-reboot path on the simulated host (issue 10), exercised through the
// commands a person would type. Real formats and texts copied from (see test/fixtures/sim/SOURCES.md):
// - creatable_vgpu_types: harvester/pcidevices gpuhelper comment (fixture creatable-vgpu-types-l40s.txt).
// - qemu-server ≥ 8.2.5 (proxmox/qemu-server @ e6352be6): PCI/Mdev.pm create_nvidia_device
//   "vgpu type '$model' not available for '$id'"; pci_create_mdev_device "pci device '$pciid' does not support
//   mediated devices " (warned) then QemuServer.pm "could not create mediated device"; cleanup_pci_devices
//   writes 0 to nvidia/current_vgpu_type at stop.
// - nvidia-smi vgpu -shm: research/proxmox.md §3 (fixture nvidia-smi-shm-enable.txt).
// - deb822 files: pve-docs pve-package-repos.adoc @ 9.1.3 (fixtures pve-enterprise.sources, debian.sources);
//   apt 401 on trixie: a PVE 9 `apt update` paste (fixture apt-update-401-trixie.txt; `apt` prints
//   "Error:"/"Notice:" where `apt-get` prints "E:"/"N:").
// - modprobe: kmod's "modprobe: FATAL: Module %s is in use."; /proc/fb: the kernel's fb_procfs.c
//   seq_printf("%d %s\n", node, fix.id).
// - GNU patch 2.8: anomixer/proxmox-vgpu-installer#2 (fixture patch-2.8-nul-byte.txt).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { driverPatch } from "../../src/hosts/sim/scenarios/parts.ts";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { openSim } from "./helpers.ts";

const FIX = join(import.meta.dirname, "../fixtures/sim");
const fixture = (name: string) => readFileSync(join(FIX, name), "utf8");
const SYS = "/sys/bus/pci/devices";
const L40S_RUN = "/root/NVIDIA-Linux-x86_64-580.159.01-vgpu-kvm.run";

async function sh(host: SimHost, cmd: string) {
  return host.exec(["sh", "-c", cmd]);
}

async function read(host: SimHost, path: string): Promise<string> {
  const r = await host.readFile(path);
  if (r === null) throw new Error(`${path} is absent`);
  return r;
}

/** Type ids listed by a VF's nvidia/creatable_vgpu_types (header checked). */
async function creatable(host: SimHost, vf: string): Promise<number[]> {
  const text = await read(host, `${SYS}/${vf}/nvidia/creatable_vgpu_types`);
  const [header, ...rows] = text.trimEnd().split("\n");
  expect(header).toBe("ID    : vGPU Name");
  return rows.filter(Boolean).map((r) => Number(r.split(":")[0]));
}

async function startOn(host: SimHost, vmid: number, vf: string, typeId: number) {
  await sh(host, `qm set ${vmid} --hostpci0 ${vf},mdev=nvidia-${typeId}`);
  return sh(host, `qm start ${vmid}`);
}

/** pve9-l40s-fresh taken to a loaded vGPU driver without a reboot, the way the no-reboot path does it. */
async function l40sLive(): Promise<SimHost> {
  const h = await openSim("pve9-l40s-fresh");
  for (const cmd of [
    "printf 'Enabled: no\\n' >> /etc/apt/sources.list.d/pve-enterprise.sources",
    "printf 'Enabled: no\\n' >> /etc/apt/sources.list.d/ceph.sources",
    "printf 'Types: deb\\nURIs: http://download.proxmox.com/debian/pve\\nSuites: trixie\\nComponents: pve-no-subscription\\nSigned-By: /usr/share/keyrings/proxmox-archive-keyring.gpg\\n' > /etc/apt/sources.list.d/proxmox.sources",
    "apt-get update",
    "apt-get install -y pve-nvidia-vgpu-helper",
    "echo y | pve-nvidia-vgpu-helper setup",
    "modprobe -r nouveau",
    `sh ${L40S_RUN} --silent --dkms -m=kernel`,
    "systemctl enable --now pve-nvidia-sriov@ALL.service",
  ]) {
    const r = await sh(h, cmd);
    expect(r.exitCode, `${cmd}\n${r.stderr}`).toBe(0);
  }
  return h;
}

describe("SR-IOV virtual functions (a16-configured)", () => {
  it("each of the four A16 GPUs has its 16 VFs with the nvidia/ files, linked to their PF", async () => {
    const h = await openSim("a16-configured");
    for (const pf of ["0000:41:00.0", "0000:42:00.0", "0000:43:00.0", "0000:44:00.0"]) {
      expect(await read(h, `${SYS}/${pf}/sriov_totalvfs`)).toBe("16\n");
      expect(await read(h, `${SYS}/${pf}/sriov_numvfs`)).toBe("16\n");
    }
    expect(await h.list(`${SYS}/0000:41:00.4/nvidia`)).toEqual([
      "creatable_vgpu_types",
      "current_vgpu_type",
      "vgpu_params",
    ]);
    expect(await read(h, `${SYS}/0000:41:02.3/physfn/uevent`)).toContain("PCI_SLOT_NAME=0000:41:00.0\n");
    expect(await read(h, `${SYS}/0000:41:00.0/virtfn15/uevent`)).toContain("PCI_SLOT_NAME=0000:41:02.3\n");
    expect(await h.list(`${SYS}/0000:41:00.0/nvidia`)).toBeNull();
  });

  it("creatable_vgpu_types has the real layout: header, then the id padded to six columns", async () => {
    const h = await openSim("a16-configured");
    const real = fixture("creatable-vgpu-types-l40s.txt").split("\n");
    const sim = (await read(h, `${SYS}/0000:41:00.4/nvidia/creatable_vgpu_types`)).split("\n");
    expect(sim[0]).toBe(real[0]);
    const shape = (l: string) =>
      l.replace(/^\d+ +: NVIDIA \S+$/, "ROW") + (/^\d+ +: /.exec(l)?.[0].length ?? "");
    expect(shape(sim[1]!)).toBe(shape(real[1]!)); // "709   : …" and "1145  : …" both put ": " at column 6
    expect(sim).toContain("713   : NVIDIA A16-4Q");
  });

  it("the list shrinks with use: a VF with a type lists nothing, others only that size, none at the maximum", async () => {
    const h = await openSim("a16-configured");
    expect(await read(h, `${SYS}/0000:41:00.4/nvidia/current_vgpu_type`)).toBe("0\n");
    expect((await startOn(h, 100, "0000:41:00.4", 714)).exitCode).toBe(0); // A16-8Q, max 2 per GPU
    expect(await read(h, `${SYS}/0000:41:00.4/nvidia/current_vgpu_type`)).toBe("714\n");
    expect(await creatable(h, "0000:41:00.4")).toEqual([]);
    expect(await creatable(h, "0000:41:00.5")).toEqual([714, 719]); // the 8 GB types (8Q, 8A)
    expect((await creatable(h, "0000:42:00.4")).length).toBe(12); // the other GPUs are untouched
    expect((await startOn(h, 101, "0000:41:00.5", 714)).exitCode).toBe(0);
    expect(await creatable(h, "0000:41:00.6")).toEqual([]);
    const third = await startOn(h, 102, "0000:41:00.6", 714);
    expect(third.exitCode).toBe(255);
    expect(third.stderr).toBe("vgpu type '714' not available for '0000:41:00.6'\n");
    expect(await read(h, `${SYS}/0000:41:00.6/nvidia/current_vgpu_type`)).toBe("0\n");
  });

  it("stop writes 0: the VF is free and the GPU offers every type again", async () => {
    const h = await openSim("a16-configured");
    await startOn(h, 100, "0000:41:00.4", 713);
    expect((await sh(h, "qm stop 100")).exitCode).toBe(0);
    expect(await read(h, `${SYS}/0000:41:00.4/nvidia/current_vgpu_type`)).toBe("0\n");
    expect((await creatable(h, "0000:41:00.5")).length).toBe(12);
  });

  it("the physical function with mdev= fails like qemu-server (no mediated devices on the PF)", async () => {
    const h = await openSim("a16-configured");
    const r = await startOn(h, 103, "0000:41:00.0", 713);
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toBe(
      "pci device '0000:41:00.0' does not support mediated devices \ncould not create mediated device\n",
    );
  });

  it("qemu-server before 8.2.5 does not know VFs as mediated devices", async () => {
    const s = (await openSim("a16-configured")).snapshot();
    s.packages["qemu-server"] = "8.2.4";
    const r = await startOn(SimHost.fromState(s), 100, "0000:41:00.4", 713);
    expect([r.exitCode, r.stderr]).toEqual([
      255,
      "pci device '0000:41:00.4' does not support mediated devices \ncould not create mediated device\n",
    ]);
  });

  it("a VF a running VM holds is refused to a second VM with qemu-server's reservation text", async () => {
    const h = await openSim("a16-configured");
    await startOn(h, 100, "0000:41:00.4", 713);
    const r = await startOn(h, 101, "0000:41:00.4", 713);
    expect([r.exitCode, r.stderr]).toEqual([255, "PCI device '0000:41:00.4' already in use by VMID '100'\n"]);
  });

  it("nvidia-smi: SR-IOV host mode, vGPUs on VFs listed with their VM", async () => {
    const h = await openSim("a16-configured");
    await startOn(h, 100, "0000:43:00.4", 713);
    const q = (await sh(h, "nvidia-smi -q")).stdout;
    expect(q).toMatch(/^ {8}Host VGPU Mode {2,}: SR-IOV$/m);
    expect(q).not.toContain("vGPU Heterogeneous Mode"); // A16: not in NVIDIA's mixed-size lists
    const vq = (await sh(h, "nvidia-smi vgpu -q")).stdout;
    const gpu = vq.slice(vq.indexOf("GPU 00000000:43:00.0"));
    expect(gpu).toMatch(/^ {4}Active vGPUs {2,}: 1$/m);
    expect(gpu).toMatch(/^ {8}vGPU Name {2,}: NVIDIA A16-4Q$/m);
    expect(gpu).toMatch(/^ {8}vGPU Type {2,}: 713$/m);
    expect(gpu).toMatch(/^ {8}VM Name {2,}: cad-01,debug-threads=on$/m);
    expect((await sh(h, "nvidia-smi vgpu")).stdout).toContain("NVIDIA A16-4Q");
  });

  it("pve-nvidia-sriov@ALL: VFs come back at boot only while the unit is enabled; start enables them live", async () => {
    const h = await openSim("a16-configured");
    expect((await sh(h, "systemctl is-enabled pve-nvidia-sriov@ALL.service")).stdout).toBe("enabled\n");
    await h.reboot();
    expect(await read(h, `${SYS}/0000:44:00.0/sriov_numvfs`)).toBe("16\n");
    expect((await sh(h, "systemctl disable pve-nvidia-sriov@ALL.service")).exitCode).toBe(0);
    const off = await sh(h, "systemctl is-enabled pve-nvidia-sriov@ALL.service");
    expect([off.stdout, off.exitCode]).toEqual(["disabled\n", 1]);
    await h.reboot();
    expect(await read(h, `${SYS}/0000:44:00.0/sriov_numvfs`)).toBe("0\n");
    expect((await sh(h, "lspci -Dnnk")).stdout).not.toContain("0000:41:00.4");
    expect((await sh(h, "systemctl start pve-nvidia-sriov@ALL.service")).exitCode).toBe(0);
    expect(await read(h, `${SYS}/0000:44:00.0/sriov_numvfs`)).toBe("16\n");
  });

  it("an enabled unit enables no VFs when the driver does not get the GPU at boot (nouveau not blacklisted)", async () => {
    const h = await openSim("a16-configured");
    await h.remove("/etc/modprobe.d/pve-nvidia-vgpu-helper.conf");
    await h.reboot();
    expect((await sh(h, "lspci -Dnnk")).stdout).toContain("Kernel driver in use: nouveau");
    expect(await read(h, `${SYS}/0000:41:00.0/sriov_numvfs`)).toBe("0\n");
  });
});

describe("mixed-size mode (L40S on vGPU 19.5)", () => {
  it("equal-size by default: after a 4 GB vGPU only 4 GB types stay creatable", async () => {
    const h = await l40sLive();
    expect((await sh(h, "nvidia-smi -q")).stdout).toMatch(/^ {4}vGPU Heterogeneous Mode {2,}: Disabled$/m);
    await startOn(h, 100, "0000:41:00.4", 1150); // L40S-4Q
    expect(await creatable(h, "0000:41:00.5")).toEqual([1150, 1160]); // 4Q, 4A
  });

  it("-shm 1 prints NVIDIA's text, any size fits while framebuffer remains, -shm 0 is refused in use, reboot reverts", async () => {
    const h = await l40sLive();
    const on = await sh(h, "nvidia-smi vgpu -i 0 -shm 1");
    expect(on.stdout).toBe(fixture("nvidia-smi-shm-enable.txt"));
    expect((await sh(h, "nvidia-smi -q")).stdout).toMatch(/^ {4}vGPU Heterogeneous Mode {2,}: Enabled$/m);
    await startOn(h, 100, "0000:41:00.4", 1150); // 4 GB of 48
    const list = await creatable(h, "0000:41:00.5");
    expect(list).toContain(1155); // L40S-24Q: a different size
    expect(list).not.toContain(1156); // L40S-48Q no longer fits
    expect((await startOn(h, 101, "0000:41:00.5", 1155)).exitCode).toBe(0);
    expect((await sh(h, "nvidia-smi vgpu -i 0 -shm 0")).stdout).toBe(
      "Unable to disable vGPU heterogeneous mode for GPU 00000000:41:00.0: In use by another client\n",
    );
    await h.reboot();
    expect((await sh(h, "nvidia-smi -q")).stdout).toMatch(/^ {4}vGPU Heterogeneous Mode {2,}: Disabled$/m);
  });
});

describe("no-reboot path: nouveau and the console", () => {
  it("console on the BMC (astdrmfb): modprobe -r nouveau succeeds, then the driver loads live", async () => {
    const h = await openSim("pve9-l40s-fresh");
    expect(await read(h, "/proc/fb")).toBe("0 astdrmfb\n");
    const r = await sh(h, "modprobe -r nouveau");
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    expect((await sh(h, "lspci -Dnnk")).stdout).not.toContain("Kernel driver in use: nouveau");
    const live = await l40sLive();
    expect(live.snapshot().driverLoaded).toBe(true);
    expect(await read(live, `${SYS}/0000:41:00.0/sriov_numvfs`)).toBe("32\n");
    expect((await sh(live, "systemctl is-active nvidia-vgpu-mgr.service")).stdout).toBe("active\n");
  });

  it("console on nouveau (nouveaudrmfb): modprobe -r nouveau fails like kmod and nothing changes", async () => {
    const h = await openSim("pve9-l40s-nouveau-console");
    expect(await read(h, "/proc/fb")).toBe("0 nouveaudrmfb\n");
    const r = await sh(h, "modprobe -r nouveau");
    expect([r.exitCode, r.stderr]).toEqual([1, "modprobe: FATAL: Module nouveau is in use.\n"]);
    expect((await sh(h, "lspci -Dnnk")).stdout).toContain("Kernel driver in use: nouveau");
  });

  it("the IOMMU of the AMD host is on without any kernel parameter", async () => {
    const h = await openSim("pve9-l40s-fresh");
    expect(await read(h, "/proc/cmdline")).not.toMatch(/iommu/);
    expect((await sh(h, "dmesg")).stdout).toMatch(/AMD-Vi/);
  });
});

describe("Proxmox VE 9.1 repositories (deb822) and apt", () => {
  it("a fresh install has the three .sources files Proxmox documents", async () => {
    const h = await openSim("pve9-l40s-fresh");
    expect(await h.list("/etc/apt/sources.list.d")).toEqual([
      "ceph.sources",
      "debian.sources",
      "pve-enterprise.sources",
    ]);
    expect(await read(h, "/etc/apt/sources.list.d/pve-enterprise.sources")).toBe(
      fixture("pve-enterprise.sources"),
    );
    expect(await read(h, "/etc/apt/sources.list.d/debian.sources")).toBe(fixture("debian.sources"));
    expect(await h.readFile("/etc/apt/sources.list")).toBeNull();
  });

  it("apt-get update without subscription: 401 for each enabled enterprise entry, exit 100", async () => {
    const h = await openSim("pve9-l40s-fresh");
    const r = await sh(h, "apt-get update");
    expect(r.exitCode).toBe(100);
    const ip = (t: string) => t.replace(/\[IP: [^\]]+\]/g, "[IP: X]").replace(/^Err:\d+/gm, "Err:N");
    const realErr = fixture("apt-update-401-trixie.txt")
      .split("\n")
      .filter((l, i, all) => l.startsWith("Err:") || all[i - 1]?.startsWith("Err:"));
    const simErr = r.stdout
      .split("\n")
      .filter((l, i, all) => l.startsWith("Err:") || all[i - 1]?.startsWith("Err:"));
    expect(ip(simErr.join("\n"))).toBe(ip(realErr.join("\n")));
    // apt-get keeps the short prefixes where `apt` prints "Error:" / "Notice:"
    const realE = fixture("apt-update-401-trixie.txt")
      .split("\n")
      .filter((l) => /^(Error|Notice): /.test(l))
      .map((l) => `${l.replace(/^Error: /, "E: ").replace(/^Notice: /, "N: ")}\n`)
      .join("");
    expect(ip(r.stderr)).toBe(ip(realE));
    expect(await h.exec(["apt-get", "install", "-y", "pve-nvidia-vgpu-helper"])).toMatchObject({
      exitCode: 100,
      stderr: "E: Unable to locate package pve-nvidia-vgpu-helper\n",
    });
  });

  it("`Enabled: no` (and `Enabled: false`) skips an entry; with no-subscription added, update succeeds", async () => {
    const h = await openSim("pve9-l40s-fresh");
    await sh(h, "printf 'Enabled: no\\n' >> /etc/apt/sources.list.d/pve-enterprise.sources");
    await sh(h, "printf 'Enabled: false\\n' >> /etc/apt/sources.list.d/ceph.sources");
    await sh(
      h,
      "printf 'Types: deb\\nURIs: http://download.proxmox.com/debian/pve\\nSuites: trixie\\nComponents: pve-no-subscription\\n' > /etc/apt/sources.list.d/proxmox.sources",
    );
    const r = await sh(h, "apt-get update");
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).not.toContain("enterprise.proxmox.com");
    expect(r.stdout).toContain("Hit:4 http://download.proxmox.com/debian/pve trixie InRelease\n");
    const inst = await sh(h, "apt-get install -y pve-nvidia-vgpu-helper proxmox-headers-6.17.2-1-pve");
    expect(inst.exitCode).toBe(0);
    expect(await h.readFile("/lib/systemd/system/pve-nvidia-sriov@.service")).toContain(
      "ExecStart=/usr/lib/nvidia/sriov-manage -e %i\n",
    );
  });

  it("pve-nvidia-vgpu-helper setup wants its confirmation on stdin, then blacklists nouveau and installs headers + DKMS", async () => {
    const h = await l40sLive();
    const s = h.snapshot();
    expect(s.packages["proxmox-headers-6.17.2-1-pve"]).toBe("6.17.2-1");
    expect(s.packages.dkms).toBeDefined();
    expect(await h.readFile("/etc/modprobe.d/pve-nvidia-vgpu-helper.conf")).toBe("blacklist nouveau\n");
    const fresh = await openSim("a16-configured");
    expect((await sh(fresh, "pve-nvidia-vgpu-helper setup </dev/null")).exitCode).toBe(1);
  });
});

describe("GNU patch 2.8 and the driver patches", () => {
  it("patch 2.8 (Debian 13) refuses the patch with the NUL-byte error and no -custom.run is made", async () => {
    const h = await l40sLive(); // the helper's setup pulled in patch 2.8-2 with DKMS
    expect((await sh(h, "patch --version")).stdout).toMatch(/^GNU patch 2\.8\n/);
    await h.writeFile("/root/580.159.01.patch", driverPatch("19.5", "580.159.01"));
    const r = await sh(h, `cd /root && sh ${L40S_RUN} --apply-patch /root/580.159.01.patch`);
    expect(r.stderr).toBe(fixture("patch-2.8-nul-byte.txt"));
    expect(r.stdout).toContain('Failed to apply patch file "/root/580.159.01.patch".\n');
    expect(await h.readFile("/root/NVIDIA-Linux-x86_64-580.159.01-vgpu-kvm-custom.run")).toBeNull();
  });

  it("with patch 2.7.6 the same patch applies", async () => {
    const h = await l40sLive();
    const s = h.snapshot();
    s.packages.patch = "2.7.6-7";
    const old = SimHost.fromState(s);
    await old.writeFile("/root/580.159.01.patch", driverPatch("19.5", "580.159.01"));
    const r = await sh(old, `cd /root && sh ${L40S_RUN} --apply-patch /root/580.159.01.patch`);
    expect(r.stdout).toContain(
      'Self-extractible archive "NVIDIA-Linux-x86_64-580.159.01-vgpu-kvm-custom.run"',
    );
  });
});
