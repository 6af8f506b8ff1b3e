/**
 * mdev-types-empty: the driver is up but offers no vGPU types for a capable GPU ("mdevctl types doesn't
 *   output anything" — seed guide; research/installers.md §5 #8). The finding names the most likely cause
 *   from the other facts (unlock inactive/disabled, vgpud rejection, Pascal on ≥ 17, SR-IOV off).
 */
import { deriveUnlock } from "../facts/derive.ts";
import { sameBus } from "../facts/pci.ts";
import type { Facts } from "../facts/types.ts";
import { mixedSizesOf, sriovGpu } from "../report/sriov.ts";
import { finding, type GpuView, grep, type HostView, hostView } from "./context.ts";
import type { Finding, Kb } from "./types.ts";

export function typesFor(v: HostView, g: GpuView) {
  const f = v.facts;
  const types = (f.mdevTypes ?? []).filter((t) => t.parent === g.address || sameBus(t.parent, g.address));
  const listed = Object.entries(f.creatableVgpuTypes ?? {})
    .filter(([addr]) => addr === g.address || sameBus(addr, g.address))
    .flatMap(([, list]) => list);
  // SR-IOV: what the inspect report offers — the VFs' lists, the types running on them, and once
  // the lists shrank with use the board's other types (report/sriov.ts)
  const sr = sriovGpu(
    f,
    { address: g.address, deviceId: g.fn.deviceId, subsystemDeviceId: g.fn.subsystemDeviceId },
    mixedSizesOf(f, g.address),
  );
  const offered = (sr?.types ?? []).map((t) => ({
    id: t.type.replace(/^nvidia-/, ""),
    name: t.name ?? t.type,
  }));
  return { types, creatable: [...listed, ...offered.filter((t) => !listed.some((l) => l.id === t.id))] };
}

export function checkMdev(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  if (!f.mdevTypes || !v.driver || v.driver.loaded === false) return [];
  // without lspci the GPUs other outputs identify carry no driver binding: nvidia-smi's names say what is known
  if (!f.pci || !v.gpus) return typesEmptyWithoutLspci(f, kb);
  const out: Finding[] = [];
  for (const g of v.gpus) {
    if (!g.cls || g.cls.support === "unsupported") continue;
    if (g.fn.driverInUse !== null && g.fn.driverInUse !== "nvidia") continue; // vfio-bound / nouveau-loaded say why
    const { types, creatable } = typesFor(v, g);
    if (types.length > 0 || creatable.length > 0) continue;
    // A full SR-IOV GPU lists nothing creatable: its VFs carry vGPUs (current_vgpu_type ≠ 0).
    if ((f.virtualFunctions ?? []).some((x) => x.physfn === g.address && (x.currentType ?? 0) > 0)) continue;
    const sriov = f.sriov?.find((s) => s.address === g.address);
    if (g.cls.needsSriov && sriov && (sriov.numVfs ?? 0) === 0) continue; // sriov-vfs-missing covers it
    const evidence = [
      `${g.label}: no vGPU types offered (mdev_supported_types / mdevctl types are empty for it)`,
    ];
    const fix: string[] = [];
    const causes: string[] = [];
    const rejected = grep(
      f.journals.vgpud,
      /GPU not supported by vGPU|failed to send vGPU configuration/i,
      2,
    );
    if (rejected.length) {
      evidence.push(...rejected.map((l) => `journal nvidia-vgpud: ${l}`));
      causes.push("nvidia-vgpud rejected the GPU (see vgpud-rejected-gpu)");
    }
    if (g.cls.support === "unlock") {
      const u = deriveUnlock(f);
      if (u.configDisabled === true)
        causes.push("unlock = false in /etc/vgpu_unlock/config.toml (see unlock-disabled-consumer)");
      else if (u.enabled === false)
        causes.push("vgpu_unlock is not preloaded into nvidia-vgpud (see unlock-missing)");
    }
    const rel = /^(\d+)/.exec(v.release?.vgpuRelease ?? "");
    if (rel && Number(rel[1]) >= 17 && /pascal|maxwell/i.test(g.cls.generation ?? "")) {
      causes.push(`${g.cls.generationLabel} was dropped from vgpuConfig.xml in 17.0`);
      fix.push(
        "Extract a 16.x driver (./NVIDIA-Linux-x86_64-535.<x>-vgpu-kvm.run -x) and copy its vgpuConfig.xml to /usr/share/nvidia/vgpu/vgpuConfig.xml, or install 16.x",
      );
    }
    if (causes.length) evidence.push(`likely cause: ${causes.join("; ")}`);
    fix.push(
      "systemctl restart nvidia-vgpud.service",
      'journalctl --no-pager -b 0 -u nvidia-vgpud.service   ("GPU not supported by vGPU" = unlock not applied or unsupported card)',
      "mdevctl types",
    );
    out.push(
      finding(
        "mdev-types-empty",
        "error",
        `No vGPU types are offered for ${g.label}`,
        evidence,
        fix,
        g.address,
      ),
    );
  }
  return out;
}

/**
 * lspci not captured (a pasted nvidia-smi and `mdevctl types` only): nvidia-smi names the GPUs. A GPU whose name
 * identifies exactly one board that can do vGPU, with the driver up and `mdevctl types` empty, is the same
 * symptom; the cause cannot be named from so little (unlock, vgpud and drop-ins were not pasted).
 */
function typesEmptyWithoutLspci(f: Facts, kb: Kb): Finding[] {
  if ((f.mdevTypes ?? []).length > 0 || Object.keys(f.creatableVgpuTypes ?? {}).length > 0) return [];
  const out: Finding[] = [];
  for (const g of f.nvidiaSmi?.gpus ?? []) {
    const deviceId = kb.deviceIdForName?.(g.name) ?? null;
    const cls = deviceId ? kb.classifyGpu({ deviceId }) : null;
    if (!deviceId || !cls || cls.support === "unsupported") continue;
    out.push(
      finding(
        "mdev-types-empty",
        "error",
        `No vGPU types are offered for ${g.busId} ${g.name} [10de:${deviceId}]`,
        [
          `nvidia-smi: ${g.name} at ${g.busId}, driver loaded`,
          "mdevctl types: empty",
          `10de:${deviceId} (identified by its name; lspci was not captured): ${cls.supportReason}`,
        ],
        [
          "systemctl restart nvidia-vgpud.service",
          'journalctl --no-pager -b 0 -u nvidia-vgpud.service   ("GPU not supported by vGPU" = unlock not applied or unsupported card)',
          "vgpuctl support-bundle -o bundle.tar.gz   (lspci, the journal and the unlock files name the cause)",
        ],
        g.busId,
      ),
    );
  }
  return out;
}
