/**
 * `vgpuctl profile suggest` on the simulated hosts.
 * source: sim scenarios seed-fresh (RTX 2080 Ti, no driver yet: types from NVIDIA's table for the
 * Quadro RTX 6000 it is presented as) and seed-configured (the RTX6000 types of seed guide lines 308-319).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runInProcess } from "./cli.ts";

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

async function env() {
  const d = await mkdtemp(join(tmpdir(), "vgpuctl-sim6p-"));
  dirs.push(d);
  return { VGPUCTL_SIM_DIR: d };
}

describe("profile suggest", () => {
  it("uses the offered types, and NVIDIA's table when none are offered yet", async () => {
    const e = await env();
    const offered = await runInProcess(
      [
        "--host",
        "sim:seed-configured",
        "--json",
        "profile",
        "suggest",
        "--os",
        "windows",
        "--workload",
        "gaming",
        "--vram",
        "2G",
      ],
      e,
    );
    expect(offered.code).toBe(0);
    const s = JSON.parse(offered.out);
    expect(s).toMatchObject({ type: "nvidia-436", name: "GRID RTX6000-2B", source: "offered" });
    expect(s.next[0]).toBe("vgpuctl vm attach VMID --type nvidia-436 --gpu 0000:01:00.0");

    const fresh = await runInProcess(
      ["--host", "sim:seed-fresh", "--json", "profile", "suggest", "--os", "linux", "--workload", "cad"],
      e,
    );
    expect(JSON.parse(fresh.out)).toMatchObject({ type: "nvidia-259", series: "Q", source: "knowledge" });
  });

  it("follows the GPU's single type once a VM uses it", async () => {
    const e = await env();
    const H = ["--host", "sim:seed-configured"];
    expect((await runInProcess([...H, "vm", "attach", "100", "--type", "nvidia-259"], e)).code).toBe(0);
    const r = await runInProcess(
      [...H, "profile", "suggest", "--os", "linux", "--workload", "desktop", "--vram", "2G"],
      e,
    );
    expect(r.out).toContain("nvidia-259 (GRID RTX6000-4Q) on GPU 0000:01:00.0, 2 GiB via a per-VM override");
    expect(r.out).toContain("next: vgpuctl vm attach VMID --type nvidia-259 --gpu 0000:01:00.0 --vram 2G");
  });

  it("rejects an unknown OS or workload", async () => {
    const e = await env();
    const r = await runInProcess(
      ["--host", "sim:seed-configured", "profile", "suggest", "--os", "bsd", "--workload", "cad"],
      e,
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain("--os must be windows or linux");
    const w = await runInProcess(
      ["--host", "sim:seed-configured", "profile", "suggest", "--os", "linux", "--workload", "mining"],
      e,
    );
    expect(w.err).toContain("--workload must be one of desktop, cad, gaming, compute");
  });
});
