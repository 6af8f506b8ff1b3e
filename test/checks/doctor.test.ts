/**
 * doctor end to end on a partial, user-pasted bundle built from real captured text, through the real
 * parsers (parseFacts), the checks, the command and its CLI registrar.
 * Sources: uname/cmdline/dmesg/nvidia-smi/modules from the seed guide (nvidia-smi l. 288–300 →
 * test/fixtures/facts-nvidia/seed-nvidia-smi.txt; DMAR dmesg l. 174–197 → test/fixtures/facts-system/
 * dmesg-seed-intel.txt; /etc/modules = the lines its l. 149 appends; GRUB line l. 130), the journal from
 * mbilker/vgpu_unlock-rs#29 (test/fixtures/checks/SOURCES.md); the kernel is the opt-in 6.2 the guide warns about.
 */
import { Command } from "@commander-js/extra-typings";
import pc from "picocolors";
import { describe, expect, it } from "vitest";
import { registerDoctor, renderDoctor } from "../../src/cli/commands/doctor.ts";
import type { CliContext, ExitCode } from "../../src/cli/context.ts";
import { buildDoctorReport, runDoctor } from "../../src/commands/doctor.ts";
import { BUNDLE_FORMAT, type Capture, emptyCapture } from "../../src/facts/capture.ts";
import { parseFacts } from "../../src/facts/index.ts";
import type { Host } from "../../src/hosts/host.ts";
import { healthyFacts } from "./healthy.ts";
import { fixture, otherFixture } from "./helpers.ts";

function pastedCapture(): Capture {
  return {
    format: BUNDLE_FORMAT,
    host: "pve",
    capturedAt: "2023-06-01T10:00:00Z",
    commands: [
      {
        cmd: "uname -a",
        stdout:
          "Linux pve 6.2.16-3-pve #1 SMP PREEMPT_DYNAMIC PVE 6.2.16-3 (2023-06-17T05:58Z) x86_64 GNU/Linux\n",
        exitCode: 0,
      },
      { cmd: "dmesg", stdout: otherFixture("facts-system", "dmesg-seed-intel.txt"), exitCode: 0 },
      { cmd: "nvidia-smi", stdout: otherFixture("facts-nvidia", "seed-nvidia-smi.txt"), exitCode: 0 },
      {
        cmd: "journalctl --no-pager -b 0 -u nvidia-vgpud.service",
        stdout: fixture("journal-vgpud-rejected-rtx2060.txt"),
        exitCode: 0,
      },
    ],
    files: {
      "/proc/cmdline":
        "BOOT_IMAGE=/boot/vmlinuz-6.2.16-3-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on iommu=pt\n",
      "/etc/modules":
        '# /etc/modules: kernel modules to load at boot time.\n#\n# This file contains the names of kernel modules that should be loaded\n# at boot time, one per line. Lines beginning with "#" are ignored.\n\nvfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n',
    },
    capturedPaths: ["/proc/cmdline", "/etc/modules"],
    redacted: [],
    notes: [],
  };
}

function fakeHost(capture: Capture): Host {
  const no = () => Promise.reject(new Error("read-only test host"));
  return {
    kind: "bundle",
    spec: "bundle:test",
    name: capture.host,
    readOnly: true,
    exec: no,
    readFile: no,
    writeFile: no,
    list: no,
    stat: no,
    remove: no,
    reboot: no,
    capture: async () => capture,
    close: async () => {},
  };
}

describe("doctor on a partial real bundle", () => {
  it("finds exactly what the evidence shows, and nothing it cannot know", async () => {
    const r = await runDoctor({}, { host: fakeHost(pastedCapture()) });
    const byCode = Object.fromEntries(r.findings.map((f) => [f.code, f]));
    expect(Object.keys(byCode).sort()).toEqual([
      "kernel-unsupported",
      "vfio-module-missing",
      "vgpud-rejected-gpu",
    ]);
    expect(byCode["kernel-unsupported"]!.title).toBe(
      "Kernel 6.2.16-3-pve is outside what vGPU 15.1 (driver 525.85.07) supports",
    );
    expect(byCode["vfio-module-missing"]!.evidence[0]).toBe("/etc/modules:9: vfio_virqfd");
    expect(byCode["vgpud-rejected-gpu"]!.gpu).toBe("0000:01:00.0");
    expect(r.findings[0]!.severity).toBe("error");
    expect(r.notes.length).toBeGreaterThan(5); // lspci, lsmod, … were not captured
  });

  it("an empty bundle: no error or warning (info at most), and notes say what was not captured", () => {
    const r = buildDoctorReport(parseFacts(emptyCapture("pve", "2026-01-31T12:00:00Z")));
    expect(r.findings.filter((f) => f.severity !== "info")).toEqual([]);
    expect(r.notes.join("\n")).toMatch(/not captured/);
  });

  it("--severity error drops warnings", () => {
    const r = buildDoctorReport(parseFacts(pastedCapture()), { minSeverity: "error" });
    expect(r.findings.map((f) => f.code).sort()).toEqual(["kernel-unsupported", "vgpud-rejected-gpu"]);
  });
});

function cli(capture: Capture) {
  let out = "";
  let exit: ExitCode = 0;
  const ctx: CliContext = {
    out: (s) => {
      out += s;
    },
    err: () => {},
    env: {},
    colors: pc.createColors(false),
    cwd: "/",
    openHost: async () => fakeHost(capture),
  };
  const program = new Command()
    .option("-H, --host <spec>", "", "local")
    .option("--root <dir>")
    .option("--json")
    .exitOverride();
  registerDoctor(program, ctx, (c) => {
    exit = Math.max(exit, c) as ExitCode;
  });
  return {
    run: async (...args: string[]) => {
      await program.parseAsync(["node", "vgpuctl", ...args]);
      return { out, exit };
    },
  };
}

describe("vgpuctl doctor (CLI)", () => {
  it("--json has DESIGN.md's shape and exit status 1 on errors", async () => {
    const { out, exit } = await cli(pastedCapture()).run("doctor", "--json");
    const j = JSON.parse(out);
    expect(j.host).toBe("pve");
    for (const f of j.findings) {
      expect(Object.keys(f)).toEqual(
        expect.arrayContaining(["code", "severity", "title", "evidence", "fix"]),
      );
      expect(["error", "warning", "info"]).toContain(f.severity);
    }
    expect(exit).toBe(1);
  });

  it("human report: grouped by severity, evidence indented, commands marked, not-captured listed", async () => {
    const { out, exit } = await cli(pastedCapture()).run("doctor");
    expect(out).toMatch(/^Doctor for pve\n2 errors, 1 warning\n/);
    expect(out.indexOf("ERROR [kernel-unsupported]")).toBeLessThan(
      out.indexOf("WARNING [vfio-module-missing]"),
    );
    expect(out).toContain("    /etc/modules:9: vfio_virqfd");
    expect(out).toContain("    $ sed -i -e '9d' /etc/modules");
    expect(out).toMatch(/Not checked \(evidence not captured or unreadable, \d+\):\n {2}- /);
    expect(exit).toBe(1);
  });

  it("healthy: 'No problems found.'", () => {
    const text = renderDoctor(buildDoctorReport(healthyFacts()), pc.createColors(false));
    expect(text).toBe("Doctor for pve\nNo problems found.\n");
  });
});
