/**
 * Every fact from every output that proves it (facts/identity.ts, facts/driver-evidence.ts): GPUs named
 * by outputs other than lspci, the driver's kind and flavour from modinfo / nvidia-smi -q / the kernel
 * log, and contradictions between outputs (evidence-conflict) with the source believed and why.
 * Outputs are real (fixture folders' SOURCES.md); a contradiction is made by pasting outputs of two
 * hosts together, which is what a confused thread looks like.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runChecks } from "../../src/checks/index.ts";
import { type Capture, emptyCapture } from "../../src/facts/capture.ts";
import { deriveDriver } from "../../src/facts/derive.ts";
import { driverSummary } from "../../src/facts/driver-evidence.ts";
import { gpuIdentities } from "../../src/facts/identity.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { parseInstallerLog } from "../../src/facts/nvidia/installer-log.ts";
import { parseModinfoNvidia } from "../../src/facts/nvidia/modinfo.ts";
import { buildInspectReport } from "../../src/report/inspect-report.ts";
import { REPO } from "../helpers/cli.ts";

const fx = (p: string) => readFileSync(join(REPO, "test/fixtures", p), "utf8");
const NV = (f: string) => fx(`facts-nvidia/${f}`);

function capture(commands: Record<string, string>, files: Record<string, string> = {}): Capture {
  const c = emptyCapture("pve", "2026-01-01T00:00:00Z");
  for (const [cmd, stdout] of Object.entries(commands)) c.commands.push({ cmd, stdout, exitCode: 0 });
  Object.assign(c.files, files);
  return c;
}

describe("modinfo nvidia", () => {
  it("the open kernel module: license Dual MIT/GPL", () => {
    expect(parseModinfoNvidia(NV("aikitoria-issue15-modinfo-open.txt"))).toEqual({
      filename: "/lib/modules/6.8.0-90-generic/updates/dkms/nvidia.ko",
      version: "590.44.01",
      license: "Dual MIT/GPL",
      flavour: "open",
      vermagic: "6.8.0-90-generic SMP preempt mod_unload modversions",
    });
  });

  it("the proprietary module (.ko.gz): license NVIDIA", () => {
    const m = parseModinfoNvidia(NV("optimus-manager-qt-issue27-modinfo-proprietary.txt"));
    expect(m?.flavour).toBe("proprietary");
    expect(m?.version).toBe("430.40");
  });

  it("not a module: null", () => {
    expect(parseModinfoNvidia("modinfo: ERROR: Module nvidia not found.\n")).toBeNull();
  });

  it("a pasted modinfo alone gives the driver's version and flavour", () => {
    const f = parseFacts(capture({ "modinfo nvidia": NV("aikitoria-issue15-modinfo-open.txt") }));
    expect(deriveDriver(f)).toMatchObject({ version: "590.44.01", flavour: "open", source: "modinfo" });
  });
});

describe("the installer log", () => {
  it("version and the vGPU host kind from the services it installs", () => {
    const log = [
      "nvidia-installer log file '/var/log/nvidia-installer.log'",
      "creation time: Tue Jan  9 10:00:00 2024",
      "installer version: 535.104.06",
      "-> Installing 'nvidia-vgpud.service'",
      "ERROR: Unable to load the kernel module 'nvidia.ko'.",
    ].join("\n");
    expect(parseInstallerLog(log)).toEqual({
      version: "535.104.06",
      kind: "vgpu-host",
      flavour: null,
      errors: ["ERROR: Unable to load the kernel module 'nvidia.ko'."],
    });
    expect(parseInstallerLog("just some text")).toBeNull();
  });
});

describe("GPUs named by outputs other than lspci", () => {
  it("mdevctl types alone: the parent is a GPU, its types kept", () => {
    const f = parseFacts(capture({ "mdevctl types": NV("akb486-mdevctl-types.txt") }));
    expect(gpuIdentities(f).map((g) => [g.address, g.sources])).toEqual([["0000:01:00.0", ["mdevctl"]]]);
    const gpu = buildInspectReport(f).gpus[0]!;
    expect(gpu.address).toBe("0000:01:00.0");
    expect(gpu.deviceId).toBeNull();
    expect(gpu.mdevTypes.length).toBeGreaterThan(3);
  });

  it("nvidia-smi -i 0 -q alone: the device id from 'Device Id', taken from nvidia-smi -q", () => {
    const f = parseFacts(capture({ "nvidia-smi -q": NV("nutanix-a16-nvidia-smi-q.txt") }));
    const gpu = buildInspectReport(f).gpus[0]!;
    expect(gpu).toMatchObject({
      address: "0000:13:00.0",
      deviceId: "25b6",
      name: expect.stringMatching(/A16/),
    });
    expect(gpu.identity?.from.deviceId).toBe("nvidia-smi -q");
    expect(deriveDriver(f)?.kind).toBe("vgpu-host"); // Virtualization Mode : Host VGPU
  });

  it("the kernel log alone: NVRM's 'The NVIDIA GPU … (PCI ID: 10de:17f0)'", () => {
    const log = fx("real-bundles/vgpu-unlock-62-gm200-465-not-vgpu-driver/commands/journalctl-k.txt");
    const ids = gpuIdentities(parseFacts(capture({ "journalctl -k": log })));
    expect(ids).toMatchObject([{ address: "0000:01:00.0", deviceId: "17f0", sources: ["kernel log"] }]);
  });
});

describe("contradictions are a finding that says which source was believed", () => {
  const lspci = fx("facts-system/lspci-nnk-no-domain.txt"); // 01:00.0 is 10de:1f91
  const kernel = fx("real-bundles/vgpu-unlock-62-gm200-465-not-vgpu-driver/commands/journalctl-k.txt"); // 01:00.0 is 10de:17f0

  it("lspci and the kernel log name different cards at 0000:01:00.0: lspci is believed", () => {
    const f = parseFacts(capture({ "lspci -nnk": lspci, "journalctl -k": kernel }));
    const id = gpuIdentities(f).find((g) => g.address === "0000:01:00.0")!;
    expect(id.deviceId).toBe("1f91");
    expect(id.conflicts).toEqual([
      {
        field: "deviceId",
        values: [
          { source: "lspci", value: "1f91" },
          { source: "kernel log", value: "17f0" },
        ],
        believed: "lspci",
        why: "lspci reads the PCI configuration space of the device",
      },
    ]);
    const c = runChecks(f).filter((x) => x.code === "evidence-conflict");
    expect(c).toHaveLength(1);
    expect(c[0]).toMatchObject({ severity: "warning", gpu: "0000:01:00.0" });
    expect(c[0]!.title).toMatch(/device id of the GPU at 0000:01:00.0: believed lspci/);
    expect(c[0]!.evidence).toContain("lspci: 1f91");
    expect(buildInspectReport(f).gpus[0]?.identity?.conflicts).toHaveLength(1);
  });

  it("each output alone: no conflict", () => {
    for (const cmds of [{ "lspci -nnk": lspci }, { "journalctl -k": kernel }] as Record<string, string>[])
      expect(runChecks(parseFacts(capture(cmds))).filter((x) => x.code === "evidence-conflict")).toEqual([]);
  });

  it("the loaded module (proprietary 515.76) vs an installed open 590.44.01 module: version and flavour", () => {
    const f = parseFacts(
      capture(
        { "modinfo nvidia": NV("aikitoria-issue15-modinfo-open.txt") },
        { "/proc/driver/nvidia/version": NV("proc-version-proprietary-515.txt") },
      ),
    );
    const s = driverSummary(f);
    expect(s.flavour).toBe("proprietary");
    expect(s.flavourFrom).toBe("/proc/driver/nvidia/version");
    expect(s.conflicts.map((c) => [c.field, c.believed])).toEqual([
      ["version", "/proc/driver/nvidia/version"],
      ["flavour", "/proc/driver/nvidia/version"],
    ]);
    const titles = runChecks(f)
      .filter((x) => x.code === "evidence-conflict")
      .map((x) => x.title);
    expect(titles).toEqual([
      "The installed NVIDIA driver (590.44.01) is not the one running (515.76, /proc/driver/nvidia/version)",
      "The outputs disagree about the NVIDIA driver's flavour: proprietary (/proc/driver/nvidia/version) vs open",
    ]);
    expect(buildInspectReport(f).driver).toMatchObject({ version: "515.76", flavour: "proprietary" });
  });
});
