/**
 * `pvesh` (Proxmox VE's API on the command line, root only; research/proxmox.md §1g) for what vgpuctl asks:
 *
 * - `pvesh get /nodes/{localhost|NODE}/hardware/pci [--pci-class-blacklist X] [--output-format json]`:
 *   the node's PCI functions in the API's shape (pve-manager PVE/API2/Hardware/PCI.pm over pve-common
 *   SysFSTools pci_scan: id, class, vendor, device, subsystem_vendor/_device with 0x, iommugroup, mdev=1 on
 *   functions offering mediated devices, `nvidia`: 1 and `physfn` on vendor-specific VFIO VFs, `virtfns` on
 *   their PF — as in test/fixtures/pve/hardware-pci-a40-sriov.json). IOMMU groups numbered in address order
 *   like the sim's dmesg ("Adding to iommu group N"); none while the IOMMU is off.
 * - `pvesh get|create|set|delete /cluster/mapping/pci[/ID]`: the cluster PCI resource mappings in
 *   /etc/pve/mapping/pci.cfg (pve-guest-common src/PVE/Mapping/PCI.pm @ 4a8f6cbf: a SectionConfig whose
 *   section header is the id alone, then "\tKEY VALUE" lines, `map` once per entry); create refuses an
 *   existing id ("pci ID 'ID' already defined"), set an unknown one ("pci ID 'ID' does not exist") and copies
 *   every given property over the old one (the `map` list is replaced), delete removes the section
 *   (pve-manager PVE/API2/Cluster/Mapping/PCI.pm @ 14a22df3). Errors go to stderr with exit status 255
 *   (PVE::CLIHandler dies).
 */

import { compareText } from "../../util/compare.ts";
import { PCI_MAPPING_CFG } from "./cluster.ts";
import type { CmdContext } from "./commands.ts";
import { iommuState, offeredTypes, physfnOf, virtualFunctions } from "./logic.ts";
import { allPciFunctions } from "./render/pci.ts";
import { type CmdResult, fail, ok } from "./render/types.ts";
import type { SimState } from "./state.ts";

const PCI_CFG = PCI_MAPPING_CFG;

interface Section {
  id: string;
  props: Array<[string, string]>;
}

function readCfg(s: SimState): Section[] {
  const out: Section[] = [];
  for (const line of (s.files[PCI_CFG] ?? "").split("\n")) {
    if (line.trim() === "") continue;
    if (/^\S/.test(line)) out.push({ id: line.trim(), props: [] });
    else {
      const m = /^\s+(\S+)\s+(.*)$/.exec(line);
      if (m && out.length) out[out.length - 1]!.props.push([m[1]!, m[2]!]);
    }
  }
  return out;
}

/** SectionConfig write_config: sections in id order, properties in key order (map entries as given). */
function writeCfg(ctx: CmdContext, sections: Section[]): void {
  const text = [...sections]
    .sort((a, b) => compareText(a.id, b.id))
    .map((sec) => {
      const props = [...sec.props].sort((a, b) => compareText(a[0], b[0]));
      return `${sec.id}\n${props.map(([k, v]) => `\t${k} ${v}\n`).join("")}`;
    })
    .join("\n");
  ctx.state.files[PCI_CFG] = text;
  ctx.changed = true;
}

/** --key value pairs (repeatable keys collect); positional words are refused by the caller. */
function options(args: string[]): Map<string, string[]> | string {
  const out = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const k = /^--?([a-z-]+)$/.exec(args[i]!)?.[1];
    if (!k || i + 1 >= args.length) return `400 unable to parse option '${args[i]}'`;
    out.set(k, [...(out.get(k) ?? []), args[++i]!]);
  }
  return out;
}

const die = (msg: string): CmdResult => fail(`${msg}\n`, 255);

export function pvesh(ctx: CmdContext, args: string[]): CmdResult {
  const [verb, path, ...rest] = args;
  const opts = options(rest);
  if (typeof opts === "string") return die(opts);
  const node = /^\/nodes\/([^/]+)\/hardware\/pci$/.exec(path ?? "")?.[1];
  if (verb === "get" && node) {
    if (node !== "localhost" && node !== ctx.state.hostname) return die(`hostname lookup '${node}' failed`);
    return ok(`${JSON.stringify(hardwarePci(ctx.state))}\n`);
  }
  const m = /^\/cluster\/mapping\/pci(?:\/([^/]+))?$/.exec(path ?? "");
  if (!m) return die(`no such API path '${path ?? ""}'`);
  return mappingCall(ctx, verb ?? "", m[1] ?? null, opts);
}

