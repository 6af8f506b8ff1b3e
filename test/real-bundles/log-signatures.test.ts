/**
 * Failure signatures (issue 12 item 2) on the lines people paste: which pasted command or captured file is a
 * failure log (src/facts/system/failure-log.ts), and which finding each known line gives
 * (src/checks/log-signatures*.ts). Lines are verbatim from the real-world bundles' threads (their README.md).
 */
import { describe, expect, it } from "vitest";
import { runChecks } from "../../src/checks/index.ts";
import { emptyCapture } from "../../src/facts/capture.ts";
import { parseFacts } from "../../src/facts/index.ts";
import {
  failureLogLines,
  failureLogOfCommand,
  failureLogOfPath,
} from "../../src/facts/system/failure-log.ts";

function doctorOf(commands: Array<[string, string, number?]>, files: Record<string, string> = {}) {
  const c = emptyCapture("pve", "2026-01-31T12:00:00Z");
  c.commands = commands.map(([cmd, stdout, exitCode]) => ({ cmd, stdout, exitCode: exitCode ?? 0 }));
  c.files = files;
  return runChecks(parseFacts(c));
}

describe("failure logs: which pasted output is one", () => {
  it("qm start, task logs and pvenode task log are VM start logs with their VM", () => {
    expect(failureLogOfCommand("qm start 311")).toEqual({ kind: "vm-start", vmid: 311 });
    expect(failureLogOfCommand("root@pve:~# qm start 153".replace(/^root@pve:~# /, "sudo "))).toEqual({
      kind: "vm-start",
      vmid: 153,
    });
    expect(
      failureLogOfPath("/var/log/pve/tasks/0/UPID:pve:00000000:00000000:00000000:qmstart:108:root@pam:"),
    ).toEqual({
      kind: "vm-start",
      vmid: 108,
    });
    expect(failureLogOfCommand("qm list")).toBeNull();
  });

  it("installer and DKMS outputs and logs", () => {
    expect(failureLogOfCommand("./NVIDIA-Linux-x86_64-455.38.run --dkms")?.kind).toBe("installer");
    expect(failureLogOfCommand("bash proxmox-installer.sh --step 2")?.kind).toBe("installer");
    expect(failureLogOfCommand("dkms build -m nvidia -v 460.73.01 -k 5.13.19-3-pve")?.kind).toBe("dkms-make");
    expect(failureLogOfCommand("dkms status")).toBeNull();
    expect(failureLogOfCommand("cat /var/log/nvidia-installer.log")?.kind).toBe("installer");
    expect(failureLogOfPath("/var/lib/dkms/nvidia/460.32.04/build/make.log")?.kind).toBe("dkms-make");
    expect(failureLogOfPath("/var/log/syslog")).toBeNull();
  });

  it("lines: CR and trailing blanks removed, empty lines dropped", () => {
    expect(failureLogLines("TASK ERROR: start failed: QEMU exited with code 1 \r\n\r\nx\n")).toEqual([
      "TASK ERROR: start failed: QEMU exited with code 1",
      "x",
    ]);
  });
});

describe("signatures → findings", () => {
  it("an Input/output error at VM start names the VM from its mdev UUID and sends to the vgpu-mgr journal", () => {
    // source: wvthoog/proxmox-vgpu-installer#30
    const f = doctorOf([], {
      "/var/log/pve/tasks/0/UPID:pve:00000000:00000000:00000000:qmstart:108:root@pam:":
        "kvm: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/00000000-0000-0000-0000-000000000108,id=hostpci0,bus=pci.0,addr=0x10: vfio 00000000-0000-0000-0000-000000000108: error getting device from group 106: Input/output error\nTASK ERROR: start failed: QEMU exited with code 1\n",
    });
    const v = f.find((x) => x.code === "vm-start-failed")!;
    expect(v.severity).toBe("error");
    expect(v.title).toMatch(/^VM 108 failed to start: .*Input\/output error/);
    expect(v.evidence[0]).toMatch(/^task log qmstart:108: kvm: .*group 106: Input\/output error$/);
    expect(v.fix.join("\n")).toMatch(/journalctl --no-pager -b 0 -u nvidia-vgpu-mgr/);
  });

  it("a TASK OK start log is no failure", () => {
    // source: mbilker/vgpu_unlock-rs#24
    const f = doctorOf([
      [
        "qm start 102",
        "kvm: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/00000000-0000-0000-0000-000000000102,id=hostpci0,bus=ich9-pcie-port-1,addr=0x0: warning: vfio 00000000-0000-0000-0000-000000000102: Could not enable error recovery for the device\nTASK OK\n",
      ],
    ]);
    expect(f.map((x) => x.code)).not.toContain("vm-start-failed");
  });

  it("vgpu_unlock-rs refusing profile_override.toml is override-invalid; config.toml alone is unlock-config-invalid", () => {
    // source: mbilker/vgpu_unlock-rs#27 (review comment); vgpu_unlock-rs src/lib.rs prints both messages
    const decode =
      'Jan 15 17:05:19 pve nvidia-vgpu-mgr[477123]: Failed to decode config: invalid type: string "202", expected u64 for key `vm` at line 11 column 1\n';
    const override = doctorOf([
      [
        "journalctl -u nvidia-vgpu-mgr",
        `${decode}Jan 15 17:05:19 pve nvidia-vgpu-mgr[477123]: Failed to apply profile override\n`,
      ],
    ]);
    const o = override.find((x) => x.code === "override-invalid")!;
    expect(o.severity).toBe("error");
    expect(o.fix.join("\n")).toMatch(/vgpu_unlock-rs#28/);
    expect(override.map((x) => x.code)).not.toContain("unlock-config-invalid");
    const config = doctorOf([["journalctl -u nvidia-vgpu-mgr", decode]]);
    expect(config.find((x) => x.code === "unlock-config-invalid")?.severity).toBe("error");
  });

  it("build logs: headers, kernel API, compiler, DKMS, nouveau, a PEM signing certificate", () => {
    const code = (cmd: string, text: string) =>
      doctorOf([[cmd, text, 1]]).map((x) => `${x.severity} ${x.code}`);
    // nvidia-installer's wording, as pasted in many threads (e.g. the installer logs found by the search tool)
    expect(
      code(
        "./NVIDIA-Linux-x86_64-535.230.02-vgpu-kvm.run",
        "ERROR: Unable to find the kernel source tree for the currently running kernel.\n",
      ),
    ).toContain("error headers-missing");
    // source: VGPU-Community-Drivers/Merged-Rust-Drivers#1
    expect(
      code(
        "dkms build -m nvidia -v 460.73.01 -k 5.13.19-3-pve",
        "/var/lib/dkms/nvidia/460.73.01/build/nvidia-vgpu-vfio/nvidia-vgpu-vfio.c:228:6: error: ‘struct mdev_parent_ops’ has no member named ‘open_device’\n",
      ),
    ).toContain("error kernel-unsupported");
    expect(
      code(
        "bash proxmox-installer.sh",
        "cc: error: unrecognized command-line option '-ftrivial-auto-var-init=zero'\n",
      ),
    ).toContain("error driver-build-failed");
    // source: wvthoog/nvidia_vgpu_proxmox_7#1
    expect(
      code(
        "./NVIDIA-Linux-x86_64-460.107-vgpu-kvm.run --dkms",
        "         Error! Bad return status for module build on kernel: 5.15.27-1-pve (x86_64)\n",
      ),
    ).toContain("error driver-build-failed");
    expect(
      code(
        "./NVIDIA-Linux-x86_64-535.230.02-vgpu-kvm.run",
        "ERROR: The Nouveau kernel driver is currently in use by your system.\n",
      ),
    ).toContain("error nouveau-loaded");
    // source: anomixer/proxmox-vgpu-installer#14
    expect(
      code(
        "bash proxmox-installer.sh",
        "Abort!!! /root/proxmox-vgpu-installer/secure-boot/module-signing.crt is not a valid x509 certificate in DER format\n",
      ),
    ).toContain("error secure-boot");
    // the compiler-difference warning alone is no failure (anomixer/proxmox-vgpu-installer#21)
    expect(
      code(
        "bash proxmox-installer.sh",
        "   warning: the compiler differs from the one used to build the kernel\n",
      ),
    ).toEqual([]);
  });

  it("nvidia-vgpu-mgr's RM client failure is vgpu-mgr-inactive with the quoted line", () => {
    // source: mrzenc/vgpu4nixos#4
    const f = doctorOf([
      [
        "journalctl -u nvidia-vgpu-mgr",
        "Mar 20 13:55:26 nixos nvidia-vgpu-mgr[4816]: error: vmiop_env_log: Failed to initialize RM client: 0x26\n",
      ],
    ]);
    const m = f.find((x) => x.code === "vgpu-mgr-inactive")!;
    expect(m.evidence[0]).toMatch(/Failed to initialize RM client: 0x26/);
  });
});
