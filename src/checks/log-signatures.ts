/**
 * Failure signatures in the logs people paste (issue 12 item 2): each known line becomes a finding that
 * quotes it and says what to do.
 *  vm-start-failed     `qm start` / task log / QEMU: "error getting device from group N: Input/output error"
 *                      (DualCoder/vgpu_unlock#57, wvthoog/proxmox-vgpu-installer#30, anomixer#22), "failed to read
 *                      device config space: Bad address" (mbilker/vgpu_unlock-rs#5, #6), "vGPU is supported only on
 *                      VGX capable boards" (NVIDIA/nvidia-installer#15), timeouts, "TASK ERROR: start failed: …".
 *  unlock-config-invalid  "Failed to decode config: …" without a profile override being applied: vgpu_unlock-rs
 *                      could not read /etc/vgpu_unlock/config.toml and aborted the daemon (vgpu_unlock-rs src/lib.rs).
 *  override-invalid    "Failed to decode config" + "Failed to apply profile override", "Patching …: value '…' is
 *                      too long", "Failed to read '…profile_override.toml'": the override file was refused.
 *  vgpu-mgr-inactive   nvidia-vgpu-mgr's "Failed to initialize RM client" (it cannot open the kernel module) when
 *                      the driver facts do not already give driver.ts's finding (mrzenc/vgpu4nixos#4).
 *  headers-missing     installer/make.log: "Unable to find the kernel source tree …", "kernel source path … does
 *                      not exist".
 *  kernel-unsupported  make.log: kernel API mismatch ("implicit declaration of function", "too few arguments to
 *                      function", "has no member named", modpost "undefined!", the driver's own headers not found
 *                      under a newer kbuild — anomixer/proxmox-vgpu-installer#7, #18).
 *  nouveau-loaded      installer: "The Nouveau kernel driver is currently in use by your system".
 *  secure-boot         installer: the module-signing certificate "is not a valid x509 certificate in DER format".
 *  driver-build-failed (new) any other failed build: compiler mismatch ("unrecognized command-line option"), DKMS's
 *                      "Bad return status for module build" — with the first error line quoted.
 */
import { vmidFromMdevUuid } from "../facts/derive.ts";
import type { FailureLog } from "../facts/system/failure-log.ts";
import type { Facts } from "../facts/types.ts";
import { finding, type HostView, hostView } from "./context.ts";
import { buildSignature } from "./log-signatures-build.ts";
import { vmStartSignature } from "./log-signatures-vm.ts";
import type { Finding, Kb } from "./types.ts";

export function checkLogSignatures(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  const out: Finding[] = [];
  for (const log of f.failureLogs ?? []) {
    const found = log.kind === "vm-start" ? vmStartFailure(v, log) : buildSignature(v, log);
    if (found) out.push(found);
  }
  return [...out, ...unlockJournalSignatures(v), ...rmClientFailure(v)];
}

/**
 * nvidia-vgpu-mgr exits at start with "error: vmiop_env_log: Failed to initialize RM client: 0x26" when it cannot
 * open the NVIDIA kernel module (mrzenc/vgpu4nixos#4). driver.ts mgrInactive reports an inactive manager when the
 * driver is known; this names the daemon's own reason when it is all the paste shows.
 */
function rmClientFailure(v: HostView): Finding[] {
  const lines = (v.facts.journals.vgpuMgr ?? [])
    .map((l) => l.trim())
    .filter((l) => /Failed to initialize RM client/.test(l));
  if (lines.length === 0) return [];
  const state = v.facts.services?.["nvidia-vgpu-mgr.service"];
  const reportedByDriverCheck =
    v.driver !== null &&
    v.driver.loaded !== false &&
    v.release !== null &&
    state !== undefined &&
    state !== "active";
  if (reportedByDriverCheck) return [];
  return [
    finding(
      "vgpu-mgr-inactive",
      "error",
      'nvidia-vgpu-mgr cannot reach the NVIDIA kernel module ("Failed to initialize RM client"): no vGPU VM can start',
      [
        ...lines.slice(0, 2).map((l) => `journal nvidia-vgpu-mgr: ${l}`),
        ...(state ? [`systemctl: nvidia-vgpu-mgr.service ${state}`] : []),
      ],
      [
        "lsmod | grep -e '^nvidia ' -e nvidia_vgpu_vfio   (both modules must be loaded, from the same driver build as the daemon)",
        "cat /proc/driver/nvidia/version; nvidia-smi   (a kernel module from another driver version than /usr/bin/nvidia-vgpu-mgr, e.g. after an upgrade without reboot: reboot)",
        "modprobe nvidia && modprobe nvidia_vgpu_vfio && systemctl restart nvidia-vgpu-mgr.service",
      ],
    ),
  ];
}

