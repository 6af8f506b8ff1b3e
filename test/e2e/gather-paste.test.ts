/**
 * The built CLI on evidence from hosts without vgpuctl:
 *  - `vgpuctl gather-script` run with `sh` on this machine (plain Debian: no GPU, no Proxmox VE) writes a
 *    bundle that `inspect --host bundle:` reads; a token, a password and a MAC planted in captured files
 *    (VGPUCTL_GATHER_ROOT points the file reads into a temp tree) are not in it;
 *  - `doctor --paste`, `inspect --paste`, `support-bundle --from-paste` on a forum post;
 *  - empty, binary, garbage and oversized pastes: one clear line, exit 2, no stack trace.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Capture } from "../../src/facts/capture.ts";
import { gatherScript, newBoundary, parseGatherOutput } from "../../src/hosts/gather-script.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { redactCapture } from "../../src/redact/index.ts";
import { REPO, runCli } from "../helpers/cli.ts";

const tmp = mkdtempSync(join(tmpdir(), "vgpuctl-gather-e2e-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TOKEN = "PVEAPIToken=root@pam!ci=6f1c0b6e-93a4-4b7e-9d1f-2a3b4c5d6e7f";
const PASSWORD = "Sup3rS3cretPw";
const MAC = "BC:24:11:9A:8B:7C";

function plantRoot(): string {
  const root = join(tmp, "root");
  mkdirSync(join(root, "etc/pve/qemu-server"), { recursive: true });
  mkdirSync(join(root, "etc/modprobe.d"), { recursive: true });
  writeFileSync(
    join(root, "etc/pve/qemu-server/100.conf"),
    `name: win11\ncipassword: ${PASSWORD}\nnet0: virtio=${MAC},bridge=vmbr0\nhostpci0: 0000:01:00.0,mdev=nvidia-63\n`,
  );
  writeFileSync(join(root, "etc/modprobe.d/vfio.conf"), `# ${TOKEN}\noptions vfio-pci ids=10de:1e07\n`);
  return root;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("vgpuctl gather-script", () => {
  const script = runCli(["gather-script"]);
  const scriptPath = join(tmp, "vgpuctl-gather.sh");
  writeFileSync(scriptPath, script.stdout);
  const cwd = join(tmp, "run in here");
  mkdirSync(cwd);
  const run = spawnSync("sh", [scriptPath], {
    cwd,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", VGPUCTL_GATHER_ROOT: plantRoot() },
    timeout: 120_000,
  });
  const bundle = run.stdout.trim().split("\n").pop() ?? "";

  it("runs with sh in any folder and prints the bundle's path last", () => {
    expect(script.code).toBe(0);
    expect(script.stdout.startsWith("#!/bin/sh\n")).toBe(true);
    expect(run.status).toBe(0);
    expect(bundle).toMatch(new RegExp(`^${cwd}/vgpuctl-bundle-.*\\.tar\\.gz$`));
    expect(readdirSync(cwd)).toEqual([bundle.slice(cwd.length + 1)]);
  });

  it("inspect --host bundle: reads it: Proxmox VE null, no GPU, the planted VM config", () => {
    const r = runCli(["inspect", "--host", `bundle:${bundle}`, "--json"]);
    expect(r.code).toBe(0);
    const report = r.json();
    expect(report.pve).toBeNull();
    expect(report.gpus).toEqual([]);
    expect(report.vms.map((v: { vmid: number }) => v.vmid)).toEqual([100]);
    const doctor = runCli(["doctor", "--host", `bundle:${bundle}`, "--json"]);
    expect([0, 1]).toContain(doctor.code);
    expect(doctor.stderr).toBe("");
  });

  it("holds the same files, redacted the same, as support-bundle's capture of the same root", () => {
    const root = join(tmp, "root");
    const b = newBoundary();
    const raw = spawnSync("sh", ["-c", gatherScript(GATHER_SPEC, b, { rootVar: "R" })], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", R: root, LC_ALL: "C" },
    }).stdout;
    const cap: Capture = parseGatherOutput(raw, GATHER_SPEC, b, "pve");
    const files: Record<string, string> = {};
    for (const [p, text] of Object.entries(cap.files))
      if (p.startsWith(root)) files[p.slice(root.length)] = text;
    const expected = redactCapture({ ...cap, commands: [], notes: [], files }).files;
    const out = join(tmp, "unpacked-files");
    mkdirSync(out);
    expect(spawnSync("tar", ["-xzf", bundle, "-C", out]).status).toBe(0);
    const got: Record<string, string> = {};
    for (const f of filesUnder(join(out, "files")))
      got[f.slice(join(out, "files").length)] = readFileSync(f, "utf8");
    expect(Object.keys(expected).length).toBeGreaterThanOrEqual(2);
    expect(got).toEqual(expected);
  });

  it("the planted token, password and MAC are not in the bundle; their kinds are recorded", () => {
    const out = join(tmp, "unpacked");
    mkdirSync(out);
    expect(spawnSync("tar", ["-xzf", bundle, "-C", out]).status).toBe(0);
    const all = filesUnder(out).map((f) => readFileSync(f, "utf8"));
    expect(all.length).toBeGreaterThan(3);
    const text = all.join("\n");
    expect(text).not.toContain("6f1c0b6e-93a4-4b7e-9d1f-2a3b4c5d6e7f");
    expect(text).not.toContain(PASSWORD);
    expect(text.toLowerCase()).not.toContain(MAC.toLowerCase());
    expect(text).toContain("hostpci0: 0000:01:00.0,mdev=nvidia-63");
    const meta = JSON.parse(readFileSync(join(out, "bundle.json"), "utf8"));
    expect(meta.format).toBe("vgpuctl-bundle/1");
    expect(meta.redacted).toEqual(expect.arrayContaining(["mac-address", "secret"]));
  });
});

describe("pasted outputs", () => {
  const nv = (f: string) => readFileSync(join(REPO, "test/fixtures/facts-nvidia", f), "utf8");
  const post = join(tmp, "post.txt");
  writeFileSync(
    post,
    `My host:\r\n\r\nroot@pve:~# nvidia-smi\r\n${nv("akb486-nvidia-smi.txt").replaceAll("\n", "\r\n")}root@pve:~# mdevctl types\r\n${nv("akb486-mdevctl-types.txt").replaceAll("\n", "\r\n")}\r\nThanks!\r\n`,
  );

  it("doctor --paste prints what it recognised first, then the diagnosis; --json has the segments", () => {
    const r = runCli(["doctor", "--paste", post]);
    expect([0, 1]).toContain(r.code);
    expect(r.stdout.split("\n").slice(0, 5)).toEqual([
      "Read from the paste:",
      "  line 1: not recognised",
      expect.stringMatching(/^ {2}lines 3–\d+: nvidia-smi$/),
      expect.stringMatching(/^ {2}lines \d+–\d+: mdevctl types$/),
      expect.stringMatching(/^ {2}line \d+: not recognised$/),
    ]);
    expect(r.stdout).toContain("Doctor for pve");
    const j = runCli(["doctor", "--paste", post, "--json"]).json();
    expect(j.host).toBe("pve");
    expect(j.paste.segments.map((s: { recognised: string | null }) => s.recognised)).toEqual([
      null,
      "nvidia-smi",
      "mdevctl types",
      null,
    ]);
  });

  it("support-bundle --from-paste keeps it as a bundle that replays to the same findings", () => {
    const out = join(tmp, "from-paste.tar.gz");
    const r = runCli(["support-bundle", "--from-paste", post, "-o", out]);
    expect(r.code).toBe(0);
    const fromBundle = runCli(["doctor", "--host", `bundle:${out}`, "--json"]).json();
    const fromPaste = runCli(["doctor", "--paste", "-", "--json"], {}, readFileSync(post, "utf8")).json();
    expect(fromBundle.findings).toEqual(fromPaste.findings);
    const inspect = runCli(["inspect", "--paste", post, "--json"]).json();
    expect(inspect.gpus.length).toBeGreaterThan(0);
  });

  it.each([
    ["empty", "", /the paste is empty/],
    ["binary", "\u0000\u0001\u0002\u0003", /binary data/],
    ["garbage", "asdf qwer\nzxcv 1234\n", /nothing recognised in the paste/],
  ])("%s: one clear line, exit 2", (name, text, re) => {
    const file = join(tmp, `${name}.txt`);
    writeFileSync(file, text);
    const r = runCli(["doctor", "--paste", file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")[0]).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("100 MB: refused before reading, one line", () => {
    const file = join(tmp, "huge.txt");
    writeFileSync(file, Buffer.alloc(100 * 1024 * 1024, "a"));
    const r = runCli(["inspect", "--paste", file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^error: the paste is larger than 8 MiB/);
    rmSync(file);
  });
});
