/**
 * `vgpuctl support-bundle` → `vgpuctl doctor --host bundle:…` round trips through the built CLI
 * (dist/vgpuctl.cjs; `npm run build` first), redaction of the VMs' MAC addresses, and bad bundles
 * refused with exit 2 and one clear error line (DESIGN.md "Bundle format", issue #4 "Done means").
 * source: the bundles are captured from the simulated host (src/hosts/sim scenarios vfio-leftover,
 * seed-configured); the bad inputs are built here with node:zlib + tar-stream.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findScenario } from "../../src/hosts/sim/scenarios/index.ts";
import { runCli, tempSimDir } from "../helpers/cli.ts";

interface JsonFinding {
  code: string;
  severity: string;
  gpu?: string;
}

let simDir: string;
let tmp: string;
const env = () => ({ VGPUCTL_SIM_DIR: simDir });

beforeAll(() => {
  simDir = tempSimDir();
  tmp = mkdtempSync(join(tmpdir(), "vgpuctl-bundle-e2e-"));
});
afterAll(() => {
  rmSync(simDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

function doctor(host: string): { code: number; findings: Array<[string, string, string | null]> } {
  const r = runCli(["doctor", "--host", host, "--json"], env());
  expect(r.stderr, host).toBe("");
  const findings = r
    .json<{ findings: JsonFinding[] }>()
    .findings.map((f): [string, string, string | null] => [f.code, f.severity, f.gpu ?? null]);
  return { code: r.code, findings };
}

function bundle(scenario: string, out: string): void {
  const r = runCli(["support-bundle", "--host", `sim:${scenario}`, "-o", out], env());
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(`Wrote ${out}`);
}

async function tarEntries(gz: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((res, rej) => {
    extract.on("finish", () => res());
    extract.on("error", rej);
  });
  extract.on("entry", (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: unknown) => chunks.push(c as Buffer));
    stream.on("end", () => {
      out.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  extract.end(gunzipSync(gz));
  await done;
  return out;
}

async function makeTarGz(
  entries: Array<{ name: string; content?: string; type?: "symlink"; linkname?: string }>,
): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (b: unknown) => chunks.push(b as Buffer));
  const done = new Promise<void>((r) => pack.on("end", () => r()));
  for (const e of entries) {
    if (e.type === "symlink") pack.entry({ name: e.name, type: "symlink", linkname: e.linkname });
    else pack.entry({ name: e.name }, e.content ?? "");
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

function walk(dir: string): Array<{ path: string; content: string }> {
  const out: Array<{ path: string; content: string }> = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push({ path: p, content: readFileSync(p, "utf8") });
  }
  return out;
}

/** MAC addresses in the scenario's VM configs (what must not leave the host). */
function vmMacs(scenario: string): string[] {
  const s = findScenario(scenario)!.build();
  const macs: string[] = [];
  for (const vm of s.vms)
    for (const v of Object.values(vm.config))
      for (const m of v.matchAll(/\b[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}\b/g)) macs.push(m[0]);
  return macs;
}

/** A refused bundle: exit 2, nothing on stdout, one `error:` line (plus at most one `fix:` hint), no stack. */
function expectRefused(spec: string, message: RegExp): string {
  for (const json of [false, true]) {
    const r = runCli(["doctor", "--host", spec, ...(json ? ["--json"] : [])], env());
    expect(r.code, `${spec}: ${r.stderr}`).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(message);
    expect(lines.length).toBeLessThanOrEqual(2);
    if (lines[1] !== undefined) expect(lines[1]).toMatch(/^ {2}fix: /);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  }
  return runCli(["doctor", "--host", spec], env()).stderr;
}

