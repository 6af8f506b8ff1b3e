/**
 * kernel-unsupported: the running kernel is outside the kernels the installed driver builds/works on
 *   (src/knowledge/drivers.ts kernelVerdict, every claim with its source URL). An error only when the limit is
 *   documented (e.g. polloloco README 2023-03 for 15.1: "5.14 up to 6.0 should work. Newer kernels like 6.1 or
 *   6.2 do NOT work"); a warning, with the evidence, when the kernel is only reported failing or simply newer
 *   than any kernel known to work. Fix: pin an installed kernel that fits, naming the hazards of going back
 *   (ZFS pool features, Secure Boot needs the -signed kernel) — research/installers.md §5 #13.
 * headers-missing: no headers package for the running kernel (DKMS cannot build: "Your kernel headers
 *   for kernel … cannot be found", §5 #2).
 * dkms-not-built (extra): the nvidia DKMS module exists but is not installed for the running kernel.
 */
import type { Facts } from "../facts/types.ts";
import { compareKernel, installedKernels, kernelAtLeast, nextBootKernel } from "../knowledge/drivers.ts";
import { finding, type HostView, hostView, vgpuPossible } from "./context.ts";
import { suggestedReleases } from "./driver.ts";
import type { Finding, Kb, KbKernelVerdict, KbRelease } from "./types.ts";

export function checkKernel(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  return [...kernelUnsupported(v), ...headersMissing(v), ...dkmsNotBuilt(v), ...nextKernel(v)];
}

/**
 * next-kernel-unsupported / next-kernel-dkms-missing: a kernel installed after the setup (apt full-upgrade)
 * is the one the next boot uses (the pinned one, else the newest: knowledge/drivers.ts nextBootKernel), while
 * the driver works on the running one. Outside the driver's range: pin the running kernel. In range but the
 * NVIDIA DKMS module is not built for it (its headers came late, or the build failed): build it now.
 */
function nextKernel(v: HostView): Finding[] {
  const { facts: f, kb, kernel, release, driver } = v;
  const next = nextBootKernel(f);
  if (!kernel || !next || next === kernel || !release || driver?.loaded !== true) return [];
  if (kb.kernelInRange(release, kernel) === false) return []; // kernel-unsupported speaks already
  const evidence = [
    `running kernel ${kernel} (driver ${driver.version} loaded)`,
    `next boot: kernel ${next}${f.kernelPin === next ? " (pinned)" : " (newest installed)"}`,
  ];
  if (kb.kernelInRange(release, next) === false)
    return [
      finding(
        "next-kernel-unsupported",
        "error",
        `The next boot uses kernel ${next}, outside what vGPU ${release.vgpuRelease} (driver ${driver.version}) supports: vGPU stops at the next reboot`,
        [...evidence, `vGPU ${release.vgpuRelease}: kernels ${release.kernelRange}`],
        [
          `proxmox-boot-tool kernel pin ${kernel}`,
          `(unpin once a driver release supporting ${next} is installed: proxmox-boot-tool kernel unpin)`,
        ],
      ),
    ];
  const nv = (f.dkms ?? []).filter((e) => e.module === "nvidia");
  if (nv.length === 0 || nv.some((e) => e.kernel === next && e.status === "installed")) return [];
  const pveMajor = Number(/^(\d+)/.exec(f.pve?.manager ?? "")?.[1] ?? 0);
  const headers = `${pveMajor >= 8 ? "proxmox-headers" : "pve-headers"}-${next}`;
  const hasHeaders = f.packages ? headers in f.packages : true;
  return [
    finding(
      "next-kernel-dkms-missing",
      "error",
      `The NVIDIA DKMS module is not built for kernel ${next}, which the next boot uses: the driver will not load after the reboot`,
      [...evidence, ...nv.map((e) => `dkms status: nvidia/${e.version}, ${e.kernel ?? "?"}: ${e.status}`)],
      [
        ...(hasHeaders ? [] : [`apt install ${headers}`]),
        `dkms install nvidia/${nv[0]!.version} -k ${next}`,
        `if the build fails: proxmox-boot-tool kernel pin ${kernel}`,
      ],
    ),
  ];
}

