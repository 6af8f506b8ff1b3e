/**
 * Journal evidence of the vGPU daemons (current boot):
 *  vgpud-rejected-gpu  nvidia-vgpud: "GPU not supported by vGPU at PCI Id: 0:1:0:0 DevID: 0x10de / 0x1e89 / …",
 *                      "error: failed to send vGPU configuration info to RM: 6", status=6/NOTCONFIGURED
 *                      (mbilker/vgpu_unlock-rs#29). Not reported when types are offered now (stale).
 *  vm-start-failed     nvidia-vgpu-mgr rejected a VM's vGPU: "vGPU is supported only on VGX capable boards",
 *                      "init_device_instance failed", "error allocating framebuffer", "Failed to get VM UUID",
 *                      "Incompatible Guest/Host drivers" (NVIDIA/nvidia-installer#15, mbilker #30, DualCoder#71);
 *                      each attributed to its VM through the preceding "mdev uuid" line.
 * "cmd: 0x2080014b failed." style lines are informational on consumer boards and never reported.
 */
import { type VgpudRejection, vgpudRejections, vmidFromMdevUuid } from "../facts/derive.ts";
import type { Facts } from "../facts/types.ts";
import { finding, grep, type HostView, hostView } from "./context.ts";
import { typesFor } from "./mdev.ts";
import type { Finding, Kb } from "./types.ts";

export function checkJournal(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  return [...vgpudRejected(v), ...vmStartFailed(v)];
}

function vgpudRejected(v: HostView): Finding[] {
  const lines = v.facts.journals.vgpud;
  if (!lines) return [];
  const byGpu = new Map<string, VgpudRejection[]>();
  for (const r of vgpudRejections(v.facts)) byGpu.set(r.address, [...(byGpu.get(r.address) ?? []), r]);
  const out: Finding[] = [];
  const tail = grep(lines, /failed to send vGPU configuration info|status=\d+\/NOTCONFIGURED/, 2);
  for (const [addr, hits] of byGpu) {
    const g = v.gpus?.find((x) => x.address === addr) ?? null;
    if (g && v.facts.mdevTypes && typesFor(v, g).types.length > 0) continue; // fixed since
    // Without lspci, the line's own "DevID: 0x10de / 0x1e89 / …" names the card.
    const devId = hits.find((h) => h.deviceId)?.deviceId ?? null;
    const cls = g?.cls ?? (devId ? classifyFromJournal(v, hits) : null);
    const label =
      g?.label ??
      (cls?.name ? `${addr} ${cls.name} [10de:${devId}]` : devId ? `${addr} [10de:${devId}]` : addr);
    const support = cls?.support;
    const boundElsewhere = g?.fn.driverInUse && g.fn.driverInUse !== "nvidia" ? g.fn.driverInUse : null;
    const fix = boundElsewhere
      ? [
          `${label} is bound to ${boundElsewhere}, not nvidia: nvidia-vgpud cannot use it until the NVIDIA driver owns it (see ${boundElsewhere === "vfio-pci" ? "vfio-bound" : "nouveau-loaded"})`,
          "once it does: journalctl --no-pager -b 0 -u nvidia-vgpud.service",
        ]
      : support === "unlock"
        ? [
            `${label} is a consumer card: nvidia-vgpud must run with vgpu_unlock-rs preloaded (LD_PRELOAD drop-in in /etc/systemd/system/nvidia-vgpud.service.d/) and the driver must be the patched one (see unlock-missing / unlock-disabled-consumer)`,
            "systemctl daemon-reload && systemctl restart nvidia-vgpud.service",
            "journalctl --no-pager -b 0 -u nvidia-vgpud.service",
          ]
        : support === "unsupported"
          ? [`${label} cannot do vGPU (${cls!.supportReason}); use it for whole-GPU passthrough instead`]
          : support === "native"
            ? [
                `The installed driver${v.release ? ` (vGPU ${v.release.vgpuRelease})` : ""} does not list this board in its vgpuConfig.xml: install a branch that supports it (see driver-branch-drops-gpu)`,
              ]
            : ["Check the GPU's support with vgpuctl inspect", "systemctl restart nvidia-vgpud.service"];
    out.push(
      finding(
        "vgpud-rejected-gpu",
        "error",
        `nvidia-vgpud rejected ${label}: "GPU not supported by vGPU"`,
        [
          ...hits.slice(0, 2).map((h) => `journal nvidia-vgpud: ${h.line}`),
          ...tail.map((l) => `journal nvidia-vgpud: ${l}`),
          ...(!g && cls ? [`10de:${devId}: ${cls.name ?? "unknown card"} — ${cls.supportReason}`] : []),
        ],
        fix,
        g?.address ?? addr,
      ),
    );
  }
  return out;
}

