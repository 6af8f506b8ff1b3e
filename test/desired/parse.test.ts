import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { desiredJsonSchemaText } from "../../src/desired/json-schema.ts";

const SCHEMA_FILE = join(import.meta.dirname, "..", "..", "schema.json");

import { DesiredError, parseDesired } from "../../src/desired/parse.ts";

const root = join(import.meta.dirname, "..", "..");
const SHA = "a".repeat(64);

function problems(text: string): string[] {
  try {
    parseDesired(text);
  } catch (e) {
    expect(e).toBeInstanceOf(DesiredError);
    return (e as Error).message.split("\n");
  }
  throw new Error("expected a DesiredError");
}

describe("parseDesired", () => {
  it("accepts the committed example and fills defaults", () => {
    const d = parseDesired(readFileSync(join(root, "examples", "seed-host.yaml"), "utf8"));
    expect(d.hosts).toHaveLength(1);
    const h = d.hosts[0]!;
    expect(h.host).toBe("sim:seed-fresh");
    expect(h.driver?.installer).toBe("/root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run");
    expect(h.unlock).toBe("auto");
    expect(h.iommu).toBe("auto");
    expect(h.gpus).toEqual([{ address: "0000:01:00.0", type: "GRID RTX6000-4Q" }]);
  });

  it("defaults unlock/iommu to auto and repository to null", () => {
    const d = parseDesired("hosts:\n  - host: local\n");
    expect(d.hosts[0]).toMatchObject({ unlock: "auto", iommu: "auto", repository: null });
  });

  it("points at a misspelt key with line:column and a suggestion", () => {
    expect(problems("hosts:\n  - host: sim:seed-fresh\n    unlok: auto\n")).toEqual([
      "vgpu.yaml:3:5: unknown key 'unlok' — did you mean 'unlock'?",
    ]);
    expect(
      problems(`hosts:\n  - host: x\n    gpus:\n      - adress: "01:00.0"\n        type: nvidia-259\n`),
    ).toEqual(["vgpu.yaml:4:9: unknown key 'adress' — did you mean 'address'?"]);
  });

  it("lists allowed keys when nothing is close", () => {
    expect(problems("hosts:\n  - host: x\n    zzzzzzzz: 1\n")[0]).toMatch(
      /^vgpu\.yaml:3:5: unknown key 'zzzzzzzz' \(allowed: host, driver, unlock/,
    );
  });

  it("reports invalid YAML with its position", () => {
    const p = problems("hosts:\n  - host: a\n  host: b\n");
    expect(p[0]).toMatch(/^vgpu\.yaml:3:\d+: invalid YAML: /);
  });

  it("reports values at the value's position", () => {
    const p = problems(
      `hosts:\n  - host: x\n    driver:\n      installer: relative.run\n      sha256: abc\n    iommu: maybe\n`,
    );
    expect(p).toEqual([
      "vgpu.yaml:4:18: hosts[0].driver.installer: must be an absolute path on the host",
      "vgpu.yaml:5:15: hosts[0].driver.sha256: must be a SHA-256 hex digest (64 hex characters, e.g. from `sha256sum FILE`)",
      "vgpu.yaml:6:12: hosts[0].iommu: must be one of auto, on, off",
    ]);
  });

  it("reports missing keys at the parent mapping", () => {
    expect(problems(`hosts:\n  - driver:\n      sha256: ${SHA}\n`)).toEqual([
      "vgpu.yaml:2:5: missing key 'host' in hosts[0]",
      "vgpu.yaml:3:7: missing key 'installer' in hosts[0].driver",
    ]);
  });

  it("needs exactly one of type / vram per VM", () => {
    const p = problems(
      "hosts:\n  - host: x\n    vms:\n      - vmid: 100\n      - vmid: 101\n        vram: 4G\n",
    );
    expect(p).toEqual(["vgpu.yaml:4:9: hosts[0].vms[0]: a VM needs either `type` or `vram` (not both)"]);
  });

  it("normalises sha256 to lower case", () => {
    const d = parseDesired(
      `hosts:\n  - host: x\n    driver:\n      installer: /root/a.run\n      sha256: ${"AB".repeat(32)}\n`,
    );
    expect(d.hosts[0]!.driver!.sha256).toBe("ab".repeat(32));
  });

  it("refuses vgpuUnlock values git would read as options (argument injection), at their line:col", () => {
    const p = problems(
      [
        "hosts:",
        "  - host: x",
        "    vgpuUnlock:",
        "      git: --upload-pack=touch /tmp/pwned",
        "      ref: --orphan=x",
        "      source: opt/vgpu_unlock-rs",
      ].join("\n"),
    );
    expect(p).toEqual([
      "vgpu.yaml:4:12: hosts[0].vgpuUnlock.git: must be an https:// or ssh:// repository URL, or git@HOST:PATH (e.g. https://github.com/mbilker/vgpu_unlock-rs)",
      'vgpu.yaml:5:12: hosts[0].vgpuUnlock.ref: must be a branch, tag or commit (letters, digits, "._/+-"; not starting with "-"), e.g. v2.5.0',
      'vgpu.yaml:6:15: hosts[0].vgpuUnlock.source: must be an absolute directory path below / (e.g. /opt/vgpu_unlock-rs), without "." or ".." parts',
    ]);
  });

  it("git: only https://, ssh:// and scp-style URLs; never another transport or a host that is an option", () => {
    const git = (url: string) => `hosts:\n  - host: x\n    vgpuUnlock:\n      git: ${JSON.stringify(url)}\n`;
    for (const ok of [
      "https://github.com/mbilker/vgpu_unlock-rs",
      "https://github.com/mbilker/vgpu_unlock-rs.git",
      "https://git.example.org:8443/mirror/vgpu_unlock-rs",
      "ssh://git@github.com/mbilker/vgpu_unlock-rs.git",
      "ssh://git@gitlab.example.org:2222/x/vgpu_unlock-rs",
      "git@github.com:mbilker/vgpu_unlock-rs.git",
    ])
      expect(parseDesired(git(ok)).hosts[0]!.vgpuUnlock!.git, ok).toBe(ok);
    for (const bad of [
      "-uhttps://github.com/x/y",
      "--upload-pack=sh -c id",
      "ext::sh -c touch% /tmp/pwned",
      "file:///etc",
      "/opt/local-repo",
      "http://github.com/mbilker/vgpu_unlock-rs",
      "ssh://-oProxyCommand=touch /tmp/pwned/x",
      "git@-oProxyCommand=x:y",
      "git@github.com:-x",
      "https://github.com/x/y\nEnvironment=LD_PRELOAD=/tmp/x.so",
    ])
      expect(problems(git(bad))[0], bad).toMatch(/hosts\[0\]\.vgpuUnlock\.git: must be an https:\/\//);
  });

  it("ref: branches, tags and commits; never an option, a range or shell text", () => {
    const ref = (r: string) => `hosts:\n  - host: x\n    vgpuUnlock:\n      ref: ${JSON.stringify(r)}\n`;
    for (const ok of ["v2.5.0", "main", "feature/x", "2b6b1f3", "a".repeat(40), "release-1.0+pve"])
      expect(parseDesired(ref(ok)).hosts[0]!.vgpuUnlock!.ref, ok).toBe(ok);
    for (const bad of [
      "-b",
      "--detach",
      "main..evil",
      "a b",
      "x;id",
      "$(id)",
      "feature/",
      "/main",
      "a//b",
      "",
    ])
      expect(problems(ref(bad))[0], bad).toMatch(
        /hosts\[0\]\.vgpuUnlock\.ref: must be a branch, tag or commit/,
      );
  });

  it("paths that end up in argv or drop-ins are absolute, one line, and the source dir is below /", () => {
    const driver = (installer: string) =>
      `hosts:\n  - host: x\n    driver:\n      installer: ${JSON.stringify(installer)}\n      sha256: ${SHA}\n`;
    expect(problems(driver("-run.sh"))[0]).toMatch(/driver\.installer: must be an absolute path/);
    expect(problems(driver("/root/a.run\n--apply-patch"))[0]).toMatch(
      /driver\.installer: must be an absolute/,
    );
    const patch = `hosts:\n  - host: x\n    driver:\n      installer: /root/a.run\n      sha256: ${SHA}\n      patch: { path: "--x", sha256: ${SHA} }\n`;
    expect(problems(patch)[0]).toMatch(/driver\.patch\.path: must be an absolute path/);
    const lib = `hosts:\n  - host: x\n    vgpuUnlock:\n      library: "/opt/x.so\\nExecStart=/bin/sh"\n`;
    expect(problems(lib)[0]).toMatch(/vgpuUnlock\.library: must be an absolute path/);
    const source = (dir: string) =>
      `hosts:\n  - host: x\n    vgpuUnlock:\n      source: ${JSON.stringify(dir)}\n`;
    for (const bad of ["/", "//", "/opt/../etc", "/opt/./x", "opt/x", "-rf", "/opt/x\n"])
      expect(problems(source(bad))[0], bad).toMatch(
        /vgpuUnlock\.source: must be an absolute directory path below \//,
      );
    expect(parseDesired(source("/opt/vgpu_unlock-rs")).hosts[0]!.vgpuUnlock!.source).toBe(
      "/opt/vgpu_unlock-rs",
    );
  });

  it("an alias bomb is one clear line, not an internal error (issue 13 item 13)", () => {
    const level = (name: string, of: string) => `${name}: &${name} [${Array(9).fill(`*${of}`).join(", ")}]\n`;
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x]\n${level("b", "a")}${level("c", "b")}${level("d", "c")}${level("e", "d")}`;
    const lines = problems(bomb);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^vgpu\.yaml:1:1: YAML aliases expand to too much data .*anchors \(&\) and aliases \(\*\)$/,
    );
  });

  it("uses the file name it is given", () => {
    expect(problems("hosts: 3\n")[0]).toMatch(/^vgpu\.yaml:1:8: /);
    expect(() => parseDesired("hosts: 3\n", "pve.yaml")).toThrow(/^pve\.yaml:1:8: /);
  });
});

describe("schema.json", () => {
  it("is generated from the current schema (regenerate: npm run gen:schema)", () => {
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(desiredJsonSchemaText());
  });

  it("describes the host entry keys", () => {
    const s = JSON.parse(desiredJsonSchemaText());
    const host = s.properties.hosts.items;
    expect(Object.keys(host.properties)).toEqual(
      expect.arrayContaining(["host", "driver", "unlock", "iommu", "repository", "gpus", "sriov", "vms"]),
    );
    expect(host.additionalProperties).toBe(false);
    expect(host.properties.unlock.enum).toEqual(["auto", "on", "off"]);
  });
});
