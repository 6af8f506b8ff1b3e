// The simulated host's behaviour for apply/uninstall (issue #5 item 6): each tool as a state transition,
// exercised on SimHost directly (temp state dir). Sources of the real behaviour copied:
// - apt-get 401 / "Unable to locate package": research/proxmox.md (enterprise repo needs a subscription),
//   computingforgeeks "Proxmox VE no-subscription repository" (apt update → 401 Unauthorized); apt-get(8) exit 100.
// - NVIDIA .run --apply-patch: NVIDIA's makeself 1.6.0-nv2 stub (makeself.sh: `patch -p0 < "$patchfile"`,
//   'Failed to apply patch file "…"', exit status $res = 0, repack to <name>-custom.run in $PWD);
//   seed guide lines 255-257 ("Self-extractible archive … successfully created.").
// - nvidia-installer errors ("Unable to find the kernel source tree…", "development tool `cc`", DKMS
//   "Bad return status for module build"): research/installers.md §8 row 1.
// - rustup rc-file edits: rust-lang/rustup src/cli/self_update/unix.rs (do_add_to_path appends
//   `. "$HOME/.cargo/env"`; self uninstall removes that line).
// - the stand-in installer/patch texts: src/hosts/sim/scenarios/parts.ts (sha256 in examples/seed-host.yaml).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { captureViaPrimitives } from "../../src/hosts/capture-generic.ts";
import { gatherScript, parseGatherOutput } from "../../src/hosts/gather-script.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import {
  buildScenarioState,
  SimConnectionLost,
  SimHost,
  setScenarioFaults,
} from "../../src/hosts/sim/sim-host.ts";
import { runSimShell } from "../../src/hosts/sim/sim-shell.ts";
import type { SimState } from "../../src/hosts/sim/state.ts";
import { tempStateDir } from "./helpers.ts";

const K = "5.15.102-1-pve";
const sha = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
const CUSTOM = "/root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm-custom.run";

function host(scenario = "seed-fresh", edit?: (s: SimState) => void, faults: string[] = []): SimHost {
  const s = buildScenarioState(scenario);
  edit?.(s);
  return SimHost.fromState(s, `sim:${scenario}`, { faults });
}

async function sh(h: SimHost, line: string, input = "") {
  return h.shell(line, input);
}

/** seed-fresh with the no-subscription repository and the packages the plan installs. */
async function prepared(scenario = "seed-fresh"): Promise<SimHost> {
  const h = host(scenario);
  const s = h.snapshot();
  await h.writeFile(
    "/etc/apt/sources.list.d/pve-enterprise.list",
    `# deb https://enterprise.proxmox.com/debian/pve ${s.pve.debian} pve-enterprise\n`,
  );
  await h.writeFile(
    "/etc/apt/sources.list.d/pve-no-subscription.list",
    `deb http://download.proxmox.com/debian/pve ${s.pve.debian} pve-no-subscription\n`,
  );
  expect((await h.exec(["apt-get", "update"])).exitCode).toBe(0);
  const hdr = s.pve.debian === "bookworm" ? "proxmox-headers" : "pve-headers";
  const r = await h.exec([
    "apt-get",
    "install",
    "-y",
    `${hdr}-${s.kernel.running}`,
    "dkms",
    "build-essential",
    "mdevctl",
    "git",
  ]);
  expect(r.exitCode, r.stderr).toBe(0);
  return h;
}

