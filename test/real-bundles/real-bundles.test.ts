/**
 * Real-world bundles: outputs users pasted in public threads, assembled in the DESIGN.md bundle format
 * with only what was pasted (test/fixtures/real-bundles/<name>/README.md: URL, known cause, expected codes;
 * sources in test/fixtures/real-bundles/SOURCES.md). `vgpuctl doctor` must find the thread's cause and
 * raise no `error` the cause does not justify; `vgpuctl inspect` must report what the paste shows.
 * Runs the built CLI (dist/vgpuctl.cjs; `npm run build` first). The same bundles with CRLF line ends
 * (pastes from Windows browsers) must give the same findings.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { baseCommand, Evidence, emptyCapture } from "../../src/facts/capture.ts";
import { dmesgDriver, pciDriversKnown } from "../../src/facts/derive.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { statusJournalLines, unitStateFromSystemctl } from "../../src/facts/system/systemctl.ts";
import { deviceIdForName } from "../../src/knowledge/gpus.ts";
import { REPO, runCli } from "../helpers/cli.ts";

const ROOT = join(REPO, "test/fixtures/real-bundles");

interface Finding {
  code: string;
  severity: "error" | "warning" | "info";
  title: string;
  evidence: string[];
  fix: string[];
}

interface Case {
  /** codes (with severity) the thread's cause must produce */
  expect: Array<{ code: string; severity: Finding["severity"]; text?: RegExp }>;
  /** `error` codes the cause justifies besides `expect` */
  allowErrors?: string[];
  /** codes that must not appear (false positives seen in the wild) */
  absent?: string[];
  inspect: {
    driver?: { version: string; vgpuRelease: string | null; loaded?: boolean | null } | null;
    gpus?: Array<{ address: string; deviceId: string | null; support: string; name?: RegExp }>;
  };
}

