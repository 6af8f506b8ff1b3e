/**
 * Issue 16, "Done means": `npm pack`, then `npm install -g` of the tarball into an empty prefix gives a
 * working `vgpuctl` — `--version`, `doctor --host demo` and `inspect --host demo --json` — with no
 * other file of the repository present: the installed folder holds only the package's files and no
 * node_modules (everything is bundled). `npm test` builds dist/ first; the pack skips the prepack
 * build (--ignore-scripts) so it never rewrites dist/ under the other tests. Offline: the package has
 * no dependencies, so npm needs nothing from the registry.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BUNDLED_CLI, REPO, tempSimDir } from "../helpers/cli.ts";

const work = mkdtempSync(join(tmpdir(), "vgpuctl-pkg-"));
const prefix = join(work, "prefix");
const installed = join(prefix, "lib", "node_modules", "vgpuctl");
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
/** npm's own variables (set when this runs under `npm test`) must not steer the nested npm. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")),
) as NodeJS.ProcessEnv;

function npm(args: string[], cwd: string): string {
  const r = spawnSync("npm", args, { cwd, env, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`npm ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The installed command, from a folder outside the repository, with only node's folder on PATH. */
function vgpuctl(args: string[], simDir: string) {
  return spawnSync(join(prefix, "bin", "vgpuctl"), args, {
    cwd: work,
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: dirname(process.execPath), HOME: work, NO_COLOR: "1", VGPUCTL_SIM_DIR: simDir },
  });
}

beforeAll(() => {
  if (!existsSync(BUNDLED_CLI)) throw new Error(`${BUNDLED_CLI} missing: run \`npm run build\` first`);
  const tarball = npm(["pack", "--ignore-scripts", "--silent", "--pack-destination", work], REPO).trim();
  expect(tarball).toBe(`vgpuctl-${pkg.version}.tgz`);
  npm(
    ["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", join(work, tarball)],
    work,
  );
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

it("installs the package's files only: the built program, no sources, no dependencies", () => {
  expect(readdirSync(installed).sort()).toEqual(["README.md", "bin", "dist", "package.json", "schema.json"]);
  expect(readdirSync(join(installed, "dist")).sort()).toEqual(["lib", "vgpuctl.cjs"]);
  expect(existsSync(join(installed, "node_modules"))).toBe(false);
});

it("vgpuctl --version prints the package's version", () => {
  const r = vgpuctl(["--version"], tempSimDir());
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(r.stdout).toBe(`${pkg.version}\n`);
});

it("vgpuctl doctor --host demo runs: the demo host has no error findings", () => {
  const r = vgpuctl(["doctor", "--host", "demo", "--json"], tempSimDir());
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ host: "seed-configured", findings: [] });
});

it("vgpuctl inspect --host demo --json reports the demo host's GPU", () => {
  const r = vgpuctl(["inspect", "--host", "demo", "--json"], tempSimDir());
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout).gpus[0]).toMatchObject({ deviceId: "1e07", support: "unlock" });
});
