/**
 * A seed-fresh-like world for executor tests: the MemoryHost plus a few behaviours of a real
 * Proxmox VE 7.4 host (apt-get, update-grub, update-initramfs, the NVIDIA .run installer, cargo,
 * reboot applying the generated boot config), and `gatherWorld` turning that state into Facts.
 *
 * The host is the seed guide's: Proxmox VE 7.4, kernel 5.15, Intel CPU, GRUB, GeForce RTX 2080 Ti
 * [10de:1e07] (seed guide "Important notes", DESIGN.md scenario seed-fresh). File contents come
 * from test/fixtures/formats-edit (see SOURCES.md there).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "../../src/apply/journal.ts";
import type { Gathered } from "../../src/apply/run.ts";
import type { HostEntry } from "../../src/desired/schema.ts";
import type { Facts, SystemdDropin } from "../../src/facts/types.ts";
import { grubDefaultTokens } from "../../src/formats/bootloader/grub.ts";
import { listedModules } from "../../src/formats/modules/etc-modules.ts";
import { serviceEnvironment } from "../../src/formats/systemd/dropin.ts";
import { FaultHost } from "../../src/hosts/fault-host.ts";
import { probeRequests } from "../../src/plan/build.ts";
import { fail, MemoryHost, ok } from "./memory-host.ts";

const FIX = join(import.meta.dirname, "..", "fixtures", "formats-edit");
export const fixture = (name: string) => readFileSync(join(FIX, name), "utf8");

export const KERNEL = "5.15.102-1-pve";
export const INSTALLER = "/root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run";
export const PATCH = "/root/vgpu-proxmox/525.85.07.patch";
// A stand-in for the real installer: a makeself shell header is all the planner looks at.
export const INSTALLER_TEXT =
  '#!/bin/sh\n# This script was generated using Makeself 2.1.5\nlabel="NVIDIA Accelerated Graphics Driver for Linux-x86_64 525.85.07"\n';
export const PATCH_TEXT =
  "# ONLY for 15.1 GRID driver (525.85.07)\n--- NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm/kernel/nvidia/nv-kernel.o_binary\n";
export const SOURCE = "/opt/vgpu_unlock-rs";

export interface World {
  packages: Record<string, string>;
  /** tokens update-grub last generated into grub.cfg (null = never ran: the install default) */
  grubCfg: string[];
  cmdline: string[];
  initramfs: { modules: string[]; blacklisted: string[] };
  loaded: Set<string>;
  driver: { version: string; patched: boolean } | null;
  enabled: Set<string>;
}

export const seedEntry = (over: Partial<HostEntry> = {}): HostEntry => ({
  host: "sim:seed-fresh",
  driver: {
    installer: INSTALLER,
    sha256: sha256(INSTALLER_TEXT),
    patch: { path: PATCH, sha256: sha256(PATCH_TEXT) },
  },
  unlock: "auto",
  iommu: "auto",
  repository: null,
  gpus: [{ address: "0000:01:00.0", type: "GRID RTX6000-4Q" }],
  ...over,
});

const BASE_PACKAGES: Record<string, string> = {
  "pve-manager": "7.4-3",
  "pve-kernel-5.15.102-1-pve": "5.15.102-1",
  "pve-kernel-5.15": "7.4-1",
  curl: "7.74.0-1.3+deb11u7",
  git: "1:2.30.2-1+deb11u2",
};