describe("apt-get / dpkg", () => {
  it("a fresh host without subscription: update fails with 401, Proxmox packages cannot be located", async () => {
    const h = host();
    const u = await h.exec(["apt-get", "update"]);
    expect(u.exitCode).toBe(100);
    expect(u.stderr).toContain(
      "E: Failed to fetch https://enterprise.proxmox.com/debian/pve/dists/bullseye/InRelease  401  Unauthorized",
    );
    const i = await h.exec(["apt-get", "install", "-y", `pve-headers-${K}`]);
    expect(i).toMatchObject({ exitCode: 100, stderr: `E: Unable to locate package pve-headers-${K}\n` });
    expect((await h.exec(["apt-get", "install", "-y", "no-such-package"])).stderr).toBe(
      "E: Unable to locate package no-such-package\n",
    );
  });

  it("installs with dependencies (marked auto), dpkg-query reflects it, headers bring /lib/modules/<k>/build", async () => {
    const h = await prepared();
    expect((await h.exec(["dpkg-query", "-W", "dkms", "gcc", "patch"])).stdout).toBe(
      "dkms\t2.8.4-3\ngcc\t4:10.2.1-1\npatch\t2.7.6-7\n",
    );
    expect(await h.readFile(`/lib/modules/${K}/build/Makefile`)).toContain(K);
    expect((await h.exec(["apt-get", "install", "-y", "git"])).stdout).toContain(
      "git is already the newest version (1:2.30.2-1+deb11u2).",
    );
    // remove leaves the dependencies it pulled in, like apt
    const r = await h.exec(["apt-get", "remove", "-y", `pve-headers-${K}`, "build-essential", "dkms"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/automatically installed and are no longer required:\n {2}.*gcc/);
    expect(await h.readFile(`/lib/modules/${K}/build/Makefile`)).toBeNull();
    expect((await h.exec(["dpkg-query", "-W", "gcc"])).exitCode).toBe(0);
    expect((await h.exec(["apt-get", "autoremove", "-y"])).exitCode).toBe(0);
    expect((await h.exec(["dpkg-query", "-W", "gcc"])).stderr).toBe(
      "dpkg-query: no packages found matching gcc\n",
    );
  });

  it("remove --autoremove and purge take the auto-installed dependencies too; unknown names are refused", async () => {
    const h = await prepared();
    await h.exec(["apt-get", "purge", "-y", "--autoremove", "build-essential", "dkms"]);
    const left = h.snapshot().packages;
    for (const p of ["build-essential", "dkms", "gcc", "make", "patch", "dpkg-dev", "g++"])
      expect(left[p]).toBeUndefined();
    expect((await h.exec(["apt-get", "remove", "-y", "nonexistent-pkg"])).exitCode).toBe(100);
  });
});

/** The 15.1 driver files the seed host has in /root (examples/seed-host.yaml names them with their sha256). */
const INSTALLER = "/root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run";
const PATCH = "/root/vgpu-proxmox/525.85.07.patch";

describe("probes and coreutils", () => {
  it("ships the stand-in installer and patch whose sha256 examples/seed-host.yaml names; sha256sum and head -c read them", async () => {
    const h = host();
    const INSTALLER_TEXT = (await h.readFile(INSTALLER))!;
    const PATCH_TEXT = (await h.readFile(PATCH))!;
    expect(INSTALLER_TEXT).toMatch(
      /^#!\/bin\/sh\n[\s\S]*NVIDIA Accelerated Graphics Driver for Linux-x86_64 525\.85\.07/,
    );
    expect(PATCH_TEXT).toContain("525.85.07");
    const yaml = readFileSync(join(import.meta.dirname, "../../examples/seed-host.yaml"), "utf8");
    expect(yaml).toContain(`sha256: ${sha(INSTALLER_TEXT)}`);
    expect(yaml).toContain(`sha256: ${sha(PATCH_TEXT)}`);
    expect((await h.exec(["sha256sum", INSTALLER])).stdout).toBe(`${sha(INSTALLER_TEXT)}  ${INSTALLER}\n`);
    expect((await h.exec(["head", "-c", "9", INSTALLER])).stdout).toBe("#!/bin/sh");
    expect(await h.exec(["sha256sum", "/root/nope.run"])).toMatchObject({
      exitCode: 1,
      stderr: "sha256sum: /root/nope.run: No such file or directory\n",
    });
  });

  it("boot_id is a UUID that changes with every reboot only", async () => {
    const h = host();
    const a = (await h.exec(["cat", "/proc/sys/kernel/random/boot_id"])).stdout;
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n$/);
    expect((await h.exec(["cat", "/proc/sys/kernel/random/boot_id"])).stdout).toBe(a);
    await h.reboot();
    expect(await h.readFile("/proc/sys/kernel/random/boot_id")).not.toBe(a);
  });

  it("rm, mkdir and env -C behave like coreutils", async () => {
    const h = host();
    expect((await h.exec(["rm", "-f", "/root/none"])).exitCode).toBe(0);
    expect((await h.exec(["rm", "/root/none"])).stderr).toBe(
      "rm: cannot remove '/root/none': No such file or directory\n",
    );
    expect((await h.exec(["mkdir", "/opt/a/b"])).stderr).toBe(
      "mkdir: cannot create directory '/opt/a/b': No such file or directory\n",
    );
    expect((await h.exec(["mkdir", "-p", "/opt/a/b"])).exitCode).toBe(0);
    expect(await h.list("/opt/a")).toEqual(["b"]);
    expect((await h.exec(["rm", "/opt/a"])).stderr).toBe("rm: cannot remove '/opt/a': Is a directory\n");
    expect((await h.exec(["rm", "-rf", "/opt/a"])).exitCode).toBe(0);
    expect(await h.stat("/opt/a")).toBeNull();
    expect((await h.exec(["env", "-C", "/nowhere", "true"])).stderr).toBe(
      "env: cannot change directory to '/nowhere': No such file or directory\n",
    );
    expect((await h.exec(["env", "-C", "/etc", "sh", "-c", "pwd; cat hostname"])).stdout).toBe("/etc\npve\n");
  });
});