function mappingCall(
  ctx: CmdContext,
  verb: string,
  id: string | null,
  opts: Map<string, string[]>,
): CmdResult {
  const sections = readCfg(ctx.state);
  const found = id ? sections.find((x) => x.id === id) : undefined;
  const one = (k: string) => opts.get(k)?.at(-1);
  if (verb === "get" && id === null) return ok(`${JSON.stringify(sections.map((sec) => asItem(sec)))}\n`);
  if (verb === "get")
    return found ? ok(`${JSON.stringify(asItem(found))}\n`) : die(`pci ID '${id}' does not exist`);
  if (verb === "delete" && id !== null) {
    writeCfg(
      ctx,
      sections.filter((x) => x !== found),
    );
    return ok("");
  }
  if (verb === "create" && id === null) {
    const newId = one("id");
    if (!newId || !/^[a-z][a-z0-9_-]+$/i.test(newId))
      return die("400 Parameter verification failed.\nid: invalid format");
    if (sections.some((x) => x.id === newId))
      return die(`create hardware mapping failed: pci ID '${newId}' already defined`);
    const props = propsOf(opts);
    if (typeof props === "string") return die(props);
    writeCfg(ctx, [...sections, { id: newId, props }]);
    return ok("");
  }
  if (verb === "set" && id !== null) {
    if (!found) return die(`update hardware mapping failed: pci ID '${id}' does not exist`);
    const props = propsOf(opts);
    if (typeof props === "string") return die(props);
    const given = new Set(props.map(([k]) => k));
    const deleted = new Set((one("delete") ?? "").split(/[,;\s]+/).filter(Boolean));
    found.props = [...found.props.filter(([k]) => !given.has(k) && !deleted.has(k)), ...props];
    writeCfg(ctx, sections);
    return ok("");
  }
  return die(`unknown call '${verb}' on /cluster/mapping/pci${id ? `/${id}` : ""}`);
}

/** The section properties from the options (map needs node, path and id: PCI.pm $map_fmt). */
function propsOf(opts: Map<string, string[]>): Array<[string, string]> | string {
  const props: Array<[string, string]> = [];
  for (const map of opts.get("map") ?? []) {
    const keys = new Set(map.split(",").map((kv) => kv.slice(0, kv.indexOf("="))));
    if (!["node", "path", "id"].every((k) => keys.has(k)))
      return `400 Parameter verification failed.\nmap: invalid format - missing node, path or id in '${map}'`;
    props.push(["map", map]);
  }
  for (const k of ["description", "mdev", "live-migration-capable"]) {
    const v = opts.get(k)?.at(-1);
    if (v !== undefined) props.push([k, v]);
  }
  return props;
}

function asItem(sec: Section) {
  const item: Record<string, unknown> = { id: sec.id, type: "pci", map: [] as string[] };
  for (const [k, v] of sec.props) {
    if (k === "map") (item.map as string[]).push(v);
    else item[k] = k === "mdev" || k === "live-migration-capable" ? Number(v) : v;
  }
  return item;
}

const hex = (x: string) => `0x${x.toLowerCase()}`;

/** lspci's "NVIDIA Corporation GA107GL [A2 / A16]" as the API's vendor_name / device_name pair. */
function vendorDevice(name: string): { vendor: string; device: string } {
  const at = name.indexOf(" Corporation ");
  return at < 0
    ? { vendor: "", device: name }
    : { vendor: name.slice(0, at + 12), device: name.slice(at + 13) };
}

/** GET /nodes/{node}/hardware/pci: every function, in address order. */
function hardwarePci(s: SimState): Array<Record<string, unknown>> {
  const iommu = iommuState(s).active;
  return allPciFunctions(s).map((f, group) => {
    const pf = physfnOf(s, f.address);
    const gpu = s.gpus.find((g) => g.address === f.address);
    const vfs = gpu ? virtualFunctions(gpu) : [];
    const vendorVfio = pf !== undefined && s.driverLoaded;
    const mdev = vendorVfio || (gpu !== undefined && offeredTypes(s, gpu).length > 0);
    const names = vendorDevice(f.name);
    const sub = f.subsystem ? vendorDevice(f.subsystem.name) : null;
    return {
      id: f.address,
      class: f.sysfsClass,
      vendor: hex(f.vendorId),
      device: hex(f.deviceId),
      ...(iommu ? { iommugroup: group } : {}),
      vendor_name: names.vendor,
      device_name: names.device,
      ...(f.subsystem && sub
        ? {
            subsystem_vendor: hex(f.subsystem.vendorId),
            subsystem_device: hex(f.subsystem.deviceId),
            subsystem_vendor_name: sub.vendor,
            subsystem_device_name: sub.device,
          }
        : {}),
      ...(mdev ? { mdev: 1 } : {}),
      ...(vendorVfio ? { nvidia: 1, physfn: pf!.address } : {}),
      ...(vfs.length ? { virtfns: Object.fromEntries(vfs.map((v, i) => [`virtfn${i}`, v])) } : {}),
    };
  });
}
