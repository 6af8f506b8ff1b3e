// captureViaPrimitives records a path a host cannot read as unreadable (unknown, never absent) and goes
// on — test/hosts/unreadable.test.ts. That is for what a host reports (a UserError, an errno error); a
// bug in a host (a TypeError) must abort the capture instead of passing for "could not read".
// Host: `local --root DIR` on a temp dir with one /etc/modprobe.d file and one NVIDIA PCI function
// (vendor 0x10de: the PCI-SIG vendor id of NVIDIA, as in every sysfs capture in test/fixtures).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { captureViaPrimitives } from "../../src/hosts/capture-generic.ts";
import type { Host } from "../../src/hosts/host.ts";
import { LocalHost } from "../../src/hosts/local-host.ts";
import { failingCall, failingRead } from "../helpers/failing-host.ts";

const roots: string[] = [];
afterEach(() => {
  while (roots.length) rmSync(roots.pop()!, { recursive: true, force: true });
});

const GPU = "/sys/bus/pci/devices/0000:01:00.0";

function localHost(): Host {
  const root = mkdtempSync(join(tmpdir(), "vgpuctl-capbug-"));
  roots.push(root);
  mkdirSync(join(root, "etc/modprobe.d"), { recursive: true });
  writeFileSync(join(root, "etc/modprobe.d/blacklist.conf"), "blacklist nouveau\n");
  mkdirSync(join(root, GPU), { recursive: true });
  writeFileSync(join(root, GPU, "vendor"), "0x10de\n");
  return new LocalHost({ root, spec: "local" });
}

const SPEC = { commands: [], paths: ["/etc/modprobe.d"], nvidiaSysfs: true };
const bug = () => new TypeError("Cannot read properties of undefined (reading 'split')");

describe("captureViaPrimitives: a host's bug is not an unreadable path", () => {
  it("a list() that fails with a TypeError aborts the capture", async () => {
    const host = failingCall(localHost(), "list", "/etc/modprobe.d", bug());
    await expect(captureViaPrimitives(host, SPEC, "local")).rejects.toThrow(TypeError);
  });

  it("a vendor file read that fails with a TypeError aborts the capture", async () => {
    const host = failingRead(localHost(), `${GPU}/vendor`, bug());
    await expect(captureViaPrimitives(host, SPEC, "local")).rejects.toThrow(TypeError);
  });

  it("an errno failure (EACCES from fs) still marks the path unreadable and the capture goes on", async () => {
    const eacces = Object.assign(new Error("EACCES: permission denied, scandir"), { code: "EACCES" });
    const cap = await captureViaPrimitives(
      failingCall(localHost(), "list", "/etc/modprobe.d", eacces),
      SPEC,
      "local",
    );
    expect(cap.unreadable).toEqual(["/etc/modprobe.d"]);
    expect(cap.capturedPaths).toContain(GPU);
  });
});
