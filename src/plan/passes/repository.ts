/**
 * The package repository (only with `repository: no-subscription`): the enterprise repository
 * disabled, pve-no-subscription added, then `apt-get update`.
 *
 * Proxmox VE 7/8 use one-line `.list` files: the enterprise line is commented out and
 * pve-no-subscription.list gets the no-subscription line. Proxmox VE 9 (Debian 13) uses deb822
 * `.sources` files (pve-docs pve-package-repos.adoc, version 9.1.3): each enterprise entry
 * (pve-enterprise.sources, and ceph.sources, which points at enterprise.proxmox.com too on a fresh
 * install and fails `apt-get update` with 401 alike) gets an `Enabled: no` line, and the
 * no-subscription entry goes to /etc/apt/sources.list.d/proxmox.sources as documented there.
 * Uninstall restores every file byte for byte from its backup.
 */
import {
  appendStanza,
  type Deb822Stanza,
  deb822MalformedLines,
  deb822Stanzas,
  disableStanzas,
  stanzaEnabled,
} from "../../formats/apt/deb822.ts";
import { fileChange } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import type { Change } from "../types.ts";
import { PassOutput } from "./output.ts";

const SOURCES_D = "/etc/apt/sources.list.d";
const ENTERPRISE_LIST = `${SOURCES_D}/pve-enterprise.list`;
const NO_SUBSCRIPTION_LIST = `${SOURCES_D}/pve-no-subscription.list`;
const ENTERPRISE_SOURCES = `${SOURCES_D}/pve-enterprise.sources`;
const CEPH_SOURCES = `${SOURCES_D}/ceph.sources`;
const PROXMOX_SOURCES = `${SOURCES_D}/proxmox.sources`;
const CODENAMES: Record<number, string> = { 7: "bullseye", 8: "bookworm", 9: "trixie" };

export function repositoryPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  if (ctx.entry.repository !== "no-subscription") {
    warnEnterpriseOnly(ctx, out);
    return out;
  }
  const codename = CODENAMES[ctx.pveMajor];
  if (!codename) {
    out.note(`repository: Proxmox VE ${ctx.pveMajor} not known; apt sources left alone`);
    return out;
  }
  const changes = ctx.pveMajor >= 9 ? deb822Changes(ctx, codename, out) : listChanges(ctx, codename, out);
  if (changes.length === 0) return out;
  changes.push({ kind: "command", argv: ["apt-get", "update"] });
  out.step({
    id: "repository",
    title: "Use the pve-no-subscription package repository",
    why:
      ctx.pveMajor >= 9
        ? "without a subscription the enterprise repositories refuse apt (401); the headers and tools come from pve-no-subscription. Proxmox documents disabling an entry with `Enabled: no` and the no-subscription entry in proxmox.sources"
        : "without a subscription the enterprise repository refuses apt (401); the headers and tools come from pve-no-subscription",
    changes,
    reboot: false,
    // No `apt-get update` here: with the enterprise repository back and no subscription it fails (401),
    // which must not stop an uninstall; the next apt run refreshes the lists anyway.
    undo: { description: "restore the apt sources", commands: [], regenerate: [] },
  });
  return out;
}

/**
 * `repository: null` while apt knows only the enterprise repository (doctor: apt-enterprise-only): the
 * packages step's `apt-get update` fails with 401 unless the host has a subscription, which vgpuctl
 * cannot see — say so before apply runs into it.
 */
function warnEnterpriseOnly(ctx: PlanContext, out: PassOutput): void {
  const repos = ctx.facts.aptRepos;
  if (!repos || repos.enterprise.length === 0 || repos.noSubscription || ctx.packages.length === 0) return;
  out.note(
    `apt uses only the enterprise repository (${repos.enterprise.join(", ")}): without a subscription the packages step's \`apt-get update\` fails (401 Unauthorized) — set \`repository: no-subscription\` in vgpu.yaml, or ignore this if the host has a subscription (doctor: apt-enterprise-only)`,
  );
}

