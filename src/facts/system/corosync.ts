/**
 * /etc/pve/corosync.conf (Proxmox VE cluster configuration; pve-docs pvecm.adoc): the cluster name
 * (`totem { cluster_name: NAME }`) and the node names (`nodelist { node { name: NAME } }`). A host that
 * is no cluster node has no such file. Pure; never throws (unknown → null).
 */
export interface CorosyncCluster {
  name: string;
  nodes: string[];
}

export function parseCorosyncConf(text: string | null | undefined): CorosyncCluster | null {
  if (!text) return null;
  const path: string[] = [];
  let name: string | null = null;
  const nodes: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    const open = /^([A-Za-z0-9_]+)\s*\{$/.exec(line);
    if (open) {
      path.push(open[1]!);
      continue;
    }
    if (line === "}") {
      path.pop();
      continue;
    }
    const kv = /^([A-Za-z0-9_]+)\s*:\s*(\S+)$/.exec(line);
    if (!kv) continue;
    const where = path.join(".");
    if (where === "totem" && kv[1] === "cluster_name") name = kv[2]!;
    if (where === "nodelist.node" && kv[1] === "name") nodes.push(kv[2]!);
  }
  return name ? { name, nodes } : null;
}
