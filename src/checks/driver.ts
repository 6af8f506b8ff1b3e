/**
 * The NVIDIA vGPU host driver:
 *  driver-missing           no NVIDIA vGPU host driver installed (nothing in dkms, lsmod, /proc/driver/nvidia).
 *  driver-not-loaded        installed but not talking to the GPU ("NVIDIA-SMI has failed because it couldn't
 *                           communicate with the NVIDIA driver", NVRM lines, no nvidia in lsmod) — §5 #6.
 *  driver-open-flavour      the open kernel modules are installed; vGPU needs the proprietary ones (§5 #16).
 *  driver-branch-drops-gpu  the installed branch no longer supports this GPU (Pascal native on ≥ 17, …).
 *  driver-not-vgpu (extra)  nvidia is loaded but nvidia_vgpu_vfio is not: a plain (non vgpu-kvm) driver.
 *  vgpu-mgr-inactive (extra) nvidia-vgpu-mgr.service is not running (nvidia-vgpud being inactive is normal:
 *                           it registers the types and exits — mbilker/vgpu_unlock-rs#31).
 */
import { pciDriversKnown } from "../facts/derive.ts";
import type { Facts } from "../facts/types.ts";
import { finding, grep, type HostView, hostView } from "./context.ts";
import type { Finding, Kb, KbRelease } from "./types.ts";

export function checkDriver(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  return [
    ...missing(v),
    ...notLoaded(v),
    ...openFlavour(v),
    ...branchDrops(v),
    ...notVgpu(v),
    ...mgrInactive(v),
  ];
}

function capableGpus(v: HostView) {
  return (v.gpus ?? []).filter((g) => g.cls?.support === "native" || g.cls?.support === "unlock");
}

/** Releases that run on this kernel, have an unlock patch when a consumer GPU needs one, and still support every capable GPU here. */
export function suggestedReleases(v: HostView): KbRelease[] {
  if (!v.kernel) return [];
  const gpus = capableGpus(v);
  const unlockGpu = gpus.find((g) => g.cls?.support === "unlock");
  const unlock = unlockGpu !== undefined;
  // the unlocked card's own generation: kernel reports are about the real card (consumer Pascal above 6.5 …)
  const generation = unlockGpu?.cls?.generation ?? undefined;
  const rel = v.kb.compatibleReleases(
    v.kernel,
    unlock ? { unlock: true, ...(generation ? { generation } : {}) } : {},
  );
  const ok = rel.filter((r) =>
    gpus.every(
      (g) => !g.cls?.generation || !v.kb.releaseDropsGeneration(r, g.cls.generation, profileBoard(g)),
    ),
  );
  if (!unlock) return ok;
  // vgpu_unlock-rs lags newer branches (struct sizes, research/unlock.md §4): prefer 16.x/17.x for unlocked cards.
  const major = (r: KbRelease) => Number.parseInt(r.vgpuRelease, 10);
  return [...ok.filter((r) => major(r) <= 17), ...ok.filter((r) => major(r) > 17)];
}

/** The board whose vGPU profiles a GPU uses: its spoof target when unlocked. */
function profileBoard(g: {
  cls: { deviceId: string; spoofAs: { deviceId: string } | null } | null;
}): string | undefined {
  return g.cls?.spoofAs?.deviceId ?? g.cls?.deviceId;
}

function installSteps(v: HostView): string[] {
  const consumer = capableGpus(v).some((g) => g.cls?.support === "unlock");
  const rel = suggestedReleases(v)[0];
  const ver = rel?.driverVersion ?? "<version>";
  const run = `NVIDIA-Linux-x86_64-${ver}-vgpu-kvm`;
  const pveMajor = Number(/^(\d+)/.exec(v.facts.pve?.manager ?? "")?.[1] ?? 0);
  const headers = pveMajor >= 8 ? "proxmox-headers" : "pve-headers";
  const steps = [
    rel
      ? `Pick vGPU ${rel.vgpuRelease} (driver ${rel.driverVersion}) — it supports kernel ${v.kernel}${consumer ? " and has an unlock patch" : ""}; download ${run}.run from the NVIDIA licensing portal`
      : `Pick a vGPU release that supports kernel ${v.kernel ?? "(unknown)"} and download its ${run}.run`,
    `apt install -y build-essential dkms ${headers}-${v.kernel ?? "$(uname -r)"} mdevctl`,
    `chmod +x ${run}.run`,
  ];
  if (consumer) {
    steps.push(
      `./${run}.run --apply-patch ~/vgpu-proxmox/${ver}.patch`,
      `./${run}-custom.run --dkms -m=kernel`,
    );
  } else steps.push(`./${run}.run --dkms -m=kernel`);
  steps.push("reboot", "Or let vgpuctl do it: vgpuctl plan, then vgpuctl apply");
  return steps;
}