function classifyFromJournal(v: HostView, hits: VgpudRejection[]) {
  const h = hits.find((x) => x.deviceId)!;
  return v.kb.classifyGpu({
    deviceId: h.deviceId!,
    subsystemVendorId: h.subsystemVendorId,
    subsystemDeviceId: h.subsystemDeviceId,
  });
}

interface Failure {
  vmid: number | null;
  uuid: string | null;
  lines: string[];
}

const FAIL =
  /vGPU is supported only on VGX capable boards|init_device_instance failed|error allocating framebuffer|Failed to get VM UUID|Incompatible Guest\/Host drivers|error: vmiop_log: .*(Assertion Failed|NVOS status)|start failed/i;

function vmStartFailed(v: HostView): Finding[] {
  const f = v.facts;
  const lines = f.journals.vgpuMgr;
  const failures = new Map<string, Failure>();
  let current: { uuid: string; vmid: number | null } | null = null;
  for (const raw of lines ?? []) {
    const l = raw.trim();
    const start = /mdev uuid \{?([0-9a-f-]{36})\}?/i.exec(l) ?? /uuid: \{([0-9a-f-]{36})\}/i.exec(l);
    if (start) {
      const uuid = start[1]!.toLowerCase();
      current = { uuid, vmid: vmidFromMdevUuid(uuid)?.vmid ?? null };
      continue;
    }
    if (!FAIL.test(l)) continue;
    const key = current?.uuid ?? "?";
    const fl = failures.get(key) ?? { vmid: current?.vmid ?? null, uuid: current?.uuid ?? null, lines: [] };
    if (fl.lines.length < 6) fl.lines.push(l);
    failures.set(key, fl);
  }
  const dmesgFails = grep(f.dmesg?.lines, /nvidia-vgpu-vfio.*start failed/i, 3);
  if (failures.size === 0 && dmesgFails.length > 0) failures.set("?", { vmid: null, uuid: null, lines: [] });
  const out: Finding[] = [];
  for (const fl of failures.values()) {
    const text = fl.lines.join("\n");
    const fix: string[] = [];
    if (/VGX capable boards/i.test(text))
      fix.push(
        "nvidia-vgpu-mgr runs without vgpu_unlock: check /etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf (LD_PRELOAD) and that the driver is the patched one, then systemctl daemon-reload && systemctl restart nvidia-vgpu-mgr.service",
      );
    if (/error allocating framebuffer/i.test(text))
      fix.push(
        "The GPU has no contiguous VRAM left for this vGPU: lower framebuffer overrides in /etc/vgpu_unlock/profile_override.toml or run fewer vGPUs (see vram-overcommit); stopping all vGPU VMs frees fragmented memory",
      );
    if (/Failed to get VM UUID/i.test(text))
      fix.push(
        "QEMU was started without -uuid: give the VM an smbios1 uuid (qm set <vmid> --smbios1 uuid=$(cat /proc/sys/kernel/random/uuid))",
      );
    if (/Incompatible Guest\/Host drivers/i.test(text))
      fix.push(
        `Install the GRID guest driver of the same branch as the host${v.release ? ` (vGPU ${v.release.vgpuRelease})` : ""} in the VM`,
      );
    if (/Parameters size/i.test(text)) fix.push("See unlock-version-mismatch");
    if (fix.length === 0)
      fix.push(
        `journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service${fl.uuid ? ` | grep -A20 ${fl.uuid}` : ""}   (full context)`,
        "Check mixed types / VRAM / duplicate UUIDs on the same GPU (mixed-types, vram-overcommit, duplicate-mdev-uuid)",
      );
    const running =
      fl.vmid !== null && f.qmList
        ? f.qmList.some((q) => q.vmid === fl.vmid && q.status === "running")
        : false;
    if (fl.vmid !== null) fix.push(`qm start ${fl.vmid}   (retry)`);
    out.push(
      finding(
        "vm-start-failed",
        running ? "warning" : "error",
        `${fl.vmid !== null ? `VM ${fl.vmid}` : fl.uuid ? `The VM with mdev ${fl.uuid}` : "A VM"} failed to start on its vGPU${running ? " earlier this boot (it is running now)" : ""}`,
        [...fl.lines.map((l) => `journal nvidia-vgpu-mgr: ${l}`), ...dmesgFails.map((l) => `dmesg: ${l}`)],
        fix,
      ),
    );
  }
  return out;
}
