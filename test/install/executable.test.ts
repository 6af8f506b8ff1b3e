/**
 * Issue 16, "Done means": the single executable (`npm run build:exe` → dist/vgpuctl-linux-x64, Node's
 * single executable application support) runs `inspect --host demo --json` with PATH holding no
 * `node`. Built here by scripts/build-exe.mjs into a temporary folder (the same script, the same
 * steps), from the dashboard UI `npm run build` left in dist/ui.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { REPO, tempSimDir } from "../helpers/cli.ts";
import { startSshd, type TestSshd } from "../helpers/sshd.ts";

const out = mkdtempSync(join(tmpdir(), "vgpuctl-exe-"));
const exe = join(out, `vgpuctl-${process.platform}-${process.arch}`);
/** A PATH with no node on it (and nothing else): the executable must need none. */
const NO_NODE = { PATH: join(out, "empty-path"), HOME: out, NO_COLOR: "1" };

beforeAll(() => {
  if (!existsSync(join(REPO, "dist", "ui", "index.html")))
    throw new Error("dist/ui missing: run `npm run build` first (npm test does)");
  execFileSync(process.execPath, ["scripts/build-exe.mjs", "--outdir", out], { cwd: REPO, stdio: "pipe" });
}, 120_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

it("is one executable file", () => {
  expect(statSync(exe).mode & 0o111).not.toBe(0);
  expect(spawnSync("sh", ["-c", "command -v node"], { env: NO_NODE }).status).not.toBe(0);
});

it("prints its version with no node on PATH", () => {
  const r = spawnSync(exe, ["--version"], { encoding: "utf8", env: NO_NODE, cwd: out });
  expect(r.stderr).toBe("");
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
  expect(r.stdout).toBe(`${pkg.version}\n`);
});

it("runs inspect --host demo --json with no node on PATH", () => {
  const r = spawnSync(exe, ["inspect", "--host", "demo", "--json"], {
    encoding: "utf8",
    env: { ...NO_NODE, VGPUCTL_SIM_DIR: tempSimDir() },
    cwd: out,
  });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({
    host: "seed-configured",
    kernel: { release: "5.15.102-1-pve" },
  });
});

it("runs doctor --host demo and prints the bash completion with no node on PATH", () => {
  const doctor = spawnSync(exe, ["doctor", "--host", "demo", "--json"], {
    encoding: "utf8",
    env: { ...NO_NODE, VGPUCTL_SIM_DIR: tempSimDir() },
    cwd: out,
  });
  expect(doctor.status).toBe(0);
  expect(JSON.parse(doctor.stdout).findings).toEqual([]);
  const completion = spawnSync(exe, ["completion", "bash"], { encoding: "utf8", env: NO_NODE, cwd: out });
  expect(completion.status).toBe(0);
  expect(completion.stdout).toContain("complete -F _vgpuctl vgpuctl");
});

it("inspects a host over ssh:// with ssh2's pure-JS crypto (no native addon in the executable)", async () => {
  const sshd: TestSshd = await startSshd();
  try {
    const r = spawnSync(exe, ["inspect", "--host", `ssh://${sshd.user}@127.0.0.1:${sshd.port}`, "--json"], {
      encoding: "utf8",
      cwd: out,
      timeout: 60_000,
      env: {
        ...NO_NODE,
        HOME: sshd.dir,
        USER: sshd.user,
        VGPUCTL_KNOWN_HOSTS: sshd.knownHostsPath,
        VGPUCTL_SSH_IDENTITY: sshd.identityPath,
      },
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).kernel.release).toBe(
      execFileSync("uname", ["-r"], { encoding: "utf8" }).trim(),
    );
  } finally {
    await sshd.stop();
  }
});