function missing(v: HostView): Finding[] {
  const f = v.facts;
  // The vGPU host driver installs nvidia-vgpud/nvidia-vgpu-mgr; their unit files missing means it is not
  // installed, whatever plain driver is (mbilker/vgpu_unlock-rs#31).
  const noUnits = ["nvidia-vgpud.service", "nvidia-vgpu-mgr.service"].filter(
    (u) => f.services?.[u] === "not-found",
  );
  if (noUnits.length > 0 && !(v.gpus && capableGpus(v).length === 0)) {
    const evidence = noUnits.map((u) => `systemctl: unit ${u} does not exist`);
    if (v.driver)
      evidence.push(
        `NVIDIA driver ${v.driver.version} is installed, but it is ${v.release ? "missing its vGPU daemons" : "not the vGPU host (vgpu-kvm) driver"}`,
      );
    return [
      finding(
        "driver-missing",
        "error",
        "The NVIDIA vGPU host driver is not installed (or systemd was not reloaded since): its nvidia-vgpud / nvidia-vgpu-mgr services do not exist",
        evidence,
        [
          // an installer that enables the units without a reload sees the same (wvthoog/proxmox-vgpu-installer#27)
          "If the vGPU host driver was installed just now: systemctl daemon-reload && systemctl enable --now nvidia-vgpud.service nvidia-vgpu-mgr.service",
          "The services come only with the vGPU host driver (NVIDIA-Linux-x86_64-<version>-vgpu-kvm.run), not with the data-center/GRID guest or desktop drivers",
          ...(v.driver && !v.release ? ["nvidia-uninstall   (remove the non-vGPU driver first)"] : []),
          ...installSteps(v),
        ],
      ),
    ];
  }
  if (v.driver) return [];
  // DKMS absent altogether (dpkg knows every package) means no DKMS-installed driver either.
  const noDkms = f.dkms === null && f.packages !== null && !("dkms" in f.packages);
  if ((f.dkms === null && !noDkms) || f.lsmod === null) return [];
  if (f.lsmod.some((m) => m.name === "nvidia")) return [];
  if (v.gpus && capableGpus(v).length === 0) return [];
  const evidence = [
    noDkms ? "dpkg: dkms is not installed (so no DKMS-built NVIDIA module)" : "dkms status: no nvidia module",
    "lsmod: no nvidia module loaded",
    ...(f.nvidiaSmi?.error ? [`nvidia-smi: ${f.nvidiaSmi.error}`] : []),
    ...capableGpus(v).map((g) => `${g.label}: Kernel driver in use: ${g.fn.driverInUse ?? "(none)"}`),
  ];
  return [
    finding("driver-missing", "error", "No NVIDIA vGPU host driver is installed", evidence, installSteps(v)),
  ];
}

function notLoaded(v: HostView): Finding[] {
  const f = v.facts;
  if (!v.driver) return refusedUnversioned(v);
  const smiError = f.nvidiaSmi?.error ?? null;
  const notInLsmod = f.lsmod ? !f.lsmod.some((m) => m.name === "nvidia") : null;
  const capable = capableGpus(v);
  // `lspci -nn` (no -k) shows no drivers: then nothing is known to be unbound.
  const unbound = pciDriversKnown(f) ? capable.filter((g) => g.fn.driverInUse !== "nvidia") : [];
  const blockedElsewhere =
    unbound.length > 0 &&
    unbound.every((g) => g.fn.driverInUse === "vfio-pci" || g.fn.driverInUse === "nouveau");
  const down =
    v.driver.loaded === false ||
    notInLsmod === true ||
    (smiError !== null && !f.loadedDriverVersion) ||
    unbound.length > 0;
  if (!down || blockedElsewhere) return [];
  const evidence: string[] = [];
  if (smiError) evidence.push(`nvidia-smi: ${smiError}`);
  if (notInLsmod) evidence.push("lsmod: no nvidia module loaded");
  for (const g of unbound)
    evidence.push(`lspci -Dnnk: ${g.address} Kernel driver in use: ${g.fn.driverInUse ?? "(none)"}`);
  const nvrm = grep(f.dmesg?.nvrm, /./, 6);
  evidence.push(...nvrm.map((l) => `dmesg: ${l}`));
  const causes: string[] = [];
  if (f.secureBoot === true) causes.push("Secure Boot is on (see secure-boot)");
  const dk = f.dkms?.find((e) => e.module === "nvidia" || e.module === "nvidia-open");
  if (
    dk &&
    v.kernel &&
    !f.dkms!.some((e) => e.module === dk.module && e.kernel === v.kernel && e.status === "installed")
  )
    causes.push(`the DKMS module is not built for ${v.kernel} (see dkms-not-built / kernel-unsupported)`);
  if (nvrm.some((l) => /Legacy drivers|not supported by|No NVIDIA GPU found/i.test(l)))
    causes.push("the driver does not recognise the GPU (see driver-branch-drops-gpu / gpu-unsupported)");
  return [
    finding(
      "driver-not-loaded",
      "error",
      `NVIDIA driver ${v.driver.version} is installed but not running on the GPU`,
      [...evidence, ...(causes.length ? [`likely cause: ${causes.join("; ")}`] : [])],
      [
        "modprobe nvidia && modprobe nvidia_vgpu_vfio",
        "dmesg | grep -e NVRM -e nvidia   (the reason the module refused, if it did)",
        "systemctl restart nvidia-vgpud.service nvidia-vgpu-mgr.service",
        "nvidia-smi   (should list the GPU)",
      ],
      unbound[0]?.address,
    ),
  ];
}

