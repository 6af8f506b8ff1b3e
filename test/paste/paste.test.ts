/**
 * `--paste`: forum-post text → the outputs it holds, recognised by their shape, stored where a support
 * bundle keeps them. The outputs are real ones (test/fixtures/facts-nvidia, facts-system, real-bundles:
 * sources in each folder's SOURCES.md); the prose around them is the kind people write.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildDoctorReport } from "../../src/commands/doctor.ts";
import { type Capture, emptyCapture } from "../../src/facts/capture.ts";
import { deriveIommu } from "../../src/facts/derive.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { MAX_PASTE_BYTES, readPaste, renderRecognition } from "../../src/paste/index.ts";
import { REPO } from "../helpers/cli.ts";

const NOW = "2026-01-01T00:00:00Z";
const fx = (p: string) => readFileSync(join(REPO, "test/fixtures", p), "utf8").replace(/\n$/, "");
const NV = (f: string) => fx(`facts-nvidia/${f}`);
const SYS = (f: string) => fx(`facts-system/${f}`);
const RB = (f: string) => fx(`real-bundles/${f}`);

const read = (text: string, host?: string) => readPaste(text, { now: NOW, ...(host ? { host } : {}) });
const labels = (text: string) => read(text).segments.map((s) => s.recognised);
const cmds = (c: Capture) => c.commands.map((x) => x.cmd);

/** The findings doctor gives, without what only says where evidence came from. */
function findings(c: Capture) {
  return buildDoctorReport(parseFacts(c)).findings.map((f) => ({
    code: f.code,
    severity: f.severity,
    title: f.title,
    evidence: f.evidence,
  }));
}

describe("a forum post is diagnosed like a bundle of the same outputs", () => {
  // real outputs of two hosts (akb486: a working host; vgpu-unlock#71: its vgpu-mgr journal)
  const smi = NV("akb486-nvidia-smi.txt");
  const types = NV("akb486-mdevctl-types.txt");
  const journal = RB("vgpu-unlock-71-failed-to-get-vm-uuid/commands/journalctl-u-nvidia-vgpu-mgr.txt");
  const bundle = emptyCapture("pve", NOW);
  bundle.commands.push(
    { cmd: "nvidia-smi", stdout: `${smi}\n`, exitCode: 0 },
    { cmd: "mdevctl types", stdout: `${types}\n`, exitCode: 0 },
    {
      cmd: "journalctl --no-pager -b 0 -u nvidia-vgpu-mgr.service",
      stdout: `${journal}\n`,
      exitCode: 0,
    },
  );
  const post = [
    "Hi, after installing the patched driver my VM won't start. Output below:",
    "",
    "root@pve:~# nvidia-smi",
    smi,
    "root@pve:~# mdevctl types",
    types,
    "",
    "And the vgpu-mgr journal (`journalctl -u nvidia-vgpu-mgr`):",
    "```",
    "root@pve:~# journalctl -u nvidia-vgpu-mgr",
    journal,
    "```",
    "Thanks in advance!",
  ].join("\n");

  it("the same findings (codes, titles, evidence) as the bundle", () => {
    const expected = findings(bundle);
    expect(expected.length).toBeGreaterThan(0);
    expect(findings(read(post).capture)).toEqual(expected);
  });

  it("the same with Windows line ends", () => {
    expect(findings(read(post.replaceAll("\n", "\r\n")).capture)).toEqual(findings(bundle));
  });

  it("reports what it recognised where, prose as not recognised, the prompt's host as the host", () => {
    const r = read(post);
    expect(r.capture.host).toBe("pve");
    const report = renderRecognition(r);
    expect(report[0]).toBe("line 1: not recognised");
    expect(report).toContain(`lines 3–${3 + smi.split("\n").length}: nvidia-smi`);
    expect(report.some((l) => /: mdevctl types$/.test(l))).toBe(true);
    expect(report.some((l) => /: journal \(typed: journalctl -u nvidia-vgpu-mgr\)$/.test(l))).toBe(true);
    expect(report[report.length - 1]).toMatch(/^line \d+: not recognised$/);
  });
});

describe("outputs recognised by shape, without a prompt", () => {
  it.each([
    ["nvidia-smi", NV("akb486-nvidia-smi.txt")],
    ["nvidia-smi vgpu", NV("akb486-nvidia-smi-vgpu.txt")],
    ["nvidia-smi -q", NV("cubecos-nvidia-smi-q.txt")],
    ["nvidia-smi vgpu -q", NV("akb486-nvidia-smi-vgpu-q.txt")],
    ["nvidia-smi (failed)", NV("ci-for-research-issue40-nvidia-smi-failed.txt")],
    ["mdevctl types", NV("akb486-mdevctl-types.txt")],
    ["mdevctl list", NV("mdevctl-testdata-list-defined.txt")],
    ["lspci", SYS("lspci-nnk-no-domain.txt")],
    ["dmesg", SYS("dmesg-seed-intel.txt")],
    ["dkms status", SYS("dkms-nvidia-new.txt")],
    ["pveversion -v", SYS("pveversion-8.2.txt")],
    ["/proc/driver/nvidia/version", NV("proc-version-proprietary-515.txt")],
    ["lsmod", SYS("lsmod-vgpu.txt")],
  ])("%s", (label, text) => {
    const post = `Here is the output:\n\n${text.trim()}\n\nWhat is wrong?`;
    expect(labels(post)).toEqual([null, label, null]);
  });

  it("a journal excerpt goes to each program's journal (kernel lines as the kernel log), kept as partial", () => {
    const r = read(`${SYS("journal-kernel-vfio.txt")}\n${SYS("journal-vgpud.txt")}`);
    expect(cmds(r.capture)).toEqual(["journalctl -k", "journalctl -u nvidia-vgpud"]);
    expect(r.capture.commands.every((c) => c.partial === true)).toBe(true);
    const f = parseFacts(r.capture);
    expect(f.journals.vgpud?.length).toBe(SYS("journal-vgpud.txt").split("\n").length);
    expect(f.dmesg?.vfio.length).toBeGreaterThan(0);
  });

  it("/proc/driver/nvidia/version becomes the file, read as the loaded driver", () => {
    const r = read(NV("proc-version-proprietary-515.txt"));
    expect(Object.keys(r.capture.files)).toEqual(["/proc/driver/nvidia/version"]);
    expect(parseFacts(r.capture).loadedDriverVersion).toBe("515.76");
  });
});

