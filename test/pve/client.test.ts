import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createPveClient,
  PveAuthError,
  type PveClient,
  type PveClientOptions,
  PveConcurrentEditError,
  PveConnectionError,
  PvePermissionError,
  PveTaskError,
  PveTlsPinError,
} from "../../src/pve/index.ts";
import { UserError } from "../../src/util/errors.ts";
import { type Cert, FakePve, fixture, makeCert, tempDir } from "./fake-pve.ts";

const TOKEN = { user: "root@pam", tokenId: "vgpuctl", secret: "0b4c8f5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f" };
// source: research/proxmox.md §1f (UPID format; user may be a token id)
const UPID = "UPID:pve:000035F2:0001A2B3:6650A1B2:qmstart:100:root@pam!vgpuctl:";

let tmp: ReturnType<typeof tempDir>;
let serverCert: Cert;
let otherCert: Cert;

beforeAll(() => {
  tmp = tempDir();
  serverCert = makeCert(tmp.dir, "pve");
  otherCert = makeCert(tmp.dir, "other");
});
afterAll(() => tmp.cleanup());

const fakes: FakePve[] = [];
const clients: PveClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

async function setup(
  routes: (f: FakePve) => void,
  tls: PveClientOptions["tls"] = { fingerprint: serverCert.fingerprint256 },
): Promise<{ fake: FakePve; pve: PveClient }> {
  const fake = new FakePve(serverCert);
  routes(fake);
  fakes.push(fake);
  const url = await fake.start();
  const pve = createPveClient({
    baseUrl: url,
    token: TOKEN,
    tls,
    sleep: () => new Promise((r) => setTimeout(r, 1)),
  });
  clients.push(pve);
  return { fake, pve };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("TLS", () => {
  it("works with the right pinned fingerprint and sends the PVEAPIToken header", async () => {
    const { fake, pve } = await setup((f) =>
      f.on("GET /api2/json/version", { json: { data: { version: "8.2.4", release: "8.2" } } }),
    );
    expect(await pve.get("/version")).toEqual({ version: "8.2.4", release: "8.2" });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.authorization).toBe(`PVEAPIToken=root@pam!vgpuctl=${TOKEN.secret}`);
  });

  it("accepts the fingerprint in lowercase / without colons", async () => {
    const fp = serverCert.fingerprint256.replace(/:/g, "").toLowerCase();
    const { pve } = await setup(
      (f) => f.on("GET /api2/json/version", { json: { data: { version: "8.2.4" } } }),
      { fingerprint: fp },
    );
    expect(await pve.get("/version")).toEqual({ version: "8.2.4" });
  });

  it("refuses a wrong fingerprint before any request reaches the server", async () => {
    const { fake, pve } = await setup((f) => f.on("GET /api2/json/version", { json: { data: {} } }), {
      fingerprint: otherCert.fingerprint256,
    });
    const err = await rejection(pve.get("/version"));
    expect(err).toBeInstanceOf(PveTlsPinError);
    expect(err.message).toContain(serverCert.fingerprint256);
    expect(err.message).toContain(otherCert.fingerprint256);
    expect(fake.tcpConnections).toBeGreaterThan(0); // the client did connect …
    expect(fake.requests).toHaveLength(0); // … but no HTTP request (and no token) was sent
  });

  it("verifies against a given CA", async () => {
    const { fake, pve } = await setup(
      (f) => f.on("GET /api2/json/nodes", { json: { data: [{ node: "pve", status: "online" }] } }),
      {
        ca: serverCert.cert,
      },
    );
    expect(await pve.listNodes()).toEqual([{ node: "pve", status: "online" }]);
    expect(fake.requests).toHaveLength(1);
  });

  it("refuses a certificate that the given CA did not sign, and the system store's default", async () => {
    const a = await setup((f) => f.on("GET /api2/json/nodes", { json: { data: [] } }), {
      ca: otherCert.cert,
    });
    const err = await rejection(a.pve.listNodes());
    expect(err).toBeInstanceOf(PveConnectionError);
    expect((err as UserError).hint).toMatch(/pve-root-ca\.pem|fingerprint/);
    expect(a.fake.requests).toHaveLength(0);

    const b = await setup((f) => f.on("GET /api2/json/nodes", { json: { data: [] } }), {});
    expect(await rejection(b.pve.listNodes())).toBeInstanceOf(PveConnectionError);
    expect(b.fake.requests).toHaveLength(0);
  });

  it("refuses plain http and malformed fingerprints up front", () => {
    expect(() => createPveClient({ baseUrl: "http://pve:8006", token: TOKEN })).toThrow(UserError);
    expect(() =>
      createPveClient({ baseUrl: "https://pve:8006", token: TOKEN, tls: { fingerprint: "AA:BB" } }),
    ).toThrow(/SHA-256/);
    expect(() => createPveClient({ baseUrl: "https://pve:8006", token: { ...TOKEN, user: "root" } })).toThrow(
      /invalid Proxmox VE user/,
    );
  });
});