export function seedFreshWorld(): { host: MemoryHost; world: World } {
  const host = new MemoryHost("seed-fresh", {
    "/etc/default/grub": fixture("grub-debian-default.txt"),
    "/etc/modules": fixture("etc-modules-debian.txt"),
    "/etc/modprobe.d/pve-blacklist.conf": fixture("pve-blacklist.conf"),
    "/etc/apt/sources.list.d/pve-enterprise.list":
      "deb https://enterprise.proxmox.com/debian/pve bullseye pve-enterprise\n",
    "/etc/apt/sources.list": "deb http://ftp.debian.org/debian bullseye main contrib\n",
    [INSTALLER]: INSTALLER_TEXT,
    [PATCH]: PATCH_TEXT,
    [`${SOURCE}/Cargo.toml`]: '[package]\nname = "vgpu_unlock-rs"\nversion = "2.5.0"\n',
  });
  const world: World = {
    packages: { ...BASE_PACKAGES },
    grubCfg: ["quiet"],
    cmdline: [`BOOT_IMAGE=/boot/vmlinuz-${KERNEL}`, "root=/dev/mapper/pve-root", "ro", "quiet"],
    initramfs: { modules: [], blacklisted: ["nvidiafb"] },
    loaded: new Set(["nouveau"]),
    driver: null,
    enabled: new Set(),
  };
  const modprobeBlacklisted = () =>
    [...host.files.entries()]
      .filter(([p]) => p.startsWith("/etc/modprobe.d/"))
      .flatMap(([, f]) => f.content.split("\n"))
      .map((l) => /^\s*blacklist\s+(\S+)/.exec(l)?.[1])
      .filter((m): m is string => !!m);
  host
    .on("apt-get", (argv) => {
      if (argv[1] === "update") return ok("Reading package lists... Done\n");
      const pkgs = argv.slice(3);
      for (const p of pkgs) {
        if (argv[1] === "install") world.packages[p] = "1.0";
        else delete world.packages[p];
      }
      return ok();
    })
    .on("update-grub", (_a, h) => {
      world.grubCfg = grubDefaultTokens(h.read("/etc/default/grub") ?? "");
      return ok("Generating grub configuration file ...\ndone\n");
    })
    .on("update-initramfs", (_a, h) => {
      world.initramfs = {
        modules: listedModules(h.read("/etc/modules") ?? ""),
        blacklisted: modprobeBlacklisted(),
      };
      return ok(`update-initramfs: Generating /boot/initrd.img-${KERNEL}\n`);
    })
    .on("systemctl", (argv) => {
      if (argv[1] === "enable") for (const u of argv.slice(2)) world.enabled.add(u);
      if (argv[1] === "disable") for (const u of argv.slice(2)) world.enabled.delete(u);
      return ok();
    })
    .on("sha256sum", (argv, h) => {
      const f = h.files.get(argv[1]!);
      return f
        ? ok(`${sha256(f.content)}  ${argv[1]}\n`)
        : fail(`sha256sum: ${argv[1]}: No such file or directory\n`);
    })
    .on("rm", (argv, h) => {
      const target = argv[argv.length - 1]!;
      for (const p of [...h.files.keys()]) if (p === target || p.startsWith(`${target}/`)) h.files.delete(p);
      return ok();
    })
    .on("sh", (argv, h) => {
      if (argv[1] === "-c") {
        // rustup one-liner
        h.files.set("/root/.cargo/bin/cargo", { content: "ELF", mode: 0o755 });
        h.files.set("/root/.cargo/bin/rustup", { content: "ELF", mode: 0o755 });
        return ok("Rust is installed now. Great!\n");
      }
      const run = argv[1]!;
      if (!h.read(run)) return fail(`sh: 0: cannot open ${run}: No such file`, 2);
      if (!world.packages[`pve-headers-${KERNEL}`])
        return fail("ERROR: Unable to find the kernel source tree for the currently running kernel.", 1);
      world.driver = { version: "525.85.07", patched: run.endsWith("-custom.run") };
      h.files.set("/usr/bin/nvidia-uninstall", { content: "ELF", mode: 0o755 });
      return ok(
        "Installation of the NVIDIA Accelerated Graphics Driver for Linux-x86_64 (version: 525.85.07) is now complete.\n",
      );
    })
    .on("env", (argv, h) => {
      // env -C DIR sh INSTALLER --apply-patch PATCH
      const dir = argv[2]!;
      const inst = argv[4]!;
      const patch = argv[6]!;
      if (!h.read(patch)?.includes("525.85.07")) return fail("patch does not apply", 1);
      const name = inst.slice(inst.lastIndexOf("/") + 1).replace(/\.run$/, "-custom.run");
      h.files.set(`${dir}/${name}`, { content: `${h.read(inst)}# patched\n`, mode: 0o755 });
      return ok(`Self-extractible archive "${name}" successfully created.\n`);
    })
    .on("nvidia-uninstall", (_a, h) => {
      world.driver = null;
      world.loaded.delete("nvidia");
      h.files.delete("/usr/bin/nvidia-uninstall");
      return ok();
    })
    .on("/root/.cargo/bin/cargo", (argv, h) => {
      const manifest = argv[argv.indexOf("--manifest-path") + 1]!;
      if (!h.read(manifest)) return fail(`error: manifest path \`${manifest}\` does not exist`, 101);
      h.files.set(`${SOURCE}/target/release/libvgpu_unlock_rs.so`, { content: "ELF", mode: 0o755 });
      return ok();
    })
    .on("/root/.cargo/bin/rustup", (_a, h) => {
      h.files.delete("/root/.cargo/bin/cargo");
      h.files.delete("/root/.cargo/bin/rustup");
      return ok();
    });
  host.onReboot = () => {
    world.cmdline = [
      `BOOT_IMAGE=/boot/vmlinuz-${KERNEL}`,
      "root=/dev/mapper/pve-root",
      "ro",
      ...world.grubCfg,
    ];
    world.loaded = new Set(world.initramfs.modules);
    if (!world.initramfs.blacklisted.includes("nouveau")) world.loaded.add("nouveau");
    else if (world.driver) world.loaded.add("nvidia");
  };
  return { host, world };
}

