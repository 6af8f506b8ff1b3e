// Proxmox VE 9 sources: pve-docs pve-package-repos.adoc (fixtures/SOURCES.md).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  appendStanza,
  deb822MalformedLines,
  deb822Stanzas,
  disableStanzas,
  stanzaEnabled,
} from "../../../src/formats/apt/deb822.ts";
import { repositoryPass } from "../../../src/plan/passes/repository.ts";
import { argvs, exampleEntry, fileAfter, scenarioContext } from "./context.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "..", "fixtures", name), "utf8");
const ENT = fixture("pve-enterprise.sources");
const CEPH = fixture("ceph.sources");
const D = "/etc/apt/sources.list.d";

describe("deb822 sources (formats/apt/deb822.ts)", () => {
  it("reads the enterprise entry's fields", () => {
    const [s] = deb822Stanzas(ENT);
    expect(s?.fields.uris).toBe("https://enterprise.proxmox.com/debian/pve");
    expect(s?.fields.components).toBe("pve-enterprise");
    expect(stanzaEnabled(s!)).toBe(true);
  });

  it("disables an entry with an `Enabled: no` line at its end, every other byte kept", () => {
    const out = disableStanzas(ENT, () => true);
    expect(out).toBe(`${ENT.trimEnd()}\nEnabled: no\n`);
    expect(stanzaEnabled(deb822Stanzas(out)[0]!)).toBe(false);
    expect(disableStanzas(out, () => true)).toBe(out);
  });

  it("turns `Enabled: yes` into `Enabled: no`, and leaves comments and other stanzas alone", () => {
    const text = `# mine\nTypes: deb\nURIs: http://a\nEnabled: yes\nSuites: x\n\nTypes: deb\nURIs: http://b\nSuites: y\n`;
    const out = disableStanzas(text, (s) => s.fields.uris === "http://a");
    expect(out).toBe(
      `# mine\nTypes: deb\nURIs: http://a\nEnabled: no\nSuites: x\n\nTypes: deb\nURIs: http://b\nSuites: y\n`,
    );
  });

  it("appends a stanza after a blank line", () => {
    expect(appendStanza(null, ["Types: deb"])).toBe("Types: deb\n");
    expect(appendStanza("Types: deb\nURIs: x\n", ["Types: deb"])).toBe("Types: deb\nURIs: x\n\nTypes: deb\n");
  });
});

describe("repository on Proxmox VE 9 (passes/repository.ts)", () => {
  const entry = exampleEntry("p4-host.yaml");
  const pve9 = (files: Record<string, string | null>) =>
    scenarioContext("p4-fresh", entry, (f, map) => {
      f.pve!.manager = "9.1.1";
      for (const [p, t] of Object.entries(files)) map.set(p, t);
      map.set(`${D}/pve-enterprise.list`, null);
    });

  it("disables the pve and ceph enterprise entries and adds pve-no-subscription to proxmox.sources", async () => {
    const ctx = await pve9({
      [`${D}/pve-enterprise.sources`]: ENT,
      [`${D}/ceph.sources`]: CEPH,
      [`${D}/proxmox.sources`]: null,
    });
    const r = repositoryPass(ctx);
    expect(fileAfter(r, `${D}/pve-enterprise.sources`)).toBe(`${ENT}Enabled: no\n`);
    expect(fileAfter(r, `${D}/ceph.sources`)).toBe(`${CEPH}Enabled: no\n`);
    expect(fileAfter(r, `${D}/proxmox.sources`)).toBe(
      "Types: deb\nURIs: http://download.proxmox.com/debian/pve\nSuites: trixie\nComponents: pve-no-subscription\nSigned-By: /usr/share/keyrings/proxmox-archive-keyring.gpg\n",
    );
    expect(argvs(r)).toEqual(["apt-get update"]);
  });

  it("refuses a malformed .sources file with file:line and the fix, and edits nothing", async () => {
    const broken = ENT.replace(/^URIs:/m, "URIs https://enterprise.proxmox.com/debian/pve\nURIs:");
    expect(deb822MalformedLines(ENT)).toEqual([]);
    const r = repositoryPass(
      await pve9({
        [`${D}/pve-enterprise.sources`]: broken,
        [`${D}/ceph.sources`]: CEPH,
        [`${D}/proxmox.sources`]: null,
      }),
    );
    expect(r.steps).toEqual([]);
    const b = r.blockers.find((x) => x.code === "apt-sources-malformed")!;
    const line = broken.split("\n").findIndex((l) => l.startsWith("URIs https")) + 1;
    expect(b.evidence).toEqual([
      `${D}/pve-enterprise.sources:${line}: URIs https://enterprise.proxmox.com/debian/pve`,
    ]);
    expect(b.fix[0]).toContain(`line ${line} of ${D}/pve-enterprise.sources`);
  });

  it("plans nothing once the entries are disabled and the no-subscription entry exists", async () => {
    const first = repositoryPass(
      await pve9({
        [`${D}/pve-enterprise.sources`]: ENT,
        [`${D}/ceph.sources`]: CEPH,
        [`${D}/proxmox.sources`]: null,
      }),
    );
    const written = (p: string) => fileAfter(first, `${D}/${p}`)!;
    const again = repositoryPass(
      await pve9({
        [`${D}/pve-enterprise.sources`]: written("pve-enterprise.sources"),
        [`${D}/ceph.sources`]: written("ceph.sources"),
        [`${D}/proxmox.sources`]: written("proxmox.sources"),
      }),
    );
    expect(again.steps).toEqual([]);
  });

  it("blocks not-captured when a .sources file could not be read", async () => {
    const r = repositoryPass(
      await pve9({
        [`${D}/pve-enterprise.sources`]: ENT,
        [`${D}/ceph.sources`]: CEPH,
        [`${D}/proxmox.sources`]: undefined as unknown as null,
      }),
    );
    expect(r.blockers.map((b) => b.code)).toEqual(["not-captured"]);
  });
});
