/**
 * The expected diagnosis of each real-world bundle (test/fixtures/real-bundles/<name>/README.md says where
 * each paste comes from and what the thread states as the cause; expectations were written from the thread
 * before the tool was run on the bundle). Used by real-bundles.test.ts.
 */
export interface Finding {
  code: string;
  severity: "error" | "warning" | "info";
  title: string;
  evidence: string[];
  fix: string[];
}

export interface Case {
  /** codes (with severity) the thread's cause must produce */
  expect: Array<{ code: string; severity: Finding["severity"]; text?: RegExp }>;
  /** `error` codes the cause justifies besides `expect` */
  allowErrors?: string[];
  /** a host the thread shows working: no error and no warning at all */
  healthy?: boolean;
  /** codes that must not appear (false positives seen in the wild) */
  absent?: string[];
  inspect: {
    driver?: { version: string; vgpuRelease: string | null; loaded?: boolean | null } | null;
    gpus?: Array<{
      address: string;
      deviceId: string | null;
      /** omitted where no output proves what the GPU is (a bare mdev parent address) */
      support?: string;
      name?: RegExp;
      /** supportReason (how the GPU was identified) */
      reason?: RegExp;
      /** how many vGPU types inspect lists for it */
      mdevTypes?: number;
    }>;
    /** the driver's kind / flavour (facts/driver-evidence.ts) where inspect reports a driver */
    kind?: string | null;
  };
}

