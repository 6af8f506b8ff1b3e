/**
 * Which Proxmox VE package repositories apt uses, from the captured sources: one-line `.list` files
 * (sources.list(5) "ONE-LINE-STYLE FORMAT") and deb822 `.sources` files (Proxmox VE 9, pve-docs
 * pve-package-repos.adoc: an entry with `Enabled: no` is skipped). The enterprise repository
 * (enterprise.proxmox.com) answers 401 to a host without a subscription, so `apt-get update` fails
 * while it is enabled and no subscription is active (pve-docs pve-package-repos.adoc "Proxmox VE
 * Enterprise Repository": "access … requires a valid subscription key"). Pure; never throws.
 */
import { deb822Stanzas, stanzaEnabled } from "../../formats/apt/deb822.ts";
import type { AptRepos } from "../types.ts";

// Plain text: includes, not a regex each (every regex compiled is start-up cost, issue 16).
const ENTERPRISE = "enterprise.proxmox.com";
const NO_SUBSCRIPTION = "download.proxmox.com/debian/pve";

/** The repositories of the captured source files (path → content). */
export function parseAptSources(files: ReadonlyArray<{ path: string; content: string }>): AptRepos {
  const enterprise: string[] = [];
  let noSubscription = false;
  for (const f of files) {
    for (const e of f.path.endsWith(".sources") ? deb822Entries(f.content) : listEntries(f.content)) {
      if (e.uri.includes(ENTERPRISE)) {
        if (!enterprise.includes(f.path)) enterprise.push(f.path);
      } else if (
        e.uri.includes(NO_SUBSCRIPTION) &&
        e.components.includes("pve-no-subscription") &&
        /(^|\s)pve-no-subscription(\s|$)/.test(e.components)
      )
        noSubscription = true;
    }
  }
  return { enterprise, noSubscription };
}

interface Entry {
  uri: string;
  components: string;
}

function listEntries(text: string): Entry[] {
  const out: Entry[] = [];
  for (const line of text.split("\n")) {
    const m = line.includes("deb") ? /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s*(.*)$/.exec(line) : null;
    if (m) out.push({ uri: m[1]!, components: m[2]!.trim() });
  }
  return out;
}

function deb822Entries(text: string): Entry[] {
  return deb822Stanzas(text)
    .filter((s) => stanzaEnabled(s) && /(^|\s)deb(\s|$)/.test(s.fields.types ?? "deb"))
    .map((s) => ({ uri: s.fields.uris ?? "", components: s.fields.components ?? "" }));
}