describe("errors", () => {
  it("maps 401 to a bad-token error that never shows the secret", async () => {
    // source: pve-http-server AnyEvent.pm — auth failures are answered with the message as reason phrase and no body
    const { pve } = await setup((f) =>
      f.on("GET /api2/json/nodes", { status: 401, reason: "authentication failure" }),
    );
    const err = await rejection(pve.listNodes());
    expect(err).toBeInstanceOf(PveAuthError);
    expect(err.message).toContain("root@pam!vgpuctl");
    expect(err.message).toContain("authentication failure");
    expect(err.message).not.toContain(TOKEN.secret);
    expect((err as UserError).hint).toMatch(/API Tokens/);
  });

  it("names the privilege and path of a 403 (body message, newer PVE)", async () => {
    // source: Formatter/Standard.pm json error body + PVE::Exception::raise_perm_exc
    const { pve } = await setup((f) =>
      f.on("PUT /api2/json/nodes/pve/qemu/100/config", {
        status: 403,
        reason: "Permission check failed (/vms/100, VM.Config.HW)",
        json: { data: null, message: "Permission check failed (/vms/100, VM.Config.HW)\n" },
      }),
    );
    const err = await rejection(
      pve.setVmConfig("pve", 100, { hostpci0: "mapping=gpu,mdev=nvidia-259" }, null),
    );
    expect(err).toBeInstanceOf(PvePermissionError);
    const p = err as PvePermissionError;
    expect(p.aclPath).toBe("/vms/100");
    expect(p.privileges).toEqual(["VM.Config.HW"]);
    expect(p.message).toBe(
      "permission denied: token root@pam!vgpuctl lacks VM.Config.HW on /vms/100 (needed for PUT /nodes/pve/qemu/100/config)",
    );
    expect(p.hint).toContain("pveum acl modify /vms/100 --tokens 'root@pam!vgpuctl' --roles PVEVMAdmin");
  });

  it("reads the 403 privilege from the reason phrase when the body has no message (older PVE)", async () => {
    const { pve } = await setup((f) =>
      f.on("GET /api2/json/cluster/mapping/pci", {
        status: 403,
        reason: "Permission check failed (/mapping/pci/gpu, Mapping.Audit)",
        json: { data: null },
      }),
    );
    const err = (await rejection(pve.listPciMappings())) as PvePermissionError;
    expect(err).toBeInstanceOf(PvePermissionError);
    expect([err.aclPath, err.privileges]).toEqual(["/mapping/pci/gpu", ["Mapping.Audit"]]);
  });

  it("a server that echoes the request never makes the token secret printed (issue 13 item 16)", async () => {
    const echoed = `Authorization: PVEAPIToken=root@pam!vgpuctl=${TOKEN.secret}`;
    const { pve } = await setup((f) =>
      f
        .on("GET /api2/json/nodes", {
          status: 500,
          reason: `bad request ${echoed}`,
          json: { data: null, message: `cannot handle request: ${echoed}\n` },
        })
        .on("PUT /api2/json/nodes/pve/qemu/100/config", {
          status: 400,
          json: { data: null, errors: { hostpci0: `got ${TOKEN.secret}`, [TOKEN.secret]: "unknown" } },
        }),
    );
    const e500 = (await rejection(pve.listNodes())) as UserError;
    expect(e500).toBeInstanceOf(UserError);
    expect(`${e500.message} ${e500.hint ?? ""}`).not.toContain(TOKEN.secret);
    expect(e500.message).toContain("PVEAPIToken=root@pam!vgpuctl=REDACTED");
    const e400 = await rejection(pve.setVmConfig("pve", 100, { hostpci0: "mapping=gpu" }, null));
    expect(e400.message).not.toContain(TOKEN.secret);
    expect(e400.message).toContain("hostpci0: got REDACTED");
  });

  it("lists parameter errors of a 400", async () => {
    // the double answers as PVE::JSONSchema::validate + raise_param_exc do (code 400, errors per parameter)
    const { fake, pve } = await setup((f) =>
      f.on("PUT /api2/json/nodes/pve/qemu/100/config", { json: { data: null } }),
    );
    const err = await rejection(pve.setVmConfig("pve", 100, { hostpci0: "mapping=gpu,mdev=bad/type" }, null));
    expect(err.message).toBe(
      "Proxmox VE rejected the parameters of PUT /nodes/pve/qemu/100/config: hostpci0: invalid format - format error\nhostpci0.mdev: value does not match the regex pattern",
    );
    expect(fake.rejected).toHaveLength(1);
  });
});

