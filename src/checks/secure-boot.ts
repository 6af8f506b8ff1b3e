/**
 * secure-boot: UEFI Secure Boot is on and the NVIDIA modules are not signed with an enrolled key, so
 * the kernel refuses them ("Loading of unsigned module is rejected", "modprobe: ERROR: could not insert
 * 'nvidia': Key was rejected by service" — research/installers.md §5 #3).
 * A loaded driver under Secure Boot proves it is signed: no finding then.
 */
import type { Facts } from "../facts/types.ts";
import { finding, grep, hostView } from "./context.ts";
import type { Finding, Kb } from "./types.ts";

const MOK_STATE: Record<NonNullable<Facts["mokKey"]>, string> = {
  enrolled: "already enrolled",
  pending: "already in the enrollment request (confirm it at the next boot)",
  "not-enrolled": "not enrolled",
  absent: "no such file (no DKMS signing key yet)",
};

export function checkSecureBoot(f: Facts, kb: Kb): Finding[] {
  if (f.secureBoot !== true) return [];
  const v = hostView(f, kb);
  if (v.driver?.loaded === true) return [];
  const sig = grep(f.dmesg?.moduleSignature, /nvidia|reject|required key|lockdown/i);
  const nvidiaRejected = sig.some((l) => /nvidia/i.test(l) || /reject/i.test(l));
  const evidence = ["mokutil --sb-state: SecureBoot enabled", ...sig.map((l) => `dmesg: ${l}`)];
  if (f.mokKey) evidence.push(`mokutil --test-key /var/lib/dkms/mok.pub: ${MOK_STATE[f.mokKey]}`);
  const dk = (f.dkms ?? []).find((e) => e.module === "nvidia");
  const signSteps = [
    ...(f.mokKey === "pending"
      ? [
          "The signing key is queued for enrolment: reboot and confirm it on the console (Enroll MOK → Continue → Yes → password)",
        ]
      : []),
    "`vgpuctl apply` with vgpu.yaml does all of this (the MOK password from VGPUCTL_MOK_PASSWORD or --mok-password-file); by hand:",
    "Keep Secure Boot and sign the modules with the DKMS machine owner key:",
    "  mokutil --import /var/lib/dkms/mok.pub   (choose a one-time password)",
    "  reboot, and in the blue MOK manager screen choose Enroll MOK → Continue → enter the password",
    dk
      ? `  dkms remove ${dk.module}/${dk.version} --all && dkms install ${dk.module}/${dk.version} -k ${v.kernel ?? "$(uname -r)"}   (rebuilds and signs with /var/lib/dkms/mok.key)`
      : "  install the driver with --dkms so DKMS signs it with /var/lib/dkms/mok.key",
    "  boot a signed kernel (the proxmox-kernel-…-signed / pve-kernel-…-signed package)",
    "Or disable Secure Boot in the firmware setup, then reboot",
  ];
  if (!v.driver) {
    return [
      finding(
        "secure-boot",
        "warning",
        "Secure Boot is on: the NVIDIA vGPU driver you install must be signed with an enrolled key or it will not load",
        evidence,
        signSteps,
      ),
    ];
  }
  return [
    finding(
      "secure-boot",
      "error",
      nvidiaRejected
        ? "Secure Boot is on and the kernel rejected the unsigned NVIDIA module"
        : "Secure Boot is on and the NVIDIA driver is not loaded — its modules are probably not signed with an enrolled key",
      [...evidence, ...(v.driver.loaded === false ? ["lsmod: no nvidia module loaded"] : [])],
      signSteps,
    ),
  ];
}
