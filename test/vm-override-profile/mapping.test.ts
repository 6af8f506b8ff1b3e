/**
 * `vm mapping create|list` against the HTTPS fake of the Proxmox VE API (test/pve/fake-pve.ts).
 * Fixtures (test/fixtures/pve/SOURCES.md): nodes-three.json (GET /nodes shape), hardware-pci-2080ti.json
 * (legacy mdev, RTX 2080 Ti 10de:1e07 / MSI 1462:3715 per pci.ids), hardware-pci-a40-sriov.json
 * (A40 10de:2235 / 10de:145a physical function plus 8 VFs with mdev, nvidia, physfn — research/proxmox.md
 * §1a), mapping-pci-list.json (research/proxmox.md §1c). Map entry format and the POST parameters:
 * research/proxmox.md §1c/§1g (`pvesh create /cluster/mapping/pci --id … --mdev 1 --map … --map …`).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  MappingRefusal,
  pciFunctionAddress,
  runMappingCreate,
  runMappingList,
  selectNodeDevices,
} from "../../src/commands/mapping.ts";
import type { PciDevice } from "../../src/pve/index.ts";
import { PvePermissionError, PveTlsPinError } from "../../src/pve/index.ts";
import {
  type Cert,
  FakePve,
  fixture,
  makeCert,
  type Recorded,
  type Reply,
  tempDir,
} from "../pve/fake-pve.ts";
import { runInProcess } from "./cli.ts";

let tmp: { dir: string; cleanup: () => void };
let cert: Cert;
let other: Cert;
let tokenFile: string;
const fakes: FakePve[] = [];
const SECRET = "0b8e5d3c-7a2f-4e61-9c4d-5f1a2b3c4d5e";

beforeAll(() => {
  tmp = tempDir();
  cert = makeCert(tmp.dir, "pve");
  other = makeCert(tmp.dir, "other");
  tokenFile = join(tmp.dir, "token");
  writeFileSync(tokenFile, `root@pam!vgpuctl=${SECRET}\n`);
});
afterAll(() => tmp.cleanup());
afterEach(async () => {
  // the double checks each request against the PVE API schema: vgpuctl sent nothing a cluster refuses
  const rejected = fakes.flatMap((f) => f.rejected);
  while (fakes.length) await fakes.pop()!.stop();
  expect(rejected).toEqual([]);
});

const T2080 = () => (fixture("hardware-pci-2080ti.json") as { data: PciDevice[] }).data;
const A40 = () => (fixture("hardware-pci-a40-sriov.json") as { data: PciDevice[] }).data;

interface FakeOpts {
  pci?: Record<string, PciDevice[]>;
  mappings?: unknown;
  post?: (req: Recorded) => Reply;
  nodes?: unknown;
}

async function fake(o: FakeOpts = {}) {
  const pci = o.pci ?? { pve1: T2080(), pve2: T2080(), pve3: A40() };
  const f = new FakePve(cert)
    .on("GET /api2/json/nodes", { json: o.nodes ?? fixture("nodes-three.json") })
    .on("GET /api2/json/cluster/mapping/pci", { json: o.mappings ?? fixture("mapping-pci-list.json") })
    .on("POST /api2/json/cluster/mapping/pci", o.post ?? { json: { data: null } });
  for (const [node, list] of Object.entries(pci))
    f.on(`GET /api2/json/nodes/${node}/hardware/pci`, { json: { data: list } });
  fakes.push(f);
  return { f, url: await f.start() };
}

const posts = (f: FakePve) => f.requests.filter((q) => q.method === "POST");

/** the POST body as PVE's decode_urlencoded sees it: repeated keys kept in order */
function body(req: Recorded): Array<[string, string]> {
  return [...new URLSearchParams(req.body)];
}

