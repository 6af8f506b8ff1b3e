import { describe, expect, it } from "vitest";
import { journalMessages } from "../../src/facts/system/journal.ts";
import { GPU, healthyFacts, LIB } from "./healthy.ts";
import { codes, facts, fixture, only, text } from "./helpers.ts";

type F = ReturnType<typeof healthyFacts>;
const noDriver = (f: F) => {
  f.dkms = [];
  f.loadedDriverVersion = null;
  f.driverModuleOpen = null;
  f.nvidiaSmi = null;
  f.vgpuQuery = null;
  f.lsmod = f.lsmod!.filter((m) => !m.name.startsWith("nvidia"));
  f.pci![0]!.driverInUse = null;
  f.mdevTypes = [];
};

describe("gpu-unsupported / gpu-missing", () => {
  it("GeForce RTX 3080 (Ampere consumer): error with the knowledge base's reason", () => {
    const f = facts(healthyFacts, (f) => {
      f.pci![0]!.deviceId = "2206";
      f.pci![0]!.description = "NVIDIA Corporation GA102 [GeForce RTX 3080]";
    });
    const x = only(f, "gpu-unsupported");
    expect(x.severity).toBe("error");
    expect(x.gpu).toBe(GPU);
    expect(x.title).toMatch(/cannot do vGPU: vgpu_unlock cannot unlock Ampere/);
    expect(x.evidence[0]).toBe(
      "lspci -Dnnk: 0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102 [GeForce RTX 3080] [10de:2206] (subsystem 10de:12fa)",
    );
    expect(x.evidence[1]).toMatch(/Ampere generation/);
  });
  it("an unsupported second card next to a usable one is only a warning", () => {
    const f = facts(healthyFacts, (f) => {
      f.pci!.push({
        ...f.pci![0]!,
        address: "0000:02:00.0",
        deviceId: "13c2",
        description: "NVIDIA Corporation GM204 [GeForce GTX 970]",
      });
    });
    const x = only(f, "gpu-unsupported");
    expect(x.severity).toBe("warning");
    expect(x.fix[0]).toMatch(/Use 0000:01:00\.0 .* for vGPU/);
  });
  it("no NVIDIA GPU at all", () => {
    const f = facts(healthyFacts, (f) => {
      f.pci = [];
    });
    expect(only(f, "gpu-missing").evidence).toEqual(["lspci -Dnnk lists no device with vendor id 10de"]);
  });
});