describe("VM config digest", () => {
  it("sends the digest read from the config and reports a concurrent edit", async () => {
    const digest = "4f6c8a9e2b1d3c5e7f9a0b2c4d6e8f0a1b3c5d7e";
    const { fake, pve } = await setup((f) =>
      f
        .on("GET /api2/json/nodes/pve/qemu/100/config", {
          json: { data: { name: "win11", memory: 8192, digest, ostype: "win11" } },
        })
        // a wrong digest: qemu-server src/PVE/API2/Qemu.pm `$load_and_check_config` dies with
        // "checksum mismatch (file change by other user?)" before the update (PUT and POST alike)
        .on("PUT /api2/json/nodes/pve/qemu/100/config", (req) => {
          const sent = new URLSearchParams(req.body).get("digest");
          return sent === digest
            ? { json: { data: null } }
            : {
                status: 500,
                reason: "checksum mismatch (file change by other user?)",
                json: {
                  data: null,
                  message: "checksum mismatch (file change by other user?)\n",
                },
              };
        }),
    );
    const cfg = await pve.getVmConfig("pve", 100);
    expect(cfg).toEqual({ config: { name: "win11", memory: 8192, ostype: "win11" }, digest });
    await pve.setVmConfig("pve", 100, { hostpci0: "mapping=gpu,mdev=nvidia-259,pcie=1" }, cfg.digest);
    const put = fake.requests.find((r) => r.method === "PUT")!;
    expect(put.contentType).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(put.body))).toEqual({
      hostpci0: "mapping=gpu,mdev=nvidia-259,pcie=1",
      digest,
    });

    const err = await rejection(
      pve.setVmConfig("pve", 100, { delete: "hostpci0" }, "0000000000000000000000000000000000000000"),
    );
    expect(err).toBeInstanceOf(PveConcurrentEditError);
    expect(err.message).toContain("VM 100 on pve was changed by someone else");
  });
});

