// Two places of the client that used to catch everything: the task log read after a task failed,
// and the base URL. Against the HTTPS fake of the Proxmox VE
// API (test/pve/fake-pve.ts); response shapes: test/fixtures/pve/SOURCES.md.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPveClient, type PveClient, PveTaskError } from "../../src/pve/index.ts";
import { UserError } from "../../src/util/errors.ts";
import { type Cert, FakePve, fixture, makeCert, tempDir } from "./fake-pve.ts";

const TOKEN = { user: "root@pam", tokenId: "vgpuctl", secret: "0b4c8f5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f" };
// source: research/proxmox.md §1f (UPID format; user may be a token id)
const UPID = "UPID:pve:000035F2:0001A2B3:6650A1B2:qmstart:100:root@pam!vgpuctl:";

let tmp: ReturnType<typeof tempDir>;
let cert: Cert;
beforeAll(() => {
  tmp = tempDir();
  cert = makeCert(tmp.dir, "pve");
});
afterAll(() => tmp.cleanup());

/** A client of a fake with `routes`, and a stop() for both. */
async function client(routes: (f: FakePve) => void): Promise<{ pve: PveClient; stop: () => Promise<void> }> {
  const f = new FakePve(cert);
  routes(f);
  const pve = createPveClient({
    baseUrl: await f.start(),
    token: TOKEN,
    tls: { fingerprint: cert.fingerprint256 },
  });
  const stop = async () => {
    await pve.close();
    await f.stop();
  };
  return { pve, stop };
}

describe("a failed task whose log cannot be read", () => {
  it("names why the log is missing instead of failing without a word about it", async () => {
    // pve-manager API2/Tasks.pm read_task_log: "The user needs 'Sys.Audit' permissions on
    // '/nodes/<node>' if they aren't the owner of the task."
    const { pve, stop } = await client((f) =>
      f
        .on(`GET /api2/json/nodes/pve/tasks/${UPID}/status`, {
          json: fixture("task-status-start-failed.json"),
        })
        .on(`GET /api2/json/nodes/pve/tasks/${UPID}/log`, {
          status: 403,
          reason: "Permission check failed (/nodes/pve, Sys.Audit)",
        }),
    );
    const err = await pve
      .waitForTask("pve", UPID, { intervalMs: 1 })
      .catch((e: unknown) => e)
      .finally(stop);
    expect(err).toBeInstanceOf(PveTaskError);
    expect((err as Error).message).toMatch(
      /^task qmstart 100 on pve failed: start failed: QEMU exited with code 1 \(its log could not be read: permission denied: token root@pam!vgpuctl lacks Sys\.Audit on \/nodes\/pve/,
    );
    expect((err as PveTaskError).logTail).toEqual([]);
  });
});

describe("the base URL", () => {
  it("one that does not parse is a UserError naming it", () => {
    const make = () => createPveClient({ baseUrl: "https://pve 1:8006", token: TOKEN });
    expect(make).toThrow(UserError);
    expect(make).toThrow('invalid Proxmox VE URL "https://pve 1:8006"');
  });
});
