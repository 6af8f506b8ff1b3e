/**
 * buildPlan: desired host entry + facts → ordered Steps. Pure.
 *
 * Order is chosen so the whole setup needs ONE reboot (the guide needs two, research/installers.md §1.5):
 * packages → vgpu_unlock-rs → driver patched and installed with DKMS while nouveau is still loaded
 * (`--skip-module-load`, nothing is loaded until the reboot) → IOMMU parameters → vfio modules →
 * nouveau blacklist → one initramfs rebuild → reboot → verify. Steps already satisfied are omitted.
 */
import { createTwoFilesPatch } from "diff";
import type { HostEntry } from "../desired/schema.ts";
import { formatCommand } from "../facts/capture.ts";
import {
  deriveBootloader,
  deriveDriver,
  deriveIommu,
  deriveUnlock,
  IOMMU_PARAM,
  nvidiaGpuFunctions,
  physicalGpuFunctions,
  UNLOCK_UNITS,
} from "../facts/derive.ts";
import { normalisePciAddress } from "../facts/pci.ts";
import type { Facts, PciFunction } from "../facts/types.ts";
import {
  editKernelCmdline,
  kernelCmdlineTokens,
  tokensSatisfy,
  vfioIdsEdit,
} from "../formats/bootloader/cmdline.ts";
import { editGrubCmdline, grubTokens } from "../formats/bootloader/grub.ts";
import {
  addModules,
  kernelBefore,
  listedModules,
  removeModules,
  vfioModulesFor,
} from "../formats/modules/etc-modules.ts";
import { addBlacklist, removeVfioLeftovers } from "../formats/modules/modprobe.ts";
import { dropinPath, setServiceEnvironment } from "../formats/systemd/dropin.ts";
import { installedKernels, kernelInRange, releaseForDriverVersion } from "../knowledge/drivers.ts";
import { classifyGpu, type GpuClassification } from "../knowledge/gpus.ts";
import type { Blocker, Change, FileProbe, Plan, PlanInput, Step } from "./types.ts";
import { setUnlock, unlockValue } from "./unlock-config.ts";
import { planVms } from "./vms.ts";

export const STATE_DIR = "/var/lib/vgpuctl";
export const NOUVEAU_BLACKLIST = "/etc/modprobe.d/vgpuctl-blacklist-nouveau.conf";
export const UNLOCK_CONFIG = "/etc/vgpu_unlock/config.toml";
export const PROFILE_OVERRIDE = "/etc/vgpu_unlock/profile_override.toml";
export const DEFAULT_UNLOCK_SOURCE = "/opt/vgpu_unlock-rs";
export const CARGO = "/root/.cargo/bin/cargo";
export const RUSTUP = "/root/.cargo/bin/rustup";
export const INITRAMFS: string[] = ["update-initramfs", "-u", "-k", "all"];
const DAEMON_RELOAD = ["systemctl", "daemon-reload"];
const VGPU_SERVICES = ["nvidia-vgpud.service", "nvidia-vgpu-mgr.service"];

/** Paths the planner needs probed on the host (existence, sha256, first bytes) beyond the facts. */
export function probeRequests(entry: HostEntry): Array<{ path: string; sha256: boolean; head: boolean }> {
  const out: Array<{ path: string; sha256: boolean; head: boolean }> = [];
  if (entry.driver) {
    out.push({ path: entry.driver.installer, sha256: true, head: true });
    if (entry.driver.patch) out.push({ path: entry.driver.patch.path, sha256: true, head: true });
  }
  if (entry.unlock !== "off") {
    const u = unlockSource(entry);
    if (u.library) out.push({ path: u.library, sha256: false, head: false });
    else {
      out.push({ path: `${u.source}/Cargo.toml`, sha256: false, head: false });
      out.push({ path: u.builtLibrary, sha256: false, head: false });
      out.push({ path: CARGO, sha256: false, head: false });
    }
  }
  return out;
}

function unlockSource(entry: HostEntry): { source: string; library: string | null; builtLibrary: string } {
  const source = (entry.vgpuUnlock?.source ?? DEFAULT_UNLOCK_SOURCE).replace(/\/+$/, "");
  return {
    source,
    library: entry.vgpuUnlock?.library ?? null,
    builtLibrary: `${source}/target/release/libvgpu_unlock_rs.so`,
  };
}

export function fileChange(path: string, before: string | null, after: string | null, mode?: number): Change {
  const diff = createTwoFilesPatch(
    before === null ? "/dev/null" : path,
    after === null ? "/dev/null" : path,
    before ?? "",
    after ?? "",
    "",
    "",
    {
      context: 3,
    },
  );
  return { kind: "file", path, before, after, diff, ...(mode !== undefined ? { mode } : {}) };
}

const noUndo = (description: string) => ({
  description,
  commands: [] as string[][],
  regenerate: [] as string[][],
});

interface Gpu {
  pci: PciFunction;
  cls: GpuClassification;
  type: string | null;
}

