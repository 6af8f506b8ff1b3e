// Fixtures: test/fixtures/formats-edit (sources in SOURCES.md there: Debian/PVE defaults and the seed guide).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  editKernelCmdline,
  editTokens,
  kernelCmdlineTokens,
  splitCmdline,
} from "../../src/formats/bootloader/cmdline.ts";
import { editGrubCmdlineDefault, grubDefaultTokens } from "../../src/formats/bootloader/grub.ts";
import {
  addModules,
  listedModules,
  removeModules,
  vfioModulesFor,
} from "../../src/formats/modules/etc-modules.ts";
import { addBlacklist, blacklists, removeBlacklist } from "../../src/formats/modules/modprobe.ts";
import {
  removeServiceEnvironment,
  renderPreloadDropin,
  serviceEnvironment,
  setServiceEnvironment,
} from "../../src/formats/systemd/dropin.ts";
import { setUnlock, unlockValue } from "../../src/plan/unlock-config.ts";

const fx = (n: string) =>
  readFileSync(join(import.meta.dirname, "..", "fixtures", "formats-edit", n), "utf8");
const changedLines = (a: string, b: string) => {
  const x = a.split("\n");
  const y = b.split("\n");
  return y.map((l, i) => (l !== x[i] ? i + 1 : 0)).filter(Boolean);
};
const IOMMU = { add: ["intel_iommu=on", "iommu=pt"] };

describe("GRUB_CMDLINE_LINUX_DEFAULT", () => {
  const grub = fx("grub-debian-default.txt");

  it("appends the guide's parameters after quiet, changing only that line", () => {
    const out = editGrubCmdlineDefault(grub, IOMMU);
    expect(out).toContain('GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"\n');
    expect(changedLines(grub, out)).toEqual([9]);
    expect(grubDefaultTokens(out)).toEqual(["quiet", "intel_iommu=on", "iommu=pt"]);
  });

  it("is idempotent, also with the parameters in another order", () => {
    const once = editGrubCmdlineDefault(grub, IOMMU);
    expect(editGrubCmdlineDefault(once, IOMMU)).toBe(once);
    const reordered = grub.replace('"quiet"', '"iommu=pt quiet intel_iommu=on"');
    expect(editGrubCmdlineDefault(reordered, IOMMU)).toBe(reordered);
  });

  it("replaces another value of the same parameter in place", () => {
    const off = grub.replace('"quiet"', '"quiet intel_iommu=off"');
    expect(grubDefaultTokens(editGrubCmdlineDefault(off, IOMMU))).toEqual([
      "quiet",
      "intel_iommu=on",
      "iommu=pt",
    ]);
  });

  it("removes parameters and round-trips to the original bytes", () => {
    const once = editGrubCmdlineDefault(grub, IOMMU);
    expect(editGrubCmdlineDefault(once, { remove: IOMMU.add })).toBe(grub);
  });

  it("edits the last (effective) assignment and keeps single quotes and trailing comments", () => {
    const t =
      "GRUB_CMDLINE_LINUX_DEFAULT='quiet'\n#GRUB_CMDLINE_LINUX_DEFAULT=\"x\"\nGRUB_CMDLINE_LINUX_DEFAULT='quiet splash' # mine\n";
    expect(editGrubCmdlineDefault(t, { add: ["iommu=pt"] })).toBe(
      "GRUB_CMDLINE_LINUX_DEFAULT='quiet'\n#GRUB_CMDLINE_LINUX_DEFAULT=\"x\"\nGRUB_CMDLINE_LINUX_DEFAULT='quiet splash iommu=pt' # mine\n",
    );
  });

  it("adds the variable when the file has none", () => {
    expect(editGrubCmdlineDefault("GRUB_TIMEOUT=5", IOMMU)).toBe(
      'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="intel_iommu=on iommu=pt"\n',
    );
  });
});

describe("/etc/kernel/cmdline", () => {
  const zfs = fx("kernel-cmdline-zfs.txt");
  it("appends at the end of the line (seed guide systemd-boot result)", () => {
    const out = editKernelCmdline(zfs, IOMMU);
    expect(out).toBe("root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt\n");
    expect(editKernelCmdline(out, IOMMU)).toBe(out);
    expect(editKernelCmdline(out, { remove: IOMMU.add })).toBe(zfs);
    expect(kernelCmdlineTokens(out)).toHaveLength(4);
  });

  it("keeps quoted values as one token", () => {
    expect(splitCmdline('a acpi_osi="Windows 2020" b')).toEqual(["a", 'acpi_osi="Windows 2020"', "b"]);
    expect(editTokens(["a", "b"], { add: ["b", "c"], remove: ["a"] })).toEqual(["b", "c"]);
  });
});

