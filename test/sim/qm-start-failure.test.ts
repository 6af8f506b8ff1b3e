/**
 * `qm start` of a VM whose vGPU the manager refuses (sim scenario vm-start-failed: the unlock preloaded into
 * nvidia-vgpud only): QEMU's vfio error with qemu-server's PCI address (hostpci0 without pcie=1: legacy slot
 * bus=pci.0,addr=0x10), then qemu-server's mdev cleanup, then the error — line for line as the real paste of
 * anomixer/proxmox-vgpu-installer#17 (test/fixtures/conformance/SOURCES.md).
 */
import { describe, expect, it } from "vitest";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";

describe("qm start of a refused vGPU", () => {
  it("prints the vfio error, the 10-second wait, the active mdev cleanup and the start failure", async () => {
    const host = SimHost.fromState(buildScenarioState("vm-start-failed"));
    const r = await host.exec(["qm", "start", "100"]);
    expect(r.exitCode).toBe(255);
    const uuid = "00000000-0000-0000-0000-000000000100";
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      new RegExp(
        `^kvm: -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/${uuid},id=hostpci0,bus=pci\\.0,addr=0x10: vfio ${uuid}: error getting device from group \\d+: Input/output error$`,
      ),
    );
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(
        /^Verify all devices in group \d+ are bound to vfio-<bus> or pci-stub and not already in use$/,
      ),
      "waited 10 seconds for mediated device driver finishing clean up",
      `actively clean up mediated device with UUID ${uuid}`,
      "start failed: QEMU exited with code 1",
    ]);
    // the cleanup removed the mdev: nothing is left behind
    expect((await host.exec(["mdevctl", "list"])).stdout).not.toContain(uuid);
  });
});
