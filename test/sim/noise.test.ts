import { describe, expect, it } from "vitest";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { tempStateDir } from "./helpers.ts";

async function hosts(scenario: string) {
  const dir = await tempStateDir();
  const clean = await SimHost.open(scenario, { stateDir: dir, spec: `sim:${scenario}` });
  const noisy = SimHost.fromState({ ...clean.snapshot(), noise: true });
  return { clean, noisy };
}

const out = async (h: SimHost, cmd: string) => (await h.exec(cmd.split(" "))).stdout;
const unCrlf = (t: string) => t.replace(/\r\n/g, "\n");

describe("noise layer", () => {
  it("is off by default and on with VGPUCTL_SIM_NOISE=1", async () => {
    const dir = await tempStateDir();
    const plain = await SimHost.open("seed-configured", { stateDir: dir, spec: "sim:seed-configured" });
    expect(await out(plain, "dmesg")).toMatch(/^\[ {4}0\.000000\] Linux version/);
    const env = { VGPUCTL_SIM_NOISE: "1" };
    const loud = await SimHost.open("seed-configured", { stateDir: dir, spec: "sim:seed-configured", env });
    expect(unCrlf(await out(loud, "dmesg"))).toMatch(
      /^(root@pve:~# dmesg\n)?\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] Linux version/,
    );
  });

  it("is deterministic: the same scenario gives the same noisy text every time", async () => {
    const a = (await hosts("unlock-version-mismatch")).noisy;
    const b = (await hosts("unlock-version-mismatch")).noisy;
    for (const cmd of ["dmesg", "nvidia-smi -q", "journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service"])
      expect(await out(a, cmd)).toBe(await out(b, cmd));
  });

  it("journal: the unlock wrapper's `bash[pid]: vgpu_unlock loaded.` lines on a third of the unlock hosts (DualCoder/vgpu_unlock#93)", async () => {
    const { clean, noisy } = await hosts("unlock-version-mismatch");
    const cmd = "journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service";
    const n = unCrlf(await out(noisy, cmd));
    const pid = /nvidia-vgpu-mgr\[(\d+)\]: notice: vmiop_env_log: nvidia-vgpu-mgr daemon started/.exec(n)![1];
    expect(n).toMatch(
      new RegExp(
        `^\\S+ +\\d+ [\\d:]+ pve\\.home\\.arpa bash\\[${pid}\\]: vgpu_unlock loaded\\.\\n\\S+ +\\d+ [\\d:]+ pve\\.home\\.arpa nvidia-vgpu-mgr\\[${pid}\\]: vgpu_unlock loaded\\.$`,
        "m",
      ),
    );
    expect(await out(clean, cmd)).not.toContain("vgpu_unlock loaded");
    // a host without the unlock never shows them
    const p4 = (await hosts("p4-configured")).noisy;
    expect(await out(p4, cmd)).not.toContain("vgpu_unlock loaded");
  });

  it("journal: boot separator, FQDN host, systemd accounting line; the same messages", async () => {
    const { clean, noisy } = await hosts("unlock-version-mismatch");
    const cmd = "journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service";
    const n = unCrlf(await out(noisy, cmd));
    expect(n).toContain("-- Boot 5f0c2a9e4b7d4e13a8c1d2e3f4a5b6c7 --\n");
    expect(n).toMatch(/^\w{3} \d\d \d\d:\d\d:\d\d pve\.home\.arpa nvidia-vgpu-mgr\[\d+\]: /m);
    expect(n).toMatch(/systemd\[1\]: nvidia-vgpu-mgr\.service: Consumed 1\.337s CPU time\.\n$/);
    // the daemon's messages, besides the unlock wrapper's announcement (its own test above)
    const messages = (t: string) =>
      [...t.matchAll(/nvidia-vgpu-mgr\[\d+\]: (.*)/g)]
        .map((m) => m[1])
        .filter((m) => m !== "vgpu_unlock loaded.");
    expect(messages(n)).toEqual(messages(await out(clean, cmd)));
  });

  it("files: GRUB keeps a commented-out stock line; a VM config gains a description and a snapshot", async () => {
    const { clean, noisy } = await hosts("seed-configured");
    const grub = unCrlf((await noisy.readFile("/etc/default/grub"))!);
    expect(grub).toMatch(
      /^#GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n# vGPU: IOMMU on \(seed guide\)\nGRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"$/m,
    );
    const conf = unCrlf((await noisy.readFile("/etc/pve/qemu-server/100.conf"))!);
    expect(conf.startsWith("#")).toBe(true);
    expect(conf).toMatch(/^parent: before-vgpu$/m);
    expect(conf).toMatch(/^\[before-vgpu\]\n(?:(?!hostpci).*\n)*snaptime: \d+\n$/m);
    // the part before the snapshot still has the live config
    expect(conf.split("[before-vgpu]")[0]).toContain(
      (await clean.readFile("/etc/pve/qemu-server/100.conf"))!.split("\n")[0],
    );
  });

  it("nvidia-smi -q: the ECC error block elided with '...' as users paste it", async () => {
    const { noisy } = await hosts("seed-configured");
    const q = unCrlf(await out(noisy, "nvidia-smi -q"));
    expect(q).not.toContain("ECC Errors");
    expect(q).toMatch(/^ {4}\.\.\.\n {4}Retired Pages$/m);
  });
});
