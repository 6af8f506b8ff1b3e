/**
 * Extracts the parameter schema of the Proxmox VE API endpoints vgpuctl calls into
 * test/fixtures/pve/api-schema.json, which the API double (test/pve/fake-pve.ts) checks every request against.
 *
 * Sources (git snapshots, e.g. from `fetch github:proxmox/pve-docs` etc.):
 * - proxmox/pve-docs `api-viewer/apidata.js`: the api-viewer data (`PVE::RESTHandler::api_dump` of
 *   `PVE::API2`, made by pve-docs `scripts/extractapi.pl`): method, path and parameter schema of every endpoint.
 *   It names registered formats without defining them, so:
 * - proxmox/qemu-server `src/PVE/QemuServer/PCI.pm`: `$hostpci_fmt` (format `pve-qm-hostpci` of `hostpciN`)
 *   and `$MAX_HOSTPCI_DEVICES` (apidata folds hostpci0…hostpciN into `hostpci[n]`);
 * - proxmox/pve-common `src/PVE/JSONSchema.pm`: the verifier subs of the plain formats (`pve-node`, `pve-vmid`,
 *   `pve-configid`, `dns-name`, …), as regex + error message.
 * Formats referenced by an endpoint but not needed by vgpuctl's requests are listed as not extracted; the
 * double refuses a value that needs one, so a new parameter cannot pass unchecked.
 *
 * Usage (snapshots as git directories; defaults: /work/.mirror/proxmox+<name>/repo):
 *   npx tsx scripts/extract-pve-api-schema.ts [--pve-docs DIR] [--qemu-server DIR] [--pve-common DIR] [--check]
 * `--check` compares with the committed fixture and exits 1 when they differ (the freshness check).
 * `$hostpci_fmt` is a Perl hash literal: it is evaluated by `perl` (core JSON::PP), nothing else of the file.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Every endpoint vgpuctl calls (src/pve/client.ts, src/commands/vm.ts, src/commands/mapping.ts). */
export const ENDPOINTS = [
  "GET /version",
  "GET /nodes",
  "GET /nodes/{node}/qemu/{vmid}/config",
  "POST /nodes/{node}/qemu/{vmid}/config",
  "PUT /nodes/{node}/qemu/{vmid}/config",
  "GET /nodes/{node}/qemu/{vmid}/status/current",
  "GET /nodes/{node}/tasks/{upid}/status",
  "GET /nodes/{node}/tasks/{upid}/log",
  "GET /nodes/{node}/hardware/pci",
  "GET /nodes/{node}/hardware/pci/{pci-id-or-mapping}/mdev",
  "GET /cluster/mapping/pci",
  "POST /cluster/mapping/pci",
] as const;

/** Schema keys the validator uses; descriptions and UI hints are dropped. */
const KEEP = new Set([
  "type",
  "format",
  "pattern",
  "enum",
  "optional",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "default_key",
  "alias",
  "keyAlias",
  "requires",
  "items",
  "properties",
  "additionalProperties",
]);

const OUT = join(import.meta.dirname, "..", "test", "fixtures", "pve", "api-schema.json");

interface Source {
  repo: string;
  commit: string;
  /** "<package> <version>" from the first line of debian/changelog */
  version: string;
  commitDate: string;
  files: string[];
}

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
}