const commentOutEnterprise = (text: string) =>
  text
    .split("\n")
    .map((l) => (/^\s*deb\s.*enterprise\.proxmox\.com/.test(l) ? `# ${l}` : l))
    .join("\n");

const listHasNoSubscription = (text: string) =>
  text.split("\n").some((l) => /^\s*deb\s.*pve-no-subscription/.test(l));

/** Proxmox VE 7/8: one-line sources. */
function listChanges(ctx: PlanContext, codename: string, out: PassOutput): Change[] {
  const file = ctx.input.file;
  const changes: Change[] = [];
  const entText = out.need(file, ENTERPRISE_LIST);
  const nosubText = out.need(file, NO_SUBSCRIPTION_LIST);
  if (entText) {
    const after = commentOutEnterprise(entText);
    if (after !== entText) changes.push(fileChange(ENTERPRISE_LIST, entText, after));
  }
  if (![file("/etc/apt/sources.list") ?? "", entText ?? "", nosubText ?? ""].some(listHasNoSubscription))
    changes.push(
      fileChange(
        NO_SUBSCRIPTION_LIST,
        nosubText,
        `${nosubText ?? ""}deb http://download.proxmox.com/debian/pve ${codename} pve-no-subscription\n`,
        0o644,
      ),
    );
  return changes;
}

const isEnterprise = (s: Deb822Stanza) => /enterprise\.proxmox\.com/.test(s.fields.uris ?? "");
const isNoSubscription = (s: Deb822Stanza) =>
  stanzaEnabled(s) &&
  /download\.proxmox\.com\/debian\/pve/.test(s.fields.uris ?? "") &&
  /(^|\s)pve-no-subscription(\s|$)/.test(s.fields.components ?? "");

/** A `.sources` file apt cannot read either: block with its lines, edit nothing. */
function refuseMalformed(path: string, text: string, out: PassOutput): boolean {
  const bad = deb822MalformedLines(text);
  if (bad.length === 0) return false;
  out.block(
    "apt-sources-malformed",
    `${path} is not a valid deb822 sources file`,
    bad.map((b) => `${path}:${b.line}: ${b.text}`),
    [
      `fix or remove line ${bad.map((b) => b.line).join(", ")} of ${path} (each line is "Key: value", a continuation starting with a space, a # comment, or blank between stanzas), then re-run`,
    ],
  );
  return true;
}

/** Proxmox VE 9: deb822 sources (and a `.list` left over from an upgrade, commented out as before). */
function deb822Changes(ctx: PlanContext, codename: string, out: PassOutput): Change[] {
  const file = ctx.input.file;
  const changes: Change[] = [];
  const texts = new Map<string, string | null>();
  for (const path of [ENTERPRISE_SOURCES, CEPH_SOURCES, PROXMOX_SOURCES]) {
    const text = out.need(file, path);
    texts.set(path, text);
    if (text !== null && refuseMalformed(path, text, out)) return [];
    if (text === null || path === PROXMOX_SOURCES) continue;
    const after = disableStanzas(text, isEnterprise);
    if (after !== text) changes.push(fileChange(path, text, after));
  }
  const legacy = file(ENTERPRISE_LIST);
  if (typeof legacy === "string" && commentOutEnterprise(legacy) !== legacy)
    changes.push(fileChange(ENTERPRISE_LIST, legacy, commentOutEnterprise(legacy)));
  const hasNoSub =
    [file("/etc/apt/sources.list"), file(NO_SUBSCRIPTION_LIST)].some(
      (t) => typeof t === "string" && listHasNoSubscription(t),
    ) || [...texts.values()].some((t) => t !== null && deb822Stanzas(t).some(isNoSubscription));
  if (!hasNoSub) {
    const before = texts.get(PROXMOX_SOURCES) ?? null;
    const after = appendStanza(before, [
      "Types: deb",
      "URIs: http://download.proxmox.com/debian/pve",
      `Suites: ${codename}`,
      "Components: pve-no-subscription",
      "Signed-By: /usr/share/keyrings/proxmox-archive-keyring.gpg",
    ]);
    changes.push(fileChange(PROXMOX_SOURCES, before, after, 0o644));
  }
  return changes;
}
