/**
 * The awk redactor (src/redact/awk.ts, used by the gather-script on hosts without Node) against the
 * TypeScript one (redactCapture): the same captures — every real output and file among the test
 * fixtures, plus planted secrets of every kind — must come out byte for byte the same, with the same
 * kinds recorded. Runs the system awk (mawk on Debian) in the C locale, as the gather-script does.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Capture, emptyCapture } from "../../src/facts/capture.ts";
import { redactAwkProgram } from "../../src/redact/awk.ts";
import { redactCapture } from "../../src/redact/index.ts";
import { redactionMode } from "../../src/redact/rules.ts";
import { REPO } from "../helpers/cli.ts";

const tmp = mkdtempSync(join(tmpdir(), "vgpuctl-awk-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** redactCapture done by awk: commands in order, files sorted, notes (one text per file). */
function awkRedact(c: Capture, awk: readonly string[] = ["awk"]): { texts: string[]; kinds: string[] } {
  const dir = mkdtempSync(join(tmp, "run-"));
  const entries: Array<[string, string]> = [];
  for (const cmd of c.commands) entries.push([redactionMode({ cmd: cmd.cmd }), cmd.stdout]);
  for (const path of Object.keys(c.files).sort()) entries.push([redactionMode({ path }), c.files[path]!]);
  for (const n of c.notes) entries.push(["text", n]);
  const list = entries.map(([mode, text], i) => {
    writeFileSync(join(dir, `t${i}`), text);
    return `${mode}\t${join(dir, `t${i}`)}`;
  });
  writeFileSync(join(dir, "list"), `${list.join("\n")}\n`);
  writeFileSync(join(dir, "prog.awk"), redactAwkProgram());
  const r = spawnSync(
    awk[0]!,
    [...awk.slice(1), "-v", `LIST=${join(dir, "list")}`, "-f", join(dir, "prog.awk")],
    {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", LC_ALL: "C" },
    },
  );
  if (r.status !== 0) throw new Error(`awk failed: ${r.stderr}`);
  const texts = entries.map((_e, i) => readFileSync(join(dir, `t${i}.r`), "utf8"));
  return { texts, kinds: r.stdout.split("\n").filter(Boolean).sort() };
}