describe("round trip: support-bundle → doctor --host bundle:", () => {
  it("sim:vfio-leftover as .tar.gz gives the same findings and exit status as the sim", () => {
    const sim = doctor("sim:vfio-leftover");
    expect(sim.findings.map((f) => f[0])).toEqual(expect.arrayContaining(["vfio-bound"]));
    const out = join(tmp, "x.tar.gz");
    bundle("vfio-leftover", out);
    expect(readFileSync(out).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip magic
    const replay = doctor(`bundle:${out}`);
    expect(replay.findings).toEqual(sim.findings);
    expect(replay.code).toBe(sim.code);
    expect(replay.code).toBe(1);
  });

  it("the same as a directory bundle", () => {
    const sim = doctor("sim:vfio-leftover");
    const out = join(tmp, "vfio-dir");
    bundle("vfio-leftover", out);
    expect(existsSync(join(out, "bundle.json"))).toBe(true);
    const replay = doctor(`bundle:${out}`);
    expect(replay.findings).toEqual(sim.findings);
    expect(replay.code).toBe(sim.code);
  });

  it("a healthy host round-trips to no findings (exit 0)", () => {
    const out = join(tmp, "healthy.tar.gz");
    bundle("seed-configured", out);
    const replay = doctor(`bundle:${out}`);
    expect(replay.findings).toEqual([]);
    expect(replay.code).toBe(0);
  });

  it("round-trips a fault that needs journal + VM evidence (vm-start-failed)", () => {
    const sim = doctor("sim:vm-start-failed");
    const out = join(tmp, "vm-start.tar.gz");
    bundle("vm-start-failed", out);
    const replay = doctor(`bundle:${out}`);
    expect(replay.findings.map((f) => f[0])).toContain("vm-start-failed");
    expect(replay.findings).toEqual(sim.findings);
  });
});

describe("redaction", () => {
  it("no MAC address of the VM configs is in the tarball; bundle.json says what was redacted", async () => {
    const macs = vmMacs("vfio-leftover");
    expect(macs.length).toBeGreaterThanOrEqual(2); // net0 of VMs 100 and 101
    const out = join(tmp, "redact.tar.gz");
    bundle("vfio-leftover", out);
    const entries = await tarEntries(readFileSync(out));
    const confs = [...entries.keys()].filter((n) => /qemu-server\/\d+\.conf$/.test(n));
    expect(confs.length).toBeGreaterThanOrEqual(2);
    for (const [name, content] of entries) {
      const text = content.toString("utf8").toLowerCase();
      for (const mac of macs) expect(text.includes(mac.toLowerCase()), `${mac} in ${name}`).toBe(false);
    }
    // the VM config is still there, with a placeholder in place of the MAC
    const conf = entries.get(confs[0]!)!.toString("utf8");
    expect(conf).toMatch(/^net0: virtio=[0-9A-F:]{17},bridge=vmbr0/m);
    const meta = JSON.parse(entries.get("bundle.json")!.toString("utf8")) as { redacted: string[] };
    expect(meta.redacted.join(" ")).toMatch(/mac/i);
  });

  it("no MAC address in a directory bundle either", () => {
    const macs = vmMacs("vfio-leftover");
    const out = join(tmp, "redact-dir");
    bundle("vfio-leftover", out);
    const files = walk(out);
    expect(files.some((f) => /qemu-server\/100\.conf$/.test(f.path))).toBe(true);
    for (const f of files)
      for (const mac of macs) expect(f.content.toLowerCase().includes(mac.toLowerCase()), f.path).toBe(false);
  });
});

describe("bad bundles are refused: exit 2, one clear line, nothing read outside", () => {
  it("corrupt tarballs: random bytes, gzip of garbage, a truncated bundle", () => {
    const random = join(tmp, "random.tar.gz");
    writeFileSync(random, Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 97 + 13) % 256)));
    expectRefused(`bundle:${random}`, /cannot read bundle .*random\.tar\.gz/);

    const garbage = join(tmp, "garbage.tar.gz");
    writeFileSync(garbage, gzipSync(Buffer.from("this is not a tar archive\n".repeat(40))));
    expectRefused(`bundle:${garbage}`, /garbage\.tar\.gz/);

    const good = join(tmp, "good-for-truncation.tar.gz");
    bundle("seed-configured", good);
    const truncated = join(tmp, "truncated.tar.gz");
    const bytes = readFileSync(good);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expectRefused(`bundle:${truncated}`, /truncated\.tar\.gz/);
  });

  it("a foreign tarball (an npm package) is not a vgpuctl bundle", async () => {
    const foreign = join(tmp, "foreign.tar.gz");
    writeFileSync(
      foreign,
      await makeTarGz([
        { name: "package/package.json", content: '{"name":"left-pad","version":"1.3.0"}\n' },
        { name: "package/index.js", content: "module.exports = leftPad;\n" },
      ]),
    );
    expectRefused(`bundle:${foreign}`, /not a vgpuctl bundle/);
  });

  it("bundle.json of another format version (vgpuctl-bundle/2), as tarball and as directory", async () => {
    const dir = join(tmp, "v2-dir");
    bundle("seed-configured", dir);
    const metaPath = join(dir, "bundle.json");
    const meta = JSON.parse(readFileSync(metaPath, "utf8")) as { format: string };
    meta.format = "vgpuctl-bundle/2";
    writeFileSync(metaPath, JSON.stringify(meta));
    expectRefused(`bundle:${dir}`, /vgpuctl-bundle\/2.*vgpuctl-bundle\/1/);

    const tgz = join(tmp, "v2.tar.gz");
    writeFileSync(
      tgz,
      await makeTarGz([
        { name: "bundle.json", content: JSON.stringify(meta) },
        { name: "files/proc/cmdline", content: "BOOT_IMAGE=/boot/vmlinuz-5.15.102-1-pve ro quiet\n" },
      ]),
    );
    expectRefused(`bundle:${tgz}`, /unsupported bundle format "vgpuctl-bundle\/2"/);
  });

  it("a tar with a ../evil entry (and an absolute one, and a symlink) is refused and writes nothing", async () => {
    const okMeta = JSON.stringify({
      format: "vgpuctl-bundle/1",
      host: "evil",
      capturedAt: "2026-01-31T12:00:00Z",
      commands: [],
      capturedPaths: ["/proc/cmdline"],
      redacted: [],
    });
    const sub = join(tmp, "evil", "inner");
    mkdirSync(sub, { recursive: true });
    const cases: Array<[string, Parameters<typeof makeTarGz>[0], RegExp]> = [
      [
        "dotdot",
        [
          { name: "bundle.json", content: okMeta },
          { name: "../evil", content: "pwned\n" },
        ],
        /\.\./,
      ],
      [
        "nested-dotdot",
        [
          { name: "bundle.json", content: okMeta },
          { name: "files/../../evil", content: "pwned\n" },
        ],
        /\.\./,
      ],
      [
        "absolute",
        [
          { name: "bundle.json", content: okMeta },
          { name: "/tmp/evil-absolute", content: "pwned\n" },
        ],
        /absolute path/,
      ],
      [
        "symlink",
        [
          { name: "bundle.json", content: okMeta },
          { name: "files/proc/cmdline", type: "symlink", linkname: "/etc/passwd" },
        ],
        /symlink/,
      ],
    ];
    for (const [name, entries, message] of cases) {
      const p = join(sub, `${name}.tar.gz`);
      writeFileSync(p, await makeTarGz(entries));
      const before = readdirSync(dirname(sub)).sort();
      const stderr = expectRefused(`bundle:${p}`, message);
      expect(stderr).not.toContain("root:x:0:0");
      // nothing was extracted next to, or above, the tarball
      expect(readdirSync(dirname(sub)).sort()).toEqual(before);
      expect(readdirSync(sub).sort()).toEqual(
        readdirSync(sub)
          .filter((n) => n.endsWith(".tar.gz"))
          .sort(),
      );
      expect(existsSync(join(tmp, "evil", "evil"))).toBe(false);
      expect(existsSync(join(process.cwd(), "..", "evil"))).toBe(false);
    }
  });

  it("a directory bundle with a symlink to /etc/passwd (or to any file outside) is refused unread", () => {
    const secret = join(tmp, "outside-secret.txt");
    writeFileSync(secret, "TOP-SECRET-MARKER-1c9e\n");

    const passwd = join(tmp, "link-passwd");
    bundle("seed-configured", passwd);
    const hostname = join(passwd, "files", "etc", "hostname");
    rmSync(hostname);
    symlinkSync("/etc/passwd", hostname);
    const e1 = expectRefused(`bundle:${passwd}`, /symlink|outside/);
    expect(e1).not.toContain("root:");

    const other = join(tmp, "link-secret");
    bundle("seed-configured", other);
    symlinkSync(secret, join(other, "files", "etc", "modprobe.d", "zz-secret.conf"));
    const e2 = expectRefused(`bundle:${other}`, /symlink|outside/);
    expect(e2).not.toContain("TOP-SECRET-MARKER");

    // a symlinked folder pointing outside the bundle
    const dirLink = join(tmp, "link-dir");
    bundle("seed-configured", dirLink);
    const outsideDir = join(tmp, "outside-dir");
    mkdirSync(outsideDir, { recursive: true });
    writeFileSync(join(outsideDir, "blacklist.conf"), "TOP-SECRET-MARKER-1c9e\n");
    rmSync(join(dirLink, "files", "etc", "modprobe.d"), { recursive: true });
    symlinkSync(outsideDir, join(dirLink, "files", "etc", "modprobe.d"));
    const e3 = expectRefused(`bundle:${dirLink}`, /symlink|outside/);
    expect(e3).not.toContain("TOP-SECRET-MARKER");
  });

  it("a path that does not exist is a clear error too", () => {
    expectRefused(`bundle:${join(tmp, "no-such-bundle.tar.gz")}`, /cannot read bundle .*ENOENT/);
  });
});