function describeSource(dir: string, repo: string, files: string[]): Source {
  const changelog = git(dir, "show", "HEAD:debian/changelog").split("\n", 1)[0]!;
  const m = /^(\S+) \(([^)]+)\)/.exec(changelog);
  if (!m) throw new Error(`${repo}: cannot read the version from debian/changelog: ${changelog}`);
  return {
    repo,
    commit: git(dir, "rev-parse", "HEAD").trim(),
    version: `${m[1]} ${m[2]}`,
    commitDate: git(dir, "show", "-s", "--format=%cI", "HEAD").trim(),
    files,
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface ApiNode {
  path: string;
  info?: Record<string, { parameters?: Json; allowtoken?: number }>;
  children?: ApiNode[];
}

function parseApidata(js: string): ApiNode[] {
  const m = /^const apiSchema = ([\s\S]*?);\s*$/.exec(js.trim());
  if (!m) throw new Error("apidata.js does not start with `const apiSchema = `");
  return JSON.parse(m[1]!) as ApiNode[];
}

function findPath(nodes: ApiNode[], path: string): ApiNode | null {
  for (const n of nodes) {
    if (n.path === path) return n;
    const hit = n.children ? findPath(n.children, path) : null;
    if (hit) return hit;
  }
  return null;
}

/** Keep only the validating keys, recursively (inside `properties`, a property-string `format` and `items`). */
function prune(schema: Json): Json {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return schema;
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(schema).sort(([a], [b]) => a.localeCompare(b))) {
    if (!KEEP.has(k)) continue;
    if ((k === "properties" || (k === "format" && typeof v === "object")) && v && !Array.isArray(v)) {
      const props = v as { [k: string]: Json };
      out[k] = Object.fromEntries(
        Object.keys(props)
          .sort()
          .map((p) => [p, prune(props[p]!)]),
      );
    } else out[k] = k === "items" ? prune(v) : v;
  }
  return out;
}

function formatNames(schema: Json, into: Set<string>): void {
  if (Array.isArray(schema)) for (const s of schema) formatNames(s, into);
  else if (typeof schema === "object" && schema !== null) {
    for (const [k, v] of Object.entries(schema)) {
      if (k === "format" && typeof v === "string") into.add(v.replace(/-(list|opt)$/, ""));
      formatNames(v, into);
    }
  }
}

/** `$hostpci_fmt` of qemu-server PCI.pm, evaluated by perl; qr// patterns come out as Perl prints them. */
function hostpciFormat(pciPm: string): Json {
  const start = pciPm.indexOf("my $PCIRE");
  const end = pciPm.indexOf("PVE::JSONSchema::register_format('pve-qm-hostpci'");
  if (start < 0 || end < start) throw new Error("PCI.pm: $PCIRE / $hostpci_fmt not found");
  const program = `use strict; use warnings; use JSON::PP;
${pciPm.slice(start, end)}
sub plain { my ($v) = @_;
  return { map { ($_ => plain($v->{$_})) } grep { $_ ne 'description' && $_ ne 'format_description' } keys %$v } if ref($v) eq 'HASH';
  return [ map { plain($_) } @$v ] if ref($v) eq 'ARRAY';
  return "$v" if ref($v) eq 'Regexp';
  return $v; }
print JSON::PP->new->canonical->encode(plain($hostpci_fmt));
`;
  const props = JSON.parse(execFileSync("perl", ["-e", program], { encoding: "utf8" })) as {
    [k: string]: Json;
  };
  return prune({ properties: props }) as Json;
}

function maxHostpci(pciPm: string): number {
  const m = /our \$MAX_HOSTPCI_DEVICES = (\d+);/.exec(pciPm);
  if (!m) throw new Error("PCI.pm: $MAX_HOSTPCI_DEVICES not found");
  return Number(m[1]);
}

/** Body of `sub NAME { … }` (Proxmox code style: the closing brace alone at column 0). */
function subBody(pm: string, name: string): string {
  const start = pm.indexOf(`sub ${name} {`);
  if (start < 0) throw new Error(`JSONSchema.pm: sub ${name} not found`);
  return pm.slice(start, pm.indexOf("\n}\n", start));
}

/** A code-ref format of JSONSchema.pm as the regex its verifier applies and the message it dies with. */
function regexFormat(pm: string, sub: string): Json {
  const body = subBody(pm, sub);
  const test = /\$\w+ !~ m?\/\^(.*)\$\/(\w*)\)/.exec(body);
  const die = /die "([^"]*)\\n"/.exec(body);
  if (!test || !die) throw new Error(`JSONSchema.pm: sub ${sub} is not a single regex check`);
  let pattern = test[1]!;
  let flags = test[2]!;
  // interpolated variables: `my $x = "…";` in the sub, `our $X = qr/…/flags;` at file level
  pattern = pattern.replace(/\$\{?(\w+)\}?/g, (_, v: string) => {
    const local = new RegExp(`my \\$${v} = "([^"]*)";`).exec(body);
    if (local) return local[1]!.replace(/\\-/g, "-");
    const global = new RegExp(`our \\$${v} = qr/(.*)/(\\w*);`).exec(pm);
    if (!global) throw new Error(`JSONSchema.pm: $${v} used by ${sub} not found`);
    flags += global[2]!;
    return global[1]!;
  });
  // the message keeps Perl's interpolation of the value: "invalid configuration ID '$id'"
  const message = die[1]!.replace(/\$\w+/g, "{value}");
  return { kind: "regex", pattern, flags: [...new Set(flags)].join(""), message };
}