describe("driver-*", () => {
  it("driver-missing: consumer card → patched install steps with a release for this kernel", () => {
    const f = facts(healthyFacts, noDriver);
    const x = only(f, "driver-missing");
    expect(x.severity).toBe("error");
    expect(x.evidence).toContain("dkms status: no nvidia module");
    const t = x.fix.join("\n");
    // newest unlock-patched release for kernel 5.15 that still has Turing (RTX 6000) profiles
    expect(t).toMatch(
      /Pick vGPU 16\.9 \(driver 535\.230\.02\) — it supports kernel 5\.15\.102-1-pve and has an unlock patch/,
    );
    expect(t).toMatch(/--apply-patch ~\/vgpu-proxmox\/535\.230\.02\.patch/);
    expect(t).toMatch(/apt install -y build-essential dkms pve-headers-5\.15\.102-1-pve mdevctl/);
    expect(codes(f)).not.toContain("mdev-types-empty"); // driver-missing already explains it
  });

  it("driver-not-loaded: quotes nvidia-smi's failure and the NVRM lines", () => {
    const f = facts(healthyFacts, (f) => {
      f.loadedDriverVersion = null;
      f.nvidiaSmi = {
        driverVersion: null,
        cudaVersion: null,
        gpus: [],
        error:
          "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.",
      };
      f.lsmod = f.lsmod!.filter((m) => !m.name.startsWith("nvidia"));
      f.pci![0]!.driverInUse = null;
      f.dmesg!.nvrm = ["NVRM: No NVIDIA GPU found."];
    });
    const x = only(f, "driver-not-loaded");
    expect(x.title).toBe("NVIDIA driver 525.85.07 is installed but not running on the GPU");
    expect(x.evidence[0]).toMatch(/^nvidia-smi: NVIDIA-SMI has failed/);
    expect(x.evidence).toContain("dmesg: NVRM: No NVIDIA GPU found.");
    expect(x.evidence.join("\n")).toMatch(/likely cause: the driver does not recognise the GPU/);
  });

  it("driver-open-flavour", () => {
    const f = facts(healthyFacts, (f) => {
      f.driverModuleOpen = true;
    });
    const x = only(f, "driver-open-flavour");
    expect(x.fix[0]).toMatch(/--kernel-module-type=proprietary/);
    expect(x.fix[0]).toMatch(/525\.85\.07-vgpu-kvm-custom\.run/);
  });

  it("driver-branch-drops-gpu: Tesla P4 (Pascal) on 17.0", () => {
    const f = facts(healthyFacts, (f) => {
      f.pci![0]!.deviceId = "1bb3";
      f.pci![0]!.description = "NVIDIA Corporation GP104GL [Tesla P4]";
      f.uname!.release = "6.5.13-5-pve";
      f.loadedDriverVersion = "550.54.10";
      f.nvidiaSmi!.driverVersion = "550.54.10";
      f.dkms = [
        {
          module: "nvidia",
          version: "550.54.10",
          kernel: "6.5.13-5-pve",
          arch: "x86_64",
          status: "installed",
          warning: null,
        },
      ];
      f.dropins = [];
      f.unlockConfig = { present: true, unlock: false, error: null };
      f.modulesLoad = [];
    });
    const x = only(f, "driver-branch-drops-gpu");
    expect(x.title).toMatch(
      /vGPU 17\.0 \(driver 550\.54\.10\) no longer supports Pascal GPUs like 0000:01:00\.0 Tesla P4/,
    );
    expect(x.fix[0]).toMatch(/16\.\d+ \(535\./);
  });

  it("driver-not-vgpu: nvidia loaded without nvidia_vgpu_vfio", () => {
    const f = facts(healthyFacts, (f) => {
      f.lsmod = f.lsmod!.filter((m) => m.name !== "nvidia_vgpu_vfio");
    });
    expect(only(f, "driver-not-vgpu").fix[0]).toBe("modprobe nvidia_vgpu_vfio");
  });

  it("vgpu-mgr-inactive; an inactive nvidia-vgpud is normal", () => {
    const f = facts(healthyFacts, (f) => {
      f.services = { "nvidia-vgpud.service": "inactive", "nvidia-vgpu-mgr.service": "failed" };
    });
    const x = only(f, "vgpu-mgr-inactive");
    expect(x.evidence[0]).toBe("systemctl is-active nvidia-vgpu-mgr.service: failed");
    expect(codes(healthyFacts())).not.toContain("vgpu-mgr-inactive");
  });
});

describe("unlock-*", () => {
  it("unlock-missing: drop-in of nvidia-vgpu-mgr absent", () => {
    const f = facts(healthyFacts, (f) => {
      f.dropins = f.dropins!.filter((d) => d.unit === "nvidia-vgpud.service");
    });
    const x = only(f, "unlock-missing");
    expect(x.severity).toBe("error");
    expect(x.title).toMatch(/not preloaded into nvidia-vgpu-mgr\.service/);
    expect(x.fix).toContain(
      `mkdir -p /etc/systemd/system/nvidia-vgpu-mgr.service.d && printf '[Service]\\nEnvironment=LD_PRELOAD=${LIB}\\n' > /etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf`,
    );
    expect(x.fix).toContain("systemctl daemon-reload");
  });

  it("unlock-missing: LD_PRELOAD names the directory (the seed page's copy lost the file name)", () => {
    // source: seed guide l. 85–86 "Environment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/"
    const f = facts(healthyFacts, (f) => {
      for (const d of f.dropins!) d.environment.LD_PRELOAD = "/opt/vgpu_unlock-rs/target/release/";
    });
    const x = only(f, "unlock-missing");
    expect(x.evidence.join("\n")).toMatch(
      /LD_PRELOAD=\/opt\/vgpu_unlock-rs\/target\/release\/ {2}\(a directory/,
    );
  });

  it("unlock-missing: library not built", () => {
    const f = facts(healthyFacts, (f) => {
      f.unlockLibraryFiles = [];
    });
    const x = only(f, "unlock-missing");
    expect(x.fix.join("\n")).toMatch(/cargo build --release/);
  });

  it("unlock-disabled-consumer", () => {
    const f = facts(healthyFacts, (f) => {
      f.unlockConfig = { present: true, unlock: false, error: null };
      f.mdevTypes = [];
    });
    const x = only(f, "unlock-disabled-consumer");
    expect(x.evidence[0]).toBe("/etc/vgpu_unlock/config.toml: unlock = false");
    expect(x.evidence).toContain("mdevctl types: no types offered for it");
    expect(x.fix[0]).toMatch(/^sed -i .*unlock.*\/etc\/vgpu_unlock\/config\.toml/);
    expect(text(only(f, "mdev-types-empty"))).toMatch(/unlock = false/);
  });

  it("unlock-enabled-native: Tesla P4 with the drop-ins and no unlock = false", () => {
    const f = facts(healthyFacts, (f) => {
      f.pci![0]!.deviceId = "1bb3";
    });
    const x = only(f, "unlock-enabled-native");
    expect(x.severity).toBe("warning");
    expect(x.fix[0]).toMatch(/^echo "unlock = false" > \/etc\/vgpu_unlock\/config\.toml/);
  });

  it("unlock-version-mismatch from the journal (real vGPU 19 log), error when overrides exist", () => {
    const f = facts(healthyFacts, (f) => {
      f.journals.vgpuMgr = journalMessages(fixture("journal-vgpu-mgr-params-size-v19.txt"));
      f.profileOverride = {
        present: true,
        text: "[vm.116]\nframebuffer = 0x74000000\n",
        sections: [{ kind: "vm", key: "116", line: 1, values: { framebuffer: 0x74000000 } }],
        error: null,
      };
    });
    const x = only(f, "unlock-version-mismatch");
    expect(x.severity).toBe("error");
    expect(x.evidence[0]).toBe(
      "journal: Parameters size for NVA081_CTRL_CMD_VGPU_CONFIG_GET_VGPU_TYPE_INFO was 5424 bytes, expected 4960 bytes",
    );
  });

  it("unlock-config-invalid", () => {
    const f = facts(healthyFacts, (f) => {
      f.unlockConfig = { present: true, unlock: true, error: { message: "expected `=`", line: 1 } };
    });
    expect(only(f, "unlock-config-invalid").evidence[0]).toBe("/etc/vgpu_unlock/config.toml:1: expected `=`");
  });
});

describe("mdev-types-empty / sriov-vfs-missing / vgpud-rejected-gpu / vm-start-failed", () => {
  it("mdev-types-empty, with the vgpud rejection as the cause (real journal, mbilker/vgpu_unlock-rs#29)", () => {
    const f = facts(healthyFacts, (f) => {
      f.mdevTypes = [];
      f.journals.vgpud = journalMessages(fixture("journal-vgpud-rejected-rtx2060.txt"));
    });
    const m = only(f, "mdev-types-empty");
    expect(m.evidence.join("\n")).toMatch(/likely cause: nvidia-vgpud rejected the GPU/);
    const r = only(f, "vgpud-rejected-gpu");
    expect(r.gpu).toBe(GPU); // "PCI Id: 0:1:0:0" → 0000:01:00.0
    expect(r.evidence[0]).toBe(
      "journal nvidia-vgpud: GPU not supported by vGPU at PCI Id: 0:1:0:0 DevID: 0x10de / 0x1e89 / 0x10de / >",
    );
    expect(r.evidence).toContain(
      "journal nvidia-vgpud: error: failed to send vGPU configuration info to RM: 6",
    );
    expect(r.fix[0]).toMatch(/consumer card: nvidia-vgpud must run with vgpu_unlock-rs preloaded/);
  });

  it("a vgpud rejection earlier this boot is not reported once types are offered", () => {
    const f = facts(healthyFacts, (f) => {
      f.journals.vgpud = journalMessages(fixture("journal-vgpud-rejected-rtx2060.txt"));
    });
    expect(codes(f)).not.toContain("vgpud-rejected-gpu");
  });

  it("sriov-vfs-missing: RTX A6000 with 0 of 32 VFs", () => {
    const f = facts(healthyFacts, (f) => {
      f.pci![0]!.deviceId = "2230";
      f.sriov = [{ address: GPU, totalVfs: 32, numVfs: 0 }];
      f.mdevTypes = [];
      f.unlockConfig = { present: true, unlock: false, error: null };
      f.dropins = [];
    });
    const x = only(f, "sriov-vfs-missing");
    expect(x.evidence[0]).toBe("/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs: 0");
    expect(x.fix).toContain("apt install pve-nvidia-vgpu-helper   (ships pve-nvidia-sriov@.service)");
    expect(codes(f)).not.toContain("mdev-types-empty");
  });

  it("vm-start-failed: 'VGX capable boards' (real log, NVIDIA/nvidia-installer#15) attributed to the VM", () => {
    const f = facts(healthyFacts, (f) => {
      f.journals.vgpuMgr = [
        "notice: vmiop_env_log: (0x0): Received start call from nvidia-vgpu-vfio module: mdev uuid 00000000-0000-0000-0000-000000000100 GPU PCI id 00:01:00.0 config params vgpu_type_id=259",
        ...journalMessages(fixture("journal-vgpu-mgr-vgx-boards.txt")),
      ];
    });
    const x = only(f, "vm-start-failed");
    expect(x.severity).toBe("error");
    expect(x.title).toBe("VM 100 failed to start on its vGPU");
    expect(x.evidence.join("\n")).toMatch(/vGPU is supported only on VGX capable boards/);
    expect(x.fix[0]).toMatch(/nvidia-vgpu-mgr runs without vgpu_unlock/);
  });

  it("informational 'cmd: 0x2080012f failed.' lines of a working start are not findings (DualCoder/vgpu_unlock#110)", () => {
    const f = facts(healthyFacts, (f) => {
      f.journals.vgpuMgr = journalMessages(fixture("journal-vgpu-mgr-ok-informational.txt"));
    });
    expect(codes(f)).toEqual([]);
  });
});

describe("host preparation is moot without a vGPU-capable GPU", () => {
  it("RTX 3080 with nouveau, no headers, no vfio modules: only gpu-unsupported", () => {
    const f = facts(healthyFacts, (f) => {
      noDriver(f);
      f.pci![0]!.deviceId = "2206";
      f.pci![0]!.driverInUse = "nouveau";
      f.lsmod = [{ name: "nouveau", size: 2461696, usedBy: [] }];
      f.modprobe = [];
      f.modulesLoad = [];
      f.packages = { "pve-manager": "7.4-3" };
      f.dropins = [];
    });
    expect(codes(f)).toEqual(["gpu-unsupported"]);
  });

  it("driver-missing is also known when dkms itself is not installed (dpkg) and dkms status was not captured", () => {
    const f = facts(healthyFacts, (f) => {
      noDriver(f);
      f.dkms = null;
      delete f.packages!.dkms;
    });
    expect(only(f, "driver-missing").evidence[0]).toBe(
      "dpkg: dkms is not installed (so no DKMS-built NVIDIA module)",
    );
    const g = facts(healthyFacts, (f) => {
      noDriver(f);
      f.dkms = null; // dkms installed, its status unknown: no claim
    });
    expect(codes(g)).not.toContain("driver-missing");
  });
});