describe("updateVmConfig (asynchronous config API)", () => {
  // source: test/fixtures/pve/SOURCES.md (task-status-config-locked.json, task-log-config-locked.json)
  const CFG_UPID = "UPID:pve1:0000A1B2:0003C4D5:6650B2C3:qmconfig:100:root@pam!vgpuctl:";

  it("POSTs with the digest, waits for the task and resolves on OK", async () => {
    const digest = "4f6c8a9e2b1d3c5e7f9a0b2c4d6e8f0a1b3c5d7e";
    const { fake, pve } = await setup((f) =>
      f
        .on("POST /api2/json/nodes/pve1/qemu/100/config", { json: { data: CFG_UPID } })
        .on(`GET /api2/json/nodes/pve1/tasks/${CFG_UPID}/status`, {
          json: { data: { upid: CFG_UPID, node: "pve1", status: "stopped", exitstatus: "OK" } },
        }),
    );
    const st = await pve.updateVmConfig("pve1", 100, { hostpci0: "mapping=gpu,mdev=nvidia-259" }, digest);
    expect(st?.exitstatus).toBe("OK");
    const post = fake.requests.find((r) => r.method === "POST")!;
    expect(Object.fromEntries(new URLSearchParams(post.body))).toEqual({
      hostpci0: "mapping=gpu,mdev=nvidia-259",
      digest,
    });
  });

  it("resolves null when PVE finished without a task", async () => {
    const { pve } = await setup((f) =>
      f.on("POST /api2/json/nodes/pve1/qemu/100/config", { json: { data: null } }),
    );
    expect(
      await pve.updateVmConfig("pve1", 100, { hostpci0: "mapping=gpu,mdev=nvidia-259" }, null),
    ).toBeNull();
  });

  it("a failed task throws PveTaskError with its log", async () => {
    const { pve } = await setup((f) =>
      f
        .on("POST /api2/json/nodes/pve1/qemu/100/config", { json: { data: CFG_UPID } })
        .on(`GET /api2/json/nodes/pve1/tasks/${CFG_UPID}/status`, {
          json: fixture("task-status-config-locked.json"),
        })
        .on(`GET /api2/json/nodes/pve1/tasks/${CFG_UPID}/log`, {
          json: fixture("task-log-config-locked.json"),
        }),
    );
    const err = (await rejection(
      pve.updateVmConfig("pve1", 100, { hostpci0: "mapping=gpu,mdev=nvidia-259" }, null, { intervalMs: 1 }),
    )) as PveTaskError;
    expect(err).toBeInstanceOf(PveTaskError);
    expect(err.exitstatus).toBe("VM is locked (backup)");
    expect(err.message).toContain("task qmconfig 100 on pve1 failed: VM is locked (backup)");
    expect(err.message).toContain("| update VM 100: -hostpci0 mapping=someGpu,mdev=nvidia-257,pcie=1");
  });
});

describe("task errors", () => {
  it("a failed task whose log and exit status echo the token secret prints neither (issue 13 item 16)", async () => {
    const upid = "UPID:pve1:00001234:00005678:6650A1B2:qmconfig:100:root@pam!vgpuctl:";
    const { pve } = await setup((f) =>
      f
        .on(`GET /api2/json/nodes/pve1/tasks/${upid}/status`, {
          json: { data: { upid, node: "pve1", status: "stopped", exitstatus: `bad token ${TOKEN.secret}` } },
        })
        .on(`GET /api2/json/nodes/pve1/tasks/${upid}/log`, {
          json: { data: [{ n: 1, t: `header PVEAPIToken=root@pam!vgpuctl=${TOKEN.secret}` }], total: 1 },
        }),
    );
    const err = (await rejection(pve.waitForTask("pve1", upid, { intervalMs: 1 }))) as PveTaskError;
    expect(err).toBeInstanceOf(PveTaskError);
    expect(err.message).not.toContain(TOKEN.secret);
    expect(err.message).toContain("bad token REDACTED");
    expect(err.logTail.join("\n")).not.toContain(TOKEN.secret);
  });
});