function registeredSubs(pm: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of pm.matchAll(/register_format\('([\w-]+)', \\&(\w+)\)/g)) out.set(m[1]!, m[2]!);
  return out;
}

export function extract(dirs: { pveDocs: string; qemuServer: string; pveCommon: string }): Json {
  const apidataFile = "api-viewer/apidata.js";
  const pciFile = "src/PVE/QemuServer/PCI.pm";
  const schemaFile = "src/PVE/JSONSchema.pm";
  const api = parseApidata(git(dirs.pveDocs, "show", `HEAD:${apidataFile}`));
  const pciPm = git(dirs.qemuServer, "show", `HEAD:${pciFile}`);
  const jsonSchemaPm = git(dirs.pveCommon, "show", `HEAD:${schemaFile}`);

  const endpoints: { [k: string]: Json } = {};
  const used = new Set<string>();
  for (const ep of ENDPOINTS) {
    const [method, path] = ep.split(" ") as [string, string];
    const info = findPath(api, path)?.info?.[method];
    if (!info) throw new Error(`apidata.js has no ${ep}`);
    const parameters = prune(info.parameters ?? { additionalProperties: 0 });
    formatNames(parameters, used);
    endpoints[ep] = { allowtoken: info.allowtoken ?? 0, parameters };
  }

  const formats: { [k: string]: Json } = {};
  const subs = registeredSubs(jsonSchemaPm);
  const hostpci = hostpciFormat(pciPm);
  formatNames(hostpci, used);
  for (const name of [...used].sort()) {
    if (name === "pve-qm-hostpci") formats[name] = { kind: "property-string", ...(hostpci as object) };
    else if (name === "string")
      formats[name] = { kind: "any" }; // register_format('string', sub { })
    else if (["pve-node", "pve-vmid", "pve-configid", "dns-name"].includes(name)) {
      const sub = subs.get(name);
      if (!sub) throw new Error(`JSONSchema.pm does not register ${name}`);
      formats[name] = regexFormat(jsonSchemaPm, sub);
    } else formats[name] = { kind: "not-extracted" };
  }

  return {
    $comment:
      "Generated by scripts/extract-pve-api-schema.ts from the sources below; do not edit. See test/fixtures/pve/SOURCES.md.",
    sources: [
      describeSource(dirs.pveDocs, "proxmox/pve-docs", [apidataFile]),
      describeSource(dirs.qemuServer, "proxmox/qemu-server", [pciFile]),
      describeSource(dirs.pveCommon, "proxmox/pve-common", [schemaFile]),
    ] as unknown as Json,
    indexed: { hostpci: maxHostpci(pciPm) },
    endpoints,
    formats,
  };
}

function main(argv: string[]): number {
  const arg = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  const mirror = (name: string) => `/work/.mirror/proxmox+${name}/repo`;
  const json = JSON.stringify(
    extract({
      pveDocs: arg("--pve-docs", mirror("pve-docs")),
      qemuServer: arg("--qemu-server", mirror("qemu-server")),
      pveCommon: arg("--pve-common", mirror("pve-common")),
    }),
  );
  // laid out by the repository's formatter, so `biome check .` and --check agree
  const text = execFileSync("npx", ["biome", "format", `--stdin-file-path=${OUT}`], {
    input: json,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (argv.includes("--check")) {
    const same = readFileSync(OUT, "utf8") === text;
    console.log(same ? `${OUT} is up to date` : `${OUT} differs from the sources; re-run without --check`);
    return same ? 0 : 1;
  }
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT}`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
