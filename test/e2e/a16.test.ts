/**
 * Issue 10 "Done means" on sim a16-configured: Proxmox VE 8.4, a vGPU 18.x driver, one A16 board
 * (four GPUs 10de:25b6, VFs enabled by pve-nvidia-sriov@ALL), VMs 100–103 without a vGPU.
 * Per-GPU limits: vgpuConfig.xml pgpu_maxInstances (shared/data/vgpu-types.csv): A16-4Q 4, A16-8Q 2.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempSimDir } from "../helpers/cli.ts";

const A16 = "sim:a16-configured";

describe("A16 board (sim a16-configured)", { timeout: 120_000 }, () => {
  const env = { VGPUCTL_SIM_DIR: tempSimDir() };
  const inspect = () => runCli(["inspect", "--host", A16, "--json"], env).json();
  const attach = (vmid: number, type: string, gpu?: string) =>
    runCli(
      ["vm", "attach", String(vmid), "--type", type, ...(gpu ? ["--gpu", gpu] : []), "--host", A16, "--json"],
      env,
    );
  const hostpci = () => JSON.stringify(inspect().vms.map((v: any) => [v.vmid, v.hostpci]));

  it("doctor on the healthy A16 host finds nothing (no vfio modules needed for NVIDIA's vendor-specific VFIO)", () => {
    const r = runCli(["doctor", "--host", A16, "--json"], env);
    expect(r.code).toBe(0);
    expect(r.json().findings).toEqual([]);
  });

  it("inspect lists four 25b6 GPUs, each offering NVIDIA A16-4Q with maxInstances 4", () => {
    const j = inspect();
    const gpus = j.gpus.filter((g: any) => g.deviceId === "25b6");
    expect(gpus).toHaveLength(4);
    for (const g of gpus) {
      const t = g.mdevTypes.filter((x: any) => x.name === "NVIDIA A16-4Q");
      expect(t).toHaveLength(1);
      expect(t[0]).toMatchObject({ maxInstances: 4, availableInstances: 4 });
      expect(g.mdevTypes.find((x: any) => x.name === "NVIDIA A16-8Q")).toMatchObject({ maxInstances: 2 });
      expect(g.vfs.length).toBeGreaterThan(0);
    }
    expect(j.vms.map((v: any) => v.vmid)).toEqual([100, 101, 102, 103]);
  });

  it("vm attach 100 --type 'NVIDIA A16-4Q' writes a VF (function ≠ 0) with mdev=, shown on that GPU", () => {
    const r = attach(100, "NVIDIA A16-4Q");
    expect(r.code).toBe(0);
    const out = r.json();
    const [vf, mdev] = out.value.split(",");
    expect(vf).toMatch(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[1-7]$/);
    expect(mdev).toBe("mdev=nvidia-713");
    const g = inspect().gpus.find((x: any) => x.address === out.gpu);
    expect(g.vfs.find((v: any) => v.address === vf)).toMatchObject({ vmid: 100 });
    expect(runCli(["inspect", "--host", A16], env).stdout).toMatch(
      new RegExp(`${vf.replace(/\./g, "\\.")}\\s+not running\\s+VM 100`),
    );
    expect(runCli(["vm", "detach", "100", "--host", A16], env).code).toBe(0);
  });

  it("a third A16-8Q on the same GPU is refused with the reason; nothing changes", () => {
    const g = inspect().gpus.find((x: any) => x.deviceId === "25b6");
    const vfs = g.vfs.map((v: any) => v.address);
    expect(attach(100, "NVIDIA A16-8Q", vfs[0]).code).toBe(0);
    expect(attach(101, "NVIDIA A16-8Q", vfs[1]).code).toBe(0);
    const before = hostpci();
    const r = attach(102, "NVIDIA A16-8Q", vfs[2]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(
      `error: GPU ${g.address} holds at most 2 × nvidia-714 (NVIDIA A16-8Q) and 2 are already assigned (VM 100, VM 101)`,
    );
    expect(hostpci()).toBe(before);
    // a different size on that GPU is refused too (equal-size mode)
    expect(attach(102, "NVIDIA A16-4Q", vfs[2]).stderr.split("\n")[0]).toMatch(
      /^error: GPU \S+ already carries 8 GiB nvidia-714 vGPUs \(VM 100, VM 101\) and is not in mixed-size mode/,
    );
    // without --gpu, another GPU takes it
    const other = attach(102, "NVIDIA A16-8Q");
    expect(other.code).toBe(0);
    expect(other.json().gpu).not.toBe(g.address);
  });

  it("bad input gets one line and changes nothing: a type the GPUs do not offer, the physical function", () => {
    const g = inspect().gpus.find((x: any) => x.deviceId === "25b6");
    for (const [args, line] of [
      [["--type", "NVIDIA A40-1Q"], "error: no GPU on a16-configured offers nvidia-557 (NVIDIA A40-1Q)"],
      [
        ["--type", "NVIDIA A16-4Q", "--gpu", g.address],
        `error: ${g.address} is the physical function of an SR-IOV GPU; its vGPUs live on its ${g.vfs.length} virtual functions, so Proxmox VE cannot start a vGPU on it`,
      ],
    ] as const) {
      const before = hostpci();
      const r = runCli(["vm", "attach", "103", ...args, "--host", A16], env);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trim().split("\n");
      expect(lines[0]).toBe(line);
      expect(lines.slice(1).every((l) => l.startsWith("  fix: "))).toBe(true);
      expect(hostpci()).toBe(before);
    }
  });

  it("vms: in vgpu.yaml places on the A16's GPUs within their limits and names a VF per VM", () => {
    const fresh = { VGPUCTL_SIM_DIR: tempSimDir() };
    const file = join(fresh.VGPUCTL_SIM_DIR, "vgpu.yaml");
    writeFileSync(
      file,
      [
        "hosts:",
        `  - host: ${A16}`,
        "    unlock: off",
        "    vms:",
        ...[100, 101, 102].flatMap((vmid) => [`      - vmid: ${vmid}`, "        type: NVIDIA A16-8Q"]),
        "      - vmid: 103",
        "        vram: 4G",
        "        workload: cad",
        "",
      ].join("\n"),
    );
    const r = runCli(["plan", "-f", file, "--json"], fresh);
    expect(r.code).toBe(0);
    const plan = [r.json()].flat()[0];
    const sets = plan.steps
      .filter((s: any) => /^vm-/.test(s.id))
      .map((s: any) => s.changes.find((c: any) => c.argv?.[0] === "qm").argv);
    expect(sets).toHaveLength(4);
    const vfs = sets.map((argv: string[]) => argv[4]!.split(",")[0]);
    for (const vf of vfs) expect(vf).toMatch(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[1-7]$/);
    expect(new Set(vfs).size).toBe(4);
    // at most 2 × A16-8Q per GPU (one GPU per bus)
    const perGpu = new Map<string, number>();
    for (const argv of sets.slice(0, 3)) {
      const bus = argv[4]!.slice(0, 7);
      perGpu.set(bus, (perGpu.get(bus) ?? 0) + 1);
    }
    expect(Math.max(...perGpu.values())).toBeLessThanOrEqual(2);
    expect(sets[3]![4]).toMatch(/mdev=nvidia-713/); // 4 GiB Q for cad: A16-4Q
  });
});
