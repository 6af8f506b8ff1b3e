/**
 * Simulated Proxmox VE clusters: the copies `sim:SCENARIO@N` of a cluster scenario are the nodes of one
 * cluster. Each copy keeps its own state (its VMs, GPUs, driver), is named `pve<N>` (the node name
 * corosync.conf lists), and shares the cluster-wide files of /etc/pve (pmxcfs: the same content on every
 * node; here the cluster PCI resource mappings, /etc/pve/mapping/pci.cfg) through one file next to the
 * copies' states, `<SCENARIO>.cluster.json`, read before every operation and written when a node changed it.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SimState } from "./state.ts";

/** The cluster-wide files the nodes share (pmxcfs; pve-guest-common PVE/Mapping/PCI.pm 'mapping/pci.cfg'). */
export const PCI_MAPPING_CFG = "/etc/pve/mapping/pci.cfg";
export const CLUSTER_FILES = [PCI_MAPPING_CFG];

/** Copy N of a cluster scenario is node `pve<N>`. */
export function nameClusterNode(s: SimState, copy: number): void {
  s.hostname = `pve${copy}`;
  s.files["/etc/hostname"] = `pve${copy}\n`;
}

export class SharedPve {
  private seen: string | null = null;

  constructor(private readonly file: string) {}

  static at(stateDir: string, scenario: string): SharedPve {
    return new SharedPve(join(stateDir, `${scenario}.cluster.json`));
  }

  /**
   * Lay the cluster's current files over this node's state (none written yet: the node's own stand).
   * True when the state may have changed.
   */
  pull(s: SimState): boolean {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    }
    if (text === this.seen) return false;
    const files = JSON.parse(text) as Record<string, string | null>;
    for (const p of CLUSTER_FILES) {
      const v = files[p];
      if (v === null || v === undefined) delete s.files[p];
      else s.files[p] = v;
    }
    this.seen = text;
    return true;
  }

  /** Write this node's cluster files for the others when they differ from what the cluster had. */
  push(s: SimState): void {
    const text = `${JSON.stringify(Object.fromEntries(CLUSTER_FILES.map((p) => [p, s.files[p] ?? null])))}\n`;
    if (text === this.seen) return;
    if (this.seen === null && CLUSTER_FILES.every((p) => s.files[p] === undefined)) return;
    const tmp = `${this.file}.${process.pid}.${Math.floor(Math.random() * 2 ** 32).toString(16)}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, this.file);
    this.seen = text;
  }
}