/**
 * The kernel log shows the module refusing a GPU, but no output names the driver's version (a pasted dmesg
 * only): "NVRM: GPU 0000:04:00.0: RmInitAdapter failed!" (NVIDIA/open-gpu-kernel-modules#230), "NVRM: The
 * NVIDIA GPU 0000:af:00.0 (PCI ID: 10de:1db5) installed in this system is not supported by open nvidia.ko" (#322).
 */
function refusedUnversioned(v: HostView): Finding[] {
  const nvrm = v.facts.dmesg?.nvrm ?? [];
  const refusal = /RmInitAdapter failed|installed in this system is not supported by|No NVIDIA GPU found/i;
  if (!nvrm.some((l) => refusal.test(l))) return [];
  const gpus = (v.gpus ?? []).filter((g) => g.source === "kernel log" || g.source === "lspci -Dnnk");
  const named = gpus.map((g) => g.label);
  return [
    finding(
      "driver-not-loaded",
      "error",
      `The NVIDIA kernel module is loaded but refuses ${named.length ? named.join(", ") : "the GPU"}`,
      grep(nvrm, /./, 8).map((l) => `dmesg: ${l}`),
      [
        ...(v.driverFlavour === "open"
          ? ["Install the proprietary kernel modules (see driver-open-flavour)"]
          : ["dmesg | grep -e NVRM -e nvidia   (the whole refusal)"]),
        "modprobe nvidia && modprobe nvidia_vgpu_vfio",
        "nvidia-smi   (should list the GPU)",
      ],
      gpus[0]?.address,
    ),
  ];
}

function openFlavour(v: HostView): Finding[] {
  const f = v.facts;
  const pkgOpen = f.packages
    ? Object.keys(f.packages).find((n) => /^nvidia-kernel-open-dkms$|^nvidia-open/.test(n))
    : undefined;
  if (v.driverFlavour !== "open" && !pkgOpen) return [];
  const evidence: string[] = [];
  if (f.driverModuleOpen) evidence.push("/proc/driver/nvidia/version: NVIDIA UNIX Open Kernel Module");
  const dk = f.dkms?.find((e) => e.module === "nvidia-open");
  if (dk) evidence.push(`dkms status: nvidia-open/${dk.version}, ${dk.kernel ?? ""}: ${dk.status}`);
  if (pkgOpen) evidence.push(`dpkg: ${pkgOpen} ${f.packages![pkgOpen]} is installed`);
  // "NVRM: Open nvidia.ko is only ready for use on Data Center GPUs." (NVIDIA/open-gpu-kernel-modules#230)
  evidence.push(
    ...grep(f.dmesg?.nvrm, /Open Kernel Module|\bopen nvidia\.ko\b|\bsupported by open$/i, 2).map(
      (l) => `dmesg: ${l}`,
    ),
  );
  if (evidence.length === 0) evidence.push(`the ${v.driverFlavour} kernel modules are loaded`);
  const ver = v.driver?.version ?? "<version>";
  return [
    finding(
      "driver-open-flavour",
      "error",
      "The NVIDIA open kernel modules are installed; vGPU needs the proprietary flavour",
      evidence,
      [
        `Reinstall the driver with the proprietary modules: ./NVIDIA-Linux-x86_64-${ver}-vgpu-kvm${capableGpus(v).some((g) => g.cls?.support === "unlock") ? "-custom" : ""}.run --dkms --kernel-module-type=proprietary   (-m=kernel on older installers)`,
        ...(pkgOpen ? [`apt purge ${pkgOpen}`] : []),
        "reboot",
      ],
    ),
  ];
}

