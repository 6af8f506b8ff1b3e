/**
 * The NVIDIA .run installer, DKMS and nvidia-uninstall on the simulated host, as state transitions.
 *
 * The .run file is a makeself archive (NVIDIA's makeself 1.6.0-nv2 stub): `--apply-patch P` extracts,
 * runs `patch -p0 < P` and repacks `<name>-custom.run` into the current directory ("Self-extractible
 * archive … successfully created."). A patch that does not apply prints `Failed to apply patch file "P".`
 * and — like the real stub, whose exit status stays 0 — creates nothing. Installing (`--dkms`) checks
 * for cc/make, the running kernel's headers and nouveau like nvidia-installer, then builds the module
 * through DKMS for the running kernel only; a kernel outside the driver's range fails the DKMS build.
 * Stand-in .run files are text: `label="NVIDIA Accelerated Graphics Driver for Linux-x86_64 <version>"`.
 */

import { dkmsSigningCert, signedByEnrolledKey } from "./mok.ts";
import { simDriverBuildsOn, simDriverRelease } from "./nvidia-data.ts";
import { hasHeaders } from "./packages.ts";
import { type CmdResult, fail } from "./render/types.ts";
import type { SimState } from "./state.ts";

const ELF = "\u007fELF\u0002\u0001\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000";
const WANTS = "/etc/systemd/system/multi-user.target.wants";
export const VGPU_UNITS = ["nvidia-vgpud.service", "nvidia-vgpu-mgr.service"];
const INSTALLER_LOG = "/var/log/nvidia-installer.log";
/** Stand-in text of /usr/lib/nvidia/sriov-manage (the simulator runs it as a program, tools.ts). */
export const SRIOV_MANAGE_SCRIPT =
  "#!/bin/sh\n# sriov-manage: enable/disable SR-IOV virtual functions of NVIDIA GPUs (simulated stand-in)\n";

/** What a .run file is: its driver version and whether it carries an applied patch. */
export function parseRunfile(text: string): { version: string; patched: boolean } | null {
  if (!text.startsWith("#!/bin/sh")) return null;
  const m = /label="NVIDIA Accelerated Graphics Driver for Linux-x86_64 (\d{3}\.\d{1,3}(?:\.\d{1,3})?)"/.exec(
    text,
  );
  if (!m) return null;
  return { version: m[1]!, patched: /Applied patch file: /.test(text) };
}