const CASES: Record<string, Case> = {
  // source: https://github.com/anomixer/proxmox-vgpu-installer/issues/15
  "anomixer-15-gtx1080-mdevctl-types-empty": {
    // the symptom the thread reports, read from the paste (nvidia-smi names the card, mdevctl types is empty)
    expect: [
      { code: "mdev-types-empty", severity: "error", text: /GTX 1080.*\n?[\s\S]*mdevctl types: empty/ },
    ],
    inspect: {
      driver: { version: "535.230.02", vgpuRelease: "16.9", loaded: true },
      gpus: [{ address: "0000:02:00.0", deviceId: null, support: "unlock", name: /GTX 1080/ }],
    },
  },
  // source: https://github.com/anomixer/proxmox-vgpu-installer/issues/29
  "anomixer-29-tesla-p100-driver-595": {
    expect: [{ code: "driver-branch-drops-gpu", severity: "error", text: /Pascal.*Tesla P100/ }],
    allowErrors: ["driver-not-loaded"],
    inspect: {
      driver: { version: "595.71.03", vgpuRelease: "20.1", loaded: false },
      gpus: [{ address: "0000:01:00.0", deviceId: "15f8", support: "native", name: /P100/ }],
    },
  },
  // source: https://github.com/NVIDIA/nvidia-installer/issues/15
  "nvidia-installer-15-rtx2070s-vgx-boards": {
    expect: [{ code: "vm-start-failed", severity: "error" }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/108
  "vgpu-unlock-108-quadro-k6000-kepler": {
    expect: [
      { code: "vgpud-rejected-gpu", severity: "error", text: /Quadro K6000/ },
      { code: "gpu-unsupported", severity: "error", text: /Kepler/ },
    ],
    inspect: {
      driver: null,
      gpus: [{ address: "0000:05:00.0", deviceId: "103a", support: "unsupported", name: /K6000/ }],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/63
  "vgpu-unlock-63-gtx1080-spoofed-as-p40": {
    expect: [],
    absent: ["vm-start-failed", "vgpu-mgr-inactive"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/71
  "vgpu-unlock-71-failed-to-get-vm-uuid": {
    expect: [{ code: "vm-start-failed", severity: "error" }],
    inspect: { driver: { version: "460.73.02", vgpuRelease: null }, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/29
  "vgpu-unlock-rs-29-rtx2060-vgpud-rejected": {
    expect: [{ code: "vgpud-rejected-gpu", severity: "error", text: /GeForce RTX 2060/ }],
    absent: ["gpu-unsupported"],
    inspect: {
      driver: null,
      gpus: [{ address: "0000:01:00.0", deviceId: "1e89", support: "unlock", name: /RTX 2060/ }],
    },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/31 (mkuznetsov), wvthoog/proxmox-vgpu-installer#5
  "vgpu-unlock-rs-31-p4-no-vgpu-host-driver": {
    expect: [{ code: "driver-missing", severity: "error", text: /vGPU host driver/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/31 (jl-DaDar)
  "vgpu-unlock-rs-31-vgpud-inactive-normal": {
    expect: [],
    absent: ["vgpu-mgr-inactive", "vgpud-rejected-gpu", "driver-missing"],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/mbilker/vgpu_unlock-rs/issues/51
  "vgpu-unlock-rs-51-params-size-v19": {
    expect: [{ code: "unlock-version-mismatch", severity: "warning", text: /structures/ }],
    inspect: { driver: null, gpus: [] },
  },
  // source: https://github.com/NVIDIA/gpu-operator/issues/554
  "gpu-operator-554-module-verification-taint": {
    expect: [],
    absent: ["secure-boot"],
    inspect: { driver: { version: "535.54.06", vgpuRelease: "16.0" }, gpus: [] },
  },
  // source: https://github.com/NVIDIA/kubevirt-gpu-device-plugin/issues/45
  "kubevirt-gpu-plugin-45-vfio-ids-leftover": {
    expect: [],
    absent: ["iommu-disabled"],
    inspect: {
      driver: null,
      gpus: [{ address: "0000:01:00.0", deviceId: "21c4", support: "unlock", name: /1660 SUPER/ }],
    },
  },
  // source: https://github.com/DualCoder/vgpu_unlock/issues/62
  "vgpu-unlock-62-gm200-465-not-vgpu-driver": {
    expect: [{ code: "driver-not-loaded", severity: "error", text: /not supported by the[\s\S]*465\.31/ }],
    inspect: {
      driver: { version: "465.31", vgpuRelease: null, loaded: false },
      // the kernel log names the card: "NVRM: The NVIDIA GPU 0000:01:00.0 (PCI ID: 10de:17f0)" (GM200GL)
      gpus: [{ address: "0000:01:00.0", deviceId: "17f0", support: "unlock", name: /Quadro M6000/ }],
    },
  },
  // source: https://github.com/wvthoog/proxmox-vgpu-installer/issues/12
  "wvthoog-12-t1000-misdetected": {
    expect: [],
    absent: ["gpu-unsupported", "driver-not-loaded", "driver-missing"],
    inspect: {
      driver: null,
      gpus: [{ address: "0000:01:00.0", deviceId: "1ff0", support: "unlock", name: /T1000/ }],
    },
  },
};

const tmp = mkdtempSync(join(tmpdir(), "vgpuctl-real-bundles-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function doctor(dir: string): { code: number; findings: Finding[] } {
  const r = runCli(["doctor", "--host", `bundle:${dir}`, "--json"]);
  expect(r.stderr).not.toMatch(/TypeError|ReferenceError|at .*\.cjs/);
  return { code: r.code, findings: r.json<{ findings: Finding[] }>().findings };
}

/** A copy of a bundle with every command output and file in CRLF. */
function crlfCopy(name: string): string {
  const dst = join(tmp, name);
  cpSync(join(ROOT, name), dst, { recursive: true });
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e !== "bundle.json" && e !== "README.md")
        writeFileSync(p, readFileSync(p, "utf8").replace(/\r?\n/g, "\r\n"));
    }
  };
  walk(dst);
  return dst;
}

describe("real-world bundles", () => {
  it("every fixture folder has a case and a README naming its source", () => {
    const dirs = readdirSync(ROOT).filter((d) => statSync(join(ROOT, d)).isDirectory());
    expect(dirs.sort()).toEqual(Object.keys(CASES).sort());
    for (const d of dirs)
      expect(readFileSync(join(ROOT, d, "README.md"), "utf8")).toMatch(/https:\/\/github\.com\//);
  });

  for (const [name, c] of Object.entries(CASES)) {
    describe(name, () => {
      const dir = join(ROOT, name);
      it("doctor finds the thread's cause and no unjustified error", () => {
        const { code, findings } = doctor(dir);
        for (const e of c.expect) {
          const f = findings.find((x) => x.code === e.code);
          expect(f, `${e.code} in ${JSON.stringify(findings.map((x) => x.code))}`).toBeDefined();
          expect(f!.severity).toBe(e.severity);
          if (e.text) expect(`${f!.title}\n${f!.evidence.join("\n")}`).toMatch(e.text);
          expect(f!.evidence.length).toBeGreaterThan(0);
          expect(f!.fix.length).toBeGreaterThan(0);
        }
        const allowed = new Set([...c.expect.map((e) => e.code), ...(c.allowErrors ?? [])]);
        const unjustified = findings.filter((f) => f.severity === "error" && !allowed.has(f.code));
        expect(unjustified.map((f) => `${f.code}: ${f.title}`)).toEqual([]);
        for (const a of c.absent ?? []) expect(findings.map((f) => f.code)).not.toContain(a);
        expect(findings.map((f) => f.code)).not.toContain("check-failed");
        expect(code).toBe(findings.some((f) => f.severity === "error") ? 1 : 0);
      });

      it("the same paste with CRLF line ends gives the same findings", () => {
        const a = doctor(dir).findings.map((f) => `${f.severity} ${f.code}`);
        const b = doctor(crlfCopy(name)).findings.map((f) => `${f.severity} ${f.code}`);
        expect(b).toEqual(a);
      });

      it("inspect reports what the paste shows", () => {
        const r = runCli(["inspect", "--host", `bundle:${dir}`, "--json"]);
        expect(r.code).toBe(0);
        const rep = r.json();
        if (c.inspect.driver === null) expect(rep.driver).toBeNull();
        else if (c.inspect.driver) expect(rep.driver).toMatchObject(c.inspect.driver);
        if (c.inspect.gpus) {
          expect(rep.gpus.map((g: { address: string }) => g.address)).toEqual(
            c.inspect.gpus.map((g) => g.address),
          );
          c.inspect.gpus.forEach((want, i) => {
            const g = rep.gpus[i];
            expect(g).toMatchObject({
              address: want.address,
              deviceId: want.deviceId,
              support: want.support,
            });
            if (want.name) expect(g.name).toMatch(want.name);
          });
        }
        expect(Array.isArray(rep.notes)).toBe(true);
      });
    });
  }
});

describe("variants people paste", () => {
  const cap = (commands: Array<[string, string, number?]>) => {
    const c = emptyCapture("h", "2026-01-31T12:00:00Z");
    c.commands = commands.map(([cmd, stdout, exitCode]) => ({ cmd, stdout, exitCode: exitCode ?? 0 }));
    return c;
  };

  it("sudo and `| grep` pipes are read for filter-safe commands only", () => {
    // source: anomixer/proxmox-vgpu-installer#29 (lspci -nn | grep -Ei …) and #12
    expect(
      baseCommand("lspci -nn | grep -Ei '(VGA compatible controller|3D controller).*NVIDIA Corporation'"),
    ).toEqual({ base: "lspci -nn", filtered: true });
    expect(baseCommand("sudo mdevctl types")).toEqual({ base: "mdevctl types", filtered: false });
    expect(baseCommand("dmesg | sort")).toBeNull();
    expect(baseCommand("uname -r")).toBeNull();
    const ev = new Evidence(
      cap([
        ["dmesg | grep -i nvrm", "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.230.02\n"],
        ["lsmod | grep vfio", "nvidia_vgpu_vfio       77824  0\n"],
        ["sudo mdevctl types", ""],
      ]),
    );
    expect(ev.command("dmesg")?.cmd).toBe("dmesg | grep -i nvrm");
    // a filtered lsmod would make every other module look unloaded
    expect(ev.command("lsmod")).toBeUndefined();
    expect(ev.command("mdevctl types")?.cmd).toBe("sudo mdevctl types");
  });

  it("lspci -d 10de: is a filtered lspci; amd_iommu_v2's 'not a bug' line is no IOMMU verdict", () => {
    // source: NVIDIA/kubevirt-gpu-device-plugin#45
    expect(baseCommand("lspci -nnk -d 10de:")).toEqual({ base: "lspci -nnk", filtered: true });
    const f = parseFacts(
      cap([
        [
          'dmesg | grep -E "DMAR|IOMMU"',
          "[    0.828434] AMD-Vi: AMD IOMMUv2 functionality not available on this system - This is not a bug.\n",
        ],
      ]),
    );
    expect(f.dmesg?.iommuDisabledLines).toEqual([]);
  });

  it("lspci without -k: drivers are unknown, not unbound", () => {
    // source: wvthoog/proxmox-vgpu-installer#12
    const f = parseFacts(
      cap([
        [
          "lspci -nn | grep NVIDIA",
          "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation TU117GL [T1000 8GB] [10de:1ff0] (rev a1)\n",
        ],
      ]),
    );
    expect(f.pci?.[0]?.deviceId).toBe("1ff0");
    expect(pciDriversKnown(f)).toBe(false);
  });

  it("the driver version from NVRM lines of a legacy-GPU refusal", () => {
    // source: anomixer/proxmox-vgpu-installer#29 (maintainer quoting the user's log)
    const f = parseFacts(
      cap([
        [
          "dmesg",
          "NVRM:  supported through the NVIDIA 580.xx Legacy drivers.\nNVRM:  The 595.71.03 NVIDIA driver will ignore\nNVRM: No NVIDIA GPU found.\n",
        ],
      ]),
    );
    expect(dmesgDriver(f)).toEqual({ version: "595.71.03", ignoring: true });
  });

  it("systemctl status/enable outputs give the unit state and the journal tail", () => {
    // source: mbilker/vgpu_unlock-rs#31 (both comments)
    expect(
      unitStateFromSystemctl(
        "nvidia-vgpud.service",
        "Failed to enable unit: Unit file nvidia-vgpud.service does not exist.\n",
      ),
    ).toBe("not-found");
    const status =
      "● nvidia-vgpud.service - NVIDIA vGPU Daemon\n     Active: inactive (dead) since Fri 2023-07-14 11:18:16 CST; 21s ago\n\nJul 14 11:18:16 pve nvidia-vgpud[10989]: PID file closed.\n";
    expect(unitStateFromSystemctl("nvidia-vgpud.service", status)).toBe("inactive");
    expect(unitStateFromSystemctl("nvidia-vgpu-mgr.service", status)).toBeNull();
    expect(statusJournalLines(status)).toBe("Jul 14 11:18:16 pve nvidia-vgpud[10989]: PID file closed.");
    const f = parseFacts(cap([["systemctl status nvidia-vgpud.service", status, 3]]));
    expect(f.services).toEqual({ "nvidia-vgpud.service": "inactive" });
    expect(f.journals.vgpud).toEqual(["PID file closed."]);
  });

  it("a GPU named by nvidia-smi is identified only by an exact, unambiguous name", () => {
    // source: anomixer/proxmox-vgpu-installer#15 ("NVIDIA GeForce GTX 1080"), DualCoder/vgpu_unlock#75 ("GeForce GTX 105...")
    expect(deviceIdForName("NVIDIA GeForce GTX 1080")).toBe("1b80");
    expect(deviceIdForName("GeForce GTX 105...")).toBeNull();
    expect(deviceIdForName("")).toBeNull();
  });
});
