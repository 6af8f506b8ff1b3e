import { describe, expect, it } from "vitest";
import { journalMessages } from "../../src/facts/system/journal.ts";
import { parseModprobeFile, parseModulesLoad } from "../../src/facts/system/modules.ts";
import { parsePciMappingCfg } from "../../src/facts/system/pci-mapping.ts";
import { parseHostpci, parseVmConfig } from "../../src/facts/system/qemu-server.ts";
import { parseQmList } from "../../src/facts/system/qm.ts";
import { parseSystemctlIsActive } from "../../src/facts/system/systemctl.ts";
import { parseDropin } from "../../src/facts/system/systemd.ts";
import { fixture } from "./fixture.ts";

describe("/etc/modules and modprobe.d", () => {
  it("reads the modules the seed guide appends to /etc/modules", () => {
    // source: seed guide line 149 (echo -e "vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd" >> /etc/modules),
    // appended to Debian's stock /etc/modules comment header
    const text =
      '# /etc/modules: kernel modules to load at boot time.\n#\n# This file contains the names of kernel modules that should be loaded\n# at boot time, one per line. Lines beginning with "#" are ignored.\n\nvfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n';
    expect(parseModulesLoad("/etc/modules", text)).toEqual([
      { module: "vfio", path: "/etc/modules", line: 6 },
      { module: "vfio_iommu_type1", path: "/etc/modules", line: 7 },
      { module: "vfio_pci", path: "/etc/modules", line: 8 },
      { module: "vfio_virqfd", path: "/etc/modules", line: 9 },
    ]);
  });

  it("reads blacklist / options / softdep / install / alias", () => {
    // source: seed guide line 153 ("blacklist nouveau"); other lines in modprobe.d(5) syntax as leftover
    // passthrough configs write them (vfio-pci ids of the seed GPU 10de:1e07)
    const f = parseModprobeFile(
      "/etc/modprobe.d/blacklist.conf",
      [
        "blacklist nouveau",
        "# passthrough leftovers",
        "options vfio-pci ids=10de:1e07,10de:10f7 disable_vga=1",
        "softdep nvidia pre: vfio-pci",
        "install nouveau /bin/false",
        "alias pci:v000010DEd00001E07sv*sd*bc03sc*i* vfio-pci",
        "options kvm \\",
        "  ignore_msrs=1",
      ].join("\n"),
    );
    expect(f.blacklist).toEqual([{ module: "nouveau", line: 1 }]);
    expect(f.options).toEqual([
      { module: "vfio-pci", args: "ids=10de:1e07,10de:10f7 disable_vga=1", line: 3 },
      { module: "kvm", args: "ignore_msrs=1", line: 7 },
    ]);
    expect(f.softdeps).toEqual([{ module: "nvidia", spec: "pre: vfio-pci", line: 4 }]);
    expect(f.installs).toEqual([{ module: "nouveau", command: "/bin/false", line: 5 }]);
    expect(f.aliases[0]).toMatchObject({ module: "vfio-pci", line: 6 });
  });
});

describe("systemd drop-ins", () => {
  it("reads the seed guide's vgpu_unlock drop-in", () => {
    // source: seed guide line 99
    const d = parseDropin(
      "nvidia-vgpud.service",
      "/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf",
      "[Service]\nEnvironment=LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/\n",
    );
    expect(d.environment).toEqual({ LD_PRELOAD: "/opt/vgpu_unlock-rs/target/release/" });
    expect(d.sections).toEqual({
      Service: { Environment: ["LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/"] },
    });
  });

  it("reads quoted multi-assignment Environment= and resets on empty", () => {
    // source: systemd.exec(5) Environment= syntax ('Environment="VAR1=word1 word2" VAR2=word3 "VAR3=$word 5 6"')
    const d = parseDropin(
      "nvidia-vgpu-mgr.service",
      "/x.conf",
      '[Unit]\nDescription=x\n[Service]\nEnvironment=OLD=1\nEnvironment=\nEnvironment="VAR1=word1 word2" VAR2=word3 "LD_PRELOAD=/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so"\n# Environment=IGNORED=1\n',
    );
    expect(d.environment).toEqual({
      VAR1: "word1 word2",
      VAR2: "word3",
      LD_PRELOAD: "/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so",
    });
    expect(d.sections.Unit?.Description).toEqual(["x"]);
  });

  it("ignores Environment outside [Service]", () => {
    expect(parseDropin("u", "/p", "[Unit]\nEnvironment=A=b\n").environment).toEqual({});
  });
});

