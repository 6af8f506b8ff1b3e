/**
 * kernel-unsupported follows the confidence of the kernel claim (src/knowledge/drivers.ts kernelVerdict):
 * documented limit → error; reported failing or merely unknown → warning carrying the evidence and its source.
 * Host facts: the healthy seed host (test/checks/healthy.ts) with its driver version and GPU swapped.
 */
import { describe, expect, it } from "vitest";
import type { Facts } from "../../src/facts/types.ts";
import { GPU, healthyFacts } from "./healthy.ts";
import { codes, facts, only } from "./helpers.ts";

/** The seed host, but running `driver` on `kernel` with the GPU `deviceId` at 01:00.0. */
function host(driver: string, kernel: string, deviceId = "1e07"): Facts {
  const swapped = JSON.parse(JSON.stringify(healthyFacts()).replaceAll("525.85.07", driver)) as Facts;
  return facts(
    () => swapped,
    (f) => {
      f.uname!.release = kernel;
      const gpu = f.pci!.find((p) => p.address === GPU)!;
      gpu.deviceId = deviceId;
    },
  );
}

describe("kernel-unsupported follows the confidence of the kernel claim", () => {
  it("documented limit (polloloco README: 6.1/6.2 do NOT work with 15.1): error", () => {
    const x = only(host("525.85.07", "6.2.16-3-pve"), "kernel-unsupported");
    expect(x.severity).toBe("error");
    expect(x.evidence).toContain("confidence: documented");
    expect(x.evidence.join("\n")).toMatch(/source: https:\/\/gitlab\.com\/polloloco\/vgpu-proxmox/);
  });

  it("consumer Pascal on 16.9 with kernel 6.8: reported failing, a warning with the report, not a certainty", () => {
    // 1b80 = GeForce GTX 1080 (Pascal, unlock)
    const x = only(host("535.230.02", "6.8.12-4-pve", "1b80"), "kernel-unsupported");
    expect(x.severity).toBe("warning");
    expect(x.title).toBe("Kernel 6.8.12-4-pve is reported not to work with vGPU 16.9 (driver 535.230.02)");
    expect(x.evidence).toContain("confidence: reported failing");
    expect(x.evidence.join("\n")).toMatch(/6\.5\.x or older/);
    expect(x.evidence.join("\n")).toMatch(/source: https:\/\/github\.com\/anomixer\/proxmox-vgpu-installer/);
    // nothing is suggested that is itself reported failing for consumer Pascal on this kernel
    expect(x.fix.join("\n")).not.toMatch(/install a driver release that supports it: .*16\.9/);
  });

  it("the same 16.9 and kernel for a consumer Turing card: in range (patch made for 6.14), no finding", () => {
    expect(codes(host("535.230.02", "6.8.12-4-pve", "1e07"))).not.toContain("kernel-unsupported");
  });

  it("a patched 19.3 on kernel 6.17: reported failing for unlock installs (warning)", () => {
    const x = only(host("580.105.06", "6.17.2-1-pve", "1e07"), "kernel-unsupported");
    expect(x.severity).toBe("warning");
    expect(x.evidence).toContain("confidence: reported failing");
  });

  it("native 19.3 on kernel 6.17: newer than any kernel known to work, nothing known to fail: warning", () => {
    // 1eb8 = Tesla T4 (native)
    const x = only(host("580.105.06", "6.17.2-1-pve", "1eb8"), "kernel-unsupported");
    expect(x.severity).toBe("warning");
    expect(x.title).toMatch(/not known to fail either/);
    expect(x.evidence).toContain("confidence: unknown");
  });

  it("native 19.4 on kernel 6.17: Proxmox's 9.1 notes call it compatible, no finding", () => {
    expect(codes(host("580.126.08", "6.17.2-1-pve", "1eb8"))).not.toContain("kernel-unsupported");
  });
});
