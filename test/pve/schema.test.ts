/**
 * The API double refuses what Proxmox VE refuses. Schema: test/fixtures/pve/api-schema.json (extracted by
 * scripts/extract-pve-api-schema.ts from pve-docs apidata.js, qemu-server PCI.pm, pve-common JSONSchema.pm;
 * commits in the fixture and SOURCES.md). Error texts are pve-common PVE::JSONSchema's; the 400 body is
 * pve-http-server Formatter/Standard.pm's json shape `{data: null, errors, message}`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ENDPOINTS } from "../../scripts/extract-pve-api-schema.ts";
import { createPveClient, type PveApiError, type PveClient, PveTaskError } from "../../src/pve/index.ts";
import { type Cert, FakePve, makeCert, tempDir } from "./fake-pve.ts";
import { decodeUrlencoded, loadApiSchema, SchemaValidator } from "./pve-schema.ts";

const schema = loadApiSchema();
const v = new SchemaValidator(schema);
const CONFIG = "POST /nodes/{node}/qemu/{vmid}/config";
const MAPPING = "POST /cluster/mapping/pci";
const VM = { node: "pve1", vmid: "100" };
const MAP_A40 = "node=pve3,path=0000:41:00.4,id=10de:2235,subsystem-id=10de:145a,iommugroup=51";

describe("the schema fixture", () => {
  it("holds exactly the endpoints vgpuctl calls, from pinned sources", () => {
    expect(Object.keys(schema.endpoints).sort()).toEqual([...ENDPOINTS].sort());
    expect(schema.sources.map((s) => s.repo)).toEqual([
      "proxmox/pve-docs",
      "proxmox/qemu-server",
      "proxmox/pve-common",
    ]);
    for (const s of schema.sources) expect(s.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it("defines the formats of the parameters vgpuctl sends", () => {
    for (const name of ["pve-qm-hostpci", "pve-node", "pve-vmid", "pve-configid", "dns-name", "string"])
      expect(schema.formats[name]?.kind).not.toBe("not-extracted");
    expect(Object.keys(schema.formats["pve-qm-hostpci"]!).length).toBeGreaterThan(0);
  });
});

describe("hostpciN (qemu-server $hostpci_fmt)", () => {
  const check = (hostpci0: string) => v.validate(CONFIG, VM, { hostpci0, digest: "a".repeat(40) });

  it("accepts what vgpuctl writes: a mapping or a VF address with mdev=, pcie", () => {
    expect(check("mapping=someGpu,mdev=nvidia-257,pcie=1")).toEqual({});
    expect(check("0000:41:00.4,mdev=nvidia-1155")).toEqual({});
    expect(check("host=41:00.4,mdev=nvidia-1155,pcie=1,x-vga=1")).toEqual({});
    expect(check("0000:41:00.4;0000:41:00.5,mdev=nvidia-1155")).toEqual({});
  });

  it("rejects a bad mdev value, an unknown key, a key without value and a malformed address", () => {
    expect(check("0000:41:00.4,mdev=nvidia:1155")).toEqual({
      hostpci0: "invalid format - format error\nhostpci0.mdev: value does not match the regex pattern\n",
    });
    expect(check("0000:41:00.4,type=nvidia-1155")).toEqual({
      hostpci0: "invalid format - invalid key in comma-separated list property: type\n",
    });
    expect(check("0000:41:00.4,mdev=")).toEqual({
      hostpci0: "invalid format - missing key in comma-separated list property\n",
    });
    expect(check("0000:41:00.4,0000:41:00.5")).toEqual({
      hostpci0: "invalid format - duplicate key in comma-separated list property: host\n",
    });
    expect(check("0000:41:0.4,mdev=nvidia-1155")).toEqual({
      hostpci0: "invalid format - format error\nhostpci0.host: value does not match the regex pattern\n",
    });
    expect(check("mapping=9gpu,pcie=yes")).toEqual({
      hostpci0:
        "invalid format - format error\nhostpci0.mapping: invalid format - invalid configuration ID '9gpu'\n\n",
    });
  });

  it("rejects a wrong parameter name: no index, an index past $MAX_HOSTPCI_DEVICES, a typo", () => {
    const notInSchema =
      "property is not defined in schema and the schema does not allow additional properties";
    expect(v.validate(CONFIG, VM, { hostpci: "mapping=gpu" })).toEqual({ hostpci: notInSchema });
    expect(v.validate(CONFIG, VM, { hostpci16: "mapping=gpu" })).toEqual({ hostpci16: notInSchema });
    expect(v.validate(CONFIG, VM, { hostpci15: "mapping=gpu" })).toEqual({});
    expect(v.validate(CONFIG, VM, { hostpci0: "mapping=gpu", disgest: "abc" })).toEqual({
      disgest: notInSchema,
    });
  });

  it("checks digest, delete and the URI parameters", () => {
    expect(v.validate(CONFIG, VM, { digest: "a".repeat(41) })).toEqual({
      digest: "value may only be 40 characters long",
    });
    expect(v.validate(CONFIG, VM, { delete: "hostpci0,hostpci1" })).toEqual({});
    expect(v.validate(CONFIG, VM, { delete: "hostpci0;1abc" })).toEqual({
      delete: "invalid format - invalid configuration ID '1abc'\n",
    });
    expect(v.validate(CONFIG, { node: "pve_1", vmid: "99" }, {})).toEqual({
      node: "invalid format - value does not look like a valid node name\n",
      vmid: "invalid format - value does not look like a valid VM ID\n",
    });
    expect(v.validate(CONFIG, VM, { vmid: "101" })).toEqual({
      vmid: "duplicate parameter (already defined in URI) with conflicting values!",
    });
  });
});

describe("formats not extracted", () => {
  it("a parameter whose format the fixture lacks is an error of the double, never silently accepted", () => {
    expect(v.validate(CONFIG, VM, { name: "win11" })).toEqual({});
    expect(() => v.validate(CONFIG, VM, { boot: "order=scsi0" })).toThrow(
      "fake-pve: format 'pve-qm-boot' is not in test/fixtures/pve/api-schema.json",
    );
  });
});

describe("cluster mapping map entries (pve-guest-common PVE::Mapping::PCI, inlined in apidata)", () => {
  const create = (map: string | string[], extra: Record<string, string> = {}) =>
    v.validate(MAPPING, {}, { id: "a40", map, mdev: "1", ...extra });

  it("accepts what vgpuctl sends: VF paths with domain, ids, subsystem id, iommugroup, mdev=1", () => {
    expect(create([MAP_A40, MAP_A40.replace("00.4", "00.5")])).toEqual({});
    expect(create("node=pve1,path=0000:01:00.0,id=10de:1e07,subsystem-id=1462:3715,iommugroup=1")).toEqual(
      {},
    );
  });

  it("rejects a path without domain, a 0x id, an unknown key, a non-integer group, a missing node", () => {
    const fmt = (key: string) =>
      `invalid format - format error\nmap[0].${key}: value does not match the regex pattern\n`;
    expect(create("node=pve3,path=41:00.0,id=10de:2235")).toEqual({ "map[0]": fmt("path") });
    expect(create("node=pve3,path=0000:41:00.4,id=0x10de:0x2235")).toEqual({ "map[0]": fmt("id") });
    expect(create(`${MAP_A40},mdev=1`)).toEqual({
      "map[0]": "invalid format - invalid key in comma-separated list property: mdev\n",
    });
    expect(create(MAP_A40.replace("iommugroup=51", "iommugroup=5a"))).toEqual({
      "map[0]":
        "invalid format - format error\nmap[0].iommugroup: type check ('integer') failed - got '5a'\n",
    });
    expect(create("path=0000:41:00.4,id=10de:2235")).toEqual({
      "map[0]": "invalid format - format error\nmap[0].node: property is missing and it is not optional\n",
    });
  });

  it("checks the mdev boolean, the id format and required map", () => {
    expect(create(MAP_A40, { mdev: "true" })).toEqual({ mdev: "type check ('boolean') failed - got 'true'" });
    expect(v.validate(MAPPING, {}, { id: "a40" })).toEqual({
      map: "property is missing and it is not optional",
    });
    expect(create(MAP_A40, { id: "a" })).toEqual({ id: "invalid format - invalid configuration ID 'a'\n" });
  });
});

describe("request decoding (pve-http-server decode_urlencoded)", () => {
  it("drops an empty value, collects repeated keys and decodes + and %XX", () => {
    expect(decodeUrlencoded("pci-class-blacklist=")).toEqual({ "pci-class-blacklist": undefined });
    expect(decodeUrlencoded("map=a%3Db&map=c&description=A+B%2C")).toEqual({
      map: ["a=b", "c"],
      description: "A B,",
    });
  });

  it("routes by the published paths only", () => {
    expect(v.route("GET", "/nodes/pve1/hardware/pci/0000:41:00.4/mdev")).toEqual({
      key: "GET /nodes/{node}/hardware/pci/{pci-id-or-mapping}/mdev",
      uriParams: { node: "pve1", "pci-id-or-mapping": "0000:41:00.4" },
    });
    expect(v.route("DELETE", "/cluster/mapping/pci")).toBeNull();
  });
});

describe("the double answers like Proxmox VE", () => {
  let tmp: ReturnType<typeof tempDir>;
  let cert: Cert;
  const open: Array<{ f: FakePve; pve: PveClient }> = [];
  beforeAll(() => {
    tmp = tempDir();
    cert = makeCert(tmp.dir, "pve");
  });
  afterAll(() => tmp.cleanup());
  afterEach(async () => {
    for (const { f, pve } of open.splice(0)) {
      await pve.close();
      await f.stop();
    }
  });

  async function start(f: FakePve): Promise<PveClient> {
    const url = await f.start();
    const pve = createPveClient({
      baseUrl: url,
      token: { user: "root@pam", tokenId: "vgpuctl", secret: "0b4c8f5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f" },
      tls: { fingerprint: cert.fingerprint256 },
      sleep: () => Promise.resolve(),
    });
    open.push({ f, pve });
    return pve;
  }

  it("400 with the per-parameter errors before the route handler runs", async () => {
    let handled = 0;
    const f = new FakePve(cert).on("POST /api2/json/cluster/mapping/pci", () => {
      handled++;
      return { json: { data: null } };
    });
    const pve = await start(f);
    const err = (await pve
      .post("/cluster/mapping/pci", { id: "a40", map: ["node=pve3,path=41:00.4,id=10de:2235"], mdev: true })
      .catch((e: unknown) => e)) as PveApiError;
    expect(handled).toBe(0);
    expect([err.status, err.pveMessage, err.errors]).toEqual([
      400,
      "Parameter verification failed.",
      { "map[0]": "invalid format - format error\nmap[0].path: value does not match the regex pattern" },
    ]);
    expect(f.rejected).toMatchObject([
      { method: "POST", path: "/api2/json/cluster/mapping/pci", status: 400 },
    ]);
  });

  it("the 400 body is PVE's json error shape", async () => {
    const f = new FakePve(cert);
    const url = await f.start();
    open.push({
      f,
      pve: createPveClient({ baseUrl: url, token: { user: "root@pam", tokenId: "t", secret: "s" } }),
    });
    const res = await fetchInsecure(`${url}/api2/json/nodes/pve1/qemu/100/config`, "PUT", "mdev=1");
    expect(res.status).toBe(400);
    expect(res.statusText).toBe("Parameter verification failed.");
    expect(JSON.parse(res.body)).toEqual({
      data: null,
      errors: {
        mdev: "property is not defined in schema and the schema does not allow additional properties",
      },
      message: "Parameter verification failed.\n",
    });
  });

  it("501 for an endpoint outside the schema", async () => {
    const pve = await start(new FakePve(cert));
    const err = (await pve.get("/nodes/pve1/qemu").catch((e: unknown) => e)) as PveApiError;
    expect([err.status, err.pveMessage]).toEqual([501, "Method 'GET /nodes/pve1/qemu' not implemented"]);
  });

  it("an API token cannot set a raw PCI address: PUT answers 500, POST's worker task fails", async () => {
    // the client refuses this itself (setVmConfig/updateVmConfig); raw requests show the double's rule
    const f = new FakePve(cert)
      .on("PUT /api2/json/nodes/pve1/qemu/100/config", { json: { data: null } })
      .on("POST /api2/json/nodes/pve1/qemu/100/config", { json: { data: null } });
    const pve = await start(f);
    const path = "/nodes/pve1/qemu/100/config";
    const raw = { hostpci0: "0000:41:00.4,mdev=nvidia-1155" };
    const put = (await pve.put(path, raw).catch((e: unknown) => e)) as PveApiError;
    expect([put.status, put.pveMessage]).toEqual([
      500,
      "only root can set 'hostpci0' config for non-mapped devices",
    ]);
    const upid = await pve.post<string>(path, raw);
    const task = await pve.waitForTask("pve1", upid, { intervalMs: 1 }).catch((e: unknown) => e);
    expect(task).toBeInstanceOf(PveTaskError);
    expect((task as PveTaskError).exitstatus).toBe(
      "only root can set 'hostpci0' config for non-mapped devices",
    );
    expect(await pve.put(path, { hostpci0: "mapping=a40,mdev=nvidia-1155" })).toBeNull();
    expect(f.rejected.map((r) => r.status)).toEqual([500, "task"]);
  });

  it("the client refuses a raw PCI address over its token before sending", async () => {
    const f = new FakePve(cert);
    const pve = await start(f);
    const err = await pve
      .setVmConfig("pve1", 100, { hostpci0: "host=0000:41:00.4,mdev=nvidia-1155" }, null)
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      "Proxmox VE lets only root@pam itself set hostpci0 to a PCI address (0000:41:00.4), not the API token root@pam!vgpuctl; nothing was changed",
    );
    expect(f.requests).toEqual([]);
  });
});

/** A raw request that skips certificate checks (the test's own self-signed server). */
async function fetchInsecure(
  url: string,
  method: string,
  body: string,
): Promise<{ status: number; statusText: string; body: string }> {
  const { request } = await import("node:https");
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        rejectUnauthorized: false,
        headers: {
          authorization: "PVEAPIToken=root@pam!t=s",
          "content-type": "application/x-www-form-urlencoded",
        },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString("utf8");
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? "", body: text }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