describe("VM config", () => {
  it("reads a mdev hostpci with args and machine", () => {
    const vm = parseVmConfig(100, fixture("vm-hookscript.conf"));
    expect(vm.machine).toBe("pc-q35-7.2");
    expect(vm.args).toBe("-cpu host,....(your custom values)....");
    expect(vm.hostpci).toEqual([
      {
        index: 0,
        raw: "0000:02:00.0,mdev=nvidia-54",
        address: "0000:02:00.0",
        mapping: null,
        mdev: "nvidia-54",
        pcie: false,
        xvga: false,
      },
    ]);
  });

  it("reads two spoofed Pascal entries", () => {
    const vm = parseVmConfig(101, fixture("vm-pascal-spoof.conf"));
    expect(vm.hostpci.map((h) => [h.index, h.address, h.mdev])).toEqual([
      [0, "0000:04:00.0", "nvidia-66"],
      [1, "0000:82:00.0", "nvidia-66"],
    ]);
  });

  it("normalises host forms and reads mapping, pcie, x-vga", () => {
    // source: research/proxmox.md §1b examples and the task brief
    expect(parseHostpci(0, "0000:01:00.0,mdev=nvidia-259,pcie=1")).toMatchObject({
      address: "0000:01:00.0",
      mdev: "nvidia-259",
      pcie: true,
    });
    expect(parseHostpci(0, "mapping=gpu0,mdev=nvidia-63")).toMatchObject({
      address: null,
      mapping: "gpu0",
      mdev: "nvidia-63",
    });
    expect(parseHostpci(1, "01:00,x-vga=1")).toMatchObject({
      address: "0000:01:00",
      xvga: true,
      pcie: false,
    });
    expect(parseHostpci(0, "host=0000:41:00.0,pcie=1,x-vga=1")).toMatchObject({
      address: "0000:41:00.0",
      xvga: true,
    });
    expect(parseHostpci(2, "0000:01:00.0;0000:01:00.1,pcie=1").address).toBe("0000:01:00.0");
  });

  it("ignores snapshots and keeps pending hostpci apart", () => {
    // source: qemu-server config layout (research/proxmox.md §1b: hostpci changes on a running VM go to pending)
    const text = [
      "#Windows%2011 VM",
      "boot: order=scsi0",
      "hostpci0: mapping=gpu0,mdev=nvidia-259,pcie=1",
      "machine: pc-q35-8.1",
      "memory: 8192",
      "name: win11",
      "ostype: win11",
      "smbios1: uuid=5C1A0F0E-3D9B-4D8E-9C55-2A3B4C5D6E7F",
      "",
      "[PENDING]",
      "hostpci1: 0000:01:00.0,mdev=nvidia-260",
      "memory: 16384",
      "",
      "[before-vgpu]",
      "hostpci0: 0000:01:00.0,pcie=1,x-vga=1",
      "memory: 4096",
      "name: old-name",
      "snaptime: 1700000000",
    ].join("\n");
    const vm = parseVmConfig(100, text);
    expect(vm).toMatchObject({
      vmid: 100,
      name: "win11",
      ostype: "win11",
      machine: "pc-q35-8.1",
      memoryMiB: 8192,
      smbiosUuid: "5c1a0f0e-3d9b-4d8e-9c55-2a3b4c5d6e7f",
    });
    expect(vm.hostpci.map((h) => h.raw)).toEqual(["mapping=gpu0,mdev=nvidia-259,pcie=1"]);
    expect(vm.pendingHostpci.map((h) => h.mdev)).toEqual(["nvidia-260"]);
  });
});

