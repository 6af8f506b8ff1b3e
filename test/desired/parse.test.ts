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