function jsRedact(c: Capture): { texts: string[]; kinds: string[] } {
  const r = redactCapture(c);
  const texts = [
    ...r.commands.map((x) => x.stdout),
    ...Object.keys(r.files)
      .sort()
      .map((p) => r.files[p]!),
    ...r.notes,
  ];
  return { texts, kinds: [...r.redacted].sort() };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const PLANTED = [
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
  "Authorization: PVEAPIToken=root@pam!vgpuctl=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
  "authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x, token: none, api_key = 'abc=def'",
  'cipassword: s3cr3t!\n"db_password": "p@ss word"\nmy-token:xyz passwd=***',
  "repo https://user:pa55@mirror.example.com/debian and http://a:b@c",
  "    Serial Number                         : 1322621091831\n    Board Serial Number : N/A  \nSerialNumber: 0x1234",
  "Capabilities: [100 v1] Device Serial Number 48-b0-2d-ff-ff-5e-8b-a4\nsmbios1: uuid=1,serial=ABC123,manufacturer=x",
  "GPU 0: Tesla P4 (UUID: GPU-5a8b7c6d-1e2f-3a4b-5c6d-7e8f9a0b1c2d) gpu-5A8B7C6D-1E2F-3A4B-5C6D-7E8F9A0B1C2D",
  "net0: virtio=BC:24:11:AA:BB:CC,bridge=vmbr0 ether 3c:ec:ef:12:34:56 aa-bb-cc-dd-ee-ff 00:00:00:00:00:00",
  "link 1a:2b:3c:4d:5e:6f:70 x 12:34:56 11:22:33:44:55:66:",
  "addr 8.8.8.8, 192.168.1.10, 10.0.0.1 100.64.1.1 172.20.0.1 01.2.3.4 256.1.1.1 1.2.3.4.5 v5.15.108.1 203.0.113.7 1.1.1.1",
  "inet6 2a00:1450:4001:82b::200e/64 fe80::1 ::1 2001:db8::5 2606:4700:4700::1111 ab:cd:ef 12:34:56:78",
  // issue 13 item 15, each example as the issue gives it
  "description: db pass: s3cr3tDB\n#db pass%3A s3cr3tDB\n#DB_PASS%3a 's3cr3tDB'",
  "note: pw is P@ssw0rd!\nthe password was hunter2, Credentials: abc",
  "#token secret 6f0d3c1e-9b2a-4c1d-8e7f-0a1b2c3d4e5f\nbypass 123456 pass-through 1234567 db pass s3cr3t!",
  "mac BC2411AABBDD and bc2411aabbdd, bc:24:11:aa:bb:dd; kept: 123456789012 0x1b2c3d4e5f6a abcdef012345678 FFFFFFFFFFFF",
  // a key and its value on different lines (YAML, wrapped configs): the awk side works line by line
  'password:\n  s3cr3t-on-next-line\ndb_pwd\n\n=\n abc1\n"token"\n: "t0k"\npass %3A\n\t x9\nsecret is\nnot-this',
  "kept: REDACTED-SECRET-1 passwd=*** token: unset; pw=none\nlibsecret-1-0\t0.20.5-3\npasswd\t1:4.13+dfsg1-1",
];

/** The awks a gather-script meets: mawk (Debian's default), busybox awk, gawk — those installed here. */
const AWKS = [["mawk"], ["busybox", "awk"], ["gawk", "--posix"]].filter(
  ([cmd, ...args]) => spawnSync(cmd!, [...args, "BEGIN { exit 0 }"]).status === 0,
);

describe("awk redaction = TypeScript redaction", () => {
  it("planted secrets of every kind, in commands, whole files and notes", () => {
    const c = emptyCapture("pve", "2026-01-01T00:00:00Z");
    for (const [i, t] of PLANTED.entries())
      c.commands.push({ cmd: `cat /tmp/planted-${i}`, stdout: `${t}\n`, exitCode: 0 });
    c.commands.push({ cmd: "dpkg-query -W", stdout: "libfoo\t1.2.3.4\nnet 8.8.8.8\n", exitCode: 0 });
    c.files["/sys/class/dmi/id/product_serial"] = "ABC-123\n";
    c.files["/etc/pve/priv/token.cfg"] = "root@pam!t 123\n";
    c.files["/etc/pve/qemu-server/100.conf"] = `${PLANTED[8]}\n${PLANTED[3]}\n#db pass%3A s3cr3tDB\n`;
    c.files["/etc/pve/mapping/pci.cfg"] =
      "gpu0\n\tdescription pw=mapsecret\n\tmap id=10de:1eb8,node=pve,path=0000:01:00.0\n";
    c.notes.push("could not read /etc/pve/priv/authkey.key");
    const js = jsRedact(c);
    expect(js.kinds.length).toBeGreaterThanOrEqual(7);
    for (const leak of [
      "s3cr3tDB",
      "mapsecret",
      "P@ssw0rd!",
      "6f0d3c1e",
      "BC2411AABBDD",
      "hunter2",
      "s3cr3t!",
    ])
      expect(js.texts.join("\n")).not.toContain(leak);
    expect(AWKS.length).toBeGreaterThanOrEqual(2);
    for (const awk of AWKS) expect({ awk, ...awkRedact(c, awk) }).toEqual({ awk, ...js });
  });

  it("every real output and file among the fixtures", () => {
    const root = join(REPO, "test/fixtures");
    const paths = filesUnder(root).filter((p) => !/\.(json|md|gz|tar)$/.test(p));
    expect(paths.length).toBeGreaterThan(100);
    const c = emptyCapture("pve", "2026-01-01T00:00:00Z");
    for (const p of paths) {
      const text = readFileSync(p, "utf8");
      if (text.includes("\u0000") || text.includes("\u0001")) continue;
      c.commands.push({ cmd: `cat ${p.slice(root.length)}`, stdout: text, exitCode: 0 });
    }
    const js = jsRedact(c);
    for (const cmd of AWKS) {
      const awk = awkRedact(c, cmd);
      const diffs = js.texts
        .map((t, i) => (t === awk.texts[i] ? null : { file: c.commands[i]?.cmd, js: t, awk: awk.texts[i] }))
        .filter(Boolean);
      expect({ cmd, diffs: diffs.slice(0, 3) }).toEqual({ cmd, diffs: [] });
      expect(awk.kinds).toEqual(js.kinds);
    }
  });
});
