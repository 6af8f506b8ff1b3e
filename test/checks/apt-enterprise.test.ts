// Issue 13 item 1 (second half): a host whose apt knows only the enterprise repository (401 without a
// subscription, pve-docs pve-package-repos.adoc) is named by doctor, plan and init — never a silent
// `repository: null`.
import { describe, expect, it } from "vitest";
import { planHost } from "../../src/apply/run.ts";
import { buildInitYaml } from "../../src/commands/init.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { parseAptSources } from "../../src/facts/system/apt-sources.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import { exampleEntry, simWithDeps } from "../helpers/seed-sim.ts";
import { healthyFacts } from "./healthy.ts";
import { codes, facts, only } from "./helpers.ts";

// pve-docs pve-package-repos.adoc (9.1.3) and a PVE 7 install's pve-enterprise.list
const ENTERPRISE_LIST = "deb https://enterprise.proxmox.com/debian/pve bullseye pve-enterprise\n";
const ENTERPRISE_SOURCES =
  "Types: deb\nURIs: https://enterprise.proxmox.com/debian/pve\nSuites: trixie\nComponents: pve-enterprise\nSigned-By: /usr/share/keyrings/proxmox-archive-keyring.gpg\n";
const NOSUB_SOURCES =
  "Types: deb\nURIs: http://download.proxmox.com/debian/pve\nSuites: trixie\nComponents: pve-no-subscription\nSigned-By: /usr/share/keyrings/proxmox-archive-keyring.gpg\n";

describe("apt sources → AptRepos", () => {
  it("an enabled enterprise line or stanza is listed; a commented one or `Enabled: no` is not", () => {
    expect(
      parseAptSources([
        { path: "/etc/apt/sources.list.d/pve-enterprise.list", content: ENTERPRISE_LIST },
        { path: "/etc/apt/sources.list.d/ceph.list", content: `# ${ENTERPRISE_LIST}` },
        { path: "/etc/apt/sources.list.d/x.sources", content: `${ENTERPRISE_SOURCES}Enabled: no\n` },
      ]),
    ).toEqual({ enterprise: ["/etc/apt/sources.list.d/pve-enterprise.list"], noSubscription: false });
    expect(
      parseAptSources([
        { path: "/etc/apt/sources.list.d/pve-enterprise.sources", content: ENTERPRISE_SOURCES },
        { path: "/etc/apt/sources.list.d/proxmox.sources", content: NOSUB_SOURCES },
      ]),
    ).toEqual({ enterprise: ["/etc/apt/sources.list.d/pve-enterprise.sources"], noSubscription: true });
  });
});

describe("apt-enterprise-only", () => {
  it("warns, names the file and both ways out, when no pve-no-subscription repository is configured", () => {
    const f = facts(healthyFacts, (f) => {
      f.aptRepos = { enterprise: ["/etc/apt/sources.list.d/pve-enterprise.list"], noSubscription: false };
    });
    const x = only(f, "apt-enterprise-only");
    expect(x.severity).toBe("warning");
    expect(x.title).toMatch(/401 Unauthorized/);
    expect(x.evidence[0]).toMatch(/^\/etc\/apt\/sources\.list\.d\/pve-enterprise\.list: /);
    expect(x.fix.join("\n")).toMatch(/repository: no-subscription/);
  });

  it("is silent with pve-no-subscription configured, or without captured sources", () => {
    const withNoSub = facts(healthyFacts, (f) => {
      f.aptRepos = { enterprise: ["/etc/apt/sources.list.d/pve-enterprise.list"], noSubscription: true };
    });
    expect(codes(withNoSub)).not.toContain("apt-enterprise-only");
    expect(codes(facts(healthyFacts, (f) => (f.aptRepos = null)))).not.toContain("apt-enterprise-only");
  });
});

describe("seed-fresh (enterprise repository only, no subscription)", () => {
  it("init writes repository: no-subscription and says why", async () => {
    const { host } = simWithDeps();
    const yaml = buildInitYaml(parseFacts(await host.capture(GATHER_SPEC)), "sim:seed-fresh");
    expect(yaml).toMatch(/refuses apt\n.*401 Unauthorized/);
    expect(yaml).toContain('    repository: "no-subscription"\n');
    expect(yaml).not.toMatch(/repository: null/);
  });

  it("plan with repository: null says the packages step's apt-get update will fail", async () => {
    const { deps } = simWithDeps();
    const entry = { ...(await exampleEntry()), repository: null };
    const { plan } = await planHost(entry, deps);
    expect(plan.steps.map((s) => s.id)).toContain("packages");
    expect(plan.notes.join("\n")).toMatch(
      /apt uses only the enterprise repository \(\/etc\/apt\/sources\.list\.d\/pve-enterprise\.list\).*401 Unauthorized.*repository: no-subscription/,
    );
  });
});
