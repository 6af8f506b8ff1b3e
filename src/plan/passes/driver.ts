/**
 * The NVIDIA vGPU host driver: which version vgpu.yaml asks for, whether it must be installed (and
 * what refuses that: the open modules installed, a branch that dropped the GPU, bad installer or patch
 * files, the kernel, no unlock patch for consumer GPUs; another version installed is replaced in place,
 * passes/driver-upgrade.ts), then the steps: patch the installer for
 * vgpu_unlock, install it with DKMS for the running and the next boot's kernel, enable the daemons.
 */
import type { HostEntry } from "../../desired/schema.ts";
import { type DriverState, deriveDriver } from "../../facts/derive.ts";
import { releaseForDriverVersion } from "../../knowledge/drivers.ts";
import { basename, dirname } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import { VGPU_SERVICES } from "../paths.ts";
import type { Change, PlanInput } from "../types.ts";
import { checkInstaller, checkPatch, checkPatchTool, LOCAL_PATCH } from "./driver-files.ts";
import {
  checkBranchKeepsGpus,
  checkVmsStopped,
  driverReplaceSteps,
  installerArgv,
} from "./driver-upgrade.ts";
import type { GpuSelection } from "./gpus.ts";
import type { HostIdentity } from "./host.ts";
import { checkDriverKernels, type KernelPin } from "./kernel.ts";
import { PassOutput } from "./output.ts";

export interface DriverDecision {
  /** The driver on the host now. */
  installed: DriverState | null;
  /** The version vgpu.yaml's installer is (null: no driver named, or not readable from its name). */
  version: string | null;
  /** vgpu.yaml names a driver and none (or another version) is installed. */
  needed: boolean;
  /** The installed driver vgpu.yaml's replaces (upgrade or downgrade in place, passes/driver-upgrade.ts). */
  replace: DriverState | null;
  /** An installed kernel in the driver's range to pin (passes/kernel.ts). */
  pin: KernelPin | null;
}

export function decideDriver(
  entry: HostEntry,
  input: PlanInput,
  host: HostIdentity,
  gpus: GpuSelection,
  out: PassOutput,
): DriverDecision {
  const installed = deriveDriver(input.facts);
  const d = entry.driver;
  if (!d) {
    if (!installed)
      out.block(
        "driver-missing",
        "No NVIDIA vGPU host driver installed and none named",
        ["dkms status / nvidia-smi: no NVIDIA driver"],
        [
          "add `driver: { installer: /root/NVIDIA-Linux-x86_64-<version>-vgpu-kvm.run, sha256: … }` to vgpu.yaml",
        ],
      );
    return { installed, version: null, needed: false, replace: null, pin: null };
  }
  const version = d.version ?? /(\d{3}\.\d{1,3}(?:\.\d{1,3})?)/.exec(basename(d.installer))?.[1] ?? null;
  if (!version)
    out.block(
      "driver-version-unknown",
      "The driver version cannot be read from the installer's name",
      [d.installer],
      ['add `version: "525.85.07"` under driver:'],
    );
  const replace = installed && version && installed.version !== version ? installed : null;
  if (!replace) checkOpenFlavour(installed, out);
  else checkVmsStopped(replace, input.facts, input.stopVms === true, out);
  const rel = version ? releaseForDriverVersion(version) : null;
  // a branch without the GPU refuses first: its files and kernels do not matter then
  const keeps = !rel || !version || checkBranchKeepsGpus(rel, version, gpus, out);
  const needed = !installed || replace !== null;
  if (needed && keeps) checkDriverFiles(d, version, input, gpus, out);
  const pin = version && keeps ? checkRelease(version, host, gpus, out, needed) : null;
  checkPascalOnPve9(host, gpus, out);
  return { installed, version, needed, replace, pin };
}

/**
 * Pascal on Proxmox VE 9 (research/installers.md §2.1, §4): vGPU 16 is the last branch for Pascal (17.0
 * dropped it). Consumer Pascal cards need 16.x with the unlock patch, known to work on kernels up to 6.5
 * only, while Proxmox VE 9 runs 6.14 and newer: anomixer/proxmox-vgpu-installer 1.82 refuses "PVE 9 +
 * Pascal unlock" and says to install Proxmox VE 8. Native Pascal boards (P4, P40, P100) stay on 16.x.
 */
function checkPascalOnPve9(host: HostIdentity, gpus: GpuSelection, out: PassOutput): void {
  if (host.pveMajor < 9) return;
  const pascal = (g: GpuSelection["gpus"][number]) =>
    g.cls.generation === "pascal" || g.cls.generation === "maxwell";
  const consumer = gpus.consumer.filter(pascal);
  if (consumer.length > 0)
    out.block(
      "pascal-unlock-pve9",
      "Consumer Maxwell/Pascal cards cannot do vGPU on Proxmox VE 9",
      consumer.map(
        (g) =>
          `${g.pci.address} ${g.cls.name ?? g.pci.description} (${g.cls.generation}); Proxmox VE ${host.pveMajor}, kernel ${host.running}`,
      ),
      [
        "they need vGPU 16.x with the unlock patch, which works on kernels up to 6.5 only: use Proxmox VE 8 with a 6.5 kernel pinned (proxmox-boot-tool kernel pin 6.5.x)",
      ],
    );
  if (gpus.native.some(pascal))
    out.note(
      "Pascal boards: vGPU 16.x is the last branch that supports them (17.0 dropped Pascal); on Proxmox VE 9 use a 16.x release whose kernel range includes this kernel",
    );
}