function base(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

function makeselfHeader(version: string): string {
  return `Verifying archive integrity... OK\nUncompressing NVIDIA Accelerated Graphics Driver for Linux-x86_64 ${version}${".".repeat(60)}\n`;
}

/**
 * GNU patch 2.8 (Debian 13) rejects patches containing NUL bytes, which the vgpu-proxmox driver patches
 * (binary diffs of nv-kernel.o_binary) do: "/usr/bin/patch: **** patch line 9 contains NUL byte"
 * (anomixer/proxmox-vgpu-installer#2, PVE 9.0.10, 570.158.02.patch); patch 2.7.x applies them. The
 * stand-in patches are text: their NUL line is taken as 9, the line of the first NUL in that real patch.
 * Returns patch's error text, or null when this patch version applies it.
 */
function patchRefusesNul(s: SimState, patch: string): string | null {
  const v = /^(\d+)\.(\d+)/.exec(s.packages.patch ?? "");
  if (!v || Number(v[1]) * 100 + Number(v[2]) < 208) return null;
  const at = patch.indexOf("\u0000");
  const line = at >= 0 ? patch.slice(0, at).split("\n").length : 9;
  return `/usr/bin/patch: **** patch line ${line} contains NUL byte\n`;
}

/** `sh X.run --apply-patch P` in directory `cwd`. */
export function applyPatch(
  s: SimState,
  cwd: string,
  run: string,
  text: string,
  patchPath: string,
): CmdResult {
  const info = parseRunfile(text)!;
  let out = makeselfHeader(info.version);
  if (s.packages.patch === undefined)
    return { stdout: `${out}Couldn't locate the 'patch' utility.\n`, stderr: "", exitCode: 0 };
  const patch = s.files[patchPath];
  const dir = base(run)
    .replace(/\.run$/, "")
    .replace(/-custom$/, "");
  if (patch === undefined) {
    return {
      stdout: `${out}Failed to apply patch file "${patchPath}".\n`,
      stderr: `sh: 1: cannot open ${patchPath}: No such file\n`,
      exitCode: 0,
    };
  }
  const nul = patchRefusesNul(s, patch);
  if (nul) return { stdout: `${out}Failed to apply patch file "${patchPath}".\n`, stderr: nul, exitCode: 0 };
  const targets = [...patch.matchAll(/^(?:---|\+\+\+) (\S+)/gm)].map((m) => m[1]!);
  const applies = targets.length > 0 && targets.every((t) => t.startsWith(`${dir}/`));
  if (!applies) {
    const first = patch
      .split("\n")
      .slice(0, 3)
      .map((l) => `|${l}\n`)
      .join("");
    out += `can't find file to patch at input line ${Math.min(3, patch.split("\n").length)}\nPerhaps you should have used the -p or --strip option?\nThe text leading up to this was:\n--------------------------\n${first}--------------------------\nNo file to patch.  Skipping patch.\n1 out of 1 hunk ignored\n`;
    // NVIDIA's makeself stub reports the failure but its exit status stays 0 and no -custom.run is made.
    return { stdout: `${out}Failed to apply patch file "${patchPath}".\n`, stderr: "", exitCode: 0 };
  }
  for (const t of [...new Set(targets)]) out += `patching file ${t}\n`;
  const custom = `${dir}-custom.run`;
  s.files[`${cwd === "/" ? "" : cwd}/${custom}`] =
    `${text}# pkg-history: ${dir}-custom: Applied patch file: ${patchPath}\n`;
  out += `Self-extractible archive "${custom}" successfully created.\n`;
  return { stdout: out, stderr: "", exitCode: 0 };
}

/** Why the DKMS build of driver `version` fails on `kernel`, or null when it builds. */
function buildProblem(s: SimState, version: string, kernel: string): string | null {
  if (!hasHeaders(s, kernel))
    return `Error! Your kernel headers for kernel ${kernel} cannot be found.\nPlease install the linux-headers-${kernel} package,\nor use the --kernelsourcedir option to tell DKMS where it's located\n`;
  const rel = simDriverRelease(version);
  if (rel && !simDriverBuildsOn(rel, kernel))
    return `Error! Bad return status for module build on kernel: ${kernel} (x86_64)\nConsult /var/lib/dkms/nvidia/${version}/build/make.log for more information.\n`;
  return null;
}

function moduleFiles(kernel: string): Record<string, string> {
  return {
    [`/lib/modules/${kernel}/updates/dkms/nvidia.ko`]: ELF,
    [`/lib/modules/${kernel}/updates/dkms/nvidia-vgpu-vfio.ko`]: ELF,
  };
}

function buildFor(s: SimState, kernel: string): void {
  const d = s.driver!;
  if (!d.dkmsKernels.includes(kernel)) d.dkmsKernels.push(kernel);
  Object.assign(s.files, moduleFiles(kernel));
  // DKMS signs what it builds when framework.conf names a key pair (mok.ts)
  const cert = dkmsSigningCert(s);
  if (cert) d.signedWith = cert;
  else delete d.signedWith;
  d.signed = signedByEnrolledKey(s, d.signedWith);
}

/** DKMS autoinstall for `kernel` (header_postinst.d hook, and dkms.service at boot). Returns its output. */
export function dkmsAutoinstall(s: SimState, kernel: string): string {
  const d = s.driver;
  if (!d || d.dkmsKernels.includes(kernel) || s.files[`/usr/src/nvidia-${d.version}/dkms.conf`] === undefined)
    return "";
  const problem = buildProblem(s, d.version, kernel);
  if (problem)
    return `/etc/kernel/header_postinst.d/dkms:\n * dkms: running auto installation service for kernel ${kernel}\n${problem}   ...failed!\n`;
  buildFor(s, kernel);
  return `/etc/kernel/header_postinst.d/dkms:\n * dkms: running auto installation service for kernel ${kernel}\n   ...done.\n`;
}

/** `dkms install -m nvidia -v V -k K` (other dkms subcommands are not simulated). */
export function dkmsInstall(s: SimState, args: string[]): CmdResult {
  const opt = (f: string) => {
    const i = args.indexOf(f);
    return i >= 0 ? args[i + 1] : undefined;
  };
  let mod = opt("-m");
  let ver = opt("-v");
  const mv = args.slice(1).find((a) => !a.startsWith("-") && a.includes("/"));
  if (!mod && mv) [mod, ver] = mv.split("/");
  const kernel = opt("-k") ?? s.kernel.running;
  const d = s.driver;
  if (
    mod !== "nvidia" ||
    !d ||
    d.version !== ver ||
    s.files[`/usr/src/nvidia-${d.version}/dkms.conf`] === undefined
  )
    return fail(`Error! The module/version combo: ${mod}-${ver} is not located in the DKMS tree.\n`, 3);
  if (!s.kernel.installed.includes(kernel))
    return fail(`Error! Your kernel headers for kernel ${kernel} cannot be found.\n`, 1);
  if (d.dkmsKernels.includes(kernel) && !args.includes("--force"))
    return {
      stdout: "",
      stderr: `Module nvidia/${ver} already installed on kernel ${kernel}/x86_64, skip. You may override by specifying --force.\n`,
      exitCode: 0,
    };
  const problem = buildProblem(s, d.version, kernel);
  if (problem) return fail(problem, /Bad return status/.test(problem) ? 10 : 1);
  buildFor(s, kernel);
  return {
    stdout: `Sign command: /lib/modules/${kernel}/build/scripts/sign-file\n\nBuilding module:\nCleaning build area...\n'make' -j16 NV_EXCLUDE_BUILD_MODULES='' KERNEL_UNAME=${kernel} modules........\nCleaning build area...\n\nnvidia.ko:\nRunning module version sanity check.\n - Original module\n   - No original module exists within this kernel\n - Installation\n   - Installing to /lib/modules/${kernel}/updates/dkms/\n\nnvidia-vgpu-vfio.ko:\nRunning module version sanity check.\n - Original module\n   - No original module exists within this kernel\n - Installation\n   - Installing to /lib/modules/${kernel}/updates/dkms/\ndepmod....\n`,
    stderr: "",
    exitCode: 0,
  };
}

function driverFiles(version: string): Record<string, string> {
  return {
    "/usr/bin/nvidia-smi": ELF,
    "/usr/bin/nvidia-uninstall": ELF,
    "/usr/bin/nvidia-vgpud": ELF,
    "/usr/bin/nvidia-vgpu-mgr": ELF,
    // NVIDIA's SR-IOV helper script, shipped by the vgpu-kvm package (research/proxmox.md §3)
    "/usr/lib/nvidia/sriov-manage": SRIOV_MANAGE_SCRIPT,
    "/usr/share/nvidia/vgpu/vgpuConfig.xml": `<?xml version="1.0" encoding="UTF-8"?>\n<vgpuconfig/>\n`,
    "/lib/systemd/system/nvidia-vgpud.service":
      "[Unit]\nDescription=NVIDIA vGPU Daemon\nWants=syslog.target\n\n[Service]\nType=forking\nExecStart=/usr/bin/nvidia-vgpud\nExecStopPost=/bin/rm -rf /var/run/nvidia-vgpud\n\n[Install]\nWantedBy=multi-user.target\n",
    "/lib/systemd/system/nvidia-vgpu-mgr.service":
      "[Unit]\nDescription=NVIDIA vGPU Manager Daemon\nWants=syslog.target\n\n[Service]\nType=forking\nKillMode=process\nExecStart=/usr/bin/nvidia-vgpu-mgr\nExecStopPost=/bin/rm -rf /var/run/nvidia-vgpu-mgr\n\n[Install]\nWantedBy=multi-user.target\n",
    [`/usr/src/nvidia-${version}/dkms.conf`]: `PACKAGE_NAME="nvidia"\nPACKAGE_VERSION="${version}"\nAUTOINSTALL="yes"\n`,
  };
}

const INSTALL_FAILED =
  "ERROR: Installation has failed.  Please see the file '/var/log/nvidia-installer.log' for details.  You may find suggestions on fixing installation problems in the README available on the Linux driver download page at www.nvidia.com.\n";

/** `sh X.run [--silent] [--dkms] [--no-nouveau-check] [--skip-module-load] [-m=kernel|kernel-open]` */
export function installDriverRun(s: SimState, run: string, text: string, args: string[]): CmdResult {
  const info = parseRunfile(text)!;
  const { version } = info;
  const head = makeselfHeader(version);
  const log = (result: string) => {
    s.files[INSTALLER_LOG] =
      `nvidia-installer log file '${INSTALLER_LOG}'\ncreation time: ${s.clock}\ninstaller version: ${version}\n\ncommand line:\n    ./nvidia-installer ${args.join(" ")}\n\n${result}`;
  };
  const error = (msg: string): CmdResult => {
    log(msg);
    return { stdout: head, stderr: `\n${msg}\n${INSTALL_FAILED}`, exitCode: 1 };
  };
  for (const [tool, pkg] of [
    ["cc", "gcc"],
    ["make", "make"],
  ] as const)
    if (s.packages[pkg] === undefined)
      return error(
        `ERROR: Unable to find the development tool \`${tool}\` in your path; please make sure that you have the package '${pkg}' installed.  If ${pkg} is installed on your system, then please check that \`${tool}\` is in your PATH.\n`,
      );
  const running = s.kernel.running;
  if (!hasHeaders(s, running))
    return error(
      "ERROR: Unable to find the kernel source tree for the currently running kernel.  Please make sure you have installed the kernel source files for your kernel and that they are properly configured; on Red Hat Linux systems, for example, be sure you have the 'kernel-source' or 'kernel-devel' RPM installed.  If you know the correct kernel source files are installed, you may specify the kernel source path with the '--kernel-source-path' command line option.\n",
    );
  if (!args.includes("--no-nouveau-check") && s.gpus.some((g) => g.driver === "nouveau")) {
    const conf = "/etc/modprobe.d/nvidia-installer-disable-nouveau.conf";
    s.files[conf] = "# generated by nvidia-installer\nblacklist nouveau\noptions nouveau modeset=0\n";
    return error(
      `ERROR: The Nouveau kernel driver is currently in use by your system.  This driver is incompatible with the NVIDIA driver, and must be disabled before proceeding.  Please consult the NVIDIA driver README and your Linux distribution's documentation for details on how to correctly disable the Nouveau kernel driver.\n\nWARNING: One or more modprobe configuration files to disable Nouveau have been written.  For some distributions, this may be sufficient to disable Nouveau; other distributions may require modification of the initial ramdisk.  Please reboot your system and attempt NVIDIA driver installation again.  Note if you later wish to re-enable Nouveau, you will need to delete these files: ${conf}\n`,
    );
  }
  const dkms = args.includes("--dkms");
  let warn = "";
  if (dkms && s.packages.dkms === undefined)
    warn +=
      "\nWARNING: You specified the '--dkms' command line option, but DKMS is not installed: the kernel module was built for the running kernel only and will not be rebuilt for new kernels.\n";
  const rel = simDriverRelease(version);
  if (rel && !simDriverBuildsOn(rel, running))
    return error(
      dkms
        ? `ERROR: Failed to run \`/usr/sbin/dkms build -m nvidia -v ${version} -k ${running}\`: \nError! Bad return status for module build on kernel: ${running} (x86_64)\nConsult /var/lib/dkms/nvidia/${version}/build/make.log for more information.\n\nERROR: Failed to install the kernel module through DKMS. No kernel module was installed; please try installing again without DKMS, or check the DKMS logs for more information.\n`
        : `ERROR: An error occurred while performing the step: "Building kernel modules". See ${INSTALLER_LOG} for details.\n`,
    );
  // A driver already installed is uninstalled first (nvidia-installer does that itself).
  if (s.driver) uninstallDriverFiles(s);
  const mflag = args.find((a) => a.startsWith("-m=") || a.startsWith("--kernel-module-type="));
  const flavour = mflag
    ? /open/.test(mflag)
      ? "open"
      : "proprietary"
    : Number.parseInt(version, 10) >= 560
      ? "open"
      : "proprietary";
  s.driver = {
    version,
    vgpuRelease: rel?.vgpuRelease ?? "unknown",
    flavour,
    patched: info.patched,
    dkmsKernels: [],
    buildDate: new Date(Date.parse(s.clock))
      .toUTCString()
      .replace(/^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/, "$1 $3 $2 $5 UTC $4"),
    signed: false,
    ...(/vgpu-kvm/.test(run) ? {} : { kind: "plain" as const }),
  };
  Object.assign(s.files, driverFiles(version));
  if (!dkms) delete s.files[`/usr/src/nvidia-${version}/dkms.conf`];
  buildFor(s, running);
  if (s.driver.kind !== "plain") for (const u of VGPU_UNITS) s.files[`${WANTS}/${u}`] = "";
  if (!args.includes("--skip-module-load")) {
    if (s.gpus.some((g) => g.driver === "nouveau")) {
      uninstallDriverFiles(s);
      return error(
        "ERROR: Unable to load the kernel module 'nvidia.ko'.  This happens most frequently when this kernel module was built against the wrong or improperly configured kernel sources, with a version of gcc that differs from the one used to build the target kernel, or if another driver, such as nouveau, is present and prevents the NVIDIA kernel module from obtaining ownership of the NVIDIA device(s), or no NVIDIA device installed in this system is supported by this NVIDIA Linux graphics driver release.\n",
      );
    }
    s.driverLoaded = true;
    for (const g of s.gpus) if (g.driver === null) g.driver = "nvidia";
  }
  log(
    `Installation of the NVIDIA Accelerated Graphics Driver for Linux-x86_64 (version: ${version}) is now complete.\n`,
  );
  const x =
    "\nWARNING: nvidia-installer was forced to guess the X library path '/usr/lib' and X module path '/usr/lib/xorg/modules'; these paths were not queryable from the system.  If X fails to find the NVIDIA X driver module, please install the `pkg-config` utility and the X.Org SDK/development package for your distribution and reinstall the driver.\n";
  return { stdout: head, stderr: `${warn}${x}`, exitCode: 0 };
}

function uninstallDriverFiles(s: SimState): void {
  const d = s.driver;
  if (!d) return;
  for (const p of Object.keys(driverFiles(d.version))) delete s.files[p];
  for (const k of d.dkmsKernels) for (const p of Object.keys(moduleFiles(k))) delete s.files[p];
  for (const u of VGPU_UNITS) delete s.files[`${WANTS}/${u}`];
  s.driver = null;
}

/** `nvidia-uninstall --silent`: services stopped and disabled, files and DKMS module removed, module unloaded. */
export function nvidiaUninstall(s: SimState): CmdResult {
  if (!s.driver) return fail("bash: nvidia-uninstall: command not found\n", 127);
  const version = s.driver.version;
  uninstallDriverFiles(s);
  s.mdevs = [];
  delete s.vfVgpus;
  delete s.mixedSizeGpus;
  s.driverLoaded = false;
  for (const g of s.gpus) {
    if (g.driver === "nvidia") g.driver = null;
    if (g.sriov) g.sriov.numVfs = 0;
  }
  s.files["/var/log/nvidia-uninstall.log"] =
    `nvidia-uninstall log file '/var/log/nvidia-uninstall.log'\ncreation time: ${s.clock}\ninstaller version: ${version}\n\nUninstallation of existing driver: NVIDIA Accelerated Graphics Driver for Linux-x86_64 (${version}) is complete.\n`;
  return { stdout: "", stderr: "", exitCode: 0 };
}
