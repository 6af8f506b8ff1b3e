/**
 * `vm list` and `vm attach --api` read two things "on the side": a running VM's config file (for its
 * pending `delete:` line) and a VM's run state. Only the expected absence leaves them unknown — a bundle
 * that did not capture the file, an API answer such as 403 — every other failure is the command's error.
 * Hosts: sim scenario seed-configured (see vm.test.ts for its sources); the Proxmox VE API: the HTTPS
 * fake of test/pve/fake-pve.ts (response shapes: test/fixtures/pve/SOURCES.md). The failures are
 * injected at the Host / API-client boundary, shaped as LocalHost.readFile and the client raise them.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runVmAttach, runVmAttachApi, runVmList } from "../../src/commands/vm.ts";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { createPveClient, PveApiError, type PveClient, PveConnectionError } from "../../src/pve/index.ts";
import { NotCapturedError, UserError } from "../../src/util/errors.ts";
import { failingRead } from "../helpers/failing-host.ts";
import { type Cert, FakePve, fixture, makeCert, tempDir } from "../pve/fake-pve.ts";

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

/** seed-configured with VM 101 running and a vGPU attached to it (pending: the VM runs). */
async function runningVmWithVgpu(): Promise<SimHost> {
  const dir = await mkdtemp(join(tmpdir(), "vgpuctl-vmerr-"));
  dirs.push(dir);
  const host = await SimHost.open("seed-configured", { stateDir: dir, spec: "sim:seed-configured" });
  expect((await host.exec(["qm", "start", "101"])).exitCode).toBe(0);
  await runVmAttach({ vmid: "101", type: "nvidia-259" }, { host });
  return host;
}

describe("vm list: a running VM's config file", () => {
  const CONF = "/etc/pve/qemu-server/101.conf";

  it("a config file that cannot be read (EACCES) fails the listing instead of hiding a pending removal", async () => {
    const eacces = new UserError(`cannot read ${CONF}: EACCES`, "run vgpuctl as root");
    const host = failingRead(await runningVmWithVgpu(), CONF, eacces);
    await expect(runVmList({}, { host })).rejects.toBe(eacces);
  });

  it("a bundle that did not capture the file lists the VM without pending deletes", async () => {
    const host = failingRead(await runningVmWithVgpu(), CONF, new NotCapturedError(CONF));
    const list = await runVmList({}, { host });
    expect(list.vms.find((v) => v.vmid === 101)!.vgpus[0]).toMatchObject({ type: "nvidia-259" });
  });
});

describe("vm attach --api: the VM's run state", () => {
  let tmp: { dir: string; cleanup: () => void };
  let cert: Cert;
  let tokenFile: string;
  const fakes: FakePve[] = [];
  const SECRET = "0b8e5d3c-7a2f-4e61-9c4d-5f1a2b3c4d5e";
  const DIGEST = "4f6c8a9e2b1d3c5e7f9a0b2c4d6e8f0a1b3c5d7e";
  const STATUS = "GET /api2/json/nodes/pve1/qemu/100/status/current";

  beforeAll(async () => {
    tmp = tempDir();
    cert = makeCert(tmp.dir, "pve");
    tokenFile = join(tmp.dir, "token");
    await writeFile(tokenFile, `root@pam!vgpuctl=${SECRET}\n`);
  });
  afterAll(() => tmp.cleanup());
  afterEach(async () => {
    while (fakes.length) await fakes.pop()!.stop();
  });

  type Reply = { status?: number; reason?: string; json?: unknown };
  const CONFIG: Reply = {
    json: { data: { name: "win11", machine: "pc-q35-8.1", ostype: "win11", digest: DIGEST } },
  };

  async function fake(status: Reply, config: Reply = CONFIG) {
    const f = new FakePve(cert)
      .on("GET /api2/json/nodes", { json: { data: [{ node: "pve1", status: "online" }] } })
      .on("GET /api2/json/nodes/pve1/qemu/100/config", config)
      .on(STATUS, status)
      .on("GET /api2/json/nodes/pve1/hardware/pci/someGpu/mdev", {
        json: fixture("mdev-era1-mdev-sysfs.json"),
      })
      .on("GET /api2/json/cluster/mapping/pci", { json: fixture("mapping-pci-list.json") })
      .on("POST /api2/json/nodes/pve1/qemu/100/config", { json: { data: null } });
    fakes.push(f);
    return { f, url: await f.start() };
  }

  const attach = (url: string, client?: PveClient) =>
    runVmAttachApi(
      {
        vmid: "100",
        type: "nvidia-257",
        mapping: "someGpu",
        api: url,
        tokenFile,
        fingerprint: cert.fingerprint256,
      },
      client ? { client } : {},
    );

  it("a 403 on status/current (no VM.Audit there) leaves the state unknown and attaches", async () => {
    const { f, url } = await fake({
      status: 403,
      reason: "Permission check failed (/vms/100, VM.Audit)",
      json: { data: null },
    });
    const r = await attach(url);
    expect(r).toMatchObject({ host: "pve1", key: "hostpci0" });
    expect(f.requests.some((q) => q.method === "POST")).toBe(true);
  });

  it("a connection lost on status/current is the command's error; nothing is written", async () => {
    const { f, url } = await fake({ json: { data: { status: "stopped", vmid: 100 } } });
    const real = createPveClient({
      baseUrl: url,
      token: { user: "root@pam", tokenId: "vgpuctl", secret: SECRET },
      tls: { fingerprint: cert.fingerprint256 },
    });
    const lost = new PveConnectionError(
      `the connection to ${url} was closed (ECONNRESET)`,
      undefined,
      "ECONNRESET",
    );
    const client = new Proxy(real, {
      get(target, prop, recv) {
        const v = Reflect.get(target, prop, recv);
        if (prop !== "get") return v;
        return async (path: string, params?: unknown) => {
          if (path.endsWith("/qemu/100/status/current")) throw lost;
          return (v as (p: string, q?: unknown) => Promise<unknown>).call(target, path, params);
        };
      },
    });
    await expect(attach(url, client)).rejects.toBe(lost);
    expect(f.requests.some((q) => q.method === "POST")).toBe(false);
  });

  it("a VM whose config file does not exist (qemu-server's 500) is refused as unknown-vm", async () => {
    const missing = "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist";
    const { url } = await fake(
      {},
      { status: 500, reason: missing, json: { data: null, message: `${missing}\n` } },
    );
    await expect(attach(url)).rejects.toMatchObject({ code: "unknown-vm" });
  });

  it("another 500 on the config (a pmxcfs timeout) is that error, not 'VM does not exist'", async () => {
    const { f, url } = await fake(
      {},
      { status: 500, reason: "got timeout", json: { data: null, message: "got timeout\n" } },
    );
    const err = await attach(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveApiError);
    expect((err as Error).message).toContain("failed (500: got timeout)");
    expect(f.requests.some((q) => q.method === "POST")).toBe(false);
  });
});
