/**
 * The hostile-input suite (issue 13 "Done means") re-run over what came after it: `doctor/inspect
 * --paste`, `support-bundle --from-paste`, `place --inventory` and the standalone `gather-script`.
 * Every hostile input ends in one clear line (exit 2, no "internal error", no stack trace) with nothing
 * written, or in a normal result whose output is bounded and holds no raw control character.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInspect } from "../../src/commands/inspect.ts";
import { readBundle } from "../../src/hosts/bundle/bundle-io.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { standaloneGatherScript } from "../../src/hosts/standalone-gather.ts";
import { runMain } from "../helpers/cli.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "vgpuctl-hostile-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]) => runMain(args, dir, { VGPUCTL_SIM_DIR: join(dir, "sim") });

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

/** One clear error line (+ an optional fix line), exit 2, no internal error or stack trace. */
function expectOneLine(r: { code: number; out: string; err: string }, what: RegExp): void {
  expect(r.err).not.toMatch(/internal error|\n\s+at /);
  expect(r.err.split("\n")[0]).toMatch(what);
  expect(r.err.trim().split("\n").length).toBeLessThanOrEqual(2);
  expect(r.code).toBe(2);
}

const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

describe("place --inventory: wrong shapes, prototype keys, deep and large JSON", () => {
  const vms = () => file("vms.yaml", "vms:\n  - { vmid: 400, type: nvidia-713 }\n");
  const gpu = { address: "0000:01:00.0", name: "x", vramMiB: 8192, mdevTypes: [], vgpus: [] };
  const shapes: Array<[string, unknown, RegExp]> = [
    ["a GPU that is a number", { host: "a", gpus: [1], vms: [] }, /gpus\[0\] is not a GPU/],
    ["a GPU that is null", { host: "a", gpus: [null], vms: [] }, /gpus\[0\] is not a GPU/],
    ["a GPU without fields", { host: "a", gpus: [{}], vms: [] }, /gpus\[0\] is not a GPU/],
    ["mdevTypes a string", { host: "a", gpus: [{ ...gpu, mdevTypes: "abc" }], vms: [] }, /mdevTypes/],
    [
      "a type without a name",
      { host: "a", gpus: [{ ...gpu, mdevTypes: [{ type: 7 }] }], vms: [] },
      /mdevTypes/,
    ],
    ["vgpus missing", { host: "a", gpus: [{ ...gpu, vgpus: undefined }], vms: [] }, /vgpus/],
    ["a VM that is null", { host: "a", gpus: [], vms: [null] }, /vms\[0\] is not a VM/],
    ["a VM without hostpci", { host: "a", gpus: [gpu], vms: [{ vmid: 100 }] }, /vms\[0\] is not a VM/],
  ];
  for (const [title, data, what] of shapes)
    it(`${title}: one line naming the field`, async () => {
      const inv = file("inv.json", JSON.stringify(data));
      expectOneLine(await cli(["place", "-f", vms(), "--inventory", inv]), what);
    });

  it("/dev/zero (a file that never ends): one line, read no further than the 64 MiB cap", async () => {
    expectOneLine(await cli(["place", "-f", vms(), "--inventory", "/dev/zero"]), /larger than 64 MiB/);
  });

  it("nesting 200,000 deep: one line", async () => {
    const inv = file("deep.json", `${"[".repeat(200_000)}${"]".repeat(200_000)}`);
    expectOneLine(await cli(["place", "-f", vms(), "--inventory", inv]), /deep\.json/);
  });

  it("__proto__ and constructor keys neither pollute prototypes nor pass as a report", async () => {
    const inv = file("proto.json", '{"__proto__": {"host": "x", "gpus": [], "vms": [], "polluted": 1}}');
    expectOneLine(await cli(["place", "-f", vms(), "--inventory", inv]), /is not an inspect report/);
    const { report } = await runInspect({}, { host: SimHost.fromState(buildScenarioState("p4-configured")) });
    const hostile = `[${JSON.stringify({ ...report, host: "__proto__" }).replace(/^\{/, '{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}, ')}]`;
    const r = await cli(["place", "-f", vms(), "--inventory", file("proto2.json", hostile), "--json"]);
    expect(r.err).toBe("");
    expect(JSON.parse(r.out).unplaced.map((u: { vmid: number }) => u.vmid)).toEqual([400]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("place --inventory: a large inventory", () => {
  it("500 nodes (7 MB, 2,000 GPUs): the placement is computed, not refused or crashed", async () => {
    const { report } = await runInspect(
      {},
      { host: SimHost.fromState(buildScenarioState("a16-configured")) },
    );
    const nodes = Array.from({ length: 500 }, (_, i) => ({ ...report, host: `n${i}` }));
    const inv = file("large.json", JSON.stringify(nodes));
    const vms = file(
      "many.yaml",
      `vms:\n${[0, 1, 2, 3, 4].map((i) => `  - { vmid: ${500 + i}, type: nvidia-713 }\n`).join("")}`,
    );
    const r = await cli(["place", "-f", vms, "--inventory", inv, "--json"]);
    expect(r.err).toBe("");
    expect(JSON.parse(r.out).placed).toHaveLength(5);
  }, 60_000);
});

describe("--paste: binary, NUL bytes, 100 MB, escape sequences, alias-like and huge lines", () => {
  const smi =
    "root@pve:~# nvidia-smi\n+-----+\n| NVIDIA-SMI 535.161.05   Driver Version: 535.161.05 |\n+-----+\n";

  it("binary data and NUL bytes: one line, for doctor and inspect", async () => {
    const bin = file(
      "bin.txt",
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString("latin1"),
    );
    expectOneLine(await cli(["doctor", "--paste", bin]), /binary data/);
    expectOneLine(await cli(["inspect", "--paste", file("nul.txt", `${smi}\0\0`)]), /binary data/);
  });

  it("100 MB: refused before it is read, one line", async () => {
    writeFileSync(join(dir, "huge.txt"), "");
    truncateSync(join(dir, "huge.txt"), 100 * 1024 * 1024); // sparse: costs no disk
    expectOneLine(await cli(["doctor", "--paste", "huge.txt"]), /larger than 8 MiB/);
  });

  it("escape sequences in a typed command reach the terminal neutralised", async () => {
    const esc = file(
      "esc.txt",
      `root@pve:~# nvidia-smi \x1b]0;pwned\x07\x1b[2J\n${smi.split("\n").slice(1).join("\n")}`,
    );
    for (const cmd of ["doctor", "inspect"]) {
      const r = await cli([cmd, "--paste", esc]);
      expect(r.out + r.err).not.toMatch(RAW_CONTROL);
      expect(r.out).toContain("\\x1b]0;pwned\\x07");
    }
  });

  it("a 7 MB command line and 600,000 prompts: the recognition report stays small", async () => {
    const long = await cli([
      "doctor",
      "--paste",
      file("long.txt", `$ nvidia-smi ${" ".repeat(7_000_000)}x\n`),
    ]);
    expect(long.code).toBeLessThan(2);
    expect(long.out.length).toBeLessThan(10_000);
    const many = await cli(["inspect", "--paste", file("many.txt", "$ nvidia-smi\n".repeat(600_000))]);
    expect(many.code).toBe(0);
    expect(many.out.length).toBeLessThan(20_000);
    expect(many.out).toMatch(/… and 599900 more parts/);
  }, 60_000);

  it("alias-like lines (shell aliases, YAML anchors) are text, never commands or references", async () => {
    const r = await cli([
      "inspect",
      "--paste",
      file("alias.txt", `alias nvidia-smi='rm -rf /'\n&a [*a, *a, *a]\n*a\n${smi}`),
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/not recognised/);
    expect(r.out).not.toMatch(/typed: alias|rm -rf|\*a/);
  });

  it("support-bundle --from-paste of a hostile paste writes a redacted bundle that reads back neutralised", async () => {
    const out = join(dir, "out");
    mkdirSync(out);
    const esc = file(
      "esc2.txt",
      `root@\x1b]0;t\x07pve:~# nvidia-smi\n${smi.split("\n").slice(1).join("\n")}` +
        "root@pve:~# cat /etc/pve/qemu-server/100.conf\n#db pass%3A s3cr3tDB pw is P@ssw0rd!\nname: web\n" +
        "net0: virtio=BC:24:11:AA:BB:DD,bridge=vmbr0\n",
    );
    const r = await cli(["support-bundle", "--from-paste", esc, "-o", join(out, "b.tar.gz")]);
    expect(r.err).not.toMatch(/internal error|\n\s+at /);
    expect(r.code).toBe(0);
    const shown = await cli(["inspect", "--host", `bundle:${join(out, "b.tar.gz")}`]);
    expect(shown.code).toBe(0);
    expect(shown.out + shown.err).not.toMatch(RAW_CONTROL);
    const bundled = JSON.stringify(await readBundle(join(out, "b.tar.gz")));
    for (const leak of ["s3cr3tDB", "P@ssw0rd!", "BC:24:11:AA:BB:DD"]) expect(bundled).not.toContain(leak);
    expect(bundled).toContain("name: web");
    expectOneLine(
      await cli(["support-bundle", "--from-paste", file("bin2.txt", "\0\0\0x"), "-o", join(out, "c.tar.gz")]),
      /binary/,
    );
    expect(readdirSync(out)).toEqual(["b.tar.gz"]);
  });
});

describe("gather-script on files with hostile names and contents", () => {
  const BOUNDARY_IN_SCRIPT = /^B=(\w+)$/m;

  function gather(root: string): { bundle: string; cwd: string; status: number | null; stderr: string } {
    const script = join(dir, "gather.sh");
    writeFileSync(script, standaloneGatherScript(GATHER_SPEC));
    const cwd = mkdtempSync(join(dir, "run 'in' here-"));
    const r = spawnSync("sh", [script], {
      cwd,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", VGPUCTL_GATHER_ROOT: root },
      timeout: 120_000,
    });
    return { bundle: r.stdout.trim().split("\n").pop() ?? "", cwd, status: r.status, stderr: r.stderr };
  }

  it("names with spaces, quotes, $(…), tabs (also at the end) and backslashes are captured redacted under their names, nothing runs", async () => {
    const root = join(dir, "root 1 '\"$x");
    const md = join(root, "etc/modprobe.d");
    mkdirSync(md, { recursive: true });
    const names = [
      "my file.conf",
      'it\'s "q".conf',
      "$(touch PWNED).conf",
      "-n.conf",
      "tab\there.conf",
      "back\\slash.conf",
      "ends in a tab\t",
      "\tstarts with one",
    ];
    for (const [i, n] of names.entries()) writeFileSync(join(md, n), `options x password=Hunter2x${i}\n`);
    const g = gather(root);
    expect(g.status).toBe(0);
    const cap = await readBundle(g.bundle);
    for (const n of names)
      expect(cap.files[`/etc/modprobe.d/${n}`]).toMatch(/^options x password=REDACTED-SECRET-\d\n$/);
    expect(Object.keys(cap.files).filter((p) => p.endsWith(".r"))).toEqual([]);
    expect(existsSync(join(g.cwd, "PWNED")) || existsSync(join(dir, "PWNED"))).toBe(false);
  }, 150_000);

  it("a file name with a newline cannot pull a file from outside the captured folders into the bundle", async () => {
    const root = join(dir, "root2");
    const md = join(root, "etc/modprobe.d");
    mkdirSync(md, { recursive: true });
    const outside = join(dir, "outside-secret.txt");
    writeFileSync(outside, "not to be shared\n");
    // find prints `…/modprobe.d/x` NEWLINE `/tmp/…/outside-secret.txt`: read line by line, two paths
    const smuggled = join(md, `x\n${dir}`);
    mkdirSync(smuggled, { recursive: true });
    writeFileSync(join(smuggled, "outside-secret.txt"), "options y\n");
    writeFileSync(join(md, "ok.conf"), "options z\n");
    const cap = await readBundle(gather(root).bundle);
    expect(Object.keys(cap.files).filter((p) => p.includes("outside"))).toEqual([]);
    expect(JSON.stringify(cap)).not.toContain("not to be shared");
    expect(cap.files["/etc/modprobe.d/ok.conf"]).toBe("options z\n");
  }, 150_000);

  it("a captured file holding the script's boundary lines cannot forge or cut records", async () => {
    const script = standaloneGatherScript(GATHER_SPEC);
    const printed = BOUNDARY_IN_SCRIPT.exec(script)?.[1] ?? "VGPUCTLGATHER";
    const root = join(dir, "root3");
    mkdirSync(join(root, "etc/modprobe.d"), { recursive: true });
    writeFileSync(
      join(root, "etc/modprobe.d/forge.conf"),
      `options a\n${printed} E 0\n${printed} F /etc/pve/forged.cfg\nforged\n${printed} E 0\noptions b\n`,
    );
    const cap = await readBundle(gather(root).bundle);
    expect(cap.files["/etc/modprobe.d/forge.conf"]).toContain("options b\n");
    expect(cap.files["/etc/pve/forged.cfg"]).toBeUndefined();
  }, 150_000);
});
