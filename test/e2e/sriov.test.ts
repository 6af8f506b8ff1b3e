/**
 * SR-IOV GPUs end to end with the built CLI (issue 10 items 1–2).
 * sim vm-uses-physical-function: an A40 (10de:2235) with 32 VFs enabled, each listing the A40 types
 * in nvidia/creatable_vgpu_types; VM 100's hostpci0 names the physical function.
 * Per-GPU limits: vgpuConfig.xml pgpu_maxInstances (shared/data/vgpu-types.csv): A40-1Q 32, A40-24Q 2.
 */
import { describe, expect, it } from "vitest";
import { runCli, tempSimDir } from "../helpers/cli.ts";

const A40 = "sim:vm-uses-physical-function";

function hostpciOf(env: Record<string, string>, host: string, vmid: number): string[] {
  const j = runCli(["inspect", "--host", host, "--json"], env).json();
  const vm = j.vms.find((v: any) => v.vmid === vmid);
  return vm.hostpci.map((h: any) => `${h.address ?? h.mapping},${h.mdev}`);
}

/** A refusal: exit 2, one error line (plus its fix), nothing on stdout, the VM config unchanged. */
function expectRefused(env: Record<string, string>, host: string, vmid: number, args: string[]): string {
  const before = hostpciOf(env, host, vmid);
  const r = runCli(["vm", "attach", String(vmid), ...args, "--host", host], env);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trim().split("\n");
  expect(lines[0]).toMatch(/^error: /);
  expect(lines.slice(1).every((l) => l.startsWith("  fix: "))).toBe(true);
  expect(hostpciOf(env, host, vmid)).toEqual(before);
  return lines[0]!;
}

describe("SR-IOV A40 (sim vm-uses-physical-function)", { timeout: 120_000 }, () => {
  const env = { VGPUCTL_SIM_DIR: tempSimDir() };

  it("inspect offers the VFs' types once, with the per-GPU maximum, and lists the 32 VFs", () => {
    const j = runCli(["inspect", "--host", A40, "--json"], env).json();
    expect(j.gpus).toHaveLength(1);
    const g = j.gpus[0];
    expect(g.mdevTypes.find((t: any) => t.name === "NVIDIA A40-1Q")).toMatchObject({
      type: "nvidia-557",
      framebufferMiB: 1024,
      maxInstances: 32,
    });
    expect(g.mdevTypes.filter((t: any) => t.name === "NVIDIA A40-1Q")).toHaveLength(1);
    expect(g.vfs).toHaveLength(32);
    expect(g.vfs[0]).toEqual({ address: "0000:01:00.4", currentType: null, vmid: null });
    const human = runCli(["inspect", "--host", A40], env).stdout;
    expect(human).toContain("vGPU types (22):");
    expect(human).not.toContain("none offered");
    expect(human).toContain("virtual functions: 32");
  });

  it("profile suggest proposes a virtual function, not the physical function", () => {
    const r = runCli(
      ["profile", "suggest", "--os", "windows", "--workload", "cad", "--host", A40, "--json"],
      env,
    );
    expect(r.code).toBe(0);
    const next = r.json().next.join("\n");
    expect(next).toContain("--gpu 0000:01:00.4");
    expect(next).not.toContain("0000:01:00.0");
  });

  it("vm attach writes a free VF with mdev=; inspect shows it on that GPU; detach frees it; doctor is clean", () => {
    const refusedPf = expectRefused(env, A40, 101, ["--type", "nvidia-558", "--gpu", "0000:01:00.0"]);
    expect(refusedPf).toBe(
      "error: 0000:01:00.0 is the physical function of an SR-IOV GPU; its vGPUs live on its 32 virtual functions, so Proxmox VE cannot start a vGPU on it",
    );
    const r = runCli(["vm", "attach", "101", "--type", "NVIDIA A40-2Q", "--host", A40, "--json"], env);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ value: "0000:01:00.4,mdev=nvidia-558", gpu: "0000:01:00.0" });
    const g = runCli(["inspect", "--host", A40, "--json"], env).json().gpus[0];
    expect(g.vfs.find((v: any) => v.address === "0000:01:00.4")).toMatchObject({ vmid: 101 });

    // the VF VM 101 holds is not free for another VM
    expect(
      expectRefused(env, A40, 100, ["--type", "nvidia-558", "--gpu", "0000:01:00.4", "--index", "1"]),
    ).toMatch(/^error: VM 100 already has a vGPU/);
    // move VM 100 off the physical function: doctor then has nothing to say
    expect(runCli(["vm", "detach", "100", "--host", A40], env).code).toBe(0);
    expect(expectRefused(env, A40, 100, ["--type", "nvidia-558", "--gpu", "0000:01:00.4"])).toBe(
      "error: virtual function 0000:01:00.4 of GPU 0000:01:00.0 is in use by VM 101",
    );
    expect(expectRefused(env, A40, 100, ["--type", "NVIDIA A40-4Q"])).toBe(
      "error: GPU 0000:01:00.0 already carries 2 GiB nvidia-558 vGPUs (VM 101) and is not in mixed-size mode; a 4 GiB nvidia-560 (NVIDIA A40-4Q) would fail to start",
    );
    expect(expectRefused(env, A40, 100, ["--type", "NVIDIA A16-4Q"])).toBe(
      "error: no GPU on vm-uses-physical-function offers nvidia-713 (NVIDIA A16-4Q)",
    );
    const a = runCli(["vm", "attach", "100", "--type", "nvidia-558", "--host", A40, "--json"], env);
    expect(a.json().value).toBe("0000:01:00.5,mdev=nvidia-558,pcie=1");
    const d = runCli(["doctor", "--host", A40], env);
    expect(d.stdout).toContain("No problems found.");
    expect(d.code).toBe(0);

    expect(runCli(["vm", "detach", "101", "--host", A40], env).code).toBe(0);
    expect(hostpciOf(env, A40, 101)).toEqual([]);
    const after = runCli(["inspect", "--host", A40, "--json"], env).json().gpus[0];
    expect(after.vfs.find((v: any) => v.address === "0000:01:00.4")).toMatchObject({ vmid: null });
  });
});