export function buildPlan(entry: HostEntry, input: PlanInput): Plan {
  const f = input.facts;
  const blockers: Blocker[] = [];
  const notes: string[] = [];
  const steps: Step[] = [];
  const block = (code: string, title: string, evidence: string[], fix: string[]) =>
    blockers.push({ code, title, evidence, fix });
  const need = (path: string): string | null => {
    const c = input.file(path);
    if (c === undefined) {
      block(
        "not-captured",
        `${path} could not be read`,
        [`${path} was not captured from the host`],
        ["check that vgpuctl can read the file (run as root)"],
      );
      return null;
    }
    return c;
  };

  // ── Host identity ────────────────────────────────────────────────────────────────
  if (!f.pve) {
    block(
      "not-proxmox",
      "This is not a Proxmox VE host",
      [f.notes.find((n) => /pveversion/.test(n)) ?? "`pveversion -v` did not report a pve-manager version"],
      ["vgpuctl sets up Proxmox VE hosts only; check the --host / `host:` you named"],
    );
    return finish(f.host, [], blockers, notes);
  }
  const pveMajor = Number.parseInt(f.pve.manager, 10) || 0;
  const running = f.uname?.release ?? f.pve.runningKernel;
  if (!running) {
    block(
      "kernel-unknown",
      "The running kernel is unknown",
      ["`uname -r` was not captured"],
      ["re-run as root"],
    );
    return finish(f.host, [], blockers, notes);
  }
  // The next boot's kernel: the newest one installed (dpkg / pveversion packages and the ESPs'
  // kernels, knowledge/drivers.ts), as proxmox-boot-tool and update-grub order them; the running one
  // when none is known. A pinned kernel is not captured (the note says so).
  const kernels = installedKernels(f);
  const bootKernel = kernels.length > 0 ? kernels[kernels.length - 1]! : running;
  if (kernels.length > 0 && bootKernel !== running)
    notes.push(
      `the next boot uses kernel ${bootKernel} (newest installed; running ${running}) unless a kernel is pinned`,
    );

  if (f.secureBoot === true)
    block(
      "secure-boot",
      "Secure Boot is on: the NVIDIA kernel modules would be rejected",
      ["mokutil --sb-state: SecureBoot enabled"],
      [
        "disable Secure Boot in the firmware setup, or sign the modules with an enrolled MOK (not automated by vgpuctl yet)",
      ],
    );
  else if (f.secureBoot === null)
    notes.push("Secure Boot state unknown (mokutil not available); assuming off");

  // ── GPUs ───────────────────────────────────────────────────────────────────────
  if (!f.pci) {
    block(
      "not-captured",
      "The PCI devices could not be listed",
      ["`lspci -Dnnk` was not captured"],
      ["install pciutils"],
    );
    return finish(f.host, [], blockers, notes);
  }
  // SR-IOV virtual functions are not GPUs to set up: their physical function is
  const all = physicalGpuFunctions(f);
  const gpus: Gpu[] = [];
  if (all.length === 0)
    block(
      "gpu-missing",
      "No NVIDIA GPU found",
      ["lspci shows no NVIDIA display controller"],
      ["check the card is seated and enabled"],
    );
  const wanted = entry.gpus ?? [];
  if (wanted.length === 0) for (const p of all) gpus.push({ pci: p, cls: classify(p), type: null });
  for (const g of wanted) {
    let p: PciFunction | undefined;
    if (g.address) {
      const want = normalisePciAddress(g.address) ?? g.address;
      p = all.find((x) => x.address === want);
    } else if (all.length === 1) p = all[0];
    if (!p) {
      block(
        "gpu-not-found",
        g.address ? `No NVIDIA GPU at ${g.address}` : "Several NVIDIA GPUs: name the `address` of each",
        all.map((x) => `${x.address} ${x.description}`),
        ["set gpus[].address to one of the addresses above"],
      );
      continue;
    }
    gpus.push({ pci: p, cls: classify(p), type: g.type });
  }
  for (const g of gpus)
    if (g.cls.support === "unsupported")
      block(
        "gpu-unsupported",
        `${g.pci.address} ${g.cls.name ?? g.pci.description} cannot do vGPU`,
        [g.cls.supportReason],
        ["use a vGPU-capable card, or leave this GPU out of `gpus:`"],
      );
  const consumer = gpus.filter((g) => g.cls.support === "unlock");
  const native = gpus.filter((g) => g.cls.support === "native");
  const useUnlock = entry.unlock === "on" || (entry.unlock === "auto" && consumer.length > 0);
  if (entry.unlock === "off" && consumer.length > 0)
    block(
      "unlock-missing",
      "These consumer GPUs need vgpu_unlock, but `unlock: off`",
      consumer.map((g) => `${g.pci.address} ${g.cls.name}: ${g.cls.supportReason}`),
      ["set `unlock: auto`"],
    );
  if (useUnlock && consumer.length > 0 && native.length > 0)
    notes.push(
      "native and consumer GPUs together: vgpu_unlock spoofs every GPU in its device-id ranges, including native boards",
    );

  // ── Driver ─────────────────────────────────────────────────────────────────────
  const installed = deriveDriver(f);
  let driverVersion: string | null = null;
  let needDriver = false;
  if (!entry.driver) {
    if (!installed)
      block(
        "driver-missing",
        "No NVIDIA vGPU host driver installed and none named",
        ["dkms status / nvidia-smi: no NVIDIA driver"],
        [
          "add `driver: { installer: /root/NVIDIA-Linux-x86_64-<version>-vgpu-kvm.run, sha256: … }` to vgpu.yaml",
        ],
      );
  } else {
    const d = entry.driver;
    driverVersion = d.version ?? /(\d{3}\.\d{1,3}(?:\.\d{1,3})?)/.exec(basename(d.installer))?.[1] ?? null;
    if (!driverVersion)
      block(
        "driver-version-unknown",
        "The driver version cannot be read from the installer's name",
        [d.installer],
        ['add `version: "525.85.07"` under driver:'],
      );
    if (installed && driverVersion && installed.version !== driverVersion)
      block(
        "driver-other-version",
        `NVIDIA driver ${installed.version} is installed; vgpu.yaml asks for ${driverVersion}`,
        [`installed driver ${installed.version} (from ${installed.source})`],
        [
          "remove it first: `nvidia-uninstall --silent` (or `vgpuctl uninstall` if vgpuctl installed it), then re-run",
        ],
      );
    else if (installed && installed.flavour === "open")
      block(
        "driver-open-flavour",
        "The open NVIDIA kernel modules are installed; vGPU needs the proprietary ones",
        [installed.version],
        ["nvidia-uninstall --silent, then re-run (vgpuctl installs with -m=kernel)"],
      );
    needDriver = !installed;
    if (needDriver) {
      checkInstaller(d.installer, d.sha256, input.probes[d.installer], block);
      if (d.patch) checkPatch(d.patch.path, d.patch.sha256, driverVersion, input.probes[d.patch.path], block);
      else if (consumer.length > 0)
        block(
          "patch-missing",
          "Consumer GPUs need the driver patched for vgpu_unlock",
          consumer.map((g) => `${g.pci.address} ${g.cls.name}: ${g.cls.supportReason}`),
          [
            `add \`patch: { path: /root/vgpu-proxmox/${driverVersion ?? "<version>"}.patch, sha256: … }\` under driver:`,
          ],
        );
    }
    if (driverVersion) {
      const rel = releaseForDriverVersion(driverVersion);
      if (!rel)
        notes.push(
          `driver ${driverVersion} is not in vgpuctl's driver table: kernel compatibility not checked`,
        );
      else {
        for (const k of new Set([running, bootKernel])) {
          const ok = kernelInRange(rel, k);
          if (ok === false) {
            const inRange = kernels.filter((x) => kernelInRange(rel, x) === true);
            block(
              "kernel-unsupported",
              `Kernel ${k} is outside the range of driver ${driverVersion} (vGPU ${rel.vgpuRelease}: kernels ${rel.kernelRange})`,
              [`${k === running ? "running" : "default boot"} kernel ${k}`],
              inRange.length > 0
                ? [`proxmox-boot-tool kernel pin ${inRange[inRange.length - 1]}`, "reboot, then re-run"]
                : [
                    `install a ${rel.kernel.max ?? rel.kernel.min} series kernel (e.g. apt install ${pveMajor >= 8 ? "proxmox-kernel" : "pve-kernel"}-${rel.kernel.max ?? rel.kernel.min}) and pin it with proxmox-boot-tool kernel pin <version>`,
                    "or choose a driver release made for this kernel",
                  ],
            );
          } else if (ok === null)
            notes.push(`kernel ${k}: not known whether driver ${driverVersion} supports it`);
        }
        if (rel.patch === null && consumer.length > 0)
          block(
            "driver-no-unlock-patch",
            `vGPU ${rel.vgpuRelease} has no unlock patch: consumer GPUs cannot use it`,
            [driverVersion],
            ["choose a release with a vgpu-proxmox patch (e.g. 16.9 or 17.5)"],
          );
      }
    }
  }

  // ── IOMMU / bootloader ─────────────────────────────────────────────────────────
  const bootloader = deriveBootloader(f);
  const iommu = deriveIommu(f);
  let iommuParams: string[] = [];
  if (entry.iommu === "on" || (entry.iommu === "auto" && iommu.enabled !== true)) {
    if (f.cpuVendor === "intel") iommuParams = ["intel_iommu=on", "iommu=pt"];
    else if (f.cpuVendor === "amd")
      iommuParams = ["iommu=pt"]; // AMD-Vi is on by default; `amd_iommu=on` is not a valid value
    else
      block(
        "cpu-unknown",
        "The CPU vendor is unknown, so the IOMMU parameters are too",
        ["lscpu was not captured"],
        ["set `iommu: off` to skip, or make lscpu available"],
      );
    if (!bootloader)
      block(
        "bootloader-unknown",
        "Cannot tell whether the host boots with GRUB or systemd-boot",
        ["proxmox-boot-tool status not captured"],
        ["set `iommu: off` to skip the kernel parameters"],
      );
  }

  // ── Leftover passthrough (vfio-pci) ─────────────────────────────────────────────
  const leftover = vfioLeftover(f, gpus, block);

  // ── Packages ───────────────────────────────────────────────────────────────
  const unlock = unlockSource(entry);
  const probe = (p: string): FileProbe | undefined => input.probes[p];
  const buildUnlock = useUnlock && !unlock.library && probe(unlock.builtLibrary)?.exists !== true;
  const needRust = buildUnlock && probe(CARGO)?.exists !== true;
  const sourceMissing = buildUnlock && probe(`${unlock.source}/Cargo.toml`)?.exists === false;
  if (useUnlock && unlock.library && probe(unlock.library)?.exists === false)
    block(
      "unlock-library-missing",
      `vgpu_unlock library ${unlock.library} does not exist on the host`,
      [unlock.library],
      ["copy the prebuilt libvgpu_unlock_rs.so there, or use `vgpuUnlock: { source: … }` to build it"],
    );
  if (sourceMissing && !entry.vgpuUnlock?.git)
    block(
      "unlock-source-missing",
      `No vgpu_unlock-rs checkout at ${unlock.source}`,
      [`${unlock.source}/Cargo.toml not found`],
      [
        `git clone https://github.com/mbilker/vgpu_unlock-rs ${unlock.source}`,
        "or add `vgpuUnlock: { git: https://github.com/mbilker/vgpu_unlock-rs }` to let vgpuctl clone it",
      ],
    );

  const pkgs: string[] = [];
  const sriov = entry.sriov ?? native.some((g) => g.cls.needsSriov);
  if (f.packages === null) {
    block(
      "not-captured",
      "The installed packages are unknown",
      ["`dpkg-query -W` was not captured"],
      ["re-run as root"],
    );
  } else {
    const has = (p: string) => p in f.packages!;
    const headers = (k: string) => (pveMajor >= 8 ? `proxmox-headers-${k}` : `pve-headers-${k}`);
    const hasHeaders = (k: string) => has(`proxmox-headers-${k}`) || has(`pve-headers-${k}`);
    if (needDriver) {
      for (const k of new Set([running, bootKernel])) if (!hasHeaders(k)) pkgs.push(headers(k));
      const meta = pveMajor >= 8 ? "proxmox-default-headers" : "pve-headers";
      if (!has(meta) && !has("pve-headers") && !has("proxmox-default-headers")) pkgs.push(meta);
      if (!has("dkms")) pkgs.push("dkms");
    }
    if ((needDriver || buildUnlock) && !has("build-essential")) pkgs.push("build-essential");
    if (!has("mdevctl")) pkgs.push("mdevctl");
    if (sourceMissing && entry.vgpuUnlock?.git && !has("git")) pkgs.push("git");
    if (needRust && !has("curl")) pkgs.push("curl");
    if (sriov && pveMajor >= 8 && !has("pve-nvidia-vgpu-helper")) pkgs.push("pve-nvidia-vgpu-helper");
  }

  // 1. repository (only when asked)
  if (entry.repository === "no-subscription") {
    const s = repositoryStep(pveMajor, input, need, notes);
    if (s) steps.push(s);
  }
  // 2. packages
  if (pkgs.length > 0)
    steps.push({
      id: "packages",
      title: `Install ${pkgs.join(", ")}`,
      why: "DKMS builds the NVIDIA module against the kernel headers (running and next-boot kernel); mdevctl lists and manages vGPUs",
      changes: [
        { kind: "command", argv: ["apt-get", "update"] },
        { kind: "package", install: pkgs },
      ],
      reboot: false,
      undo: noUndo(`apt-get remove ${pkgs.join(" ")} (only packages vgpuctl installed)`),
    });
  // 3-6. vgpu_unlock-rs
  if (needRust)
    steps.push({
      id: "rust-toolchain",
      title: "Install the Rust toolchain (rustup, minimal profile)",
      why: "vgpu_unlock-rs is built with cargo; Debian's packaged rustc is too old for it",
      changes: [
        {
          kind: "command",
          argv: [
            "sh",
            "-c",
            "curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --no-modify-path",
          ],
        },
      ],
      reboot: false,
      undo: {
        description: "rustup self uninstall",
        commands: [[RUSTUP, "self", "uninstall", "-y"]],
        regenerate: [],
      },
    });
  if (sourceMissing && entry.vgpuUnlock?.git) {
    const changes: Change[] = [
      // `--`: the URL and the directory are never read as options (the schema already refuses values
      // that look like one). `checkout REF --`: REF is a revision, never a path; `--end-of-options`
      // would say more but `git checkout` only honours it from git 2.44 (PVE 8 ships 2.39).
      { kind: "command", argv: ["git", "clone", "--", entry.vgpuUnlock.git, unlock.source] },
    ];
    if (entry.vgpuUnlock.ref)
      changes.push({
        kind: "command",
        argv: ["git", "-C", unlock.source, "checkout", entry.vgpuUnlock.ref, "--"],
      });
    steps.push({
      id: "unlock-source",
      title: `Clone vgpu_unlock-rs into ${unlock.source}`,
      why: "the consumer GPUs need vgpu_unlock-rs preloaded into the NVIDIA vGPU daemons",
      changes,
      reboot: false,
      undo: {
        description: `remove ${unlock.source}`,
        commands: [["rm", "-rf", unlock.source]],
        regenerate: [],
      },
    });
  }
  if (buildUnlock && !blockers.some((b) => b.code === "unlock-source-missing"))
    steps.push({
      id: "unlock-build",
      title: "Build vgpu_unlock-rs",
      why: "produces libvgpu_unlock_rs.so, which makes the driver treat the consumer GPUs as vGPU boards",
      changes: [
        {
          kind: "command",
          argv: [CARGO, "build", "--release", "--manifest-path", `${unlock.source}/Cargo.toml`],
        },
      ],
      reboot: false,
      undo: {
        description: "remove the build output",
        commands: [["rm", "-rf", `${unlock.source}/target`]],
        regenerate: [],
      },
    });
  const library = unlock.library ?? unlock.builtLibrary;
  const unlockFileChanges: Change[] = [];
  const unlockState = deriveUnlock(f);
  if (useUnlock || unlockState.preloadedIn.length > 0) {
    if (useUnlock)
      for (const unit of UNLOCK_UNITS) {
        const path = dropinPath(unit);
        const before = need(path);
        if (before === undefined) continue;
        const after = setServiceEnvironment(before ?? "", "LD_PRELOAD", library);
        if (after !== before) unlockFileChanges.push(fileChange(path, before, after, 0o644));
      }
    // unlock = false for natively supported boards (seed guide "Have a vgpu supported card?").
    const spoof = useUnlock ? consumer.length > 0 : false;
    const before = need(UNLOCK_CONFIG);
    if (before !== undefined && (before !== null || !spoof) && unlockValue(before) !== spoof) {
      const after = setUnlock(before ?? "", spoof);
      if (after !== before) unlockFileChanges.push(fileChange(UNLOCK_CONFIG, before, after, 0o644));
    }
    if (useUnlock) {
      const po = need(PROFILE_OVERRIDE);
      if (po === null)
        unlockFileChanges.push(
          fileChange(
            PROFILE_OVERRIDE,
            null,
            "# vgpu_unlock-rs profile overrides ([profile.nvidia-N], [vm.VMID]); see `vgpuctl override`\n",
            0o644,
          ),
        );
    }
  }
  if (unlockFileChanges.length > 0)
    steps.push({
      id: "unlock-files",
      title: "Preload vgpu_unlock into nvidia-vgpud and nvidia-vgpu-mgr",
      why: useUnlock
        ? "both daemons must load libvgpu_unlock_rs.so (systemd drop-ins); config.toml sets whether it spoofs the GPU"
        : "natively supported GPUs must not be spoofed: `unlock = false`",
      changes: [...unlockFileChanges, { kind: "command", argv: DAEMON_RELOAD }],
      reboot: true,
      undo: {
        description: "restore the drop-ins and config.toml",
        commands: [],
        regenerate: [DAEMON_RELOAD],
      },
    });
  // 7-8. driver
  if (entry.driver && needDriver && driverVersion) {
    const d = entry.driver;
    const dir = dirname(d.installer);
    let runfile = d.installer;
    if (d.patch) {
      runfile = `${dir}/${basename(d.installer).replace(/\.run$/, "")}-custom.run`;
      steps.push({
        id: "driver-patch",
        title: `Patch driver ${driverVersion} for vgpu_unlock`,
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
    const major = Number.parseInt(driverVersion, 10);
    const argv = ["sh", runfile, "--silent", "--dkms", "--no-nouveau-check", "--skip-module-load"];
    if (major >= 515) argv.push("-m=kernel");
    const changes: Change[] = [{ kind: "command", argv }];
    if (bootKernel !== running)
      changes.push({
        kind: "command",
        argv: ["dkms", "install", "-m", "nvidia", "-v", driverVersion, "-k", bootKernel],
      });
    changes.push({ kind: "command", argv: ["systemctl", "enable", ...VGPU_SERVICES] });
    steps.push({
      id: "driver-install",
      title: `Install NVIDIA vGPU host driver ${driverVersion} with DKMS`,
      why: "the vGPU host driver creates the vGPU types; DKMS rebuilds it for new kernels. It is built now but loaded only after the reboot, once nouveau is gone",
      changes,
      reboot: true,
      undo: { description: "nvidia-uninstall", commands: [["nvidia-uninstall", "--silent"]], regenerate: [] },
    });
  }
  // 9. SR-IOV (Ampere and newer native boards)
  if (sriov) {
    const missingVfs = gpus.filter(
      (g) =>
        g.cls.needsSriov && !(f.sriov ?? []).some((s) => s.address === g.pci.address && (s.numVfs ?? 0) > 0),
    );
    if (
      missingVfs.length > 0 ||
      (entry.sriov && gpus.length > 0 && (f.sriov ?? []).every((s) => (s.numVfs ?? 0) === 0))
    ) {
      if (pveMajor < 8)
        notes.push(
          "SR-IOV on Proxmox VE 7 needs pve-nvidia-sriov@ALL.service from pve-nvidia-vgpu-helper (PVE 8+)",
        );
      steps.push({
        id: "sriov",
        title: "Enable SR-IOV virtual functions at boot (pve-nvidia-sriov@ALL)",
        why: "Ampere and newer boards offer vGPU types only on SR-IOV virtual functions",
        changes: [{ kind: "command", argv: ["systemctl", "enable", "pve-nvidia-sriov@ALL.service"] }],
        reboot: true,
        undo: {
          description: "disable pve-nvidia-sriov@ALL",
          commands: [["systemctl", "disable", "pve-nvidia-sriov@ALL.service"]],
          regenerate: [],
        },
      });
    }
  }
  // 9b. nvidia-vgpu-mgr: the driver is in place and loaded, but its manager was stopped/disabled
  const mgrState = f.services?.["nvidia-vgpu-mgr.service"];
  if (
    installed &&
    !needDriver &&
    installed.loaded === true &&
    releaseForDriverVersion(installed.version) !== null &&
    mgrState === "inactive"
  )
    steps.push({
      id: "services",
      title: "Enable and start nvidia-vgpu-mgr.service",
      why: "nvidia-vgpu-mgr is inactive: no VM can start with a vGPU until it runs (and it must start at every boot)",
      changes: [{ kind: "command", argv: ["systemctl", "enable", "--now", "nvidia-vgpu-mgr.service"] }],
      reboot: false,
      undo: {
        description: "disable nvidia-vgpu-mgr.service again",
        commands: [["systemctl", "disable", "--now", "nvidia-vgpu-mgr.service"]],
        regenerate: [],
      },
    });
  // 10. Kernel command line (one file edit, one update-grub / proxmox-boot-tool refresh): IOMMU
  //     parameters, parameters written to the file of the bootloader this host does not boot with
  //     (moved over), and the GPUs' ids in a leftover `vfio-pci.ids=` (PCI passthrough).
  let configuredButNotLive = false;
  if (bootloader) {
    const c = planKernelCmdline({
      bootloader,
      iommuParams,
      vfioIds: leftover.ids,
      running: f.cmdline,
      iommuEnabled: iommu.enabled,
      file: input.file,
      need,
      block,
    });
    if (c.step) steps.push(c.step);
    configuredButNotLive = c.configuredButNotLive;
  }
  // 11. vfio modules
  const modulesChanged = (() => {
    const before = need("/etc/modules");
    if (before === undefined) return false;
    const wantedModules = vfioModulesFor(bootKernel);
    const loadList = new Set((f.modulesLoad ?? []).map((m) => m.module.replaceAll("-", "_")));
    const inEtcModules = listedModules(before ?? "");
    for (const m of inEtcModules) loadList.add(m.replaceAll("-", "_"));
    const missing = wantedModules.filter((m) => !loadList.has(m));
    const stale =
      !kernelBefore(bootKernel, 6, 2) && inEtcModules.includes("vfio_virqfd") ? ["vfio_virqfd"] : [];
    if (missing.length === 0 && stale.length === 0) return false;
    const after = removeModules(addModules(before ?? "", missing), stale);
    const why =
      stale.length > 0
        ? `vGPU needs the vfio modules at boot; vfio_virqfd no longer exists on kernel ${bootKernel} (merged into vfio in 6.2) and fails systemd-modules-load`
        : "vGPU (mdev) devices are handed to VMs through vfio";
    steps.push({
      id: "vfio-modules",
      title: `Load ${missing.length ? missing.join(", ") : "vfio modules"} at boot${stale.length ? " (drop vfio_virqfd)" : ""}`,
      why,
      changes: [fileChange("/etc/modules", before, after)],
      reboot: true,
      undo: { description: "restore /etc/modules", commands: [], regenerate: [INITRAMFS] },
    });
    return true;
  })();
  // 12. nouveau blacklist
  let nouveauPending = false;
  const blacklisted = (f.modprobe ?? []).some((m) => m.blacklist.some((b) => b.module === "nouveau"));
  const nouveauLoaded =
    (f.lsmod ?? []).some((m) => m.name === "nouveau") || all.some((p) => p.driverInUse === "nouveau");
  if (f.modprobe === null)
    block(
      "not-captured",
      "/etc/modprobe.d could not be read",
      ["/etc/modprobe.d not captured"],
      ["re-run as root"],
    );
  else if (!blacklisted) {
    const before = need(NOUVEAU_BLACKLIST);
    if (before !== undefined) {
      const after = addBlacklist(
        before ?? "# written by vgpuctl: the NVIDIA vGPU host driver needs nouveau kept off the GPU\n",
        "nouveau",
        "modeset=0",
      );
      steps.push({
        id: "nouveau-blacklist",
        title: "Blacklist the nouveau driver",
        why: "nouveau would claim the GPU at boot and keep the NVIDIA vGPU driver from loading",
        changes: [fileChange(NOUVEAU_BLACKLIST, before, after, 0o644)],
        reboot: true,
        undo: { description: `remove ${NOUVEAU_BLACKLIST}`, commands: [], regenerate: [INITRAMFS] },
      });
    }
  } else if (nouveauLoaded) nouveauPending = true;
  // 12b. leftover passthrough config in /etc/modprobe.d binding the GPUs to vfio-pci
  const vfioChanges: Change[] = [];
  for (const mf of f.modprobe ?? []) {
    const before = input.file(mf.path);
    if (typeof before !== "string") continue;
    const after = removeVfioLeftovers(before, leftover.ids);
    if (after !== before) vfioChanges.push(fileChange(mf.path, before, after));
  }
  if (vfioChanges.length > 0)
    steps.push({
      id: "vfio-leftover",
      title: `Remove the leftover PCI-passthrough binding (vfio-pci) of ${leftover.label}`,
      why: "leftover passthrough configuration (`options vfio-pci ids=`, `softdep nvidia pre: vfio-pci`, `blacklist nvidia`) hands the GPU to vfio-pci at boot, so the NVIDIA vGPU driver never gets it (doctor: vfio-bound / vfio-config-leftover)",
      changes: vfioChanges,
      reboot: true,
      fixes: ["vfio-bound", "vfio-config-leftover"],
      undo: {
        description: `restore ${vfioChanges.map((c) => (c as { path: string }).path).join(", ")}`,
        commands: [],
        regenerate: [INITRAMFS],
      },
    });
  // 13. one initramfs rebuild
  const blacklistChanged = steps.some((s) => s.id === "nouveau-blacklist");
  if (modulesChanged || blacklistChanged || vfioChanges.length > 0 || needDriver || input.pending?.initramfs)
    steps.push({
      id: "initramfs",
      title: "Rebuild the initramfs",
      why: "the module list, the nouveau blacklist and the vfio-pci options are read from the initramfs at boot",
      changes: [{ kind: "command", argv: INITRAMFS }],
      reboot: true,
      undo: noUndo("rebuilt again at the end of uninstall"),
    });
  // 14. a reboot that is due although nothing else is left to change
  const driverPending = installed !== null && installed.loaded === false && !needDriver;
  if (
    !steps.some((s) => s.reboot) &&
    (configuredButNotLive || nouveauPending || driverPending || input.pending?.reboot)
  ) {
    const reasons = [
      configuredButNotLive ? "the IOMMU parameters are configured but not active" : null,
      nouveauPending ? "nouveau is blacklisted but still loaded" : null,
      driverPending ? "the NVIDIA driver is installed but not loaded" : null,
      input.pending?.reboot ? "changes applied earlier take effect at the next boot" : null,
    ].filter(Boolean);
    steps.push({
      id: "reboot",
      title: "Reboot",
      why: reasons.join("; "),
      changes: [],
      reboot: true,
      undo: noUndo("nothing to undo"),
    });
  }
  // 14b. a fix applied earlier (the journal knows) takes effect at the reboot still owed
  const owed = (input.pending?.reboot ? (input.pending.fixes ?? []) : []).filter(
    (c) => !steps.some((s) => s.fixes?.includes(c)),
  );
  const rebootStep = [...steps].reverse().find((s) => s.reboot);
  if (owed.length > 0 && rebootStep) rebootStep.fixes = [...(rebootStep.fixes ?? []), ...owed];
  // 15. VMs: attach / override / detach (after the reboot when the setup still needs one)
  if (entry.vms && entry.vms.length > 0) {
    const vms = planVms(entry, {
      facts: f,
      file: input.file,
      priorSteps: steps,
      afterReboot: steps.some((s) => s.reboot),
      unlock: useUnlock || unlockState.preloadedIn.length > 0,
    });
    steps.push(...vms.steps);
    blockers.push(...vms.blockers);
    notes.push(...vms.notes);
    const plan = finish(f.host, steps, blockers, notes);
    if (vms.split) plan.split = vms.split.gpus;
    return plan;
  }
  return finish(f.host, steps, blockers, notes);
}

function finish(host: string, steps: Step[], blockers: Blocker[], notes: string[]): Plan {
  return {
    host,
    steps,
    reboots: steps.some((s) => s.reboot) ? 1 : 0,
    blockers: dedupeBlockers(blockers),
    notes,
  };
}

function dedupeBlockers(bs: Blocker[]): Blocker[] {
  const seen = new Set<string>();
  return bs.filter((b) => {
    const k = `${b.code}|${b.title}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const GRUB_DEFAULT = "/etc/default/grub";
const KERNEL_CMDLINE = "/etc/kernel/cmdline";
/** Kernel parameters that belong to this setup (checks/bootloader.ts looks for the same ones). */
const RELEVANT_PARAM = (t: string) =>
  IOMMU_PARAM.test(t) || /^(vfio-pci\.ids|vfio_pci\.ids|modprobe\.blacklist|nouveau\.modeset)=/.test(t);

interface Leftover {
  /** vendor:device ids of every NVIDIA function on the cards being set up (GPU, audio, USB…) */
  ids: string[];
  /** the set-up GPUs vfio-pci holds now */
  bound: string[];
  label: string;
}

/**
 * What leftover PCI-passthrough config may bind: the ids of the NVIDIA functions on the cards being
 * set up. An id another NVIDIA card (not set up) shares is never removed: that would take its
 * passthrough away too, so the GPU's binding becomes a blocker instead.
 */
function vfioLeftover(
  f: Facts,
  gpus: Gpu[],
  block: (c: string, t: string, e: string[], x: string[]) => void,
): Leftover {
  const slot = (a: string) => a.slice(0, a.lastIndexOf("."));
  const idOf = (p: PciFunction) => `${p.vendorId}:${p.deviceId}`.toLowerCase();
  const cards = new Set(gpus.map((g) => slot(g.pci.address)));
  const nvidia = (f.pci ?? []).filter((p) => p.vendorId.toLowerCase() === "10de");
  const mine = nvidia.filter((p) => cards.has(slot(p.address)));
  const others = nvidia.filter((p) => !cards.has(slot(p.address)));
  const ids: string[] = [];
  for (const p of mine) {
    const id = idOf(p);
    if (ids.includes(id)) continue;
    const twin = others.find((o) => idOf(o) === id);
    if (!twin) {
      ids.push(id);
      continue;
    }
    if (p.driverInUse === "vfio-pci" && nvidiaGpuFunctions([p]).length > 0)
      block(
        "vfio-bound",
        `${p.address} is bound to vfio-pci by its device id ${id}, which ${twin.address} (not set up here) shares`,
        [`lspci -Dnnk: ${p.address} Kernel driver in use: vfio-pci`, `${twin.address} ${twin.description}`],
        [
          `removing ${id} from vfio-pci's ids would take ${twin.address}'s passthrough away too: bind ${twin.address} by address instead (driver_override), then re-run`,
        ],
      );
  }
  const gpusBound = gpus.filter((g) => g.pci.driverInUse === "vfio-pci").map((g) => g.pci.address);
  return {
    ids,
    bound: gpusBound,
    label: gpus.map((g) => `${g.pci.address} [${idOf(g.pci)}]`).join(", ") || "the NVIDIA GPU",
  };
}

/** Tokens of both GRUB command-line variables, or of /etc/kernel/cmdline. */
function cmdlineFileTokens(path: string, text: string | null | undefined): string[] {
  if (typeof text !== "string") return [];
  return path === GRUB_DEFAULT
    ? [...grubTokens(text, "GRUB_CMDLINE_LINUX"), ...grubTokens(text, "GRUB_CMDLINE_LINUX_DEFAULT")]
    : kernelCmdlineTokens(text);
}

/** One edit of a command-line file; GRUB: `add` goes to GRUB_CMDLINE_LINUX_DEFAULT, ids leave both variables. */
function editCmdlineFile(
  path: string,
  text: string,
  edit: { add: string[]; remove: string[]; vfioIds: string[] },
): string {
  if (path === GRUB_DEFAULT) {
    let out = text;
    for (const v of ["GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"] as const) {
      const ids = vfioIdsEdit(grubTokens(out, v), edit.vfioIds);
      out = editGrubCmdline(out, v, {
        add: [...(v === "GRUB_CMDLINE_LINUX_DEFAULT" ? edit.add : []), ...ids.add],
        remove: [...edit.remove, ...ids.remove],
      });
    }
    return out;
  }
  const ids = vfioIdsEdit(kernelCmdlineTokens(text), edit.vfioIds);
  return editKernelCmdline(text, { add: [...edit.add, ...ids.add], remove: [...edit.remove, ...ids.remove] });
}

/**
 * The kernel command-line step: IOMMU parameters added to the file the bootloader reads, parameters
 * found in the other bootloader's file moved over (doctor's iommu-cmdline-wrong-bootloader), and the
 * set-up GPUs' ids taken out of `vfio-pci.ids=` (doctor's vfio-bound). One refresh for all of it.
 */
function planKernelCmdline(a: {
  bootloader: "grub" | "systemd-boot";
  iommuParams: string[];
  vfioIds: string[];
  running: readonly string[] | null;
  iommuEnabled: boolean | null;
  file: (path: string) => string | null | undefined;
  need: (path: string) => string | null;
  block: (code: string, title: string, evidence: string[], fix: string[]) => void;
}): { step: Step | null; configuredButNotLive: boolean } {
  const grub = a.bootloader === "grub";
  const [activePath, otherPath] = grub ? [GRUB_DEFAULT, KERNEL_CMDLINE] : [KERNEL_CMDLINE, GRUB_DEFAULT];
  const where = grub ? "GRUB_CMDLINE_LINUX_DEFAULT" : KERNEL_CMDLINE;
  const regen = grub ? ["update-grub"] : ["proxmox-boot-tool", "refresh"];
  const activeRaw = a.file(activePath);
  const otherText = a.file(otherPath);
  const activeTokens = cmdlineFileTokens(activePath, activeRaw);
  const running = new Set(a.running ?? []);
  // parameters in the other bootloader's file that never reached the running kernel
  const misplaced =
    a.running === null
      ? []
      : cmdlineFileTokens(otherPath, otherText).filter(
          (t) => RELEVANT_PARAM(t) && !running.has(t) && !activeTokens.includes(t),
        );
  const moved = misplaced.flatMap((t) => {
    const e = vfioIdsEdit([t], a.vfioIds);
    return e.remove.length > 0 ? [] : e.add.length > 0 ? e.add : [t];
  });
  const add = [...a.iommuParams, ...moved];
  if (activeRaw === undefined) {
    if (add.length > 0) a.need(activePath); // blocks: not captured
    return { step: null, configuredButNotLive: false };
  }
  if (activeRaw === null && grub) {
    if (add.length > 0)
      a.block(
        "not-captured",
        "/etc/default/grub is missing on a GRUB host",
        ["/etc/default/grub absent"],
        ["restore it"],
      );
    return { step: null, configuredButNotLive: false };
  }
  let configuredButNotLive = false;
  const changes: Change[] = [];
  const parts: string[] = [];
  const whys: string[] = [];
  const fixes: string[] = [];
  const before = activeRaw ?? "";
  const iommuOnly = editCmdlineFile(activePath, before, { add: a.iommuParams, remove: [], vfioIds: [] });
  if (
    a.iommuParams.length > 0 &&
    iommuOnly === before &&
    !tokensSatisfy(a.running ?? [], { add: a.iommuParams }) &&
    a.iommuEnabled !== true
  )
    configuredButNotLive = true;
  const after = editCmdlineFile(activePath, before, { add, remove: [], vfioIds: a.vfioIds });
  if (after !== before) {
    changes.push(fileChange(activePath, activeRaw, after));
    const newIommu = a.iommuParams.filter((p) => !activeTokens.includes(p) && !moved.includes(p));
    if (newIommu.length > 0) parts.push(`Add ${newIommu.join(" ")} to ${where}`);
    if (a.iommuParams.some((p) => !activeTokens.includes(p)))
      whys.push("vGPU devices are passed to VMs through the IOMMU (VT-d / AMD-Vi)");
    if (moved.length > 0) {
      parts.push(`${parts.length ? "move" : "Move"} ${misplaced.join(" ")} from ${otherPath} to ${where}`);
      whys.push(
        `${otherPath} is not read on this host (it boots with ${a.bootloader}, which reads ${activePath}), so the parameters there never reached the kernel (doctor: iommu-cmdline-wrong-bootloader)`,
      );
      fixes.push("iommu-cmdline-wrong-bootloader");
    }
    const idsGone = after !== editCmdlineFile(activePath, before, { add, remove: [], vfioIds: [] });
    if (idsGone) {
      parts.push(`${parts.length ? "take" : "Take"} the GPU's ids out of vfio-pci.ids in ${where}`);
      whys.push(
        "`vfio-pci.ids=` on the kernel command line binds the GPU to vfio-pci (PCI passthrough) at boot (doctor: vfio-bound)",
      );
      fixes.push("vfio-bound", "vfio-config-leftover");
    }
  }
  if (misplaced.length > 0 && typeof otherText === "string") {
    const cleaned = editCmdlineFile(otherPath, otherText, { add: [], remove: misplaced, vfioIds: [] });
    if (cleaned !== otherText) {
      changes.push(fileChange(otherPath, otherText, cleaned));
      if (moved.length === 0) parts.push(`Remove ${misplaced.join(" ")} from ${otherPath}`);
      if (!fixes.includes("iommu-cmdline-wrong-bootloader")) fixes.push("iommu-cmdline-wrong-bootloader");
    }
  }
  if (changes.length === 0) return { step: null, configuredButNotLive };
  const activeChanged = after !== before;
  if (activeChanged) changes.push({ kind: "command", argv: regen });
  // "vfio-cmdline" when it only unbinds the GPU; "iommu-cmdline" whenever parameters are added or moved
  const iommuRelated = !(fixes.includes("vfio-bound") && parts.length === 1);
  return {
    configuredButNotLive,
    step: {
      id: iommuRelated ? "iommu-cmdline" : "vfio-cmdline",
      title: parts.join("; "),
      why: whys.join("; ") || `parameters for ${activePath} were left in ${otherPath}`,
      changes,
      reboot: activeChanged,
      ...(fixes.length > 0 ? { fixes } : {}),
      undo: {
        description: `restore ${changes.flatMap((c) => (c.kind === "file" ? [c.path] : [])).join(" and ")}${activeChanged ? ` and run ${regen.join(" ")}` : ""}`,
        commands: [],
        regenerate: activeChanged ? [regen] : [],
      },
    },
  };
}

function repositoryStep(
  pveMajor: number,
  input: PlanInput,
  need: (p: string) => string | null,
  notes: string[],
): Step | null {
  const codename = { 7: "bullseye", 8: "bookworm", 9: "trixie" }[pveMajor];
  if (!codename) {
    notes.push(`repository: Proxmox VE ${pveMajor} not known; apt sources left alone`);
    return null;
  }
  const changes: Change[] = [];
  const sourcesText = [input.file("/etc/apt/sources.list") ?? ""];
  const ent = "/etc/apt/sources.list.d/pve-enterprise.list";
  const entText = need(ent);
  const nosub = "/etc/apt/sources.list.d/pve-no-subscription.list";
  const nosubText = need(nosub);
  sourcesText.push(entText ?? "", nosubText ?? "");
  if (entText) {
    const after = entText
      .split("\n")
      .map((l) => (/^\s*deb\s.*enterprise\.proxmox\.com/.test(l) ? `# ${l}` : l))
      .join("\n");
    if (after !== entText) changes.push(fileChange(ent, entText, after));
  }
  const hasNoSub = sourcesText.some((t) =>
    t.split("\n").some((l) => /^\s*deb\s.*pve-no-subscription/.test(l)),
  );
  if (!hasNoSub && nosubText !== undefined)
    changes.push(
      fileChange(
        nosub,
        nosubText,
        `${nosubText ?? ""}deb http://download.proxmox.com/debian/pve ${codename} pve-no-subscription\n`,
        0o644,
      ),
    );
  if (changes.length === 0) return null;
  changes.push({ kind: "command", argv: ["apt-get", "update"] });
  return {
    id: "repository",
    title: "Use the pve-no-subscription package repository",
    why: "without a subscription the enterprise repository refuses apt (401); the headers and tools come from pve-no-subscription",
    changes,
    reboot: false,
    // No `apt-get update` here: with the enterprise repository back and no subscription it fails (401),
    // which must not stop an uninstall; the next apt run refreshes the lists anyway.
    undo: { description: "restore the apt sources", commands: [], regenerate: [] },
  };
}

function checkInstaller(
  path: string,
  sha: string,
  p: FileProbe | undefined,
  block: (c: string, t: string, e: string[], f: string[]) => void,
) {
  if (!p) return;
  if (!p.exists) {
    block(
      "driver-file-missing",
      `Driver installer ${path} not found on the host`,
      [path],
      [
        "copy the NVIDIA-Linux-x86_64-<version>-vgpu-kvm.run from the NVIDIA Licensing Portal download (Host_Drivers folder) there",
      ],
    );
    return;
  }
  if (p.head !== null && !p.head.startsWith("#!/bin/sh")) {
    const html = /<html|<!doctype/i.test(p.head);
    block(
      "driver-not-installer",
      `${path} is not an NVIDIA .run installer`,
      [`starts with ${JSON.stringify(p.head.slice(0, 24))}`],
      [
        html
          ? "the download saved a web page instead of the driver: download it again"
          : "point driver.installer at the .run file itself",
      ],
    );
    return;
  }
  if (p.sha256 === null)
    block(
      "driver-checksum-unverified",
      `The sha256 of driver installer ${path} could not be computed: it would run as root unverified`,
      [p.sha256Error ?? "`sha256sum` gave no checksum", `expected ${sha} (vgpu.yaml driver.sha256)`],
      unverifiedFix(path),
    );
  else if (p.sha256 !== sha)
    block(
      "driver-checksum-mismatch",
      `${path} does not match the sha256 in vgpu.yaml`,
      [`expected ${sha}`, `found    ${p.sha256}`],
      ["copy the file again (it may be truncated) or correct driver.sha256"],
    );
}

/** How to get a checksum the planner can compare: sha256sum must run as root and read the file. */
function unverifiedFix(path: string): string[] {
  return [
    `make sure \`${formatCommand(["sha256sum", path])}\` works on the host as root (coreutils installed, the file readable, not on a stalled mount), then re-run`,
  ];
}

function checkPatch(
  path: string,
  sha: string,
  version: string | null,
  p: FileProbe | undefined,
  block: (c: string, t: string, e: string[], f: string[]) => void,
) {
  const named = /(\d{3}\.\d{1,3}(?:\.\d{1,3})?)/.exec(basename(path))?.[1] ?? null;
  if (version && named && named !== version)
    block(
      "patch-version-mismatch",
      `Patch ${basename(path)} is for driver ${named}, not ${version}`,
      [path],
      [`use vgpu-proxmox's ${version}.patch (each patch works for exactly one driver version)`],
    );
  if (!p) return;
  if (!p.exists) {
    block(
      "patch-file-missing",
      `Patch ${path} not found on the host`,
      [path],
      [`git clone https://gitlab.com/polloloco/vgpu-proxmox.git ${dirname(path)}`],
    );
    return;
  }
  if (p.sha256 === null)
    block(
      "patch-checksum-unverified",
      `The sha256 of patch ${path} could not be computed: the driver would be patched with an unverified file`,
      [p.sha256Error ?? "`sha256sum` gave no checksum", `expected ${sha} (vgpu.yaml driver.patch.sha256)`],
      unverifiedFix(path),
    );
  else if (p.sha256 !== sha)
    block(
      "patch-checksum-mismatch",
      `${path} does not match the sha256 in vgpu.yaml`,
      [`expected ${sha}`, `found    ${p.sha256}`],
      ["fetch the patch again or correct driver.patch.sha256"],
    );
  if (version && p.head !== null) {
    const inHeader = [...p.head.matchAll(/\b(\d{3}\.\d{1,3}\.\d{1,3})\b/g)].map((m) => m[1]!);
    if (inHeader.length > 0 && !inHeader.includes(version))
      block(
        "patch-version-mismatch",
        `Patch ${basename(path)} is for driver ${inHeader[0]}, not ${version}`,
        [p.head.split("\n")[0] ?? ""],
        [`use the patch made for ${version}`],
      );
  }
}

function classify(p: PciFunction): GpuClassification {
  return classifyGpu({
    deviceId: p.deviceId,
    subsystemVendorId: p.subsystemVendorId,
    subsystemDeviceId: p.subsystemDeviceId,
  });
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}
