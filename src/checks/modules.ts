/**
 * Kernel-module configuration:
 *  vfio-module-missing   `vfio_virqfd` listed for loading on a ≥ 6.2 kernel (merged into `vfio` in 6.2;
 *                        boot logs "Failed to find module 'vfio_virqfd'"), or vfio modules neither listed
 *                        nor loaded (seed guide: vfio, vfio_iommu_type1, vfio_pci[, vfio_virqfd]).
 *  nouveau-loaded        nouveau holds the GPU or is loaded (the NVIDIA installer refuses; §5 #4).
 *  vfio-bound            the GPU is bound to vfio-pci by leftover passthrough config (§5 #5): names the file
 *                        and line (`options vfio-pci ids=`, softdep, `blacklist nvidia`), the cmdline token,
 *                        or the VM passing the whole GPU through.
 *  vfio-config-leftover  (extra) that config exists but has not taken effect yet (next boot/initramfs).
 */
import type { Facts, ModprobeFile } from "../facts/types.ts";
import { kernelAtLeast } from "../knowledge/drivers.ts";
import {
  cmdlineFix,
  deleteLines,
  finding,
  type GpuView,
  grep,
  hostpciAddress,
  hostView,
  REBUILD_INITRAMFS,
  vgpuPossible,
  vmConfPath,
} from "./context.ts";
import type { Finding, Kb } from "./types.ts";

const norm = (m: string) => m.replaceAll("-", "_");

export function checkModules(f: Facts, kb: Kb): Finding[] {
  return [...vfioModules(f, kb), ...nouveau(f, kb), ...vfioBinding(f, kb)];
}

function vfioModules(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  const out: Finding[] = [];
  const ge62 = kernelAtLeast(v.kernel, 6, 2);
  if (f.modulesLoad && ge62 === true) {
    const virqfd = f.modulesLoad.filter((m) => norm(m.module) === "vfio_virqfd");
    if (virqfd.length > 0) {
      const byFile = new Map<string, number[]>();
      for (const m of virqfd) byFile.set(m.path, [...(byFile.get(m.path) ?? []), m.line]);
      out.push(
        finding(
          "vfio-module-missing",
          "warning",
          `vfio_virqfd is listed for loading, but kernel ${v.kernel} has no such module (merged into vfio in 6.2): systemd-modules-load fails at every boot`,
          [
            ...virqfd.map((m) => `${m.path}:${m.line}: ${m.module}`),
            `uname -r: ${v.kernel}`,
            "boot log: systemd-modules-load: Failed to find module 'vfio_virqfd'",
          ],
          [...[...byFile].map(([p, l]) => deleteLines(p, l)), REBUILD_INITRAMFS],
        ),
      );
    }
  }
  if (f.modulesLoad && f.lsmod && ge62 !== null && vgpuPossible(v) && !vendorVfioOnly(v)) {
    const want = ["vfio", "vfio_iommu_type1", "vfio_pci", ...(ge62 ? [] : ["vfio_virqfd"])];
    const listed = new Set(f.modulesLoad.map((m) => norm(m.module)));
    const loaded = new Set(f.lsmod.map((m) => norm(m.name)));
    const missing = want.filter((m) => !listed.has(m) && !loaded.has(m));
    if (missing.length > 0) {
      out.push(
        finding(
          "vfio-module-missing",
          "warning",
          `vfio module${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} neither loaded nor listed in /etc/modules`,
          [
            `/etc/modules and /etc/modules-load.d list: ${[...listed].join(", ") || "(nothing)"}`,
            `lsmod: ${missing.map((m) => `${m} not loaded`).join(", ")}`,
          ],
          [`printf '%s\\n' ${missing.join(" ")} >> /etc/modules`, REBUILD_INITRAMFS, "reboot"],
        ),
      );
    }
  }
  return out;
}

/**
 * Every vGPU-capable GPU is an SR-IOV board on a kernel ≥ 6.8 (NVIDIA's vendor-specific VFIO): Proxmox VE
 * hands the VF to QEMU without rebinding it to vfio-pci (qemu-server, research/proxmox.md §1b), and
 * pve-docs says the vfio modules are "not needed" when passing through vGPUs, "the device will be owned by
 * the appropriate host-driver directly" (qm-pci-passthrough.adoc, pve-docs 9.1.3). The seed guide's list
 * stays wanted for mdev GPUs, which the guide sets up.
 */
