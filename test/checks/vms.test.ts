import { describe, expect, it } from "vitest";
import { parseProfileOverride } from "../../src/facts/nvidia/unlock.ts";
import { parseVmConfig } from "../../src/facts/system/qemu-server.ts";
import { GPU, healthyFacts, mdevEntry, vm } from "./healthy.ts";
import { codes, facts, only } from "./helpers.ts";

type F = ReturnType<typeof healthyFacts>;
const withVgpus = (types: Record<number, string>) => (f: F) => {
  f.vms = Object.entries(types).map(([id, t]) => vm(Number(id), `vm${id}`, "l26", [mdevEntry(0, t)]));
  f.qmList = f.vms.map((v) => ({ vmid: v.vmid, name: v.name!, status: "stopped" }));
};

describe("VM checks", () => {
  it("one type per GPU: no finding", () => {
    expect(codes(facts(healthyFacts, withVgpus({ 100: "nvidia-257", 101: "nvidia-257" })))).toEqual([]);
  });

  it("mixed-types: two types on the RTX 2080 Ti; fix uses per-VM overrides (unlock card)", () => {
    const f = facts(healthyFacts, withVgpus({ 100: "nvidia-259", 101: "nvidia-257" }));
    const x = only(f, "mixed-types");
    expect(x.gpu).toBe(GPU);
    expect(x.evidence).toContain(
      "/etc/pve/qemu-server/100.conf: hostpci0: 0000:01:00.0,mdev=nvidia-259,pcie=1",
    );
    expect(x.evidence).toContain("types: nvidia-259 (GRID RTX6000-4Q), nvidia-257 (GRID RTX6000-2Q)");
    expect(x.fix[1]).toMatch(/\[vm\.<vmid>\] framebuffer/);
  });

  it("vram-overcommit: three 4 GiB vGPUs on an 11 GiB card is an error naming the VM that will fail to start (issue 13 item 5)", () => {
    const f = facts(healthyFacts, withVgpus({ 100: "nvidia-259", 101: "nvidia-259", 102: "nvidia-259" }));
    const x = only(f, "vram-overcommit");
    expect(x.severity).toBe("error");
    expect(x.title).toMatch(
      /^VM 102 will fail to start: 0000:01:00\.0 .* has 11 GiB of VRAM; VM 100 4 GiB, VM 101 4 GiB, VM 102 4 GiB is 12 GiB/,
    );
    expect(x.evidence).toContain(
      "total 12288 MiB > 11264 MiB on 0000:01:00.0 GeForce RTX 2080 Ti Rev. A [10de:1e07]",
    );
    for (const q of f.qmList!) q.status = "running";
    expect(only(f, "vram-overcommit").severity).toBe("error");
  });

  it("vram-overcommit counts framebuffer+reservation overrides (seed guide 12GB values)", () => {
    const text = "[vm.100]\nframebuffer = 0x2CC000000\nframebuffer_reservation = 0x34000000\n";
    const f = facts(healthyFacts, (f) => {
      withVgpus({ 100: "nvidia-259", 101: "nvidia-259" })(f);
      f.profileOverride = { present: true, text, ...parseProfileOverride(text) };
    });
    const x = only(f, "vram-overcommit");
    expect(x.evidence).toContain("VM 100: override framebuffer+framebuffer_reservation = 12288 MiB");
    expect(x.evidence).toContain(
      "total 16384 MiB > 11264 MiB on 0000:01:00.0 GeForce RTX 2080 Ti Rev. A [10de:1e07]",
    );
  });

  it("vram-overcommit: a framebuffer-only override keeps the type's reservation (per-key fallback)", () => {
    // research/unlock.md §1.4: each table patches only the keys it holds. [vm.100] framebuffer = 2 GB pair's
    // framebuffer (seed guide line 399) + RTX6000-4Q's own 0x14000000 reservation = 2176 MiB.
    const text = "[vm.100]\nframebuffer = 0x74000000\n";
    const f = facts(healthyFacts, (f) => {
      withVgpus({ 100: "nvidia-259", 101: "nvidia-259", 102: "nvidia-259" })(f);
      f.profileOverride = { present: true, text, ...parseProfileOverride(text) };
    });
    expect(codes(f)).not.toContain("vram-overcommit"); // 2176 + 2 × 4096 = 10368 MiB ≤ 11264 MiB
    const more = "[vm.100]\nframebuffer = 0x2CC000000\n"; // 12 GB pair's framebuffer alone
    const g = facts(healthyFacts, (f) => {
      withVgpus({ 100: "nvidia-259", 101: "nvidia-259" })(f);
      f.profileOverride = { present: true, text: more, ...parseProfileOverride(more) };
    });
    expect(only(g, "vram-overcommit").evidence).toContain(
      "VM 100: override framebuffer ([vm.100]) + the type's framebuffer_reservation = 11776 MiB",
    );
  });

  it("vm-mdev-type-unavailable", () => {
    const f = facts(healthyFacts, withVgpus({ 100: "nvidia-999" }));
    const x = only(f, "vm-mdev-type-unavailable");
    expect(x.fix[0]).toBe(
      "qm set 100 --hostpci0 0000:01:00.0,mdev=nvidia-256,pcie=1   (pick a type from mdevctl types)",
    );
  });

  it("duplicate-mdev-uuid from a cloned `args: -uuid` (parsed from a real-shaped config)", () => {
    const conf = (name: string) =>
      `args: -uuid 00000000-0000-0000-0000-000000000100\nhostpci0: 0000:01:00.0,mdev=nvidia-259\nmemory: 8192\nname: ${name}\nostype: win11\n`;
    const f = facts(healthyFacts, (f) => {
      f.vms = [parseVmConfig(100, conf("win11")), parseVmConfig(102, conf("win11-clone"))];
    });
    const x = only(f, "duplicate-mdev-uuid");
    expect(x.title).toMatch(
      /VMs 100 and 102 would use the same mdev\/VM UUID 00000000-0000-0000-0000-000000000100/,
    );
    expect(x.fix).toHaveLength(1);
    expect(x.fix[0]).toMatch(/^Edit \/etc\/pve\/qemu-server\/102\.conf/);
  });

  it("duplicate-smbios-uuid among vGPU VMs", () => {
    const f = facts(healthyFacts, (f) => {
      withVgpus({ 100: "nvidia-257", 101: "nvidia-257" })(f);
      f.vms![1]!.smbiosUuid = f.vms![0]!.smbiosUuid;
    });
    expect(only(f, "duplicate-smbios-uuid").fix).toEqual([
      "qm set 101 --smbios1 uuid=$(cat /proc/sys/kernel/random/uuid)",
    ]);
  });

  it("vm-full-passthrough of the vGPU card (not running)", () => {
    const f = facts(healthyFacts, (f) => {
      f.vms![1]!.hostpci = [
        {
          index: 0,
          raw: "0000:01:00,pcie=1",
          address: "0000:01:00",
          mapping: null,
          mdev: null,
          pcie: true,
          xvga: false,
        },
      ];
    });
    expect(only(f, "vm-full-passthrough").title).toMatch(/VM 101 passes .* through whole/);
  });

  it("stale-mdev: an active mdev of a stopped VM", () => {
    const f = facts(healthyFacts, (f) => {
      withVgpus({ 100: "nvidia-259" })(f);
      f.mdevs = [
        {
          uuid: "00000000-0000-0000-0000-000000000100",
          parent: GPU,
          type: "nvidia-259",
          start: "manual",
          active: true,
        },
      ];
    });
    expect(only(f, "stale-mdev").fix).toEqual([
      "mdevctl stop -u 00000000-0000-0000-0000-000000000100   (or: echo 1 > /sys/bus/mdev/devices/00000000-0000-0000-0000-000000000100/remove)",
    ]);
  });
});