describe("vm mapping create", () => {
  it("two 2080 Ti nodes (legacy mdev): one entry per node, ids copied from the listing, mdev=1", async () => {
    const { f, url } = await fake();
    const r = await runMappingCreate({
      id: "rtx2080ti",
      api: url,
      tokenFile,
      fingerprint: cert.fingerprint256,
      nodes: ["pve1", "pve2"],
      description: "RTX 2080 Ti vGPU",
    });
    expect(r.created).toBe(true);
    const [post, ...more] = posts(f);
    expect(more).toEqual([]);
    expect(post!.authorization).toBe(`PVEAPIToken=root@pam!vgpuctl=${SECRET}`);
    expect(post!.contentType).toBe("application/x-www-form-urlencoded");
    expect(body(post!)).toEqual([
      ["id", "rtx2080ti"],
      ["map", "node=pve1,path=0000:01:00.0,id=10de:1e07,subsystem-id=1462:3715,iommugroup=1"],
      ["map", "node=pve2,path=0000:01:00.0,id=10de:1e07,subsystem-id=1462:3715,iommugroup=1"],
      ["mdev", "1"],
      ["description", "RTX 2080 Ti vGPU"],
    ]);
    // audio/USB/UCSI functions of the same board and the Intel root port stay out
    expect(r.entries.map((e) => e.path)).toEqual(["0000:01:00.0", "0000:01:00.0"]);
    expect(r.gpus).toMatchObject([
      { node: "pve1", address: "0000:01:00.0", id: "10de:1e07", sriov: false },
      { node: "pve2", address: "0000:01:00.0", id: "10de:1e07", sriov: false },
    ]);
    expect(r.warnings).toEqual([]);
  });

  it("A40 SR-IOV node: every VF of the physical function, never the PF or the BMC VGA", async () => {
    const { f, url } = await fake();
    const r = await runMappingCreate({
      id: "a40",
      api: url,
      tokenFile,
      fingerprint: cert.fingerprint256,
      nodes: ["pve3"],
    });
    const vfs = ["00.4", "00.5", "00.6", "00.7", "01.0", "01.1", "01.2", "01.3"];
    expect(body(posts(f)[0]!)).toEqual([
      ["id", "a40"],
      ...vfs.map((v, i): [string, string] => [
        "map",
        `node=pve3,path=0000:41:${v},id=10de:2235,subsystem-id=10de:145a,iommugroup=${51 + i}`,
      ]),
      ["mdev", "1"],
    ]);
    expect(r.gpus).toEqual([
      {
        node: "pve3",
        address: "0000:41:00.0",
        id: "10de:2235",
        subsystemId: "10de:145a",
        name: "GA102GL [A40]",
        sriov: true,
        functions: vfs.map((v) => `0000:41:${v}`),
      },
    ]);
  });

  it("--gpu names the PF: its VFs, also from an older listing without physfn/virtfns", async () => {
    const old = A40().map((d) => {
      const { physfn: _p, virtfns: _v, ...rest } = d as Record<string, unknown>;
      return rest as PciDevice;
    });
    const sel = selectNodeDevices("pve3", old, "41:00.0");
    expect(sel.entries.map((e) => e.path)).toEqual(
      selectNodeDevices("pve3", A40(), "0000:41:00.0").entries.map((e) => e.path),
    );
    expect(sel.entries).toHaveLength(8);
    expect(sel.gpus).toMatchObject([{ address: "0000:41:00.0", sriov: true }]);
    // one VF by itself
    expect(selectNodeDevices("pve3", A40(), "0000:41:00.5").entries.map((e) => e.map)).toEqual([
      "node=pve3,path=0000:41:00.5,id=10de:2235,subsystem-id=10de:145a,iommugroup=52",
    ]);
  });

  it("default = every node; the 2080 Ti and A40 nodes together are refused as different GPUs, nothing posted", async () => {
    const { f, url } = await fake();
    const err = await runMappingCreate({
      id: "vgpu",
      api: url,
      tokenFile,
      fingerprint: cert.fingerprint256,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MappingRefusal);
    expect((err as MappingRefusal).code).toBe("mixed-gpus");
    expect((err as Error).message).toMatch(/10de:1e07 on pve1, pve2; 10de:2235 on pve3/);
    expect((err as MappingRefusal).hint).toMatch(/--node/);
    expect(f.requests.map((q) => `${q.method} ${q.url.split("?")[0]}`)).toEqual([
      "GET /api2/json/cluster/mapping/pci",
      "GET /api2/json/nodes",
      "GET /api2/json/nodes/pve1/hardware/pci",
      "GET /api2/json/nodes/pve2/hardware/pci",
      "GET /api2/json/nodes/pve3/hardware/pci",
    ]);
  });

  it("same chip on different boards: created, with a warning", async () => {
    const msi = T2080();
    const other2080 = T2080().map((d) =>
      d.id === "0000:01:00.0" ? { ...d, subsystem_vendor: "0x10de", subsystem_device: "0x12fa" } : d,
    );
    const { url } = await fake({
      pci: { pve1: msi, pve2: other2080 },
      nodes: {
        data: [
          { node: "pve1", status: "online" },
          { node: "pve2", status: "online" },
        ],
      },
    });
    const r = await runMappingCreate({ id: "tu102", api: url, tokenFile, fingerprint: cert.fingerprint256 });
    expect(r.entries.map((e) => e.subsystemId)).toEqual(["1462:3715", "10de:12fa"]);
    expect(r.warnings.join("\n")).toMatch(/boards differ/);
  });

  it("refuses an existing mapping id before reading any hardware", async () => {
    const { f, url } = await fake();
    const err = await runMappingCreate({
      id: "someGpu",
      api: url,
      tokenFile,
      fingerprint: cert.fingerprint256,
    }).catch((e: unknown) => e);
    expect((err as MappingRefusal).code).toBe("mapping-exists");
    expect((err as Error).message).toMatch(/mapping someGpu already exists \(1 entry, mdev\)/);
    expect(f.requests.map((q) => q.method + q.url.split("?")[0])).toEqual([
      "GET/api2/json/cluster/mapping/pci",
    ]);
  });

  it("an id the token cannot see but PVE already has: PVE's 'already defined' becomes the same refusal", async () => {
    const { url } = await fake({
      mappings: { data: [] },
      post: () => ({
        status: 500,
        reason: "create hardware mapping failed: pci ID 'rtx' already defined",
        json: { data: null, message: "create hardware mapping failed: pci ID 'rtx' already defined\n" },
      }),
    });
    const err = await runMappingCreate({
      id: "rtx",
      api: url,
      tokenFile,
      fingerprint: cert.fingerprint256,
      nodes: ["pve1"],
    }).catch((e: unknown) => e);
    expect((err as MappingRefusal).code).toBe("mapping-exists");
  });

  it("refuses a node without an NVIDIA mdev device, and an SR-IOV PF whose VFs are off", async () => {
    const pfOnly = A40()
      .filter((d) => !("physfn" in d))
      .map((d) => {
        const { virtfns: _v, ...rest } = d as Record<string, unknown>;
        return rest as PciDevice;
      });
    const noNvidia = T2080().filter((d) => d.vendor !== "0x10de");
    const { f, url } = await fake({ pci: { pve1: T2080(), pve2: noNvidia, pve3: pfOnly } });
    const base = { api: url, tokenFile, fingerprint: cert.fingerprint256 };
    const e1 = await runMappingCreate({ ...base, id: "x1", nodes: ["pve1", "pve2"] }).catch(
      (e: unknown) => e,
    );
    expect(e1).toMatchObject({ code: "no-mdev-device", message: "node pve2 has no NVIDIA GPU" });
    const e2 = await runMappingCreate({ ...base, id: "x2", nodes: ["pve3"] }).catch((e: unknown) => e);
    expect((e2 as MappingRefusal).code).toBe("no-mdev-device");
    expect((e2 as MappingRefusal).hint).toMatch(/sriov/);
    const e3 = await runMappingCreate({ ...base, id: "x3", nodes: ["pve3"], gpu: "0000:41:00.0" }).catch(
      (e: unknown) => e,
    );
    expect((e3 as MappingRefusal).code).toBe("gpu-not-mdev");
    const e4 = await runMappingCreate({ ...base, id: "x4", nodes: ["pve1"], gpu: "0000:02:00.0" }).catch(
      (e: unknown) => e,
    );
    expect((e4 as MappingRefusal).code).toBe("gpu-not-found");
    const e5 = await runMappingCreate({ ...base, id: "x5", nodes: ["pve9"] }).catch((e: unknown) => e);
    expect(e5).toMatchObject({ code: "unknown-node" });
    expect(posts(f)).toEqual([]);
  });

  it("refuses an offline node of the default node set", async () => {
    const { url } = await fake({
      nodes: {
        data: [
          { node: "pve1", status: "online" },
          { node: "pve2", status: "offline" },
        ],
      },
    });
    await expect(
      runMappingCreate({ id: "rtx", api: url, tokenFile, fingerprint: cert.fingerprint256 }),
    ).rejects.toMatchObject({ code: "node-offline" });
  });

  it("a missing Mapping.Modify privilege: the 403 names it and how to grant it", async () => {
    const msg = "Permission check failed (/mapping/pci, Mapping.Modify)";
    const { url } = await fake({
      post: () => ({ status: 403, reason: msg, json: { data: null, message: `${msg}\n` } }),
    });
    const err = await runMappingCreate({
      id: "rtx",
      api: url,
      tokenFile,
      fingerprint: cert.fingerprint256,
      nodes: ["pve1"],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PvePermissionError);
    expect((err as PvePermissionError).aclPath).toBe("/mapping/pci");
    expect((err as PvePermissionError).privileges).toEqual(["Mapping.Modify"]);
    expect((err as PvePermissionError).hint).toMatch(/PVEMappingAdmin; PVEAdmin does not include it/);
  });

  it("--dry-run reads but writes nothing, and prints the entries", async () => {
    const { f, url } = await fake();
    const r = await runInProcess(
      [
        "vm",
        "mapping",
        "create",
        "a40",
        "--api",
        url,
        "--token-file",
        tokenFile,
        "--fingerprint",
        cert.fingerprint256,
        "--node",
        "pve3",
        "--dry-run",
      ],
      {},
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("pve3 0000:41:00.0 GA102GL [A40]: 8 VF(s)");
    expect(r.out).toContain(
      "map node=pve3,path=0000:41:00.4,id=10de:2235,subsystem-id=10de:145a,iommugroup=51",
    );
    expect(r.out).toContain("would create mapping a40 (mdev=1, 8 entries on pve3)");
    expect(r.out).toContain(
      "pvesh create /cluster/mapping/pci --id a40 --mdev 1 --map node=pve3,path=0000:41:00.4",
    );
    expect(posts(f)).toEqual([]);
  });

  it("--json output of create", async () => {
    const { url } = await fake();
    const r = await runInProcess(
      [
        "--json",
        "vm",
        "mapping",
        "create",
        "rtx",
        "--api",
        url,
        "--token-file",
        tokenFile,
        "--fingerprint",
        cert.fingerprint256,
        "--node",
        "pve1",
        "--node",
        "pve2",
      ],
      {},
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ id: "rtx", mdev: true, created: true, dryRun: false, nodes: ["pve1", "pve2"] });
    expect(j.entries).toHaveLength(2);
  });

  it("a wrong fingerprint is refused before any request", async () => {
    const { f, url } = await fake();
    const err = await runMappingCreate({
      id: "rtx",
      api: url,
      tokenFile,
      fingerprint: other.fingerprint256,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveTlsPinError);
    expect(f.requests).toEqual([]);
  });

  it("bad ids and options are refused without a connection", async () => {
    const base = { api: "https://127.0.0.1:1", tokenFile, fingerprint: cert.fingerprint256 };
    await expect(runMappingCreate({ ...base, id: "9gpu" })).rejects.toThrow(/invalid mapping id/);
    await expect(runMappingCreate({ ...base, id: "gpu", gpu: "zz" })).rejects.toThrow(/not a PCI address/);
    await expect(runMappingCreate({ ...base, id: "gpu", caFile: "x" })).rejects.toThrow(
      /either --fingerprint or --ca/,
    );
    expect(pciFunctionAddress("01:00.0")).toBe("0000:01:00.0");
    expect(pciFunctionAddress("garbage")).toBeNull();
  });
});

describe("vm mapping list", () => {
  it("lists id, description, mdev flag and entries per node", async () => {
    const { url } = await fake();
    const r = await runMappingList({ api: url, tokenFile, fingerprint: cert.fingerprint256 });
    expect(r.mappings.map((m) => [m.id, m.mdev, m.description, m.perNode])).toEqual([
      ["l40s", false, null, { pve1: 2 }],
      ["someGpu", true, "RTX 2080 Ti for vGPU", { localhost: 1 }],
    ]);
    const out = await runInProcess(
      [
        "vm",
        "mapping",
        "list",
        "--api",
        url,
        "--token-file",
        tokenFile,
        "--fingerprint",
        cert.fingerprint256,
      ],
      {},
    );
    expect(out.code).toBe(0);
    expect(out.out).toContain("someGpu  mdev=1  RTX 2080 Ti for vGPU");
    expect(out.out).toContain("l40s  mdev=0 (not usable for vGPU)");
    expect(out.out).toContain("  pve1: 2 entries");
    expect(out.out).toContain("    0000:41:00.4 10de:26b9 subsystem 10de:1851 group 75");
    expect(out.out).toContain("warning: 'subsystem-id' does not match for 'someGpu'");
  });

  it("--check-node is passed to PVE", async () => {
    const { f, url } = await fake();
    await runMappingList({ api: url, tokenFile, fingerprint: cert.fingerprint256, checkNode: "pve1" });
    expect(f.requests[0]!.url).toBe("/api2/json/cluster/mapping/pci?check-node=pve1");
  });
});
