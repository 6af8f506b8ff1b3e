/**
 * The driver's availability rule end to end on the simulator (legacy mdev GPU, driver ≥ 525): `vm attach`
 * (place/model.ts sharingRule) and the simulated driver (hosts/sim/logic.ts sameSizeTypesCoexist) agree.
 * source: sim scenario seed-configured = the seed guide's host after the guide (patched vGPU 15.1 driver
 * 525.85.07, RTX 2080 Ti as RTX 6000: nvidia-257 = RTX6000-2Q, nvidia-436 = RTX6000-2B, both 2048 MiB,
 * nvidia-259 = RTX6000-4Q 4096 MiB; seed guide lines 308-319). Rule: research/proxmox.md §3 — from vGPU 15
 * types of one framebuffer size run side by side ("Heterogeneous Time-Slice Profiles : Supported"); a
 * GPU in equal-size mode takes one size. The pre-525 era (one type) is covered by test/place/sharing.test.ts
 * and test/place/attach.test.ts: no simulated scenario ships a pre-525 driver.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { runInProcess } from "../vm-override-profile/cli.ts";

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

const H = ["--host", "sim:seed-configured"];

describe("driver 525 on a legacy mdev GPU: one framebuffer size per GPU", () => {
  it("a 2Q then a 2B attach to the same GPU and both VMs start; a 4Q is refused with the reason", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vgpuctl-samesize-"));
    dirs.push(dir);
    const env = { VGPUCTL_SIM_DIR: dir };
    const a = await runInProcess([...H, "vm", "attach", "100", "--type", "nvidia-257"], env);
    expect(a.err).toBe("");
    expect(a.code).toBe(0);
    // a 4 GiB type beside the 2 GiB one: refused, with the reason
    const c = await runInProcess([...H, "vm", "attach", "101", "--type", "nvidia-259"], env);
    expect(c.code).toBe(2);
    expect(c.err).toContain(
      "GPU 0000:01:00.0 already carries 2 GiB nvidia-257 vGPUs (VM 100) and is not in mixed-size mode; a 4 GiB nvidia-259 (GRID RTX6000-4Q) would fail to start",
    );
    // a 2B (same size, another series) is accepted
    const b = await runInProcess([...H, "vm", "attach", "101", "--type", "nvidia-436"], env);
    expect(b.err).toBe("");
    expect(b.code).toBe(0);

    const host = await SimHost.open("seed-configured", { stateDir: dir, spec: "sim:seed-configured" });
    expect(await host.exec(["qm", "start", "100"])).toMatchObject({ exitCode: 0 });
    expect(await host.exec(["qm", "start", "101"])).toMatchObject({ exitCode: 0 });
    const list = (await host.exec(["mdevctl", "list"])).stdout;
    expect(list).toContain("00000000-0000-0000-0000-000000000100 0000:01:00.0 nvidia-257");
    expect(list).toContain("00000000-0000-0000-0000-000000000101 0000:01:00.0 nvidia-436");
  });
});