describe("what the summary says is true", () => {
  interface Summary {
    notInstalled: string[];
    notCaptured: string[];
    failed: Array<{ cmd: string; exitCode: number }>;
    absentPaths: string[];
    unreadablePaths: string[];
  }

  it("programs that are not installed are named as such, apart from what was not captured", () => {
    const out = join(tmp, "fresh.tar.gz");
    const r = runCli(["support-bundle", "--host", "sim:seed-fresh", "-o", out, "--json"], env());
    expect(r.code, r.stderr).toBe(0);
    const s = r.json<Summary>();
    // seed-fresh has no NVIDIA driver and no mdevctl yet (seed guide line 61 installs mdevctl)
    expect(s.notInstalled).toEqual(
      expect.arrayContaining(["nvidia-smi", "nvidia-smi vgpu -q", "mdevctl types"]),
    );
    expect(s.notCaptured).toEqual([]);
    expect(s.failed.map((f) => f.exitCode)).not.toContain(127);
    const human = runCli(
      ["support-bundle", "--host", "sim:seed-fresh", "-o", join(tmp, "fresh2.tar.gz")],
      env(),
    );
    expect(human.stdout).toMatch(
      /\n {2}not installed on the host \(left out; unknown when replayed\):\n(?: {4}\S.*\n)*? {4}nvidia-smi\n/,
    );
    expect(human.stdout).not.toContain("127 = not installed");
    expect(human.stdout).not.toContain("note: not installed"); // said once, in its own section
  });

  it("--host local --root DIR: no command runs, vgpuctl's journal and lock are kept (redacted, still JSON), an unreadable file is not 'absent'", async () => {
    const { emptyJournal } = await import("../../src/apply/journal.ts");
    const root = join(tmp, "root-host");
    const put = (p: string, content: string) => {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), content);
    };
    put("etc/hostname", "pve1\n");
    // a VM config change in flight (MAC of Proxmox's BC:24:11 range, as in test/redact)
    const journal = emptyJournal(new Date("2026-01-31T12:00:00.000Z"));
    const before = "memory: 4096\nnet0: virtio=BC:24:11:2A:3B:4C,bridge=vmbr0\n";
    journal.inProgress = {
      step: {
        id: "vm-100",
        title: "Give VM 100 a vGPU",
        why: "vgpu.yaml lists VM 100",
        changes: [
          {
            kind: "file",
            path: "/etc/pve/qemu-server/100.conf",
            before,
            after: `${before}hostpci0: 0000:01:00.0,mdev=nvidia-259\n`,
            diff: "+hostpci0: 0000:01:00.0,mdev=nvidia-259\n",
          },
        ],
        reboot: false,
        undo: { description: "remove hostpci0", commands: [], regenerate: [] },
      },
      mode: "apply",
      startedAt: "2026-01-31T12:00:01.000Z",
    };
    put("var/lib/vgpuctl/journal.json", `${JSON.stringify(journal, null, 2)}\n`);
    const lock = {
      token: "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
      owner: { hostname: "admin-laptop", pid: 4242 },
      command: "apply",
      startedAt: "2026-01-31T12:00:00.000Z",
      heartbeatAt: "2026-01-31T12:00:30.000Z",
    };
    put("var/lib/vgpuctl/lock", `${JSON.stringify(lock)}\n`);
    // reading /proc/self/mem fails with EIO (for root too): the PCI mapping file is unreadable
    mkdirSync(join(root, "etc/pve/mapping"), { recursive: true });
    symlinkSync("/proc/self/mem", join(root, "etc/pve/mapping/pci.cfg"));

    const out = join(tmp, "root-host-bundle");
    const r = runCli(["support-bundle", "--host", "local", "--root", root, "-o", out, "--json"], env());
    expect(r.code, r.stderr).toBe(0);
    const s = r.json<Summary>();
    expect(s.notInstalled).toEqual([]); // nothing ran, so nothing is known to be missing
    expect(s.notCaptured).toContain("uname -r");
    expect(s.notCaptured).toContain("qm list");
    expect(s.unreadablePaths).toEqual(["/etc/pve/mapping/pci.cfg"]);
    expect(s.absentPaths).not.toContain("/etc/pve/mapping/pci.cfg");
    expect(s.absentPaths).toContain("/etc/kernel/cmdline");
    expect(readdirSync(out).sort()).toEqual(["bundle.json", "files"]); // no command output at all

    const j = JSON.parse(readFileSync(join(out, "files/var/lib/vgpuctl/journal.json"), "utf8"));
    expect(j.format).toBe("vgpuctl-journal/1");
    expect(j.inProgress.step.id).toBe("vm-100");
    expect(JSON.stringify(j)).not.toMatch(/BC:24:11:2A:3B:4C/i);
    expect(j.inProgress.step.changes[0].before).toMatch(/^net0: virtio=[0-9A-F:]{17},bridge=vmbr0$/m);
    const l = JSON.parse(readFileSync(join(out, "files/var/lib/vgpuctl/lock"), "utf8"));
    expect(l).toMatchObject({ command: "apply", owner: { hostname: "admin-laptop", pid: 4242 } });
    expect(l.token).toMatch(/^REDACTED-/);

    // replayed: the unreadable mapping file is unknown, not "no mappings"
    const meta = JSON.parse(readFileSync(join(out, "bundle.json"), "utf8"));
    expect(meta.unreadable).toEqual(["/etc/pve/mapping/pci.cfg"]);
    const human = runCli(["support-bundle", "--host", "local", "--root", root, "-o", `${out}-2`], env());
    expect(human.stdout).toContain(
      "could not read (unknown when replayed; run as root to include them):\n    /etc/pve/mapping/pci.cfg\n",
    );
    expect(human.stdout).toContain("    uname -r  uname: commands do not run under --root (files only)\n");
    expect(human.stdout).not.toContain("note:");
  });
});