describe("vgpu_unlock-rs: git, rustup, cargo", () => {
  it("git clone needs git, creates a checkout, refuses a non-empty target; checkout moves HEAD", async () => {
    const h = host();
    const url = "https://github.com/mbilker/vgpu_unlock-rs";
    expect((await h.exec(["git", "clone", url, "/opt/vgpu_unlock-rs"])).exitCode).toBe(127);
    const p = await prepared();
    const c = await p.exec(["git", "clone", url, "/opt/vgpu_unlock-rs"]);
    expect(c).toMatchObject({ exitCode: 0, stderr: "Cloning into '/opt/vgpu_unlock-rs'...\n" });
    expect(await p.readFile("/opt/vgpu_unlock-rs/Cargo.toml")).toContain('name = "vgpu_unlock-rs"');
    expect((await p.exec(["git", "clone", url, "/opt/vgpu_unlock-rs"])).stderr).toBe(
      "fatal: destination path '/opt/vgpu_unlock-rs' already exists and is not an empty directory.\n",
    );
    expect((await p.exec(["git", "-C", "/opt/vgpu_unlock-rs", "checkout", "v2.5.0"])).exitCode).toBe(0);
    expect(await p.readFile("/opt/vgpu_unlock-rs/.git/HEAD")).toBe("v2.5.0\n");
    expect((await p.exec(["git", "clone", "https://github.com/x/nothing", "/opt/x"])).exitCode).toBe(128);
  });

  it("the rustup one-liner installs cargo and edits the profiles; self uninstall restores them byte for byte", async () => {
    const h = await prepared();
    const before = h.snapshot().files;
    expect((await h.exec(["/root/.cargo/bin/cargo", "build"])).stderr).toBe(
      "bash: /root/.cargo/bin/cargo: No such file or directory\n",
    );
    const r = await h.exec(["sh", "-c", "curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Rust is installed now. Great!");
    expect(await h.readFile("/root/.profile")).toBe(`${before["/root/.profile"]}. "$HOME/.cargo/env"\n`);
    expect(await h.readFile("/root/.bashrc")).toBe(`${before["/root/.bashrc"]}. "$HOME/.cargo/env"\n`);
    await h.exec(["git", "clone", "https://github.com/mbilker/vgpu_unlock-rs", "/opt/vgpu_unlock-rs"]);
    expect(
      (
        await h.exec([
          "/root/.cargo/bin/cargo",
          "build",
          "--release",
          "--manifest-path",
          "/opt/nope/Cargo.toml",
        ])
      ).stderr,
    ).toBe("error: manifest path `/opt/nope/Cargo.toml` does not exist\n");
    const b = await h.exec([
      "/root/.cargo/bin/cargo",
      "build",
      "--release",
      "--manifest-path",
      "/opt/vgpu_unlock-rs/Cargo.toml",
    ]);
    expect(b.stderr).toContain("Finished release [optimized] target(s)");
    expect(await h.stat("/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so")).toMatchObject({
      type: "file",
    });
    expect((await h.exec(["/root/.cargo/bin/rustup", "self", "uninstall", "-y"])).exitCode).toBe(0);
    const after = h.snapshot().files;
    expect(after["/root/.profile"]).toBe(before["/root/.profile"]);
    expect(after["/root/.bashrc"]).toBe(before["/root/.bashrc"]);
    expect(
      Object.keys(after).filter((p) => p.startsWith("/root/.cargo") || p.startsWith("/root/.rustup")),
    ).toEqual([]);
  });

  it("cargo fails like cargo without a C linker; curl missing makes the one-liner a silent no-op (exit of `sh -s`)", async () => {
    const h = host();
    await sh(h, "curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --no-modify-path");
    expect(await h.readFile("/root/.profile")).not.toContain("cargo");
    await h.writeFile(
      "/opt/vgpu_unlock-rs/Cargo.toml",
      '[package]\nname = "vgpu_unlock-rs"\nversion = "2.5.0"\n',
    );
    const b = await h.exec([
      "/root/.cargo/bin/cargo",
      "build",
      "--release",
      "--manifest-path",
      "/opt/vgpu_unlock-rs/Cargo.toml",
    ]);
    expect(b.exitCode).toBe(101);
    expect(b.stderr).toContain("error: linker `cc` not found");
    const noCurl = host("seed-fresh", (s) => delete s.packages.curl);
    const r = await noCurl.exec(["sh", "-c", "curl -sSf https://sh.rustup.rs | sh -s -- -y"]);
    expect(r).toMatchObject({ exitCode: 0 });
    expect(r.stderr).toBe("sh: 1: curl: not found\n");
    expect(await noCurl.stat("/root/.cargo/bin/cargo")).toBeNull();
  });
});

describe("the NVIDIA .run installer, DKMS, nvidia-uninstall", () => {
  it("--apply-patch writes <name>-custom.run into the current directory", async () => {
    const h = await prepared();
    const r = await h.exec(["env", "-C", "/root", "sh", INSTALLER, "--apply-patch", PATCH]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(
      'Self-extractible archive "NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm-custom.run" successfully created.',
    );
    expect(await h.readFile(CUSTOM)).toMatch(
      /^#!\/bin\/sh\n[\s\S]*Applied patch file: \/root\/vgpu-proxmox\/525\.85\.07\.patch\n$/,
    );
  });

  it("a patch for another driver version is refused like NVIDIA's makeself stub does (message, status 0, no -custom.run)", async () => {
    const h = await prepared();
    await h.writeFile(
      "/root/535.216.01.patch",
      "# ONLY for 16.8 GRID driver (535.216.01)\n--- NVIDIA-Linux-x86_64-535.216.01-vgpu-kvm/kernel/nvidia/nv-kernel.o_binary\n",
    );
    const r = await h.exec([
      "env",
      "-C",
      "/root",
      "sh",
      INSTALLER,
      "--apply-patch",
      "/root/535.216.01.patch",
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("can't find file to patch at input line 3");
    expect(r.stdout).toContain('Failed to apply patch file "/root/535.216.01.patch".');
    expect(await h.readFile(CUSTOM)).toBeNull();
  });

  it("install fails like nvidia-installer without cc, without the running kernel's headers, with nouveau in use", async () => {
    const args = ["--silent", "--dkms", "--no-nouveau-check", "--skip-module-load", "-m=kernel"];
    const bare = host();
    expect((await bare.exec(["sh", INSTALLER, ...args])).stderr).toContain(
      "ERROR: Unable to find the development tool `cc` in your path; please make sure that you have the package 'gcc' installed.",
    );
    const noHeaders = await prepared();
    await noHeaders.exec(["apt-get", "remove", "-y", "pve-headers", `pve-headers-${K}`]);
    const r = await noHeaders.exec(["sh", INSTALLER, ...args]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      "ERROR: Unable to find the kernel source tree for the currently running kernel.",
    );
    expect(noHeaders.snapshot().driver).toBeNull();
    const withCheck = await prepared();
    const n = await withCheck.exec(["sh", INSTALLER, "--silent", "--dkms", "--skip-module-load"]);
    expect(n.stderr).toContain("ERROR: The Nouveau kernel driver is currently in use by your system.");
    expect(await withCheck.readFile("/etc/modprobe.d/nvidia-installer-disable-nouveau.conf")).toContain(
      "blacklist nouveau",
    );
  });

  it("refuses a kernel outside the driver's range (DKMS build fails), as on the opt-in 6.2 kernel with 15.1", async () => {
    const k62 = "6.2.16-3-pve";
    const h = host("seed-fresh", (s) => {
      s.kernel.installed.push(k62);
      s.kernel.buildInfo[k62] = "#1 SMP PREEMPT_DYNAMIC PVE 6.2.16-3 (2023-06-17T05:58Z)";
      s.kernel.running = k62;
      s.files["/etc/apt/sources.list.d/pve-no-subscription.list"] =
        "deb http://download.proxmox.com/debian/pve bullseye pve-no-subscription\n";
    });
    expect(
      (await h.exec(["apt-get", "install", "-y", `pve-headers-${k62}`, "dkms", "build-essential"])).exitCode,
    ).toBe(0);
    const r = await h.exec([
      "sh",
      INSTALLER,
      "--silent",
      "--dkms",
      "--no-nouveau-check",
      "--skip-module-load",
      "-m=kernel",
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Error! Bad return status for module build on kernel: ${k62} (x86_64)`);
    expect(h.snapshot().driver).toBeNull();
  });

  it("installs through DKMS without loading; one reboot with blacklist + unlock brings the RTX6000 types", async () => {
    const h = await prepared();
    await h.exec(["env", "-C", "/root", "sh", INSTALLER, "--apply-patch", PATCH]);
    const r = await h.exec([
      "sh",
      CUSTOM,
      "--silent",
      "--dkms",
      "--no-nouveau-check",
      "--skip-module-load",
      "-m=kernel",
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await h.exec(["dkms", "status"])).stdout).toBe(`nvidia, 525.85.07, ${K}, x86_64: installed\n`);
    expect((await h.exec(["nvidia-smi"])).exitCode).not.toBe(0); // installed, not loaded (nouveau still bound)
    expect((await h.exec(["systemctl", "is-enabled", "nvidia-vgpud.service"])).stdout).toBe("enabled\n");
    // reboot without blacklist: nouveau keeps the GPU
    await h.reboot();
    expect(h.snapshot().gpus[0]!.driver).toBe("nouveau");
    await h.writeFile("/etc/modprobe.d/blacklist-nouveau.conf", "blacklist nouveau\n");
    await h.reboot();
    expect(h.snapshot().gpus[0]!.driver).toBe("nvidia");
    expect((await h.exec(["mdevctl", "types"])).stdout).toBe(""); // patched driver, but no vgpu_unlock preloaded
    // vgpu_unlock-rs built and preloaded into both services
    await h.writeFile("/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so", "\u007fELF");
    const dropin =
      "[Service]\nEnvironment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so\n";
    await h.writeFile("/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf", dropin);
    await h.writeFile("/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf", dropin);
    await h.reboot();
    expect((await h.exec(["mdevctl", "types"])).stdout).toContain("GRID RTX6000-4Q");
  });

  it("the unpatched installer on a consumer card: driver loads, no vGPU types offered", async () => {
    const h = await prepared();
    await h.exec([
      "sh",
      INSTALLER,
      "--silent",
      "--dkms",
      "--no-nouveau-check",
      "--skip-module-load",
      "-m=kernel",
    ]);
    await h.writeFile("/etc/modprobe.d/blacklist-nouveau.conf", "blacklist nouveau\n");
    await h.reboot();
    expect(h.snapshot().driver).toMatchObject({ version: "525.85.07", patched: false });
    expect(h.snapshot().driverLoaded).toBe(true);
    expect((await h.exec(["mdevctl", "types"])).stdout).toBe("");
  });

  it("dkms install for another kernel needs its headers; headers installed later trigger the DKMS hook", async () => {
    const k2 = "5.15.108-1-pve";
    const h = await prepared();
    const s = h.snapshot();
    s.kernel.installed.push(k2);
    s.kernel.buildInfo[k2] = "#1 SMP PVE 5.15.108-1 (2023-06-17T09:41Z)";
    const h2 = SimHost.fromState(s, "sim:seed-fresh", { faults: [] });
    await h2.exec([
      "sh",
      INSTALLER,
      "--silent",
      "--dkms",
      "--no-nouveau-check",
      "--skip-module-load",
      "-m=kernel",
    ]);
    const no = await h2.exec(["dkms", "install", "-m", "nvidia", "-v", "525.85.07", "-k", k2]);
    expect(no.exitCode).toBe(1);
    expect(no.stderr).toContain(`Error! Your kernel headers for kernel ${k2} cannot be found.`);
    const hook = await h2.exec(["apt-get", "install", "-y", `pve-headers-${k2}`]);
    expect(hook.stdout).toContain(`dkms: running auto installation service for kernel ${k2}`);
    expect((await h2.exec(["dkms", "status"])).stdout).toBe(
      `nvidia, 525.85.07, ${K}, x86_64: installed\nnvidia, 525.85.07, ${k2}, x86_64: installed\n`,
    );
    expect(
      (await h2.exec(["dkms", "install", "-m", "nvidia", "-v", "525.85.07", "-k", k2])).stderr,
    ).toContain("already installed");
  });

  it("nvidia-uninstall --silent removes the driver, its units and the DKMS module", async () => {
    const h = await prepared();
    const before = new Set(Object.keys(h.snapshot().files));
    await h.exec([
      "sh",
      INSTALLER,
      "--silent",
      "--dkms",
      "--no-nouveau-check",
      "--skip-module-load",
      "-m=kernel",
    ]);
    expect(await h.stat("/usr/bin/nvidia-smi")).not.toBeNull();
    expect((await h.exec(["nvidia-uninstall", "--silent"])).exitCode).toBe(0);
    expect(h.snapshot().driver).toBeNull();
    const added = Object.keys(h.snapshot().files).filter((p) => !before.has(p));
    expect(added.sort()).toEqual(["/var/log/nvidia-installer.log", "/var/log/nvidia-uninstall.log"]);
    expect((await h.exec(["nvidia-uninstall", "--silent"])).exitCode).toBe(127);
  });
});

describe("systemctl, modprobe, update-grub, reboot", () => {
  it("systemctl enable/disable/is-enabled/restart for the vGPU units", async () => {
    const h = await prepared();
    expect((await h.exec(["systemctl", "enable", "nvidia-vgpud.service"])).stderr).toBe(
      "Failed to enable unit: Unit file nvidia-vgpud.service does not exist.\n",
    );
    await h.exec([
      "sh",
      INSTALLER,
      "--silent",
      "--dkms",
      "--no-nouveau-check",
      "--skip-module-load",
      "-m=kernel",
    ]);
    const d = await h.exec(["systemctl", "disable", "nvidia-vgpud.service", "nvidia-vgpu-mgr.service"]);
    expect(d.stderr).toBe(
      "Removed /etc/systemd/system/multi-user.target.wants/nvidia-vgpud.service.\nRemoved /etc/systemd/system/multi-user.target.wants/nvidia-vgpu-mgr.service.\n",
    );
    expect(await h.exec(["systemctl", "is-enabled", "nvidia-vgpud"])).toMatchObject({
      stdout: "disabled\n",
      exitCode: 1,
    });
    expect((await h.exec(["systemctl", "enable", "nvidia-vgpud.service"])).stderr).toBe(
      "Created symlink /etc/systemd/system/multi-user.target.wants/nvidia-vgpud.service → /lib/systemd/system/nvidia-vgpud.service.\n",
    );
    const rs = await h.exec(["systemctl", "restart", "nvidia-vgpud.service"]);
    expect(rs.exitCode).toBe(1);
    expect(rs.stderr).toContain(
      "Job for nvidia-vgpud.service failed because the control process exited with error code.",
    );
  });

  it("modprobe: vfio_virqfd is gone on 6.8; nvidia cannot take a GPU nouveau holds; -r unloads", async () => {
    const p4 = host("p4-fresh");
    expect((await p4.exec(["modprobe", "vfio_virqfd"])).stderr).toBe(
      "modprobe: FATAL: Module vfio_virqfd not found in directory /lib/modules/6.8.12-4-pve\n",
    );
    expect((await p4.exec(["modprobe", "vfio_pci"])).exitCode).toBe(0);
    expect((await p4.exec(["lsmod"])).stdout).toMatch(/^vfio_pci /m);
    const h = await prepared();
    expect((await h.exec(["modprobe", "nvidia"])).stderr).toBe(
      `modprobe: FATAL: Module nvidia not found in directory /lib/modules/${K}\n`,
    );
    await h.exec([
      "sh",
      INSTALLER,
      "--silent",
      "--dkms",
      "--no-nouveau-check",
      "--skip-module-load",
      "-m=kernel",
    ]);
    expect((await h.exec(["modprobe", "nvidia"])).stderr).toBe(
      "modprobe: ERROR: could not insert 'nvidia': No such device\n",
    );
    await h.exec(["modprobe", "-r", "nouveau"]);
    expect((await h.exec(["modprobe", "nvidia"])).exitCode).toBe(0);
    expect(h.snapshot().driverLoaded).toBe(true);
    expect((await h.exec(["modprobe", "-r", "nvidia"])).exitCode).toBe(0);
    expect(h.snapshot().driverLoaded).toBe(false);
  });

  it("reboot applies the cmdline update-grub generated, /etc/modules and the blacklist", async () => {
    const h = host();
    const grub = (await h.readFile("/etc/default/grub"))!.replace(
      '"quiet"',
      '"quiet intel_iommu=on iommu=pt"',
    );
    await h.writeFile("/etc/default/grub", grub);
    await h.writeFile(
      "/etc/modules",
      `${await h.readFile("/etc/modules")}vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n`,
    );
    await h.reboot();
    expect(await h.readFile("/proc/cmdline")).not.toContain("intel_iommu=on"); // update-grub not run
    expect((await h.exec(["update-grub"])).stderr).toContain(`Found linux image: /boot/vmlinuz-${K}`);
    await h.reboot();
    expect(await h.readFile("/proc/cmdline")).toContain("quiet intel_iommu=on iommu=pt");
    expect((await h.exec(["lsmod"])).stdout).toMatch(/^vfio_virqfd /m);
  });

  it("`systemctl reboot` through the shell reboots (the ssh host's reboot command)", async () => {
    const h = host();
    const r = await h.shell("systemctl reboot");
    expect(r).toMatchObject({ exitCode: 0, rebooted: true });
    expect(h.snapshot().bootCount).toBe(2);
  });
});

describe("fault injection", () => {
  it("fail:apt-get makes apt-get fail like a held dpkg lock; fail:PROG:N only the Nth run", async () => {
    const h = host("seed-fresh", undefined, ["fail:apt-get"]);
    expect(await h.exec(["apt-get", "install", "-y", "git"])).toMatchObject({
      exitCode: 100,
      stderr: expect.stringContaining("E: Could not get lock /var/lib/dpkg/lock-frontend."),
    });
    const second = host("seed-fresh", undefined, ["fail:git:2"]);
    await second.exec(["apt-get", "install", "-y", "git"]);
    expect((await second.exec(["git", "--version"])).exitCode).not.toBe(128);
    expect(
      (await second.exec(["git", "clone", "https://github.com/mbilker/vgpu_unlock-rs", "/opt/v"])).exitCode,
    ).toBe(128);
  });

  it("drop-connection:N: the Nth operation and every later one fail with a lost connection; the state's faults apply too", async () => {
    const h = host("seed-fresh", undefined, ["drop-connection:3"]);
    await h.exec(["uname", "-r"]);
    await h.readFile("/etc/hostname");
    await expect(h.exec(["uname", "-r"])).rejects.toBeInstanceOf(SimConnectionLost);
    await expect(h.readFile("/etc/hostname")).rejects.toBeInstanceOf(SimConnectionLost);
    const viaState = SimHost.fromState({ ...buildScenarioState("seed-fresh"), faults: ["fail:update-grub"] });
    expect((await viaState.exec(["update-grub"])).exitCode).toBe(1);
  });
});

describe("the simulated shell (sh -c, sh -s) and sim-shell", () => {
  it("runs the one-round-trip gather script to exactly what captureViaPrimitives captures", async () => {
    for (const scenario of ["seed-fresh", "seed-configured", "p4-configured"]) {
      const h = host(scenario);
      const boundary = "VGPUCTLtest0123456789abcdef";
      const r = await h.shell("sh -s", gatherScript(GATHER_SPEC, boundary));
      expect(r.exitCode).toBe(0);
      const viaShell = parseGatherOutput(r.stdout, GATHER_SPEC, boundary, h.name);
      const direct = await captureViaPrimitives(h, GATHER_SPEC, h.name);
      expect(viaShell.commands).toEqual(direct.commands);
      expect(viaShell.files).toEqual(direct.files);
      expect(viaShell.unreadable).toEqual(direct.unreadable);
      // the only notes: programs not installed on the simulated host (nvidia-smi before the driver …)
      expect(viaShell.notes).toEqual(direct.notes);
      expect(viaShell.notes.every((n) => n.startsWith("not installed on the host: "))).toBe(true);
    }
  });

  it("case … esac (POSIX 2.9.4.3): unquoted * and ? match, quoted text is literal, | alternatives, no match is status 0", async () => {
    const h = host();
    const script = [
      "NL='",
      "'",
      'k() { case $1 in *"$NL"*) echo nl ;; "*") echo star ;; a?c|x*) echo pat ;; *) echo other ;; esac; }',
      'k "a',
      'b"; k "*"; k abc; k xyz; k "ab"',
      "case q in z) echo no ;; esac; echo $?",
    ].join("\n");
    const r = await sh(h, "sh -s", script);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("nl\nstar\npat\npat\nother\n0\n");
  });

  it("runs the ssh helper snippets: atomic write with mode, read, stat, list, remove", async () => {
    const h = host();
    const write = [
      'p=$1; d=$(dirname -- "$p") && mkdir -p -- "$d" || exit 1',
      't="$d/.$(basename -- "$p").vgpuctl-$$.tmp"',
      "trap 'rm -f -- \"$t\"' EXIT",
      'cat > "$t" || exit 1',
      'if [ -n "$2" ]; then chmod "$2" "$t" || exit 1; fi',
      'mv -f -- "$t" "$p" || exit 1',
      "trap - EXIT",
    ].join("\n");
    expect(
      (await sh(h, `sh -c '${write.replaceAll("'", "'\\''")}' sh /var/lib/vgpuctl/j.json 600`, "{}\n"))
        .exitCode,
    ).toBe(0);
    expect(await h.list("/var/lib/vgpuctl")).toEqual(["j.json"]);
    expect(
      (await sh(h, `sh -c '[ -e "$1" ] || exit 44; exec cat -- "$1"' sh /var/lib/vgpuctl/j.json`)).stdout,
    ).toBe("{}\n");
    expect((await sh(h, `sh -c '[ -e "$1" ] || exit 44; exec cat -- "$1"' sh /nope`)).exitCode).toBe(44);
    expect((await sh(h, "stat -L -c '%f %s' -- /var/lib/vgpuctl")).stdout).toBe("41ed 4096\n");
    expect((await sh(h, "LC_ALL=C ls -1A -- /etc/modprobe.d")).stdout).toBe("pve-blacklist.conf\n");
    expect((await sh(h, 'for f in /etc/apt/sources.list.d/*.list; do echo "$f"; done')).stdout).toBe(
      "/etc/apt/sources.list.d/pve-enterprise.list\n",
    );
    expect((await sh(h, 'x=$(uname -r) && [ "$x" = 5.15.102-1-pve ] && echo yes || echo no')).stdout).toBe(
      "yes\n",
    );
    expect((await sh(h, "rm -rf -- /var/lib/vgpuctl")).exitCode).toBe(0);
    expect(await h.stat("/var/lib/vgpuctl")).toBeNull();
    expect((await sh(h, "if then")).exitCode).toBe(2);
  });

  it("sim-shell runs $SSH_ORIGINAL_COMMAND on the persisted sim; a reboot drops the connection after answering", async () => {
    const dir = await tempStateDir();
    const drops: string[] = [];
    let out = "";
    const io = (cmd: string, env: Record<string, string> = {}) => ({
      env: { VGPUCTL_SIM_DIR: dir, VGPUCTL_SIM_SCENARIO: "seed-fresh", SSH_ORIGINAL_COMMAND: cmd, ...env },
      argv: [],
      stdin: () => "",
      stdout: async (s: string) => {
        out += s;
      },
      stderr: async () => {},
      dropConnection: (w: "now" | "soon") => drops.push(w),
    });
    expect(await runSimShell(io("uname -r"))).toBe(0);
    expect(out).toBe(`${K}\n`);
    expect(await runSimShell(io("systemctl reboot"))).toBe(0);
    expect(drops).toEqual(["soon"]);
    const after = await SimHost.open("seed-fresh", { stateDir: dir, spec: "sim:seed-fresh", faults: [] });
    expect(after.snapshot().bootCount).toBe(2);
    expect(await runSimShell(io("true", { VGPUCTL_SIM_FAULT: "drop-connection:4" }))).toBe(0); // 3rd op counted
    expect(await runSimShell(io("true", { VGPUCTL_SIM_FAULT: "drop-connection:4" }))).toBe(255);
    expect(drops).toEqual(["soon", "now"]);
  });
});

describe("faults kept in the state (for `vgpuctl sim fault`)", () => {
  it("setScenarioFaults stores specs every later open applies; unknown specs are refused; [] clears", async () => {
    const dir = await tempStateDir();
    expect(await setScenarioFaults(dir, "seed-fresh", ["fail:update-grub"])).toEqual(["fail:update-grub"]);
    const h = await SimHost.open("seed-fresh", { stateDir: dir, spec: "sim:seed-fresh", faults: [] });
    expect((await h.exec(["update-grub"])).stderr).toBe(
      "update-grub: failed (injected by VGPUCTL_SIM_FAULT)\n",
    );
    await expect(setScenarioFaults(dir, "seed-fresh", ["explode:now"])).rejects.toThrow(
      'unknown fault "explode:now"',
    );
    expect(await setScenarioFaults(dir, "seed-fresh", [])).toEqual([]);
    const g = await SimHost.open("seed-fresh", { stateDir: dir, spec: "sim:seed-fresh", faults: [] });
    expect((await g.exec(["update-grub"])).exitCode).toBe(0);
  });
});