export const CASES: Record<string, Case> = {
  // source: https://github.com/anomixer/proxmox-vgpu-installer/issues/15
  "anomixer-15-gtx1080-mdevctl-types-empty": {
    // the symptom the thread reports, read from the paste (nvidia-smi names the card, mdevctl types is empty)
    expect: [
      { code: "mdev-types-empty", severity: "error", text: /GTX 1080.*\n?[\s\S]*mdevctl types: empty/ },
    ],
    inspect: {
      driver: { version: "535.230.02", vgpuRelease: "16.9", loaded: true },
      gpus: [{ address: "0000:02:00.0", deviceId: null, support: "unlock", name: /GTX 1080/ }],
    },
  },
  // source: https://github.com/anomixer/proxmox-vgpu-installer/issues/29
  "anomixer-29-tesla-p100-driver-595": {
    expect: [{ code: "driver-branch-drops-gpu", severity: "error", text: /Pascal.*Tesla P100/ }],
    allowErrors: ["driver-not-loaded"],
    inspect: {
      driver: { version: "595.71.03", vgpuRelease: "20.1", loaded: false },
      gpus: [{ address: "0000:01:00.0", deviceId: "15f8", support: "native", name: /P100/ }],
    },
  },
  // source: https://github.com/NVIDIA/nvidia-installer/issues/15
  "nvidia-installer-15-rtx2070s-vgx-boards": {
    expect: [{ code: "vm-start-failed", severity: "error" }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/108
  "vgpu-unlock-108-quadro-k6000-kepler": {
    expect: [
      { code: "vgpud-rejected-gpu", severity: "error", text: /Quadro K6000/ },
      { code: "gpu-unsupported", severity: "error", text: /Kepler/ },
    ],
    inspect: {
      driver: null,
      gpus: [{ address: "0000:05:00.0", deviceId: "103a", support: "unsupported", name: /K6000/ }],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/63
  "vgpu-unlock-63-gtx1080-spoofed-as-p40": {
    expect: [],
    absent: ["vm-start-failed", "vgpu-mgr-inactive"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/71
  "vgpu-unlock-71-failed-to-get-vm-uuid": {
    expect: [{ code: "vm-start-failed", severity: "error" }],
    inspect: { driver: { version: "460.73.02", vgpuRelease: null }, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/29
  "vgpu-unlock-rs-29-rtx2060-vgpud-rejected": {
    expect: [{ code: "vgpud-rejected-gpu", severity: "error", text: /GeForce RTX 2060/ }],
    absent: ["gpu-unsupported"],
    inspect: {
      driver: null,
      gpus: [{ address: "0000:01:00.0", deviceId: "1e89", support: "unlock", name: /RTX 2060/ }],
    },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/31 (mkuznetsov), wvthoog/proxmox-vgpu-installer#5
  "vgpu-unlock-rs-31-p4-no-vgpu-host-driver": {
    expect: [{ code: "driver-missing", severity: "error", text: /vGPU host driver/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/31 (jl-DaDar)
  "vgpu-unlock-rs-31-vgpud-inactive-normal": {
    expect: [],
    absent: ["vgpu-mgr-inactive", "vgpud-rejected-gpu", "driver-missing"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/51
  "vgpu-unlock-rs-51-params-size-v19": {
    expect: [{ code: "unlock-version-mismatch", severity: "warning", text: /structures/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/NVIDIA/gpu-operator/issues/554
  "gpu-operator-554-module-verification-taint": {
    expect: [],
    absent: ["secure-boot"],
    inspect: { driver: { version: "535.54.06", vgpuRelease: "16.0" }, gpus: [] },
  },
  // source: https://github.com/NVIDIA/kubevirt-gpu-device-plugin/issues/45
  "kubevirt-gpu-plugin-45-vfio-ids-leftover": {
    expect: [],
    absent: ["iommu-disabled"],
    inspect: {
      driver: null,
      gpus: [{ address: "0000:01:00.0", deviceId: "21c4", support: "unlock", name: /1660 SUPER/ }],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/62
  "vgpu-unlock-62-gm200-465-not-vgpu-driver": {
    expect: [{ code: "driver-not-loaded", severity: "error", text: /not supported by the[\s\S]*465\.31/ }],
    inspect: {
      driver: { version: "465.31", vgpuRelease: null, loaded: false },
      // the kernel log names the card: "NVRM: The NVIDIA GPU 0000:01:00.0 (PCI ID: 10de:17f0)" (GM200GL)
      gpus: [{ address: "0000:01:00.0", deviceId: "17f0", support: "unlock", name: /Quadro M6000/ }],
    },
  },
  // source: https://github.com/wvthoog/proxmox-vgpu-installer/issues/12
  "wvthoog-12-t1000-misdetected": {
    expect: [],
    absent: ["gpu-unsupported", "driver-not-loaded", "driver-missing"],
    inspect: {
      driver: null,
      gpus: [{ address: "0000:01:00.0", deviceId: "1ff0", support: "unlock", name: /T1000/ }],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/57
  "vgpu-unlock-57-gtx970-task-io-error": {
    expect: [
      { code: "vm-start-failed", severity: "error", text: /VM 100[\s\S]*group 13: Input\/output error/ },
    ],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/wvthoog/proxmox-vgpu-installer/issues/30
  "wvthoog-30-tesla-p4-task-io-error": {
    expect: [
      { code: "vm-start-failed", severity: "error", text: /VM 108[\s\S]*group 106: Input\/output error/ },
    ],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/anomixer/proxmox-vgpu-installer/issues/22
  "anomixer-22-gtx1080ti-task-io-error-clones": {
    expect: [{ code: "vm-start-failed", severity: "error", text: /VM 100[\s\S]*Input\/output error/ }],
    absent: ["duplicate-mdev-uuid"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/anomixer/proxmox-vgpu-installer/issues/17
  "anomixer-17-gtx960-restart-task-io-error": {
    expect: [
      { code: "vm-start-failed", severity: "error", text: /VM 100[\s\S]*group 48: Input\/output error/ },
    ],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/49
  "vgpu-unlock-rs-49-libvirt-start-failed-dmesg": {
    expect: [{ code: "vm-start-failed", severity: "error", text: /start failed\. status: 0x1/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/5
  "vgpu-unlock-rs-5-gtx1660s-bad-address": {
    expect: [{ code: "vm-start-failed", severity: "error", text: /VM 102[\s\S]*Bad address/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/6
  "vgpu-unlock-rs-6-gtx1050ti-bad-address-override": {
    expect: [{ code: "vm-start-failed", severity: "error", text: /VM 100[\s\S]*Bad address/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/95
  "vgpu-unlock-95-rtx2070s-dmesg-start-failed": {
    expect: [{ code: "vm-start-failed", severity: "error", text: /start failed\. status: 0x1/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/61
  "vgpu-unlock-61-rtx4000-second-vm-start-failed": {
    expect: [{ code: "vm-start-failed", severity: "error", text: /1f1d02f7-d9ca-4b09-a26a-9049061a2416/ }],
    inspect: {
      driver: null,
      // the parent of the mdevs in `mdevctl list`: the device is not named by any output
      gpus: [{ address: "0000:03:00.0", deviceId: null, reason: /not identified/ }],
    },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/24
  "vgpu-unlock-rs-24-two-vgpus-task-ok": {
    expect: [],
    absent: ["vm-start-failed"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/1
  "vgpu-unlock-1-p40-nvos-assertion": {
    expect: [{ code: "vm-start-failed", severity: "error", text: /NVOS status 0x56|Assertion Failed/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/anomixer/proxmox-vgpu-installer/issues/7
  "anomixer-7-gtx1080ti-kernel-617-build": {
    expect: [{ code: "kernel-unsupported", severity: "error", text: /6\.17\.2-1-pve[\s\S]*os-interface\.h/ }],
    absent: ["headers-missing"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/wvthoog/nvidia_vgpu_proxmox_7/issues/1
  "wvthoog-nvidia-vgpu-proxmox-7-1-dkms-bad-return": {
    expect: [
      { code: "driver-build-failed", severity: "error", text: /5\.15\.27-1-pve[\s\S]*Bad return status/ },
    ],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/ProTechEx/vgpu-proxmox/issues/1
  "protechex-vgpu-proxmox-1-gtx1070-building-kernel-modules": {
    expect: [{ code: "driver-build-failed", severity: "error", text: /Building kernel modules/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/pull/27
  "vgpu-unlock-rs-27-vm-section-decode-error": {
    expect: [
      {
        code: "override-invalid",
        severity: "error",
        text: /Failed to decode config[\s\S]*Failed to apply profile override/,
      },
    ],
    absent: ["unlock-config-invalid"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/30
  "vgpu-unlock-30-quadro-p400-unlocked-p4-types": {
    expect: [],
    healthy: true,
    inspect: {
      driver: { version: "460.32.04", vgpuRelease: null, loaded: true },
      gpus: [{ address: "0000:01:00.0", deviceId: null, support: "unlock", name: /Quadro P400/ }],
    },
  },
  // source: https://github.com/mdevctl/mdevctl/issues/115 (the GPU known as the mdevctl types parent)
  "mdevctl-115-p40-types-only": {
    expect: [],
    healthy: true,
    inspect: {
      driver: null,
      // known as the parent of GRID P40 types: classed as the board the driver presents, device id not proven
      gpus: [
        {
          address: "0000:02:00.0",
          deviceId: null,
          support: "native",
          name: /P40/,
          reason: /offers GRID P40 vGPU types[\s\S]*device id is not proven/,
          mdevTypes: 6,
        },
      ],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/131
  "vgpu-unlock-131-quadro-p4000-by-name-kernel-68": {
    expect: [],
    absent: ["driver-missing", "driver-not-loaded", "gpu-unsupported"],
    inspect: {
      driver: { version: "535.230.02", vgpuRelease: "16.9", loaded: true },
      gpus: [{ address: "0000:2d:00.0", deviceId: null, support: "unlock", name: /Quadro P4000/ }],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/93
  "vgpu-unlock-93-rtx3070ti-assertion-failed": {
    expect: [{ code: "vm-start-failed", severity: "error", text: /bf1a9105[\s\S]*Assertion Failed/ }],
    inspect: {
      driver: null,
      gpus: [{ address: "0000:01:00.0", deviceId: null, reason: /not identified/ }],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/110
  "vgpu-unlock-110-merged-510-nvos-0x51": {
    expect: [{ code: "vm-start-failed", severity: "error", text: /NVOS status 0x51/ }],
    inspect: { gpus: [] },
  },
  // source: https://github.com/wvthoog/proxmox-vgpu-installer/issues/27
  "wvthoog-27-services-unit-file-does-not-exist": {
    expect: [{ code: "driver-missing", severity: "error", text: /or systemd was not reloaded/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/75
  "vgpu-unlock-75-gtx1050ti-truncated-name": {
    expect: [],
    absent: ["gpu-unsupported", "driver-missing", "driver-not-loaded"],
    inspect: {
      driver: { version: "460.32.04", vgpuRelease: null, loaded: true },
      // every "GeForce GTX 105x" board is a Pascal consumer card (GP107): unlock, by name, id unknown
      gpus: [
        {
          address: "0000:04:00.0",
          deviceId: null,
          support: "unlock",
          name: /GeForce GTX 105/,
          reason: /identified by name/,
        },
      ],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/118
  "vgpu-unlock-118-quadro-p4000-no-supported-devices": {
    expect: [],
    absent: ["driver-missing", "gpu-unsupported"],
    inspect: { gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/74
  "vgpu-unlock-74-vgpu-mgr-450-vm-running": {
    expect: [],
    healthy: true,
    inspect: { gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/69
  "vgpu-unlock-69-vgpud-rtx6000-spoof-registered": {
    expect: [],
    healthy: true,
    absent: ["vgpud-rejected-gpu"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/10
  "vgpu-unlock-rs-10-vgpu-mgr-clean-boot": {
    expect: [],
    healthy: true,
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/70
  "vgpu-unlock-70-vgpud-p40-types-listed": {
    expect: [],
    healthy: true,
    absent: ["vgpud-rejected-gpu"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mrzenc/vgpu4nixos/issues/4
  // The driver version appears only inside the unit's ExecStart path (a Nix store name,
  // "…-nvidia-vgpu-535.230.02-5.15.179-bin/bin/nvidia-vgpu-mgr"): a packager's naming, not a report of the
  // driver, and nvidia-vgpu-mgr failed to reach the module — so it is not read as the driver's version.
  "vgpu4nixos-4-tesla-p4-rm-client-0x26": {
    expect: [{ code: "vgpu-mgr-inactive", severity: "error", text: /Failed to initialize RM client: 0x26/ }],
    inspect: { gpus: [] },
  },
  // source: https://github.com/flatcar/Flatcar/issues/1283
  // The driver's kind stays unknown: 535.104.05 is no vGPU host driver version (vgpuRelease null says so),
  // but no output shows the kind itself (the kernel log reads the same for both drivers).
  "flatcar-1283-p40-regular-driver-refuses": {
    expect: [{ code: "driver-not-loaded", severity: "error", text: /535\.104\.05/ }],
    inspect: {
      driver: { version: "535.104.05", vgpuRelease: null, loaded: false },
      gpus: [{ address: "0000:02:00.0", deviceId: "1b38", support: "native", name: /Tesla P40/ }],
    },
  },
  // source: https://github.com/anomixer/proxmox-vgpu-installer/issues/18
  "anomixer-18-tesla-m60-kernel-617-build": {
    expect: [
      {
        code: "kernel-unsupported",
        severity: "error",
        text: /6\.17\.13-1-pve[\s\S]*No such file or directory/,
      },
    ],
    absent: ["headers-missing"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/remz1337/Proxmox/issues/8
  "remz1337-proxmox-8-regular-455-dkms-68": {
    expect: [
      { code: "driver-build-failed", severity: "error", text: /6\.8\.12-1-pve[\s\S]*Bad return status/ },
    ],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/cloud-hypervisor/cloud-hypervisor/issues/5319
  "cloud-hypervisor-5319-no-vm-uuid": {
    expect: [{ code: "vm-start-failed", severity: "error", text: /Failed to get VM UUID/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/69 (second comment)
  "vgpu-unlock-69-vgpu-mgr-a-type-start": {
    expect: [],
    healthy: true,
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/bigstack-oss/cubecos/issues/312
  "cubecos-312-rtx-pro-6000-blackwell-vgpud-active": {
    expect: [],
    healthy: true,
    inspect: {
      gpus: [
        { address: "0000:42:00.0", deviceId: "2bb5", support: "native", name: /RTX PRO 6000/ },
        { address: "0000:8c:00.0", deviceId: "2bb5", support: "native" },
        { address: "0001:04:00.0", deviceId: "2bb5", support: "native" },
        { address: "0001:c8:00.0", deviceId: "2bb5", support: "native" },
      ],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/84
  "vgpu-unlock-84-quadro-m2000-make-log-mdev-api": {
    expect: [{ code: "kernel-unsupported", severity: "error", text: /incompatible pointer type/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/VGPU-Community-Drivers/Merged-Rust-Drivers/issues/1
  "merged-rust-drivers-1-mdev-parent-ops-open-device": {
    expect: [{ code: "kernel-unsupported", severity: "error", text: /5\.13\.19-3-pve[\s\S]*open_device/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/69 (the DKMS reinstall)
  "vgpu-unlock-69-dkms-install-completed": {
    expect: [],
    healthy: true,
    absent: ["driver-build-failed"],
    inspect: { gpus: [] },
  },
  // source: https://github.com/anomixer/proxmox-vgpu-installer/issues/14
  "anomixer-14-secure-boot-pem-certificate": {
    expect: [{ code: "secure-boot", severity: "error", text: /DER format/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/stl88083365/unraid-nvidia-vgpu-driver/issues/42
  "unraid-vgpu-42-quadro-p2000-mdevctl-types-empty": {
    expect: [],
    absent: ["gpu-unsupported", "driver-missing", "driver-not-loaded"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/10 (`qm start 311`)
  "vgpu-unlock-rs-10-qm-start-311-bad-address": {
    expect: [
      { code: "vm-start-failed", severity: "error", text: /VM 311[\s\S]*qm start 311: [\s\S]*Bad address/ },
    ],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/T-K-233/Diffusion-Benchmark (README.md, nvidia-smi -q of an RTX 2080)
  "diffusion-benchmark-rtx2080-nvidia-smi-q-only": {
    expect: [],
    healthy: true,
    inspect: {
      driver: null,
      gpus: [{ address: "0000:02:00.0", deviceId: "1e87", support: "unlock", name: /RTX 2080/ }],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/4
  "vgpu-unlock-4-path-to-vgpu-unlock-placeholder": {
    expect: [
      { code: "driver-build-failed", severity: "error", text: /path_to_vgpu_unlock/ },
      { code: "driver-build-failed", severity: "error", text: /4\.18\.0-240\.10\.1\.el8_3\.x86_64/ },
    ],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/101 (the GPU known as the mdevctl types parent)
  "vgpu-unlock-101-p40-types-only-override": {
    expect: [],
    healthy: true,
    inspect: {
      driver: null,
      // known as the parent of GRID P40 types: classed as the board the driver presents, device id not proven
      gpus: [
        {
          address: "0000:01:00.0",
          deviceId: null,
          support: "native",
          name: /P40/,
          reason: /offers GRID P40 vGPU types[\s\S]*device id is not proven/,
          mdevTypes: 6,
        },
      ],
    },
  },
  // source: https://github.com/NVIDIA/open-gpu-kernel-modules/issues/230 (dmesg only; expectations from PENDING.md, written from the thread)
  "open-gpu-kernel-modules-230-open-module-unsupported-gpu": {
    expect: [
      { code: "driver-open-flavour", severity: "error", text: /Open nvidia\.ko is only ready/ },
      {
        code: "driver-not-loaded",
        severity: "error",
        text: /refuses 0000:04:00\.0[\s\S]*RmInitAdapter failed/,
      },
    ],
    // no output names the driver's version: inspect has no driver object to carry the flavour
    inspect: {
      driver: null,
      gpus: [{ address: "0000:04:00.0", deviceId: null, reason: /not identified/ }],
    },
  },
  // source: https://github.com/NVIDIA/open-gpu-kernel-modules/issues/322 (dmesg only; expectations from PENDING.md)
  "open-gpu-kernel-modules-322-open-module-v100-no-gsp": {
    expect: [
      { code: "driver-not-loaded", severity: "error", text: /0000:af:00\.0 .*\[10de:1db5\]/ },
      { code: "driver-open-flavour", severity: "error", text: /supported by open/ },
    ],
    inspect: {
      driver: null,
      gpus: [{ address: "0000:af:00.0", deviceId: "1db5", support: "native", name: /V100/ }],
    },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/37 (a running, licensed vGPU VM: healthy)
  "vgpu-unlock-rs-37-a5000-vm-licensed-running": {
    expect: [],
    healthy: true,
    inspect: { driver: null, gpus: [] },
  },
};
