/**
 * `vm attach … --api URL --token-file F --fingerprint SHA256 --mapping ID` against a local HTTPS fake
 * of the Proxmox VE API (test/pve/fake-pve.ts). Response shapes: test/fixtures/pve/SOURCES.md
 * (mdev listing era 1 = seed guide lines 308-319 in the API shape; mapping list = research/proxmox.md
 * §1c); VM config shape and digest: research/proxmox.md §1b ("Use `digest` for optimistic concurrency").
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseTokenFile, runVmAttachApi } from "../../src/commands/vm.ts";
import { PveTlsPinError } from "../../src/pve/index.ts";
import { UserError } from "../../src/util/errors.ts";
import { type Cert, FakePve, fixture, makeCert, tempDir } from "../pve/fake-pve.ts";
import { runInProcess } from "./cli.ts";

let tmp: { dir: string; cleanup: () => void };
let cert: Cert;
let other: Cert;
let tokenFile: string;
const fakes: FakePve[] = [];
const DIGEST = "4f6c8a9e2b1d3c5e7f9a0b2c4d6e8f0a1b3c5d7e";
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

async function fake(
  config: Record<string, unknown> = { name: "win11", machine: "pc-q35-8.1", ostype: "win11" },
) {
  const f = new FakePve(cert)
    .on("GET /api2/json/nodes", { json: { data: [{ node: "pve1", status: "online" }] } })
    .on("GET /api2/json/nodes/pve1/qemu/100/config", { json: { data: { ...config, digest: DIGEST } } })
    .on("GET /api2/json/nodes/pve1/qemu/100/status/current", {
      json: { data: { status: "stopped", vmid: 100 } },
    })
    .on("GET /api2/json/nodes/pve1/hardware/pci/someGpu/mdev", { json: fixture("mdev-era1-mdev-sysfs.json") })
    .on("GET /api2/json/nodes/pve1/hardware/pci/l40s/mdev", { json: fixture("mdev-era1-mdev-sysfs.json") })
    .on("GET /api2/json/cluster/mapping/pci", { json: fixture("mapping-pci-list.json") })
    // wrong digest: qemu-server Qemu.pm `$load_and_check_config` dies before forking the worker
    .on("POST /api2/json/nodes/pve1/qemu/100/config", (req) =>
      new URLSearchParams(req.body).get("digest") === DIGEST
        ? { json: { data: null } }
        : {
            status: 500,
            reason: "checksum mismatch (file change by other user?)",
            json: {
              data: null,
              message: "checksum mismatch (file change by other user?)\n",
            },
          },
    );
  fakes.push(f);
  return { f, url: await f.start() };
}

describe("vm attach through the Proxmox VE API", () => {
  it("writes hostpciN: mapping=ID,mdev=nvidia-N with the config digest, over a pinned certificate", async () => {
    const { f, url } = await fake();
    const r = await runVmAttachApi({
      vmid: "100",
      type: "nvidia-257",
      mapping: "someGpu",
      api: url,
      tokenFile,
      fingerprint: cert.fingerprint256,
    });
    expect(r).toMatchObject({
      host: "pve1",
      key: "hostpci0",
      value: "mapping=someGpu,mdev=nvidia-257,pcie=1",
    });
    const put = f.requests.find((q) => q.method === "POST")!;
    expect(put.authorization).toBe(`PVEAPIToken=root@pam!vgpuctl=${SECRET}`);
    expect(Object.fromEntries(new URLSearchParams(put.body))).toEqual({
      hostpci0: "mapping=someGpu,mdev=nvidia-257,pcie=1",
      digest: DIGEST,
    });
  });

  it("the CLI does the same (--api --token-file --fingerprint --mapping)", async () => {
    const { f, url } = await fake();
    const r = await runInProcess(
      [
        "vm",
        "attach",
        "100",
        "--type",
        "RTX6000-1Q",
        "--mapping",
        "someGpu",
        "--api",
        url,
        "--token-file",
        tokenFile,
        "--fingerprint",
        cert.fingerprint256,
      ],
      {},
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("hostpci0 = nvidia-256");
    expect(f.requests.some((q) => q.method === "POST")).toBe(true);
  });

  it("a wrong fingerprint stops before anything is sent", async () => {
    const { f, url } = await fake();
    const err = await runVmAttachApi({
      vmid: "100",
      type: "nvidia-257",
      mapping: "someGpu",
      api: url,
      tokenFile,
      fingerprint: other.fingerprint256,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PveTlsPinError);
    expect(f.requests).toEqual([]);
  });

  it("refuses what would fail: type not offered by the mapping, slot/vGPU in use, pcie on i440fx", async () => {
    const { f, url } = await fake({
      name: "ubuntu",
      ostype: "l26",
      hostpci0: "mapping=someGpu,mdev=nvidia-256",
    });
    const base = { vmid: "100", mapping: "someGpu", api: url, tokenFile, fingerprint: cert.fingerprint256 };
    await expect(runVmAttachApi({ ...base, type: "nvidia-259" })).rejects.toThrow(/do not offer nvidia-259/);
    await expect(runVmAttachApi({ ...base, type: "nvidia-257" })).rejects.toThrow(/already has a vGPU/);
    const { url: url2 } = await fake({ name: "ubuntu", ostype: "l26" });
    await expect(runVmAttachApi({ ...base, api: url2, type: "nvidia-257", pcie: true })).rejects.toThrow(
      /q35 machine/,
    );
    // the fixture's "l40s" mapping has no mdev=1
    await expect(runVmAttachApi({ ...base, api: url2, type: "nvidia-257", mapping: "l40s" })).rejects.toThrow(
      /not marked for mediated devices/,
    );
    expect(f.requests.some((q) => q.method === "POST")).toBe(false);
  });

  it("SR-IOV: --gpu naming the physical function is refused before anything is written; a VF is written as given", async () => {
    const { f, url } = await fake();
    const a40 = (fixture("hardware-pci-a40-sriov.json") as { data: unknown[] }).data;
    f.on("GET /api2/json/nodes/pve1/hardware/pci", { json: { data: a40 } });
    f.on("GET /api2/json/nodes/pve1/hardware/pci/0000:41:00.5/mdev", {
      json: fixture("mdev-era2-nvidia-vfio.json"),
    });
    const base = { vmid: "100", api: url, tokenFile, fingerprint: cert.fingerprint256 };
    const err = await runVmAttachApi({ ...base, type: "nvidia-1155", gpu: "0000:41:00.0" }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      "0000:41:00.0 is the physical function of an SR-IOV GPU on pve1; its vGPUs live on its 8 virtual functions, so Proxmox VE cannot start a vGPU on it",
    );
    expect(err.hint).toContain("--gpu 0000:41:00.4");
    expect(f.requests.some((q) => q.method === "POST")).toBe(false);
    const types = (fixture("mdev-era2-nvidia-vfio.json") as { data: Array<{ type: string }> }).data;
    // (a dry run: only root@pam itself may write a PCI address, see the next test)
    const r = await runVmAttachApi({ ...base, type: types[0]!.type, gpu: "0000:41:00.5", dryRun: true });
    expect(r.value).toBe(`0000:41:00.5,mdev=${types[0]!.type},pcie=1`);
  });

  it("--gpu ADDR (a raw PCI address) over an API token is refused before the config is written", async () => {
    // qemu-server Qemu.pm check_hostpci_perm: only root@pam may set hostpciN to a PCI address, and a
    // token's user is its token id root@pam!vgpuctl (pve-manager PVE/HTTPServer.pm)
    const { f, url } = await fake();
    f.on("GET /api2/json/nodes/pve1/hardware/pci", {
      json: { data: (fixture("hardware-pci-a40-sriov.json") as { data: unknown[] }).data },
    });
    f.on("GET /api2/json/nodes/pve1/hardware/pci/0000:41:00.4/mdev", {
      json: fixture("mdev-era2-nvidia-vfio.json"),
    });
    const err = (await runVmAttachApi({
      vmid: "100",
      type: "nvidia-1147",
      gpu: "0000:41:00.4",
      api: url,
      tokenFile,
      fingerprint: cert.fingerprint256,
    }).catch((e: unknown) => e)) as UserError;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      "Proxmox VE lets only root@pam itself set hostpci0 to a PCI address (0000:41:00.4), not the API token root@pam!vgpuctl; nothing was changed",
    );
    expect(err.hint).toContain("--mapping");
    expect(f.requests.some((q) => q.method === "POST")).toBe(false);
  });

  it("--vram with --api is refused (the override file lives on the node)", async () => {
    await expect(
      runVmAttachApi({
        vmid: "100",
        type: "nvidia-257",
        mapping: "someGpu",
        api: "https://127.0.0.1:1",
        tokenFile,
        vram: "2G",
      }),
    ).rejects.toThrow(/profile_override.toml on the node/);
  });
});

describe("parseTokenFile", () => {
  it("reads user@realm!tokenid=secret and rejects anything else", () => {
    expect(parseTokenFile(`# token\nroot@pam!vgpuctl=${SECRET}\n`)).toEqual({
      user: "root@pam",
      tokenId: "vgpuctl",
      secret: SECRET,
    });
    expect(() => parseTokenFile("root@pam:secret")).toThrow(UserError);
    expect(() => parseTokenFile("")).toThrow(/user@realm!tokenid=secret/);
  });
});