describe("/etc/modules", () => {
  const mods = fx("etc-modules-debian.txt");
  it("adds the vfio modules once, keeping the header", () => {
    const out = addModules(mods, vfioModulesFor("5.15.102-1-pve"));
    expect(out).toBe(`${mods}vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n`);
    expect(addModules(out, vfioModulesFor("5.15.102-1-pve"))).toBe(out);
    expect(listedModules(out)).toEqual(["vfio", "vfio_iommu_type1", "vfio_pci", "vfio_virqfd"]);
    expect(removeModules(out, ["vfio", "vfio_iommu_type1", "vfio_pci", "vfio_virqfd"])).toBe(mods);
  });

  it("leaves out vfio_virqfd from kernel 6.2 on", () => {
    expect(vfioModulesFor("6.2.16-3-pve")).toEqual(["vfio", "vfio_iommu_type1", "vfio_pci"]);
    expect(vfioModulesFor("6.8.12-4-pve")).not.toContain("vfio_virqfd");
    expect(vfioModulesFor("6.1.10-1-pve")).toContain("vfio_virqfd");
  });

  it("treats dashes and underscores alike and terminates an unterminated last line", () => {
    expect(addModules("vfio-pci", ["vfio_pci", "vfio"])).toBe("vfio-pci\nvfio\n");
  });
});

describe("modprobe blacklist", () => {
  const pve = fx("pve-blacklist.conf");
  it("adds blacklist + options once and removes them again", () => {
    const out = addBlacklist(pve, "nouveau", "modeset=0");
    expect(out).toBe(`${pve}blacklist nouveau\noptions nouveau modeset=0\n`);
    expect(addBlacklist(out, "nouveau", "modeset=0")).toBe(out);
    expect(blacklists(out, "nouveau")).toBe(true);
    expect(blacklists(pve, "nouveau")).toBe(false);
    expect(removeBlacklist(out, "nouveau")).toBe(pve);
  });
});

describe("systemd drop-in", () => {
  const LIB = "/opt/vgpu_unlock-rs/target/release/libvgpu_unlock_rs.so";
  it("renders the guide's drop-in and edits it idempotently", () => {
    const guide = renderPreloadDropin(LIB);
    expect(guide).toBe(`[Service]\nEnvironment=LD_PRELOAD=${LIB}\n`);
    expect(setServiceEnvironment("", "LD_PRELOAD", LIB)).toBe(guide);
    expect(setServiceEnvironment(guide, "LD_PRELOAD", LIB)).toBe(guide);
    expect(serviceEnvironment(guide, "LD_PRELOAD")).toBe(LIB);
  });

  it("replaces another library and keeps other lines", () => {
    const t = "[Unit]\nAfter=x\n\n[Service]\nEnvironment=LD_PRELOAD=/old.so\nRestart=always\n";
    const out = setServiceEnvironment(t, "LD_PRELOAD", LIB);
    expect(out).toBe(`[Unit]\nAfter=x\n\n[Service]\nEnvironment=LD_PRELOAD=${LIB}\nRestart=always\n`);
    expect(removeServiceEnvironment(out, "LD_PRELOAD")).toBe(
      "[Unit]\nAfter=x\n\n[Service]\nRestart=always\n",
    );
  });

  it("adds a [Service] section when there is none", () => {
    expect(setServiceEnvironment("[Unit]\nAfter=x\n", "LD_PRELOAD", LIB)).toBe(
      `[Unit]\nAfter=x\n\n[Service]\nEnvironment=LD_PRELOAD=${LIB}\n`,
    );
  });
});

describe("/etc/vgpu_unlock/config.toml", () => {
  it("writes the guide's `unlock = false` for native boards and flips it back", () => {
    expect(setUnlock("", false)).toBe("unlock = false\n"); // seed guide: echo "unlock = false" > config.toml
    expect(unlockValue("unlock = false\n")).toBe(false);
    expect(setUnlock("unlock = false\n", false)).toBe("unlock = false\n");
    expect(setUnlock("unlock = false\nunlock_migration = true\n", true)).toBe(
      "unlock = true\nunlock_migration = true\n",
    );
  });

  it("leaves a file that already means unlock = true alone, and inserts before tables", () => {
    expect(setUnlock("unlock_migration = false\n", true)).toBe("unlock_migration = false\n");
    expect(setUnlock('[pci_info_map."0x2204"]\ndevice_id = 8753\n', false)).toBe(
      'unlock = false\n[pci_info_map."0x2204"]\ndevice_id = 8753\n',
    );
    expect(unlockValue(null)).toBe(true);
    expect(unlockValue("unlock = \n")).toBeNull();
  });
});