describe("waitForTask", () => {
  it("polls until stopped and resolves on OK", async () => {
    let polls = 0;
    const { fake, pve } = await setup((f) =>
      f.on(`GET /api2/json/nodes/pve/tasks/${UPID}/status`, () => {
        polls++;
        return {
          json: {
            data: {
              upid: UPID,
              node: "pve",
              status: polls < 3 ? "running" : "stopped",
              ...(polls < 3 ? {} : { exitstatus: "OK" }),
            },
          },
        };
      }),
    );
    const st = await pve.waitForTask("pve", UPID, { intervalMs: 1, timeoutMs: 5000 });
    expect(st.exitstatus).toBe("OK");
    expect(polls).toBe(3);
    // the UPID travels URL-encoded in the path
    expect(fake.requests[0]!.url).toBe(`/api2/json/nodes/pve/tasks/${encodeURIComponent(UPID)}/status`);
  });

  it("treats WARNINGS: n as success", async () => {
    const { pve } = await setup((f) =>
      f.on(`GET /api2/json/nodes/pve/tasks/${UPID}/status`, {
        json: { data: { upid: UPID, status: "stopped", exitstatus: "WARNINGS: 1" } },
      }),
    );
    expect((await pve.waitForTask("pve", UPID, { intervalMs: 1 })).exitstatus).toBe("WARNINGS: 1");
  });

  it("fails with the task's exit status and the last lines of its log", async () => {
    const { pve } = await setup((f) =>
      f
        .on(`GET /api2/json/nodes/pve/tasks/${UPID}/status`, {
          json: fixture("task-status-start-failed.json"),
        })
        .on(`GET /api2/json/nodes/pve/tasks/${UPID}/log`, { json: fixture("task-log-start-failed.json") }),
    );
    const err = (await rejection(
      pve.waitForTask("pve", UPID, { intervalMs: 1, logLines: 3 }),
    )) as PveTaskError;
    expect(err).toBeInstanceOf(PveTaskError);
    expect(err.exitstatus).toBe("start failed: QEMU exited with code 1");
    expect(err.logTail).toEqual([
      "waited 10 seconds for mediated device driver finishing clean up",
      "actively clean up mediated device with UUID 00000000-0000-0000-0000-000000000100",
      "TASK ERROR: start failed: QEMU exited with code 1",
    ]);
    expect(err.message).toMatch(
      /^task qmstart 100 on pve failed: start failed: QEMU exited with code 1\n {2}\| waited 10 seconds/,
    );
  });

  it("times out with a clear error", async () => {
    const { pve } = await setup((f) =>
      f.on(`GET /api2/json/nodes/pve/tasks/${UPID}/status`, {
        json: { data: { upid: UPID, status: "running" } },
      }),
    );
    const err = await rejection(pve.waitForTask("pve", UPID, { intervalMs: 20, timeoutMs: 50 }));
    expect(err).toBeInstanceOf(PveTaskError);
    expect(err.message).toMatch(/still running/);
  });

  it("rejects something that is not a UPID without calling the API", async () => {
    const { fake, pve } = await setup(() => {});
    await expect(pve.waitForTask("pve", "UPID:broken")).rejects.toThrow(/task id/);
    expect(fake.requests).toHaveLength(0);
  });
});

