/**
 * The package repository (only with `repository: no-subscription`): the enterprise repository
 * commented out, pve-no-subscription added, then `apt-get update`.
 */
import { fileChange } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import type { Change } from "../types.ts";
import { PassOutput } from "./output.ts";

const ENTERPRISE_LIST = "/etc/apt/sources.list.d/pve-enterprise.list";
const NO_SUBSCRIPTION_LIST = "/etc/apt/sources.list.d/pve-no-subscription.list";

export function repositoryPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  if (ctx.entry.repository !== "no-subscription") return out;
  const codename = { 7: "bullseye", 8: "bookworm", 9: "trixie" }[ctx.pveMajor];
  if (!codename) {
    out.note(`repository: Proxmox VE ${ctx.pveMajor} not known; apt sources left alone`);
    return out;
  }
  const file = ctx.input.file;
  const changes: Change[] = [];
  const entText = out.need(file, ENTERPRISE_LIST);
  const nosubText = out.need(file, NO_SUBSCRIPTION_LIST);
  if (entText) {
    const after = entText
      .split("\n")
      .map((l) => (/^\s*deb\s.*enterprise\.proxmox\.com/.test(l) ? `# ${l}` : l))
      .join("\n");
    if (after !== entText) changes.push(fileChange(ENTERPRISE_LIST, entText, after));
  }
  const hasNoSub = [file("/etc/apt/sources.list") ?? "", entText ?? "", nosubText ?? ""].some((t) =>
    t.split("\n").some((l) => /^\s*deb\s.*pve-no-subscription/.test(l)),
  );
  if (!hasNoSub)
    changes.push(
      fileChange(
        NO_SUBSCRIPTION_LIST,
        nosubText,
        `${nosubText ?? ""}deb http://download.proxmox.com/debian/pve ${codename} pve-no-subscription\n`,
        0o644,
      ),
    );
  if (changes.length === 0) return out;
  changes.push({ kind: "command", argv: ["apt-get", "update"] });
  out.step({
    id: "repository",
    title: "Use the pve-no-subscription package repository",
    why: "without a subscription the enterprise repository refuses apt (401); the headers and tools come from pve-no-subscription",
    changes,
    reboot: false,
    // No `apt-get update` here: with the enterprise repository back and no subscription it fails (401),
    // which must not stop an uninstall; the next apt run refreshes the lists anyway.
    undo: { description: "restore the apt sources", commands: [], regenerate: [] },
  });
  return out;
}
