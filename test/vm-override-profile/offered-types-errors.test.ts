/**
 * `override set/unset` read the offered vGPU types straight from sysfs (readOfferedTypes). A folder a
 * bundle did not capture counts as absent; a folder that cannot be read is an error — it used to make
 * the host look as if it offered no types. Host: sim scenario seed-configured (RTX 2080 Ti at
 * 0000:01:00.0 with the RTX6000 types of seed guide lines 308-319).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readOfferedTypes } from "../../src/commands/override.ts";
import { SimHost } from "../../src/hosts/sim/sim-host.ts";
import { NotCapturedError, UserError } from "../../src/util/errors.ts";
import { failingCall, failingRead } from "../helpers/failing-host.ts";

const dirs: string[] = [];
afterEach(async () => {
  while (dirs.length) await rm(dirs.pop()!, { recursive: true, force: true });
});

async function seedHost(): Promise<SimHost> {
  const dir = await mkdtemp(join(tmpdir(), "vgpuctl-offered-"));
  dirs.push(dir);
  return SimHost.open("seed-configured", { stateDir: dir, spec: "sim:seed-configured" });
}

const TYPES = "/sys/bus/pci/devices/0000:01:00.0/mdev_supported_types";

describe("readOfferedTypes", () => {
  it("reads the GPU's types", async () => {
    const types = await readOfferedTypes(await seedHost());
    expect(types.map((t) => t.type)).toContain("nvidia-259");
  });

  it("a types folder that cannot be read (EACCES) is an error, not 'no types offered'", async () => {
    const eacces = new UserError(`cannot list ${TYPES}: EACCES`, "run vgpuctl as root");
    await expect(readOfferedTypes(failingCall(await seedHost(), "list", TYPES, eacces))).rejects.toBe(eacces);
  });

  it("a type's file that cannot be read is an error too", async () => {
    const path = `${TYPES}/nvidia-259/available_instances`;
    const eio = new UserError(`cannot read ${path}: EIO`);
    await expect(readOfferedTypes(failingRead(await seedHost(), path, eio))).rejects.toBe(eio);
  });

  it("what a bundle did not capture counts as absent", async () => {
    const host = failingCall(await seedHost(), "list", TYPES, new NotCapturedError(TYPES));
    expect(await readOfferedTypes(host)).toEqual([]);
  });
});
