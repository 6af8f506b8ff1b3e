import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CaptureSpec, Evidence, MAX_FILE_BYTES } from "../../src/facts/capture.ts";
import { gatherScript, newBoundary, parseGatherOutput } from "../../src/hosts/gather-script.ts";
import { LocalHost } from "../../src/hosts/local-host.ts";
import { TREE, writeTree } from "./fake-tree.ts";

const B = "VGPUCTLtestboundary0123";

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "vgpuctl-gather-"));
  writeTree(root, { bigBytes: MAX_FILE_BYTES + 10 });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function runSh(script: string): string {
  const r = spawnSync("sh", ["-s"], { input: script, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  expect(r.status).toBe(0);
  return r.stdout;
}

function specIn(root: string, nvidiaSysfs = false): CaptureSpec {
  return {
    commands: [
      ["echo", "hello world"],
      ["sh", "-c", "printf 'no newline at the end'; exit 3"],
      ["printf", "%s\\n", "it's quoted; $HOME `x`"],
      ["vgpuctl-definitely-absent-program"],
      ["cat"], // stdin is /dev/null: must not hang
    ],
    paths: [
      `${root}/proc/cmdline`,
      `${root}/etc/modules`,
      `${root}/etc/modprobe.d`,
      `${root}/etc/vgpu_unlock/*.toml`,
      `${root}/etc/systemd/system/nvidia-vgpu*.service.d`,
      `${root}/etc/kernel/cmdline`,
    ],
    nvidiaSysfs,
  };
}

describe("gatherScript run with sh, parsed back", () => {
  it("captures commands with exact stdout and exit codes, leaving absent programs out", () => {
    const spec = specIn(root);
    const cap = parseGatherOutput(runSh(gatherScript(spec, B)), spec, B, "pve1");
    expect(cap.host).toBe("pve1");
    expect(cap.commands).toEqual([
      { cmd: "echo 'hello world'", stdout: "hello world\n", exitCode: 0 },
      {
        cmd: "sh -c 'printf '\\''no newline at the end'\\''; exit 3'",
        stdout: "no newline at the end",
        exitCode: 3,
      },
      { cmd: "printf '%s\\n' 'it'\\''s quoted; $HOME `x`'", stdout: "it's quoted; $HOME `x`\n", exitCode: 0 },
      { cmd: "cat", stdout: "", exitCode: 0 },
    ]);
    expect(cap.notes).toEqual([
      "not installed on the host: vgpuctl-definitely-absent-program",
      `${root}/etc/vgpu_unlock/big.toml truncated to ${MAX_FILE_BYTES} bytes`,
    ]);
    expect(cap.unreadable).toBeUndefined();
  });

  it("captures files, folders (recursive, symlinks followed, binaries dropped) and globs", () => {
    const spec = specIn(root);
    const cap = parseGatherOutput(runSh(gatherScript(spec, B)), spec, B, "pve1");
    expect(cap.files[`${root}/proc/cmdline`]).toBe(TREE["/proc/cmdline"]); // no trailing newline kept exact
    expect(cap.files[`${root}/etc/modules`]).toBe(TREE["/etc/modules"]);
    expect(
      Object.keys(cap.files)
        .filter((p) => p.includes("modprobe.d"))
        .sort(),
    ).toEqual([
      `${root}/etc/modprobe.d/blacklist.conf`,
      `${root}/etc/modprobe.d/nvidia.conf`,
      `${root}/etc/modprobe.d/pve-blacklist.conf`,
    ]);
    expect(cap.files[`${root}/etc/modprobe.d/nvidia.conf`]).toBe(
      "options nvidia NVreg_EnableGpuFirmware=0\n",
    );
    expect(cap.files[`${root}/etc/vgpu_unlock/profile_override.toml`]).toBe(
      TREE["/etc/vgpu_unlock/profile_override.toml"],
    );
    expect(cap.files[`${root}/etc/vgpu_unlock/big.toml`]).toHaveLength(MAX_FILE_BYTES);
    expect(cap.files[`${root}/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf`]).toContain(
      "LD_PRELOAD",
    );
    expect(cap.files[`${root}/etc/systemd/system/nvidia-vgpud.service.d/vgpu_unlock.conf`]).toContain(
      "LD_PRELOAD",
    );
    expect(cap.capturedPaths).toEqual(spec.paths);
    // absent file: captured (its folder was looked at) but not in files → Evidence says null
    const ev = new Evidence(cap);
    expect(ev.file(`${root}/etc/kernel/cmdline`)).toBeNull();
    expect(ev.file("/etc/never-looked-at")).toBeUndefined();
  });

  it("captures the sysfs files of NVIDIA functions only", () => {
    const spec: CaptureSpec = { commands: [], paths: [], nvidiaSysfs: true };
    const sys = `${root}/sys/bus/pci/devices`;
    const cap = parseGatherOutput(runSh(gatherScript(spec, B, { sysPciDevices: sys })), spec, B, "pve1");
    const nv = `${sys}/0000:01:00.0`;
    expect(cap.capturedPaths).toEqual([nv]);
    expect(cap.files[`${nv}/vendor`]).toBe("0x10de\n");
    expect(cap.files[`${nv}/device`]).toBe("0x1e07\n");
    expect(cap.files[`${nv}/mdev_supported_types/nvidia-256/description`]).toBe(
      "num_heads=4, frl_config=60, framebuffer=1024M, max_resolution=5120x2880, max_instance=24\n",
    );
    expect(cap.files[`${nv}/mdev_supported_types/nvidia-259/name`]).toBe("GRID RTX6000-4Q\n");
    expect(Object.keys(cap.files).some((p) => p.includes("0000:00:02.0"))).toBe(false);
    // sriov_totalvfs does not exist on this function: absent, not noted as unreadable
    expect(new Evidence(cap).file(`${nv}/sriov_totalvfs`)).toBeNull();
    expect(cap.notes).toEqual([]);
  });

  it("gives the same Capture as captureViaPrimitives on a LocalHost", async () => {
    const spec = specIn(root);
    const viaScript = parseGatherOutput(runSh(gatherScript(spec, B)), spec, B, "pve1");
    const viaLocal = await new LocalHost({ root: null, spec: "local" }).capture(spec);
    expect(viaScript.commands).toEqual(viaLocal.commands);
    expect(viaScript.files).toEqual(viaLocal.files);
    expect(viaScript.capturedPaths).toEqual(viaLocal.capturedPaths);
    expect(viaScript.notes).toEqual(viaLocal.notes);
    expect(viaScript.unreadable).toEqual(viaLocal.unreadable);
  });
});

describe("parseGatherOutput on damaged output", () => {
  const spec: CaptureSpec = { commands: [["uname", "-r"]], paths: ["/proc/cmdline"], nvidiaSysfs: false };

  it("keeps what arrived and notes a stream cut short", () => {
    const out = `${B} C 0\n5.15.107-2-pve\n\n${B} E 0\n${B} F /proc/cmdline\nBOOT_IMAGE=/boot/vmlin`;
    const cap = parseGatherOutput(out, spec, B, "h");
    expect(cap.commands).toEqual([{ cmd: "uname -r", stdout: "5.15.107-2-pve\n", exitCode: 0 }]);
    expect(cap.files).toEqual({});
    expect(cap.notes.join("\n")).toMatch(/cut short/);
    expect(cap.notes.join("\n")).toMatch(/incomplete/);
  });

  it("never throws on garbage", () => {
    for (const junk of [
      "",
      "\n\n",
      "random text\nmore",
      `${B} C 99\nx\n${B} E 0\n${B} Z\n`,
      `${B} C 0\nx\n${B} E notanumber`,
    ]) {
      expect(() => parseGatherOutput(junk, spec, B, "h")).not.toThrow();
    }
    const cap = parseGatherOutput(`${B} C 99\nx\n${B} E 0\n${B} Z\n`, spec, B, "h");
    expect(cap.commands).toEqual([]);
    expect(cap.notes).toEqual([]);
  });

  it("uses a boundary that differs each run and refuses unsafe ones", () => {
    expect(newBoundary()).not.toBe(newBoundary());
    expect(newBoundary()).toMatch(/^[A-Za-z0-9]+$/);
    expect(() => gatherScript(spec, "x'; rm -rf /")).toThrow();
  });
});