describe("prompts, fences and elisions", () => {
  it("`nvidia-smi -i 0 -q` is read as nvidia-smi -q; a filtered command stays filtered", () => {
    const r = read(
      `$ nvidia-smi -i 0 -q\n${NV("cubecos-nvidia-smi-q.txt")}\n$ sudo dmesg | grep -i nvrm\n[  5.1] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.104.06\n`,
    );
    expect(cmds(r.capture)).toEqual(["nvidia-smi -q", "sudo dmesg | grep -i nvrm"]);
    expect(parseFacts(r.capture).nvidiaSmiQuery?.driverVersion).toBe("580.105.06");
  });

  it("a markdown heading is not a prompt; `# cmd` of a known program is", () => {
    const r = read(`# My setup\n# mdevctl types\n${NV("akb486-mdevctl-types.txt")}`);
    expect(r.segments.map((s) => s.recognised)).toEqual([null, "mdevctl types"]);
  });

  it("a command with no output followed by prose keeps the prose out of the output", () => {
    const r = read("root@pve:~# mdevctl types\n\nIt prints nothing at all.\n");
    expect(r.capture.commands).toEqual([{ cmd: "mdevctl types", stdout: "", exitCode: 0 }]);
    expect(renderRecognition(r)).toEqual(["line 1: mdevctl types", "line 3: not recognised"]);
  });

  it("`cat FILE` becomes the file; an output no shape describes stays under the command typed", () => {
    const r = read(
      "root@pve:~# cat /etc/modprobe.d/blacklist.conf\nblacklist nouveau\nroot@pve:~# qm start 100\nerror: no such VM\n",
    );
    expect(r.capture.files).toEqual({ "/etc/modprobe.d/blacklist.conf": "blacklist nouveau\n" });
    expect(cmds(r.capture)).toEqual(["qm start 100"]);
  });

  it("an elided dmesg is partial: IOMMU is not concluded off from a missing line", () => {
    const text = [
      "[    0.000000] Linux version 5.15.0-1-pve (build@proxmox) #1 SMP PVE 5.15.102-1",
      "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-5.15.102-1-pve root=/dev/mapper/pve-root ro quiet",
      "…",
      "[    5.123456] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  525.85.07  Sat Jan 21 2023",
    ].join("\n");
    const prompted = read(`# dmesg\n${text}`);
    expect(prompted.segments[0]?.partial).toBe(true);
    expect(deriveIommu(parseFacts(prompted.capture)).enabled).toBeNull();
    const whole = read(`# dmesg\n${text.replace("…\n", "")}`);
    expect(deriveIommu(parseFacts(whole.capture)).enabled).toBe(false);
  });

  it("markdown quotes (> ) are unwrapped", () => {
    const quoted = NV("akb486-mdevctl-types.txt")
      .split("\n")
      .map((l) => `> ${l}`)
      .join("\n");
    expect(labels(`> root@pve:~# mdevctl types\n${quoted}`)).toEqual(["mdevctl types"]);
  });
});

describe("what cannot be read is one clear line", () => {
  it.each([
    ["empty", "", /the paste is empty/],
    ["blank", "  \n\n", /the paste is empty/],
    ["binary", "\u0000\u0001\u0002ELF", /binary data/],
    ["control characters", "\u0001\u0002\u0003\u0004\u0005abc", /binary data/],
  ])("%s", (_name, text, re) => {
    const r = read(text);
    expect(r.refused).toMatch(re);
    expect(renderRecognition(r)).toHaveLength(1);
    expect(r.capture.commands).toEqual([]);
  });

  it("larger than the cap", () => {
    const r = read("x".repeat(MAX_PASTE_BYTES + 1));
    expect(r.refused).toMatch(/larger than 8 MiB/);
  });

  it("garbage is 'nothing recognised', and nothing is stored", () => {
    const r = read("lorem ipsum dolor sit amet\nfoo: bar\n12345\n");
    expect(renderRecognition(r)[0]).toBe("nothing recognised in the paste");
    expect(r.capture.commands).toEqual([]);
    expect(r.capture.files).toEqual({});
  });
});

describe("a paste kept as a bundle (support-bundle --from-paste)", () => {
  it("keeps partial outputs partial when written and read back", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { readBundle, writeBundle } = await import("../../src/hosts/bundle/bundle-io.ts");
    const r = read(
      `[    0.1] Linux version 6.8.12-4-pve\n…\n[    5.2] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.230.02\n`,
    );
    expect(r.capture.commands.map((c) => [c.cmd, c.partial])).toEqual([["dmesg", true]]);
    const dir = mkdtempSync(join(tmpdir(), "vgpuctl-paste-"));
    try {
      await writeBundle(r.capture, join(dir, "b.tar.gz"));
      const back = await readBundle(join(dir, "b.tar.gz"));
      expect(back.commands.map((c) => [c.cmd, c.partial])).toEqual([["dmesg", true]]);
      expect(deriveIommu(parseFacts(back)).enabled).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