describe("override-invalid", () => {
  it("`cuda_enabled = true` (a decode error in vgpu_unlock-rs) → error with file:line", () => {
    const text = "[profile.nvidia-259]\nnum_displays = 1\ncuda_enabled = true\n";
    const f = facts(healthyFacts, (f) => {
      f.profileOverride = { present: true, text, ...parseProfileOverride(text) };
    });
    const x = only(f, "override-invalid");
    expect(x.severity).toBe("error");
    expect(x.evidence[0]).toMatch(
      /^\/etc\/vgpu_unlock\/profile_override\.toml:3(:\d+)?: .*\| cuda_enabled = true$/,
    );
    expect(x.fix.join("\n")).toMatch(/line 3: /);
  });

  it("the seed guide's 1080p override is valid", () => {
    // source: seed guide l. 382–386 (test/fixtures/facts-nvidia/seed-profile-override-1080p.toml)
    const text =
      "[profile.nvidia-259] # choose the profile you want here\nnum_displays = 1\ndisplay_width = 1920\ndisplay_height = 1080\nmax_pixels = 2073600\n";
    const f = facts(healthyFacts, (f) => {
      f.profileOverride = { present: true, text, ...parseProfileOverride(text) };
    });
    expect(codes(f)).toEqual([]);
  });
});
