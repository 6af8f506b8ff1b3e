/**
 * A failed `qm start` on the simulator leaves its task log as Proxmox VE writes it (sim/render/task-log.ts:
 * pve-common src/PVE/UPID.pm names, RESTEnvironment.pm "TASK ERROR:" end line; the real layout as in
 * test/fixtures/real-bundles/wvthoog-30-tesla-p4-task-io-error), and a capture with GATHER_SPEC reads it
 * back as the VM-start failure.
 */
import { describe, expect, it } from "vitest";
import { parseFacts } from "../../src/facts/index.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";

// pve-common src/PVE/UPID.pm decode
const UPID =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

describe("sim: task log of a failed VM start", () => {
  it("qm start that fails writes /var/log/pve/tasks/<digit>/UPID:…:qmstart:100:root@pam: ending in TASK ERROR", async () => {
    const h = SimHost.fromState(buildScenarioState("vm-start-failed"), "sim:vm-start-failed", {});
    const r = await h.shell("qm start 100", "");
    expect(r.exitCode).not.toBe(0);
    const buckets = (await h.list("/var/log/pve/tasks")) ?? [];
    expect(buckets).toHaveLength(1);
    const names = (await h.list(`/var/log/pve/tasks/${buckets[0]}`)) ?? [];
    expect(names).toHaveLength(1);
    const m = UPID.exec(names[0]!);
    expect(m).not.toBeNull();
    expect([m![6], m![7], m![8]]).toEqual(["qmstart", "100", "root@pam"]);
    // the file lives in the folder named by the last hex digit of the start time
    expect(buckets[0]).toBe(m![5]!.slice(7, 8));
    const text = (await h.readFile(`/var/log/pve/tasks/${buckets[0]}/${names[0]}`)) ?? "";
    expect(text).toMatch(/error getting device from group \d+: Input\/output error\n/);
    expect(text.endsWith("TASK ERROR: start failed: QEMU exited with code 1\n")).toBe(true);

    const facts = parseFacts(await h.capture(GATHER_SPEC));
    const log = facts.failureLogs?.find((l) => l.source.startsWith("/var/log/pve/tasks/"));
    expect(log).toMatchObject({ kind: "vm-start", vmid: 100 });
  });
});
