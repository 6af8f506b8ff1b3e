/**
 * The driver files vgpu.yaml names, as the host's probes show them: the installer exists, is a .run
 * installer and matches its sha256; the patch exists, matches its sha256 and is for that driver.
 */
import { formatCommand } from "../../facts/capture.ts";
import { basename, dirname } from "../changes.ts";
import type { FileProbe } from "../types.ts";
import type { Block } from "./output.ts";

export function checkInstaller(path: string, sha: string, p: FileProbe | undefined, block: Block) {
  if (!p) return;
  if (!p.exists) {
    block(
      "driver-file-missing",
      `Driver installer ${path} not found on the host`,
      [path],
      [
        "copy the NVIDIA-Linux-x86_64-<version>-vgpu-kvm.run from the NVIDIA Licensing Portal download (Host_Drivers folder) there",
      ],
    );
    return;
  }
  if (p.head !== null && !p.head.startsWith("#!/bin/sh")) {
    const html = /<html|<!doctype/i.test(p.head);
    block(
      "driver-not-installer",
      `${path} is not an NVIDIA .run installer`,
      [`starts with ${JSON.stringify(p.head.slice(0, 24))}`],
      [
        html
          ? "the download saved a web page instead of the driver: download it again"
          : "point driver.installer at the .run file itself",
      ],
    );
    return;
  }
  checkSha256(path, sha, p, block, {
    code: "driver-checksum",
    unverified: `The sha256 of driver installer ${path} could not be computed: it would run as root unverified`,
    key: "driver.sha256",
    fix: "copy the file again (it may be truncated) or correct driver.sha256",
  });
}

/** `<code>-unverified` when the host could not compute the file's sha256, `<code>-mismatch` when it differs. */
function checkSha256(
  path: string,
  sha: string,
  p: FileProbe,
  block: Block,
  what: { code: string; unverified: string; key: string; fix: string },
) {
  if (p.sha256 === null)
    block(
      `${what.code}-unverified`,
      what.unverified,
      [p.sha256Error ?? "`sha256sum` gave no checksum", `expected ${sha} (vgpu.yaml ${what.key})`],
      unverifiedFix(path),
    );
  else if (p.sha256 !== sha)
    block(
      `${what.code}-mismatch`,
      `${path} does not match the sha256 in vgpu.yaml`,
      [`expected ${sha}`, `found    ${p.sha256}`],
      [what.fix],
    );
}

/** How to get a checksum the planner can compare: sha256sum must run as root and read the file. */
function unverifiedFix(path: string): string[] {
  return [
    `make sure \`${formatCommand(["sha256sum", path])}\` works on the host as root (coreutils installed, the file readable, not on a stalled mount), then re-run`,
  ];
}

export function checkPatch(
  path: string,
  sha: string,
  version: string | null,
  p: FileProbe | undefined,
  block: Block,
) {
  const named = /(\d{3}\.\d{1,3}(?:\.\d{1,3})?)/.exec(basename(path))?.[1] ?? null;
  if (version && named && named !== version)
    block(
      "patch-version-mismatch",
      `Patch ${basename(path)} is for driver ${named}, not ${version}`,
      [path],
      [`use vgpu-proxmox's ${version}.patch (each patch works for exactly one driver version)`],
    );
  if (!p) return;
  if (!p.exists) {
    block(
      "patch-file-missing",
      `Patch ${path} not found on the host`,
      [path],
      [`git clone https://gitlab.com/polloloco/vgpu-proxmox.git ${dirname(path)}`],
    );
    return;
  }
  checkSha256(path, sha, p, block, {
    code: "patch-checksum",
    unverified: `The sha256 of patch ${path} could not be computed: the driver would be patched with an unverified file`,
    key: "driver.patch.sha256",
    fix: "fetch the patch again or correct driver.patch.sha256",
  });
  if (version && p.head !== null) {
    const inHeader = [...p.head.matchAll(/\b(\d{3}\.\d{1,3}\.\d{1,3})\b/g)].map((m) => m[1]!);
    if (inHeader.length > 0 && !inHeader.includes(version))
      block(
        "patch-version-mismatch",
        `Patch ${basename(path)} is for driver ${inHeader[0]}, not ${version}`,
        [p.head.split("\n")[0] ?? ""],
        [`use the patch made for ${version}`],
      );
  }
}

/** Where a GNU patch 2.7.x built from source lands (`make install`, ahead of /usr/bin in root's PATH). */
export const LOCAL_PATCH = "/usr/local/bin/patch";

/**
 * GNU patch 2.8 (Debian 13, Proxmox VE 9) refuses the vgpu-proxmox driver patches: they hold binary
 * hunks, and 2.8 stops at "patch line 9 contains NUL byte" (anomixer/proxmox-vgpu-installer#2 on PVE
 * 9.0.10; research/installers.md §2.1). NVIDIA's installer stub still exits 0. The known remedy is
 * anomixer's 1.4: GNU patch 2.7.6 built from source into /usr/local. vgpuctl refuses before anything
 * is changed and names that remedy; a /usr/local/bin/patch found on the host is taken as done.
 */
export function checkPatchTool(
  dpkgPatch: string | undefined,
  local: FileProbe | undefined,
  block: Block,
): void {
  const v = /^(\d+)\.(\d+)/.exec(dpkgPatch ?? "");
  if (!v || Number(v[1]) * 100 + Number(v[2]) < 208 || local?.exists === true) return;
  block(
    "patch-nul-byte",
    `GNU patch ${dpkgPatch} refuses the driver patch ("patch line 9 contains NUL byte"): the patched installer would never be made`,
    [
      `dpkg: patch ${dpkgPatch} (2.8 and newer reject NUL bytes; the vgpu-proxmox patches contain binary hunks)`,
      `${LOCAL_PATCH} not found`,
    ],
    [
      "install GNU patch 2.7.6 into /usr/local (anomixer/proxmox-vgpu-installer 1.4): apt install build-essential curl && curl -LO https://ftp.gnu.org/gnu/patch/patch-2.7.6.tar.xz && tar xf patch-2.7.6.tar.xz && cd patch-2.7.6 && ./configure && make && make install",
      `then re-run: vgpuctl uses ${LOCAL_PATCH}, which comes before /usr/bin/patch in root's PATH`,
    ],
  );
}