function vendorVfioOnly(v: ReturnType<typeof hostView>): boolean {
  const capable = (v.gpus ?? []).filter((g) => g.cls !== null && g.cls.support !== "unsupported");
  return (
    kernelAtLeast(v.kernel, 6, 8) === true && capable.length > 0 && capable.every((g) => g.cls!.needsSriov)
  );
}

function blacklistEntries(files: ModprobeFile[] | null, module: string): string[] {
  const out: string[] = [];
  for (const file of files ?? [])
    for (const b of file.blacklist)
      if (norm(b.module) === module) out.push(`${file.path}:${b.line}: blacklist ${b.module}`);
  return out;
}

function nouveau(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  const loaded = f.lsmod?.find((m) => m.name === "nouveau") ?? null;
  const bound = (v.gpus ?? []).filter((g) => g.fn.driverInUse === "nouveau");
  if ((!loaded && bound.length === 0) || !vgpuPossible(v)) return [];
  const evidence: string[] = [];
  if (loaded)
    evidence.push(
      `lsmod: nouveau ${loaded.size} ${loaded.usedBy.length}${loaded.usedBy.length ? ` ${loaded.usedBy.join(",")}` : ""}`,
    );
  for (const g of bound) evidence.push(`lspci: ${g.label}: Kernel driver in use: nouveau`);
  evidence.push(...grep(f.dmesg?.nouveau, /./, 2).map((l) => `dmesg: ${l}`));
  const bl = blacklistEntries(f.modprobe, "nouveau");
  const cmdBl = (f.cmdline ?? []).filter((t) => /^modprobe\.blacklist=.*\bnouveau\b/.test(t));
  const fix: string[] = [];
  if (bl.length > 0 || cmdBl.length > 0) {
    evidence.push(...bl, ...cmdBl.map((t) => `/proc/cmdline: ${t}`));
    evidence.push(
      "nouveau is blacklisted but still loaded: the initramfs was not rebuilt or the host not rebooted since",
    );
  } else {
    if (f.modprobe) evidence.push("no 'blacklist nouveau' in /etc/modprobe.d");
    fix.push(`printf 'blacklist nouveau\\noptions nouveau modeset=0\\n' >> /etc/modprobe.d/blacklist.conf`);
  }
  fix.push(REBUILD_INITRAMFS, "reboot");
  return [
    finding(
      "nouveau-loaded",
      "error",
      bound.length > 0
        ? `nouveau has the GPU (${bound.map((g) => g.address).join(", ")}); the NVIDIA vGPU driver cannot bind`
        : "nouveau is loaded; the NVIDIA vGPU driver cannot be installed or bind while it is",
      evidence,
      fix,
      bound[0]?.address,
    ),
  ];
}

interface VfioSource {
  evidence: string;
  /** file → lines to delete */
  del?: { path: string; line: number };
  cmdlineToken?: string;
  vm?: { vmid: number; index: number; running: boolean | null };
}

