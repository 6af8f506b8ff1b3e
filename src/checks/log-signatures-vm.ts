/**
 * VM start failure signatures (`qm start`, Proxmox VE task logs, QEMU's stderr as the web UI shows it).
 * The first signature that matches names the cause; the quoted lines are every line that matched any
 * signature plus the task's final error. Sources of each text: the comment on each signature.
 */

interface VmStartSignature {
  re: RegExp;
  cause: string;
  fix: string[];
}

const MGR_JOURNAL = "journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service | tail -n 40";

const SIGNATURES: VmStartSignature[] = [
  {
    // NVIDIA/nvidia-installer#15 (QEMU + nvidia-vgpu-mgr), DualCoder/vgpu_unlock#41
    re: /vGPU is supported only on VGX capable boards/,
    cause: 'nvidia-vgpu-mgr refused the GPU ("vGPU is supported only on VGX capable boards")',
    fix: [
      "nvidia-vgpu-mgr runs without vgpu_unlock: check /etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf (LD_PRELOAD) and that the driver is the patched one, then systemctl daemon-reload && systemctl restart nvidia-vgpu-mgr.service",
    ],
  },
  {
    // DualCoder/vgpu_unlock#57, #71, #95; wvthoog/proxmox-vgpu-installer#30; anomixer/proxmox-vgpu-installer#17, #22
    re: /error getting device from group \d+: Input\/output error/,
    cause:
      "QEMU could not open its vGPU (Input/output error): nvidia-vgpu-mgr refused to start the vGPU — its journal says why",
    fix: [
      `${MGR_JOURNAL}   (the "error:" lines after "Received start call" name the reason)`,
      "Common reasons: the unlock is not active in nvidia-vgpu-mgr (VGX capable boards), another running VM uses a different vGPU type/size on the GPU (mixed-types), not enough free VRAM (vram-overcommit), a cloned VM with the same mdev/SMBIOS UUID (duplicate-mdev-uuid), or guest/host driver branches that do not match",
      "vgpuctl doctor   (with the nvidia-vgpu-mgr journal and the VM configs captured, it names the reason)",
    ],
  },
  {
    // mbilker/vgpu_unlock-rs#5, #6 ("failed to read device config space: Bad address")
    re: /failed to read device config space: Bad address/,
    cause:
      "QEMU could not read the vGPU's config space (Bad address): nvidia-vgpu-mgr did not set the vGPU up — its journal says why",
    fix: [
      `${MGR_JOURNAL}   (look for "init_device_instance failed" and the line before it)`,
      "With vgpu_unlock-rs: a profile override the driver refuses (framebuffer, pci ids) or a library older than the driver; remove the VM's section from /etc/vgpu_unlock/profile_override.toml and retry",
    ],
  },
  {
    // nvidia-vgpu-vfio refusing a type ("vGPU type … not supported" / "is not supported")
    re: /vGPU\b.*\bnot supported/i,
    cause: "the driver does not support this vGPU on the GPU",
    fix: [
      "mdevctl types   (or the VF's nvidia/creatable_vgpu_types): pick a type the GPU offers, then qm set <vmid> --hostpci0 <address>,mdev=<type>",
    ],
  },
  {
    // qemu-server: "start failed: command '/usr/bin/kvm -id …' failed: got timeout", "timeout waiting on systemd"
    re: /got timeout|timeout waiting on systemd/,
    cause: "Proxmox VE's start timeout ran out before QEMU was up",
    fix: [
      "VMs with PCI/vGPU devices pin all their memory at start: check free host memory (free -g) and the VM's memory size; stop other VMs or lower the VM's memory, then retry",
    ],
  },
  {
    // qemu-server's generic final line, e.g. "TASK ERROR: start failed: QEMU exited with code 1"
    re: /start failed: /,
    cause: "QEMU exited during start",
    fix: [`${MGR_JOURNAL}`, "journalctl --no-pager -b 0 | grep -i -e vfio -e nvidia | tail -n 40"],
  },
];

/** Lines that belong in the evidence even when they are not the cause. */
const CONTEXT = /TASK ERROR|start failed|^kvm: |qemu|vfio/i;

/** The cause a start log shows, or null when it shows no known failure. */
export function vmStartSignature(
  lines: readonly string[],
): { cause: string; fix: string[]; lines: string[] } | null {
  const sig = SIGNATURES.find((s) => lines.some((l) => s.re.test(l)));
  if (!sig) return null;
  const quoted = lines.filter((l) => SIGNATURES.some((s) => s.re.test(l)) || CONTEXT.test(l));
  const first = quoted.findIndex((l) => sig.re.test(l));
  const ordered = [quoted[first]!, ...quoted.filter((_, i) => i !== first)];
  return { cause: sig.cause, fix: sig.fix, lines: ordered.slice(0, 5) };
}