function checkOpenFlavour(installed: DriverState | null, out: PassOutput): void {
  if (installed && installed.flavour === "open")
    out.block(
      "driver-open-flavour",
      "The open NVIDIA kernel modules are installed; vGPU needs the proprietary ones",
      [installed.version],
      ["nvidia-uninstall --silent, then re-run (vgpuctl installs with -m=kernel)"],
    );
}

function checkDriverFiles(
  d: NonNullable<HostEntry["driver"]>,
  version: string | null,
  input: PlanInput,
  gpus: GpuSelection,
  out: PassOutput,
): void {
  checkInstaller(d.installer, d.sha256, input.probes[d.installer], out.block);
  if (d.patch) {
    checkPatch(d.patch.path, d.patch.sha256, version, input.probes[d.patch.path], out.block);
    checkPatchTool(input.facts.packages?.patch, input.probes[LOCAL_PATCH], out.block);
  } else if (gpus.consumer.length > 0)
    out.block(
      "patch-missing",
      "Consumer GPUs need the driver patched for vgpu_unlock",
      gpus.consumer.map((g) => `${g.pci.address} ${g.cls.name}: ${g.cls.supportReason}`),
      [
        `add \`patch: { path: /root/vgpu-proxmox/${version ?? "<version>"}.patch, sha256: … }\` under driver:`,
      ],
    );
}

/** What vgpuctl's driver table says about this version: the kernels it supports, an unlock patch. */
function checkRelease(
  version: string,
  host: HostIdentity,
  gpus: GpuSelection,
  out: PassOutput,
  installing: boolean,
): KernelPin | null {
  const rel = releaseForDriverVersion(version);
  if (!rel) {
    out.note(`driver ${version} is not in vgpuctl's driver table: kernel compatibility not checked`);
    return null;
  }
  const pin = checkDriverKernels(host, rel, version, out, installing);
  if (rel.patch === null && gpus.consumer.length > 0)
    out.block(
      "driver-no-unlock-patch",
      `vGPU ${rel.vgpuRelease} has no unlock patch: consumer GPUs cannot use it`,
      [version],
      ["choose a release with a vgpu-proxmox patch (e.g. 16.9 or 17.5)"],
    );
  return pin;
}

/** driver-patch (when vgpu.yaml names a patch) and driver-install. */
export function driverPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  const d = ctx.entry.driver;
  const version = ctx.driver.version;
  if (!d || !ctx.driver.needed || !version) return out;
  const replace = driverReplaceSteps(ctx);
  out.steps.push(...replace);
  if (replace.length > 0)
    out.note(
      `driver ${ctx.driver.replace?.version} is replaced in place; its installer (and patch) must be where vgpu.yaml's are, under its own version's name: driver-keep-previous fails before anything changes when it is not`,
    );
  const dir = dirname(d.installer);
  let runfile = d.installer;
  if (d.patch) {
    runfile = `${dir}/${basename(d.installer).replace(/\.run$/, "")}-custom.run`;
    out.step({
      id: "driver-patch",
      title: `Patch driver ${version} for vgpu_unlock`,
      why: "consumer GPUs need the binary patch from vgpu-proxmox; the installer writes the patched copy next to itself",
      changes: [
        { kind: "command", argv: ["rm", "-f", runfile] },
        { kind: "command", argv: ["env", "-C", dir, "sh", d.installer, "--apply-patch", d.patch.path] },
        // NVIDIA's installer stub exits 0 even when the patch does not apply: prove the patched copy exists.
        { kind: "command", argv: ["sha256sum", runfile] },
      ],
      reboot: false,
      undo: { description: `remove ${runfile}`, commands: [["rm", "-f", runfile]], regenerate: [] },
    });
  }
  const changes: Change[] = [{ kind: "command", argv: installerArgv(runfile, version, false) }];
  if (ctx.bootKernel !== ctx.running)
    changes.push({
      kind: "command",
      argv: ["dkms", "install", "-m", "nvidia", "-v", version, "-k", ctx.bootKernel],
    });
  changes.push({ kind: "command", argv: ["systemctl", "enable", ...VGPU_SERVICES] });
  out.step({
    id: "driver-install",
    title: `Install NVIDIA vGPU host driver ${version} with DKMS`,
    why: "the vGPU host driver creates the vGPU types; DKMS rebuilds it for new kernels. It is built now but loaded only after the reboot, once nouveau is gone",
    changes,
    reboot: true,
    undo: { description: "nvidia-uninstall", commands: [["nvidia-uninstall", "--silent"]], regenerate: [] },
  });
  return out;
}
