import { normalisePciAddress } from "../pci.ts";
import type { HostpciEntry, VmConfig } from "../types.ts";
import { lines } from "./text.ts";

/**
 * One `hostpciN` value: `[host=]<id>[;<id>…][,mapping=…][,mdev=…][,pcie=1][,x-vga=1]…`.
 * The address is normalised ("01:00.0" → "0000:01:00.0", "01:00" → "0000:01:00"); with several
 * host ids the first one is reported.
 */
export function parseHostpci(index: number, raw: string): HostpciEntry {
  const entry: HostpciEntry = {
    index,
    raw,
    address: null,
    mapping: null,
    mdev: null,
    pcie: false,
    xvga: false,
  };
  for (const part of raw.split(",")) {
    const p = part.trim();
    if (p === "") continue;
    const eq = p.indexOf("=");
    const key = eq < 0 ? "host" : p.slice(0, eq).trim();
    const value = eq < 0 ? p : p.slice(eq + 1).trim();
    switch (key) {
      case "host": {
        const first = value.split(";")[0] ?? "";
        entry.address = normalisePciAddress(first);
        break;
      }
      case "mapping":
        entry.mapping = value || null;
        break;
      case "mdev":
        entry.mdev = value || null;
        break;
      case "pcie":
        entry.pcie = value === "1" || value === "on" || value === "yes" || value === "true";
        break;
      case "x-vga":
        entry.xvga = value === "1" || value === "on" || value === "yes" || value === "true";
        break;
    }
  }
  return entry;
}

/**
 * /etc/pve/qemu-server/<vmid>.conf. Only the current config is read: `[snapshot]` sections are
 * skipped; hostpci entries of `[PENDING]` go to `pendingHostpci`. `#` lines are the description.
 */
export function parseVmConfig(vmid: number, text: string): VmConfig {
  const vm: VmConfig = {
    vmid,
    name: null,
    ostype: null,
    machine: null,
    memoryMiB: null,
    args: null,
    smbiosUuid: null,
    hostpci: [],
    pendingHostpci: [],
  };
  let section: "main" | "pending" | "other" = "main";
  for (const raw of lines(text)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const head = line.startsWith("[") ? /^\[([^\]]*)\]$/.exec(line) : null;
    if (head) {
      section = head[1]!.trim().toUpperCase() === "PENDING" ? "pending" : "other";
      continue;
    }
    if (section === "other") continue;
    const m = /^([A-Za-z0-9_-]+)\s*:\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    const value = m[2]!.trim();
    const hp = key.startsWith("hostpci") ? /^hostpci(\d+)$/.exec(key) : null;
    if (hp) {
      (section === "pending" ? vm.pendingHostpci : vm.hostpci).push(parseHostpci(Number(hp[1]), value));
      continue;
    }
    if (section === "pending") continue;
    switch (key) {
      case "name":
        vm.name = value || null;
        break;
      case "ostype":
        vm.ostype = value || null;
        break;
      case "machine": {
        const first = value.split(",")[0]!;
        vm.machine = (first.startsWith("type=") ? first.slice(5) : first) || null;
        break;
      }
      case "memory": {
        // /^(?:current=)?(\d+)/ by string (start-up cost, issue 16)
        const v = value.startsWith("current=") ? value.slice(8) : value;
        let end = 0;
        while (end < v.length && v[end]! >= "0" && v[end]! <= "9") end++;
        vm.memoryMiB = end > 0 ? Number(v.slice(0, end)) : null;
        break;
      }
      case "args":
        vm.args = value;
        break;
      case "smbios1": {
        const u = /(?:^|,)uuid=([0-9a-fA-F-]{36})(?:,|$)/.exec(value);
        vm.smbiosUuid = u ? u[1]!.toLowerCase() : null;
        break;
      }
    }
  }
  vm.hostpci.sort((a, b) => a.index - b.index);
  vm.pendingHostpci.sort((a, b) => a.index - b.index);
  return vm;
}
