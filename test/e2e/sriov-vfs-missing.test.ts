/**
 * Issue 10 "Why": `init` → `apply --reboot` on sim:sriov-vfs-missing (A40 on vGPU 17.4, SR-IOV VFs never
 * enabled) ended "no vGPU types offered … Not verified". Now the VFs are enabled (pve-nvidia-sriov@ALL,
 * kept for every boot), the types verified, doctor is clean and a second plan has nothing left to do.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempSimDir } from "../helpers/cli.ts";
import { simState } from "./sim-state.ts";

const HOST = "sim:sriov-vfs-missing";

describe("init → apply on the A40 host without VFs (built CLI)", { timeout: 120_000 }, () => {
  it("enables the VFs without a reboot, verifies the A40 types, doctor clean, second plan empty", () => {
    const dir = tempSimDir();
    const env = { VGPUCTL_SIM_DIR: dir };
    const yaml = join(dir, "vgpu.yaml");
    expect(runCli(["init", "--host", HOST, "-o", yaml], env).code).toBe(0);
    const boots = simState(dir, "sriov-vfs-missing").bootCount;

    const a = runCli(["apply", "--host", HOST, "-f", yaml, "--yes", "--reboot", "--json"], env);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json()).toMatchObject({ verified: true, reboots: 0 });
    const after = simState(dir, "sriov-vfs-missing");
    expect(after.bootCount).toBe(boots); // host side: no reboot happened
    expect(Object.keys(after.files)).toContain(
      "/etc/systemd/system/multi-user.target.wants/pve-nvidia-sriov@ALL.service",
    );

    const d = runCli(["doctor", "--host", HOST, "--json"], env);
    expect(d.code, d.stdout).toBe(0);
    expect(d.json().findings.filter((f: { severity: string }) => f.severity !== "info")).toEqual([]);
    expect(runCli(["plan", "--host", HOST, "-f", yaml, "--json"], env).json().steps).toEqual([]);

    const gpu = runCli(["inspect", "--host", HOST, "--json"], env).json().gpus[0];
    expect(gpu.vfs).toHaveLength(32);
    expect(gpu.mdevTypes.map((t: { name: string }) => t.name)).toContain("NVIDIA A40-4Q");
  });
});