/** One vm-start-failed per pasted start log: the most specific signature names the cause. */
function vmStartFailure(v: HostView, log: FailureLog): Finding | null {
  const sig = vmStartSignature(log.lines);
  if (!sig) return null;
  const uuid = /sysfsdev=\/sys\/bus\/(?:mdev|pci)\/devices\/(?:[^/]+\/)?([0-9a-f-]{36})/i.exec(
    log.lines.join("\n"),
  )?.[1];
  const vmid = log.vmid ?? (uuid ? (vmidFromMdevUuid(uuid.toLowerCase())?.vmid ?? null) : null);
  const running =
    vmid !== null && (v.facts.qmList ?? []).some((q) => q.vmid === vmid && q.status === "running");
  const who = vmid !== null ? `VM ${vmid}` : uuid ? `The VM with mdev ${uuid}` : "A VM";
  return finding(
    "vm-start-failed",
    running ? "warning" : "error",
    `${who} failed to start: ${sig.cause}${running ? " (it is running now)" : ""}`,
    sig.lines.map((l) => `${sourceLabel(log, vmid)}: ${l.trim()}`),
    [...sig.fix, ...(vmid !== null ? [`qm start ${vmid}   (retry)`] : [])],
  );
}

/** "task log qmstart:100" for a Proxmox VE task file (its UPID name is long), else the command or path. */
function sourceLabel(log: FailureLog, vmid: number | null): string {
  return log.source.startsWith("/var/log/pve/tasks/") ? `task log qmstart:${vmid ?? "?"}` : log.source;
}

const DECODE = /Failed to decode config: (.*)/;
const OVERRIDE_REFUSED =
  /Failed to apply profile override|Patching \S+: value '.*' is too long|Failed to read '[^']*profile_override[^']*'/;

/** vgpu_unlock-rs refusing its own files, as the daemons' journals show it (vgpu_unlock-rs src/lib.rs). */
function unlockJournalSignatures(v: HostView): Finding[] {
  const lines = [...(v.facts.journals.vgpuMgr ?? []), ...(v.facts.journals.vgpud ?? [])].map((l) => l.trim());
  const override = lines.filter((l) => OVERRIDE_REFUSED.test(l));
  const decode = lines.filter((l) => DECODE.test(l));
  const out: Finding[] = [];
  if (override.length > 0)
    out.push(
      finding(
        "override-invalid",
        "error",
        "vgpu_unlock-rs refused /etc/vgpu_unlock/profile_override.toml: the vGPU of the starting VM gets no configuration and the VM fails to start",
        [...decode, ...override].slice(0, 4).map((l) => `journal nvidia-vgpu-mgr: ${l}`),
        [
          "Fix the line the decode error names in /etc/vgpu_unlock/profile_override.toml (sections [profile.nvidia-N], [mdev.<uuid>], [vm.<vmid>]; numbers unquoted, e.g. framebuffer = 0x74000000) — or move the file away to start without overrides",
          "vgpuctl override show   (lists what is wrong in the file)",
          ...(decode.some((l) => /for key `vm`/.test(l))
            ? [
                "[vm.<vmid>] sections need vgpu_unlock-rs with mbilker/vgpu_unlock-rs#28 (January 2023): cd /opt/vgpu_unlock-rs && git pull && cargo build --release",
              ]
            : []),
          "Start the VM again (the file is read at each VM start)",
        ],
      ),
    );
  else if (decode.length > 0 && !(v.facts.unlockConfig?.present && v.facts.unlockConfig.error))
    out.push(
      finding(
        "unlock-config-invalid",
        "error",
        "vgpu_unlock-rs could not decode /etc/vgpu_unlock/config.toml: it aborts nvidia-vgpud and nvidia-vgpu-mgr",
        decode.slice(0, 2).map((l) => `journal: ${l}`),
        [
          "Fix the TOML in /etc/vgpu_unlock/config.toml (valid keys: unlock, unlock_migration; e.g. unlock = false) — or remove it for the default behaviour",
          "systemctl restart nvidia-vgpud.service nvidia-vgpu-mgr.service",
        ],
      ),
    );
  return out;
}
