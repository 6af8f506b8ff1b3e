/**
 * apt-enterprise-only: apt's only Proxmox VE repository is the enterprise one, which answers 401
 * without a subscription (pve-docs pve-package-repos.adoc, "Proxmox VE Enterprise Repository"), so
 * `apt-get update` fails and no kernel headers, DKMS or helper can be installed. vgpuctl cannot see
 * a subscription; the finding says so and names both ways out.
 */
import type { Facts } from "../facts/types.ts";
import { finding } from "./context.ts";
import type { Finding } from "./types.ts";

export function checkApt(f: Facts): Finding[] {
  const repos = f.aptRepos;
  if (!repos || repos.enterprise.length === 0 || repos.noSubscription) return [];
  return [
    finding(
      "apt-enterprise-only",
      "warning",
      "apt uses only the Proxmox VE enterprise repository: without a subscription `apt-get update` fails (401 Unauthorized) and nothing can be installed",
      repos.enterprise.map((p) => `${p}: enterprise.proxmox.com enabled; no pve-no-subscription repository`),
      [
        "set `repository: no-subscription` in vgpu.yaml: apply then disables the enterprise entries and adds pve-no-subscription (uninstall restores the files)",
        "or, with a subscription: activate it (`pvesubscription set <key>`), and this warning can be ignored",
      ],
    ),
  ];
}