describe("/etc/pve/mapping/pci.cfg", () => {
  it("reads mappings with several map entries", () => {
    // source: section layout of /etc/pve/mapping/*.cfg (search index id 55438580477, directory.cfg:
    // "pfsense-backup\n\tmap node=prom,path=…"); map values from research/proxmox.md §1c and §1g
    const text = [
      "l40s",
      "\tmap node=pve1,path=0000:41:00.4,id=10de:26b9,subsystem-id=10de:1851,iommugroup=75",
      "\tmap node=pve1,path=0000:41:00.5,id=10de:26b9,subsystem-id=10de:1851,iommugroup=76",
      "\tmdev 1",
      "",
      "passthrough",
      "\tmap node=localhost,path=0000:01:00.4,id=10de:2231,iommugroup=1",
      "\tdescription plain passthrough",
    ].join("\n");
    const m = parsePciMappingCfg(text);
    expect(m.map((x) => [x.id, x.mdev, x.entries.length])).toEqual([
      ["l40s", true, 2],
      ["passthrough", false, 1],
    ]);
    expect(m[0]?.entries[1]).toEqual({
      node: "pve1",
      path: "0000:41:00.5",
      id: "10de:26b9",
      subsystemId: "10de:1851",
      iommugroup: 76,
      raw: "node=pve1,path=0000:41:00.5,id=10de:26b9,subsystem-id=10de:1851,iommugroup=76",
    });
    expect(m[1]?.entries[0]?.subsystemId).toBeNull();
  });
});

describe("qm list", () => {
  it("reads rows including unnamed VMs", () => {
    const q = parseQmList(fixture("qm-list.txt"));
    expect(q).toHaveLength(5);
    expect(q[1]).toEqual({ vmid: 104, name: "VM 104", status: "stopped" });
    expect(q[2]).toEqual({ vmid: 190, name: "W25S", status: "running" });
  });

  it("is empty for a header only", () => {
    // source: search index id 66893331679 (mock qm list with no VMs)
    expect(parseQmList("VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID\n")).toEqual([]);
  });
});

describe("systemctl is-active", () => {
  it("maps states to units in order", () => {
    // source: systemctl(1) is-active prints one state per unit
    expect(
      parseSystemctlIsActive(["nvidia-vgpud.service", "nvidia-vgpu-mgr.service"], "inactive\nactive\n"),
    ).toEqual({
      "nvidia-vgpud.service": "inactive",
      "nvidia-vgpu-mgr.service": "active",
    });
    expect(parseSystemctlIsActive(["a", "b"], "failed\n")).toEqual({ a: "failed" });
  });
});

describe("journal", () => {
  it("strips syslog prefixes (single-digit day)", () => {
    const m = journalMessages(fixture("journal-vgpud.txt"));
    expect(m[0]).toBe("Frame Rate Limiter enabled: 0x1");
    expect(m).toContain("License: GRID-Virtual-Apps,3.0");
  });

  it("strips padded-day prefixes and keeps error text", () => {
    expect(journalMessages(fixture("journal-vgpud-errors.txt"))).toEqual([
      "error: failed to attach device: 59",
      "error: failed to read pGPU information: 9",
      "error: failed to send vGPU configuration info to RM: 9",
    ]);
    expect(journalMessages(fixture("journal-kernel-vfio.txt"))[3]).toBe(
      "VFIO - User Level meta-driver version: 0.3",
    );
  });

  it("drops journal markers", () => {
    // source: journalctl's own markers
    expect(journalMessages("-- No entries --\n")).toEqual([]);
    expect(
      journalMessages(
        "-- Journal begins at Mon 2023-01-30 10:00:00 CET, ends at Tue 2023-01-31 12:00:00 CET. --\nJan 31 12:00:00 pve1 nvidia-vgpud[1234]: error: failed to attach device: 59\n",
      ),
    ).toEqual(["error: failed to attach device: 59"]);
  });
});