function dropins(host: MemoryHost): SystemdDropin[] {
  const out: SystemdDropin[] = [];
  for (const [path, f] of host.files) {
    const m = /^\/etc\/systemd\/system\/(nvidia-vgpu[^/]*\.service)\.d\/[^/]+\.conf$/.exec(path);
    if (!m) continue;
    const lib = serviceEnvironment(f.content, "LD_PRELOAD");
    out.push({ unit: m[1]!, path, environment: lib ? { LD_PRELOAD: lib } : {}, sections: {} });
  }
  return out;
}

/** Facts as parseFacts would report them for this world (the fields the planner and verify use). */
export function worldFacts(host: MemoryHost, world: World): Facts {
  const iommuOn = world.cmdline.includes("intel_iommu=on");
  const nvidiaLoaded = world.loaded.has("nvidia");
  const unlockOk =
    dropins(host).filter((d) => d.environment.LD_PRELOAD).length === 2 &&
    !!host.read(`${SOURCE}/target/release/libvgpu_unlock_rs.so`);
  const typesOffered = nvidiaLoaded && world.driver?.patched && unlockOk;
  const modprobe = [...host.files.entries()]
    .filter(([p]) => p.startsWith("/etc/modprobe.d/"))
    .map(([path, f]) => ({
      path,
      blacklist: f.content
        .split("\n")
        .map((l, i) => ({ m: /^\s*blacklist\s+(\S+)/.exec(l)?.[1], line: i + 1 }))
        .filter((x) => x.m)
        .map((x) => ({ module: x.m!, line: x.line })),
      options: [],
      softdeps: [],
      installs: [],
      aliases: [],
    }));
  return {
    host: host.name,
    capturedAt: "2026-01-31T12:00:00Z",
    notes: [],
    uname: { release: KERNEL, nodename: "pve", version: null, machine: "x86_64" },
    pve: { manager: "7.4-3", runningKernel: KERNEL, packages: {} },
    cpuVendor: "intel",
    cmdline: [...world.cmdline],
    grub: null,
    kernelCmdlineFile: { present: false },
    bootTool: { configured: false, mode: null, esps: [] },
    efi: false,
    dmesg: {
      dmarEnabled: iommuOn,
      amdViEnabled: false,
      iommuDisabledLines: [],
      iommuEnabledLines: iommuOn ? ["DMAR: IOMMU enabled"] : [],
      nvrm: [],
      nouveau: [],
      vfio: [],
      moduleSignature: [],
      lines: [`Command line: ${world.cmdline.join(" ")}`, ...(iommuOn ? ["DMAR: IOMMU enabled"] : [])],
    },
    pci: [
      {
        address: "0000:01:00.0",
        className: "VGA compatible controller",
        classCode: "0300",
        description: "NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A]",
        vendorId: "10de",
        deviceId: "1e07",
        revision: "a1",
        subsystemVendorId: "10de",
        subsystemDeviceId: "12fa",
        subsystemName: null,
        driverInUse: nvidiaLoaded ? "nvidia" : world.loaded.has("nouveau") ? "nouveau" : null,
        kernelModules: ["nvidiafb", "nouveau", ...(world.driver ? ["nvidia_vgpu_vfio", "nvidia"] : [])],
      },
    ],
    lsmod: [...world.loaded].map((name) => ({ name, size: 1, usedBy: [] })),
    dkms: world.driver
      ? [
          {
            module: "nvidia",
            version: world.driver.version,
            kernel: KERNEL,
            arch: "x86_64",
            status: "installed",
            warning: null,
          },
        ]
      : [],
    secureBoot: false,
    packages: { ...world.packages },
    nvidiaSmi: null,
    nvidiaSmiQuery: null,
    vgpuQuery: null,
    loadedDriverVersion: nvidiaLoaded ? world.driver!.version : null,
    driverModuleOpen: nvidiaLoaded ? false : null,
    mdevTypes: typesOffered
      ? [256, 257, 258, 259].map((n, i) => ({
          parent: "0000:01:00.0",
          type: `nvidia-${n}`,
          name: `GRID RTX6000-${[1, 2, 3, 4][i]}Q`,
          availableInstances: 24 / [1, 2, 3, 4][i]!,
          deviceApi: "vfio-pci",
          framebufferMiB: 1024 * [1, 2, 3, 4][i]!,
          maxInstances: 24 / [1, 2, 3, 4][i]!,
          numHeads: 4,
          maxResolution: "7680x4320",
          frlConfig: 60,
          description: null,
        }))
      : [],
    mdevs: [],
    sriov: [],
    creatableVgpuTypes: null,
    modulesLoad: listedModules(host.read("/etc/modules") ?? "").map((module, i) => ({
      module,
      path: "/etc/modules",
      line: i + 1,
    })),
    modprobe,
    dropins: dropins(host),
    unlockConfig:
      host.read("/etc/vgpu_unlock/config.toml") === null
        ? { present: false }
        : {
            present: true,
            unlock: !/unlock\s*=\s*false/.test(host.read("/etc/vgpu_unlock/config.toml")!),
            error: null,
          },
    profileOverride: null,
    unlockLibraryFiles: host.read(`${SOURCE}/target/release/libvgpu_unlock_rs.so`)
      ? ["libvgpu_unlock_rs.so"]
      : [],
    vms: [],
    pciMappings: [],
    qmList: [],
    services: null,
    journals: { vgpud: null, vgpuMgr: null },
  };
}

/** The `gather` dependency of applyHost for this world. */
export function gatherWorld(world: World) {
  return async (h: unknown, entry: HostEntry): Promise<Gathered> => {
    // a FaultHost (test/apply/apply.test.ts faults) wraps the memory host: gather reads what it holds
    const host = (h instanceof FaultHost ? h.inner : h) as MemoryHost;
    const probes: Gathered["probes"] = {};
    for (const r of probeRequests(entry)) {
      const c = host.read(r.path);
      probes[r.path] = {
        exists: c !== null,
        sha256: c !== null && r.sha256 ? sha256(c) : null,
        head: c !== null && r.head ? c.slice(0, 512) : null,
      };
    }
    return { facts: worldFacts(host, world), file: (p) => host.read(p), probes };
  };
}