describe("mdev type listing", () => {
  it("era 1, legacy mdev sysfs: exact availability and parsed description", async () => {
    const { fake, pve } = await setup((f) =>
      f.on("GET /api2/json/nodes/pve/hardware/pci/0000:01:00.0/mdev", {
        json: fixture("mdev-era1-mdev-sysfs.json"),
      }),
    );
    const types = await pve.listPciMdevTypes("pve", "0000:01:00.0");
    expect(types.map((t) => [t.type, t.name, t.available, t.framebufferMiB, t.maxInstances, t.era])).toEqual([
      ["nvidia-256", "GRID RTX6000-1Q", 24, 1024, 24, "mdev-sysfs"],
      ["nvidia-257", "GRID RTX6000-2Q", 12, 2048, 12, "mdev-sysfs"],
      ["nvidia-258", "GRID RTX6000-3Q", 8, 3072, 8, "mdev-sysfs"],
    ]);
    expect(types[1]).toMatchObject({ numHeads: 4, frlConfig: 60, maxResolution: "7680x4320", typeId: 257 });
    expect(fake.requests[0]!.url).toBe("/api2/json/nodes/pve/hardware/pci/0000%3A01%3A00.0/mdev");
  });

  it("era 2, NVIDIA vendor VFIO: names only, availability unknown", async () => {
    const { pve } = await setup((f) =>
      f.on("GET /api2/json/nodes/pve/hardware/pci/l40s/mdev", {
        json: fixture("mdev-era2-nvidia-vfio.json"),
      }),
    );
    const types = await pve.listPciMdevTypes("pve", "l40s");
    expect(
      types.map((t) => [t.typeId, t.name, t.available, t.rawAvailable, t.framebufferMiB, t.era]),
    ).toEqual([
      [1145, "NVIDIA L40S-1B", null, 1, null, "nvidia-vfio"],
      [1147, "NVIDIA L40S-1Q", null, 1, null, "nvidia-vfio"],
      [2164, "NVIDIA L40S-3B", null, 1, null, "nvidia-vfio"],
    ]);
  });

  it("era 3, NVML: hyphenated description keys with MiB", async () => {
    const { pve } = await setup((f) =>
      f.on("GET /api2/json/nodes/pve/hardware/pci/0000:41:00.4/mdev", {
        json: fixture("mdev-era3-nvml.json"),
      }),
    );
    const [a, b] = await pve.listPciMdevTypes("pve", "0000:41:00.4");
    expect(a).toMatchObject({
      type: "nvidia-1147",
      era: "nvml",
      available: null,
      framebufferMiB: 1024,
      maxInstances: 32,
      maxInstancesPerVm: 1,
      numHeads: 4,
      maxResolution: "5120x2880",
      className: "Quadro",
      license: "GRID-Virtual-WS,2.0;Quadro-Virtual-DWS,5.0",
    });
    expect(b).toMatchObject({ framebufferMiB: 24576, maxInstances: 2 });
  });

  it("explains that old PVE versions only take a PCI address, not a mapping id", async () => {
    const { pve } = await setup((f) =>
      f.on("GET /api2/json/nodes/pve/hardware/pci/gpu/mdev", {
        status: 400,
        reason: "Parameter verification failed.",
        json: { data: null, errors: { pciid: "value does not match the regex pattern" } },
      }),
    );
    const err = await rejection(pve.listPciMdevTypes("pve", "gpu"));
    expect((err as UserError).hint).toMatch(/8\.2\.9/);
  });
});

describe("PCI mappings", () => {
  it("lists mappings with parsed map entries", async () => {
    const { fake, pve } = await setup((f) =>
      f.on("GET /api2/json/cluster/mapping/pci", { json: fixture("mapping-pci-list.json") }),
    );
    const maps = await pve.listPciMappings("pve1");
    expect(fake.requests[0]!.url).toBe("/api2/json/cluster/mapping/pci?check-node=pve1");
    expect(maps[0]).toMatchObject({
      id: "someGpu",
      mdev: true,
      description: "RTX 2080 Ti for vGPU",
      entries: [
        { node: "localhost", path: "0000:01:00.4", id: "10de:2231", subsystemId: null, iommugroup: 1 },
      ],
      checks: [{ severity: "warning" }],
    });
    expect(maps[1]!.mdev).toBe(false);
    expect(maps[1]!.entries.map((e) => e.path)).toEqual(["0000:41:00.4", "0000:41:00.5"]);
  });

  it("creates a mapping with one map parameter per device and mdev=1", async () => {
    const { fake, pve } = await setup((f) =>
      f.on("POST /api2/json/cluster/mapping/pci", { json: { data: null } }),
    );
    await pve.createPciMapping({
      id: "rtx2080ti",
      mdev: true,
      description: "vGPU",
      entries: [
        { node: "pve", path: "0000:01:00.0", id: "10de:1e07", subsystemId: "10de:12a4", iommugroup: 14 },
      ],
    });
    const body = new URLSearchParams(fake.requests[0]!.body);
    expect(body.getAll("map")).toEqual([
      "node=pve,path=0000:01:00.0,id=10de:1e07,subsystem-id=10de:12a4,iommugroup=14",
    ]);
    expect(body.get("mdev")).toBe("1");
    expect(body.get("id")).toBe("rtx2080ti");
    await expect(pve.createPciMapping({ id: "9bad", entries: [] })).rejects.toThrow(UserError);
    await expect(
      pve.createPciMapping({
        id: "gpu",
        entries: [{ node: "pve", path: "01:00.0", id: "10de:1e07", subsystemId: null, iommugroup: null }],
      }),
    ).rejects.toThrow(/invalid PCI path/);
    expect(fake.requests).toHaveLength(1);
  });
});
