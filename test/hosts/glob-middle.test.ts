/**
 * Paths with `*` in a middle segment (DKMS make.log, Proxmox VE task logs): the gather script (run with sh)
 * and captureViaPrimitives (LocalHost) capture the same newest GLOB_MAX_MATCHES matches. Task log names are
 * UPIDs as pve-common src/PVE/UPID.pm encodes them ("UPID:$node:%08X:%08X:%08X:$type:$id:$user:", the file
 * in /var/log/pve/tasks/<last hex digit of the start time>/).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CaptureSpec } from "../../src/facts/capture.ts";
import { GLOB_MAX_MATCHES, globSortKey } from "../../src/hosts/capture-generic.ts";
import { gatherScript, parseGatherOutput } from "../../src/hosts/gather-script.ts";
import { LocalHost } from "../../src/hosts/local-host.ts";

const B = "VGPUCTLtestboundary0123";
let root: string;

const upid = (start: number, type: string, id: string) =>
  `UPID:pve1:0000${(4000 + start).toString(16).toUpperCase()}:00A1B2C3:${(0x67a00000 + start).toString(16).toUpperCase()}:${type}:${id}:root@pam:`;
const taskPath = (name: string) => `var/log/pve/tasks/${name.split(":")[4]!.slice(7)}/${name}`;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "vgpuctl-glob-"));
  const put = (rel: string, text: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  // seven qmstart tasks (start times 1..7, spread over the hex-digit buckets) and a newer qmstop
  for (let i = 1; i <= 7; i++) put(taskPath(upid(i * 3, "qmstart", "100")), `start ${i}\nTASK OK\n`);
  put(taskPath(upid(40, "qmstop", "100")), "TASK OK\n");
  put("var/lib/dkms/nvidia/535.230.02/build/make.log", "make 535\n");
  put("var/lib/dkms/nvidia/550.144.02/build/make.log", "make 550\n");
  put("var/lib/dkms/nvidia/550.144.02/source/dkms.conf", "x\n");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = (): CaptureSpec => ({
  commands: [],
  paths: [`${root}/var/log/pve/tasks/*/UPID:*:qmstart:*`, `${root}/var/lib/dkms/nvidia/*/build/make.log`],
  nvidiaSysfs: false,
});

describe("globs with * in a middle segment", () => {
  it("captures the newest qmstart task logs only, and every DKMS make.log", async () => {
    const viaLocal = await new LocalHost({ root: null, spec: "local" }).capture(spec());
    const tasks = Object.keys(viaLocal.files).filter((p) => p.includes("/tasks/"));
    expect(tasks).toHaveLength(GLOB_MAX_MATCHES);
    expect(tasks.every((p) => p.includes(":qmstart:"))).toBe(true);
    // the newest five by the UPID start time: starts 3..7 (not 1, 2)
    expect(tasks.map((p) => viaLocal.files[p]!.split("\n")[0]).sort()).toEqual([
      "start 3",
      "start 4",
      "start 5",
      "start 6",
      "start 7",
    ]);
    expect(Object.keys(viaLocal.files).filter((p) => p.endsWith("make.log"))).toHaveLength(2);
  });

  it("the gather script run with sh captures the same files", async () => {
    const r = spawnSync("sh", ["-s"], { input: gatherScript(spec(), B), encoding: "utf8" });
    expect(r.status).toBe(0);
    const viaScript = parseGatherOutput(r.stdout, spec(), B, "pve1");
    const viaLocal = await new LocalHost({ root: null, spec: "local" }).capture(spec());
    expect(viaScript.files).toEqual(viaLocal.files);
    expect(viaScript.unreadable).toEqual(viaLocal.unreadable);
  });

  it("orders task logs by the start time their UPID encodes, other paths by path", () => {
    const older = `/t/9/${upid(0x19, "qmstart", "100")}`;
    const newer = `/t/0/${upid(0x20, "qmstart", "100")}`;
    expect(globSortKey(older) < globSortKey(newer)).toBe(true);
    expect(globSortKey("/a/1/x") < globSortKey("/a/2/x")).toBe(true);
  });
});
