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
import { checkDriver } from "../../src/checks/driver.ts";
import { defaultKb } from "../../src/checks/kb.ts";
import { baseCommand, Evidence, emptyCapture } from "../../src/facts/capture.ts";
import { dmesgDriver, pciDriversKnown } from "../../src/facts/derive.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { statusJournalLines, unitStateFromSystemctl } from "../../src/facts/system/systemctl.ts";
import { classDeviceIdForName, classifyGpu, deviceIdForName } from "../../src/knowledge/gpus.ts";
import { REPO, runCli } from "../helpers/cli.ts";
import { CASES, type Finding } from "./cases.ts";

const ROOT = join(REPO, "test/fixtures/real-bundles");

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
    expect(dirs.filter((d) => !(d in CASES))).toEqual([]);
    for (const name of Object.keys(CASES)) expect(dirs).toContain(name);
    for (const d of dirs)
      expect(readFileSync(join(ROOT, d, "README.md"), "utf8")).toMatch(/https:\/\/github\.com\//);
  });

  for (const [name, c] of Object.entries(CASES)) {
    describe(name, () => {
      const dir = join(ROOT, name);
      it("doctor finds the thread's cause and no unjustified error", () => {
        const { code, findings } = doctor(dir);
        for (const e of c.expect) {
          // a code may be raised more than once (journal and task log): the one the text names counts
          const text = (x: Finding) => `${x.title}\n${x.evidence.join("\n")}`;
          const f = findings.find((x) => x.code === e.code && (!e.text || e.text.test(text(x))));
          expect(f, `${e.code} ${e.text ?? ""} in ${JSON.stringify(findings.map(text))}`).toBeDefined();
          expect(f!.severity).toBe(e.severity);
          expect(f!.evidence.length).toBeGreaterThan(0);
          expect(f!.fix.length).toBeGreaterThan(0);
        }
        const allowed = new Set([...c.expect.map((e) => e.code), ...(c.allowErrors ?? [])]);
        const unjustified = findings.filter((f) => f.severity === "error" && !allowed.has(f.code));
        expect(unjustified.map((f) => `${f.code}: ${f.title}`)).toEqual([]);
        for (const a of c.absent ?? []) expect(findings.map((f) => f.code)).not.toContain(a);
        if (c.healthy)
          expect(findings.filter((f) => f.severity !== "info").map((f) => `${f.code}: ${f.title}`)).toEqual(
            [],
          );
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
        if (c.inspect.kind !== undefined) expect(rep.driver?.kind ?? null).toBe(c.inspect.kind);
        if (c.inspect.gpus) {
          expect(rep.gpus.map((g: { address: string }) => g.address)).toEqual(
            c.inspect.gpus.map((g) => g.address),
          );
          c.inspect.gpus.forEach((want, i) => {
            const g = rep.gpus[i];
            expect(g).toMatchObject({ address: want.address, deviceId: want.deviceId });
            if (want.support) expect(g.support).toBe(want.support);
            if (want.name) expect(g.name).toMatch(want.name);
            if (want.reason) expect(g.supportReason).toMatch(want.reason);
            if (want.mdevTypes !== undefined) expect(g.mdevTypes).toHaveLength(want.mdevTypes);
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

  it("driver-not-vgpu from the driver's kind other outputs prove, without lsmod", () => {
    // the regular driver package (remz1337/Proxmox#8: "nvidia-driver" for LXC/CUDA) and nvidia-smi naming the GPU
    const f = parseFacts(
      cap([
        [
          "dpkg-query -W -f='${Package}\t${Version}\n'",
          "nvidia-driver\t535.216.01-1\nnvidia-kernel-dkms\t535.216.01-1\n",
        ],
        [
          "nvidia-smi",
          "| NVIDIA-SMI 535.216.01             Driver Version: 535.216.01   CUDA Version: 12.2     |\n",
        ],
      ]),
    );
    const codes = checkDriver(f, defaultKb).map((x) => `${x.code}: ${x.evidence.join(" | ")}`);
    expect(codes.find((c) => c.startsWith("driver-not-vgpu"))).toMatch(/packages: the regular NVIDIA driver/);
  });

  it("a name nvidia-smi cut short classes the GPU only when every board it names has one class", () => {
    // source: DualCoder/vgpu_unlock#75 ("GeForce GTX 105..." = GTX 1050 / 1050 Ti / 1050 3GB, all Pascal consumer)
    const id = classDeviceIdForName("GeForce GTX 105...");
    expect(id).not.toBeNull();
    expect(classifyGpu({ deviceId: id! })).toMatchObject({ generation: "pascal", support: "unlock" });
    // GTX 970 cannot do vGPU, GTX 980 can (with unlock): "GeForce GTX 9..." names two classes
    expect(classDeviceIdForName("GeForce GTX 9...")).toBeNull();
    // a prefix shorter than 8 characters never counts
    expect(classDeviceIdForName("Tesla ...")).toBeNull();
    expect(classDeviceIdForName("NVIDIA GeForce GTX 1080")).toBe("1b80");
  });
});