function branchDrops(v: HostView): Finding[] {
  if (!v.release || !v.driver) return [];
  const out: Finding[] = [];
  for (const g of capableGpus(v)) {
    const gen = g.cls?.generationLabel ?? g.cls?.generation;
    if (
      !g.cls?.generation ||
      !gen ||
      !v.kb.releaseDropsGeneration(v.release, g.cls.generation, profileBoard(g))
    )
      continue;
    const legacy = grep(v.facts.dmesg?.nvrm, /Legacy drivers|will ignore this GPU|No NVIDIA GPU found/i, 3);
    const alt = suggestedReleases(v);
    out.push(
      finding(
        "driver-branch-drops-gpu",
        "error",
        `vGPU ${v.release.vgpuRelease} (driver ${v.driver.version}) no longer supports ${gen} GPUs like ${g.label}`,
        [
          `installed driver ${v.driver.version} = vGPU ${v.release.vgpuRelease}`,
          `${g.label}: ${gen}`,
          ...legacy.map((l) => `dmesg: ${l}`),
        ],
        [
          alt.length
            ? `Install a release that still supports ${gen} and kernel ${v.kernel}: ${alt
                .slice(0, 3)
                .map((r) => `${r.vgpuRelease} (${r.driverVersion})`)
                .join(", ")}`
            : `Install the last branch that supports ${gen} (16.x for Maxwell/Pascal), on a kernel it supports`,
          `Uninstall the current one first: nvidia-uninstall  (or ./NVIDIA-Linux-x86_64-${v.driver.version}-vgpu-kvm.run --uninstall)`,
        ],
        g.address,
      ),
    );
  }
  return out;
}

function notVgpu(v: HostView): Finding[] {
  const f = v.facts;
  const names = new Set((f.lsmod ?? []).map((m) => m.name));
  if (names.has("nvidia_vgpu_vfio")) return [];
  // the kind other outputs prove (a regular driver package, an installer log, nvidia-smi -q in a guest)
  const otherKind = v.driverKind === "regular" || v.driverKind === "grid-guest";
  if (!names.has("nvidia") && !(otherKind && v.driver && v.driver.loaded !== false)) return [];
  const evidence = names.has("nvidia") ? ["lsmod: nvidia loaded, nvidia_vgpu_vfio not loaded"] : [];
  if (otherKind)
    evidence.push(
      `${v.driverKindFrom}: the ${v.driverKind === "regular" ? "regular" : "GRID guest"} NVIDIA driver`,
    );
  if (v.driver)
    evidence.push(
      `driver ${v.driver.version}${v.release ? ` (vGPU ${v.release.vgpuRelease})` : " — not a known vGPU host driver version"}`,
    );
  if (names.has("nvidia_drm") || names.has("nvidia_modeset"))
    evidence.push(
      "nvidia_drm/nvidia_modeset are loaded: typical of a desktop (GeForce/data-center) driver, not the vgpu-kvm host driver",
    );
  return [
    finding(
      "driver-not-vgpu",
      "warning",
      v.release
        ? "The vGPU mediation module nvidia_vgpu_vfio is not loaded"
        : "The loaded NVIDIA driver is not the vGPU host (vgpu-kvm) driver",
      evidence,
      v.release
        ? [
            "modprobe nvidia_vgpu_vfio",
            "dmesg | tail   (why it failed, if it did)",
            "systemctl restart nvidia-vgpud.service nvidia-vgpu-mgr.service",
          ]
        : [
            "nvidia-uninstall   (remove the non-vGPU driver)",
            "Install the vGPU host driver NVIDIA-Linux-x86_64-<version>-vgpu-kvm.run with --dkms -m=kernel (see vgpuctl plan)",
            "reboot",
          ],
    ),
  ];
}

function mgrInactive(v: HostView): Finding[] {
  const f = v.facts;
  if (!f.services || !v.driver || v.driver.loaded === false) return [];
  // A plain (non vgpu-kvm) driver has no nvidia-vgpu-mgr unit; driver-not-vgpu already says so.
  if (!v.release) return [];
  const state = f.services["nvidia-vgpu-mgr.service"];
  if (
    state === undefined ||
    state === "active" ||
    state === "activating" ||
    state === "reloading" ||
    state === "not-found" // driver-missing says why
  )
    return [];
  const errors = grep(f.journals.vgpuMgr, /error|failed/i, 4);
  return [
    finding(
      "vgpu-mgr-inactive",
      "error",
      `nvidia-vgpu-mgr.service is ${state}: no VM can start with a vGPU`,
      [
        `systemctl is-active nvidia-vgpu-mgr.service: ${state}`,
        ...errors.map((l) => `journal nvidia-vgpu-mgr: ${l}`),
      ],
      [
        "systemctl enable --now nvidia-vgpu-mgr.service",
        "journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service   (if it does not stay active)",
      ],
    ),
  ];
}