/** Everything on this host that binds `g` to vfio-pci or keeps nvidia off it. */
function vfioSources(f: Facts, g: GpuView): VfioSource[] {
  const id = `${g.fn.vendorId}:${g.fn.deviceId}`.toLowerCase();
  const out: VfioSource[] = [];
  for (const file of f.modprobe ?? []) {
    for (const o of file.options) {
      if (norm(o.module) !== "vfio_pci") continue;
      const ids = /\bids=([^\s]+)/.exec(o.args)?.[1]?.toLowerCase().split(",") ?? [];
      if (ids.includes(id))
        out.push({
          evidence: `${file.path}:${o.line}: options ${o.module} ${o.args}`,
          del: { path: file.path, line: o.line },
        });
    }
    for (const s of file.softdeps) {
      if (
        /vfio[-_]pci/.test(s.spec) &&
        /^(nvidia|nouveau|nvidiafb|nvidia_drm|nvidia-drm|drm)$/.test(s.module)
      )
        out.push({
          evidence: `${file.path}:${s.line}: softdep ${s.module} ${s.spec}`,
          del: { path: file.path, line: s.line },
        });
    }
    for (const b of file.blacklist) {
      if (norm(b.module) === "nvidia")
        out.push({
          evidence: `${file.path}:${b.line}: blacklist ${b.module}`,
          del: { path: file.path, line: b.line },
        });
    }
    for (const i of file.installs) {
      if (/vfio|driver_override/.test(i.command))
        out.push({
          evidence: `${file.path}:${i.line}: install ${i.module} ${i.command}`,
          del: { path: file.path, line: i.line },
        });
    }
  }
  for (const t of f.cmdline ?? []) {
    if (/^vfio[-_]pci\.ids=/.test(t) && t.toLowerCase().split("=")[1]!.split(",").includes(id))
      out.push({ evidence: `/proc/cmdline: ${t}`, cmdlineToken: t });
  }
  for (const vm of f.vms ?? []) {
    for (const h of vm.hostpci) {
      if (h.mdev) continue;
      const addr = hostpciAddress(f, h);
      if (addr !== g.address && !(h.address && g.address.startsWith(`${h.address}.`))) continue;
      const running = f.qmList ? f.qmList.some((q) => q.vmid === vm.vmid && q.status === "running") : null;
      out.push({
        evidence: `${vmConfPath(vm.vmid)}: hostpci${h.index}: ${h.raw}  (whole GPU passed through${running ? ", VM running" : ""})`,
        vm: { vmid: vm.vmid, index: h.index, running },
      });
    }
  }
  return out;
}

function vfioBinding(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  const out: Finding[] = [];
  for (const g of v.gpus ?? []) {
    if (g.cls?.support === "unsupported") continue;
    const sources = vfioSources(f, g);
    const bound = g.fn.driverInUse === "vfio-pci";
    if (!bound && sources.filter((s) => !s.vm).length === 0) continue;
    const fix: string[] = [];
    const byFile = new Map<string, number[]>();
    for (const s of sources)
      if (s.del) byFile.set(s.del.path, [...(byFile.get(s.del.path) ?? []), s.del.line]);
    for (const [p, lines] of byFile) fix.push(deleteLines(p, lines));
    const tokens = sources.flatMap((s) => (s.cmdlineToken ? [s.cmdlineToken] : []));
    for (const s of sources) {
      if (!s.vm) continue;
      if (s.vm.running) fix.push(`qm stop ${s.vm.vmid}`);
      fix.push(
        `qm set ${s.vm.vmid} --delete hostpci${s.vm.index}   (give VM ${s.vm.vmid} a vGPU instead: hostpci${s.vm.index}: ${g.address},mdev=<type>)`,
      );
    }
    if (byFile.size > 0 && tokens.length === 0) fix.push(REBUILD_INITRAMFS);
    if (tokens.length > 0)
      fix.push(...cmdlineFix(v, [], tokens).filter((s) => s !== "reboot"), REBUILD_INITRAMFS);
    if (byFile.size > 0 || tokens.length > 0) fix.push("reboot");
    if (bound) {
      if (sources.length === 0)
        fix.push(
          "Nothing in /etc/modprobe.d, /etc/modules or the command line binds it: check /etc/udev/rules.d/*vfio* and driver_override rules, and whether a running VM has it (qm list)",
          `Rebind without a reboot once the cause is gone: echo ${g.address} > /sys/bus/pci/drivers/vfio-pci/unbind && echo > /sys/bus/pci/devices/${g.address}/driver_override && echo ${g.address} > /sys/bus/pci/drivers_probe`,
        );
      out.push(
        finding(
          "vfio-bound",
          "error",
          `${g.label} is bound to vfio-pci (PCI passthrough), so the NVIDIA vGPU driver cannot use it`,
          [`lspci -Dnnk: ${g.address} Kernel driver in use: vfio-pci`, ...sources.map((s) => s.evidence)],
          fix,
          g.address,
        ),
      );
    } else {
      out.push(
        finding(
          "vfio-config-leftover",
          "warning",
          `Leftover PCI-passthrough configuration would take ${g.label} away from the NVIDIA driver`,
          [
            `lspci -Dnnk: ${g.address} Kernel driver in use: ${g.fn.driverInUse ?? "(none)"}`,
            ...sources.map((s) => s.evidence),
          ],
          fix,
          g.address,
        ),
      );
    }
  }
  return out;
}