function kernelUnsupported(v: HostView): Finding[] {
  const { facts: f, kb, kernel, release } = v;
  if (!kernel || !release || !v.driver) return [];
  const verdict = verdictOf(kb, release, kernel, setupOf(v));
  if (verdict.inRange !== false) return [];
  const evidence = [
    `uname -r: ${kernel}`,
    `NVIDIA driver ${v.driver.version} = vGPU ${release.vgpuRelease}${release.kernelRange ? `, known to work on kernels ${release.kernelRange}` : ""}`,
    ...verdictEvidence(verdict),
  ];
  const nvrm = (f.dmesg?.nvrm ?? []).slice(0, 2);
  evidence.push(...nvrm.map((l) => `dmesg: ${l}`));
  const dk = (f.dkms ?? []).filter((e) => e.module.startsWith("nvidia"));
  for (const e of dk) evidence.push(`dkms status: ${e.module}/${e.version}, ${e.kernel ?? "?"}: ${e.status}`);

  const fits = installedKernels(f).filter((k) => k !== kernel && kb.kernelInRange(release, k) === true);
  const fix: string[] = [];
  const pick = fits.sort(compareKernel).at(-1);
  if (pick) {
    fix.push(`proxmox-boot-tool kernel pin ${pick}`, "reboot");
    fix.push(...hazards(v, pick));
  } else {
    fix.push(
      `No installed kernel fits vGPU ${release.vgpuRelease}${release.kernelRange ? ` (${release.kernelRange})` : ""}: install one (apt install proxmox-kernel-<version>), then proxmox-boot-tool kernel pin <version> and reboot`,
    );
    if (installedKernels(f).length > 0) fix.push(`Installed kernels: ${installedKernels(f).join(", ")}`);
  }
  const better = suggestedReleases(v).map((r) => `${r.vgpuRelease} (${r.driverVersion})`);
  if (better.length > 0)
    fix.push(
      `Or keep kernel ${kernel} and install a driver release that supports it: ${better.slice(0, 4).join(", ")}`,
    );
  const documented = verdict.status === "documented";
  return [
    finding(
      "kernel-unsupported",
      documented ? "error" : "warning",
      kernelTitle(kernel, release, v.driver.version, verdict.status),
      evidence,
      fix,
    ),
  ];
}

/** The title says as much as the evidence does: certain only for a documented limit. */
function kernelTitle(
  kernel: string,
  release: KbRelease,
  driver: string,
  status: KbKernelVerdict["status"],
): string {
  const what = `vGPU ${release.vgpuRelease} (driver ${driver})`;
  if (status === "documented") return `Kernel ${kernel} is outside what ${what} supports`;
  if (status === "reported failing") return `Kernel ${kernel} is reported not to work with ${what}`;
  return `Kernel ${kernel} is outside the kernels ${what} is known to work on (not known to fail either)`;
}

function verdictEvidence(v: KbKernelVerdict): string[] {
  return [
    `confidence: ${v.status}`,
    ...v.evidence.slice(0, 3),
    ...v.sources.slice(0, 3).map((s) => `source: ${s}`),
  ];
}

/** Patched (consumer card) or native install, and the generation of the card the reports speak of. */
function setupOf(v: HostView): { unlock?: boolean; generation?: string | null } {
  const capable = (v.gpus ?? []).filter((g) => g.cls?.support === "native" || g.cls?.support === "unlock");
  if (capable.length === 0) return {};
  const unlock = capable.find((g) => g.cls?.support === "unlock");
  return unlock ? { unlock: true, generation: unlock.cls?.generation ?? null } : { unlock: false };
}

/** The knowledge base's verdict; a knowledge base without verdicts makes a `false` range answer documented. */
function verdictOf(
  kb: Kb,
  release: KbRelease,
  kernel: string,
  setup: { unlock?: boolean; generation?: string | null },
): KbKernelVerdict {
  if (kb.kernelVerdict) return kb.kernelVerdict(release, kernel, setup);
  const inRange = kb.kernelInRange(release, kernel);
  return { inRange, status: inRange === false ? "documented" : "unknown", evidence: [], sources: [] };
}

/** What can go wrong booting an older kernel on this host. */
function hazards(v: HostView, target: string): string[] {
  const f = v.facts;
  const out: string[] = [];
  const older = v.kernel ? compareKernel(target, v.kernel) < 0 : false;
  const zfsRoot = (f.cmdline ?? []).some((t) => /^root=ZFS=/.test(t) || t === "boot=zfs");
  if (older && zfsRoot)
    out.push(
      `Hazard: root is on ZFS — ${target}'s ZFS module must support every feature enabled on the pool, or the host will not boot ("cannot import 'rpool': unsupported version or feature"). Check first: zpool get all rpool | grep 'feature@.*active'`,
    );
  if (f.secureBoot === true)
    out.push(
      `Hazard: Secure Boot is on — boot only the signed kernel package (proxmox-kernel-${target}-signed) and a signed NVIDIA module`,
    );
  if (out.length > 0) out.push("Undo: proxmox-boot-tool kernel unpin");
  return out;
}

function headersMissing(v: HostView): Finding[] {
  const f = v.facts;
  const kernel = v.kernel;
  if (!kernel || !/-pve$/.test(kernel) || !vgpuPossible(v)) return [];
  // Only dpkg-query -W lists every package; pveversion -v does not list headers.
  const pkgs = f.packages;
  if (!pkgs) return [];
  const names = [`proxmox-headers-${kernel}`, `pve-headers-${kernel}`];
  if (names.some((n) => n in pkgs)) return [];
  const other = Object.keys(pkgs)
    .filter((n) => /^(proxmox|pve)-headers-\d/.test(n))
    .sort();
  const loadedForKernel = v.driver?.loaded === true;
  const pveMajor = Number(/^(\d+)/.exec(f.pve?.manager ?? "")?.[1] ?? 0);
  const pkgName =
    pveMajor >= 8 || (pveMajor === 0 && kernelAtLeast(kernel, 6) === true)
      ? `proxmox-headers-${kernel}`
      : `pve-headers-${kernel}`;
  return [
    finding(
      "headers-missing",
      loadedForKernel ? "warning" : "error",
      `No kernel headers for the running kernel ${kernel}: DKMS cannot build the NVIDIA module for it`,
      [
        `dpkg: neither ${names.join(" nor ")} is installed`,
        other.length
          ? `headers installed for other kernels: ${other.join(", ")}`
          : "no kernel headers package is installed",
        ...(loadedForKernel
          ? ["the driver is loaded now, but the next driver install or kernel update will fail to build"]
          : []),
      ],
      [
        `apt install ${pkgName}`,
        ...(v.driver && !loadedForKernel ? [`dkms autoinstall -k ${kernel}`, "reboot"] : []),
      ],
    ),
  ];
}

function dkmsNotBuilt(v: HostView): Finding[] {
  const f = v.facts;
  if (!f.dkms || !v.kernel) return [];
  const nv = f.dkms.filter((e) => e.module === "nvidia" || e.module === "nvidia-open");
  if (nv.length === 0) return [];
  const forKernel = nv.filter((e) => e.kernel === v.kernel);
  if (forKernel.some((e) => e.status === "installed" && !e.warning)) return [];
  if (v.driver?.loaded === true && forKernel.length === 0) return []; // installed without DKMS for this kernel and working
  const line = (e: (typeof nv)[number]) =>
    `dkms status: ${e.module}/${e.version}, ${e.kernel ?? "(no kernel)"}, ${e.arch ?? ""}: ${e.status}${e.warning ? ` ${e.warning}` : ""}`;
  const ver = nv[0]!.version;
  return [
    finding(
      "dkms-not-built",
      "error",
      `The NVIDIA DKMS module ${ver} is not built and installed for the running kernel ${v.kernel}`,
      nv.map(line),
      [
        `dkms install ${nv[0]!.module}/${ver} -k ${v.kernel}`,
        `If the build fails, read /var/lib/dkms/${nv[0]!.module}/${ver}/build/make.log (kernel too new for this driver → see kernel-unsupported; headers missing → apt install proxmox-headers-${v.kernel})`,
        "reboot",
      ],
    ),
  ];
}
