// CLI registrars for plan/apply/uninstall/init on the simulated seed-fresh host (the seed guide's host) and,
// where the host must not be Proxmox VE, `--host local --root DIR` over a tree with only /etc/hostname (a
// machine without Proxmox VE: no pveversion; commands do not run under --root).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, Option } from "@commander-js/extra-typings";
import { describe, expect, it } from "vitest";
import { registerApply } from "../../src/cli/commands/apply.ts";
import { registerInit } from "../../src/cli/commands/init.ts";
import { registerPlan } from "../../src/cli/commands/plan.ts";
import { registerUninstall } from "../../src/cli/commands/uninstall.ts";
import type { CliContext, ExitCode } from "../../src/cli/context.ts";
import { colorsFor } from "../../src/cli/output.ts";
import { buildInitYaml } from "../../src/commands/init.ts";
import { parseDesired } from "../../src/desired/parse.ts";
import { parseFacts } from "../../src/facts/index.ts";
import { GATHER_SPEC } from "../../src/hosts/gather-spec.ts";
import type { Host } from "../../src/hosts/host.ts";
import { LocalHost } from "../../src/hosts/local-host.ts";
import { buildScenarioState, SimHost } from "../../src/hosts/sim/sim-host.ts";
import { UserError } from "../../src/util/errors.ts";

async function run(argv: string[], host: Host, cwd: string, confirm?: CliContext["confirm"]) {
  let out = "";
  let exit: ExitCode = 0;
  const opened: string[] = [];
  const ctx: CliContext = {
    out: (s) => {
      out += s;
    },
    err: () => {},
    env: {},
    colors: colorsFor({ isTTY: false }, {}),
    cwd,
    openHost: async (spec) => {
      opened.push(spec);
      return host;
    },
    ...(confirm ? { confirm } : {}),
  };
  const program = new Command()
    .addOption(new Option("-H, --host <spec>").default("local"))
    .option("--root <dir>")
    .option("--json")
    .exitOverride();
  for (const r of [registerPlan, registerApply, registerUninstall, registerInit])
    r(program, ctx, (c) => (exit = Math.max(exit, c) as ExitCode));
  let error: unknown = null;
  try {
    await program.parseAsync(["node", "vgpuctl", ...argv]);
  } catch (e) {
    error = e;
  }
  return { out, exit, error, opened };
}

const tmp = () => mkdtempSync(join(tmpdir(), "vgpuctl-cli-"));
/** A host that is not Proxmox VE: a file tree with only /etc/hostname ("bare"), as `--root DIR` sees it. */
function bareHost(): Host {
  const root = tmp();
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc", "hostname"), "bare\n");
  return new LocalHost({ root, spec: "local" });
}

describe("vgpuctl plan", () => {
  it("--json prints DESIGN.md's shape; a non-Proxmox host is refused with exit 1", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "vgpu.yaml"), "hosts:\n  - host: sim:nothing\n");
    const r = await run(["plan", "--json"], bareHost(), dir);
    expect(r.error).toBeNull();
    expect(r.exit).toBe(1);
    expect(r.opened).toEqual(["sim:nothing"]);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ host: "bare", steps: [], reboots: 0 });
    expect(j.blockers.map((b: { code: string }) => b.code)).toEqual(["not-proxmox"]);
  });

  it("an explicit --host stands in for the single entry", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "v.yaml"), "hosts:\n  - host: sim:seed-fresh\n");
    const r = await run(["--host", "sim:other", "plan", "-f", "v.yaml"], bareHost(), dir);
    expect(r.opened).toEqual(["sim:other"]);
    expect(r.out).toMatch(/\[not-proxmox\] This is not a Proxmox VE host/);
  });

  it("bad input fails with line:column before any host is opened", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "vgpu.yaml"), "hosts:\n  - host: sim:seed-fresh\n    unlok: auto\n");
    const r = await run(["plan"], bareHost(), dir);
    expect(r.error).toBeInstanceOf(UserError);
    expect((r.error as Error).message).toBe("vgpu.yaml:3:5: unknown key 'unlok' — did you mean 'unlock'?");
    expect(r.opened).toEqual([]);
  });
});

describe("vgpuctl apply / uninstall", () => {
  it("needs --yes when there is no terminal to ask", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "vgpu.yaml"), "hosts:\n  - host: sim:x\n");
    const r = await run(["apply", "--json"], bareHost(), dir);
    expect((r.error as Error).message).toMatch(/apply changes the host and needs confirmation/);
    const u = await run(["uninstall", "--json", "--yes"], bareHost(), dir);
    expect(JSON.parse(u.out)).toMatchObject({ host: "bare", undone: [], nothingToDo: true });
  });
});

describe("the confirmation is asked through CliContext.confirm (main() passes the terminal's)", () => {
  // examples/seed-host.yaml on the simulated seed-fresh host (the seed guide's host)
  const seedYaml = () =>
    readFileSync(join(import.meta.dirname, "..", "..", "examples", "seed-host.yaml"), "utf8");

  it("apply shows the plan, asks once, and changes nothing on no", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "vgpu.yaml"), seedYaml());
    const host = SimHost.fromState(buildScenarioState("seed-fresh"));
    const asked: string[] = [];
    const r = await run(["apply"], host, dir, async (q) => {
      asked.push(q);
      return false;
    });
    expect(r.error).toBeNull();
    expect(asked).toEqual([expect.stringMatching(/^Apply on seed-fresh \(\d+ step\(s\)\)\? \[y\/N\] $/)]);
    expect(r.out).toMatch(/^Plan for seed-fresh: \d+ step\(s\), 1 reboot\(s\)/);
    expect(await host.readFile("/var/lib/vgpuctl/journal.json")).toBeNull();
  });

  it("apply on yes; uninstall asks with its own question", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "vgpu.yaml"), seedYaml());
    const host = SimHost.fromState(buildScenarioState("seed-fresh"));
    const asked: string[] = [];
    const yes = async (q: string) => {
      asked.push(q);
      return true;
    };
    expect((await run(["apply"], host, dir, yes)).error).toBeNull();
    expect(await host.readFile("/var/lib/vgpuctl/journal.json")).not.toBeNull();
    expect((await run(["uninstall"], host, dir, yes)).error).toBeNull();
    expect(asked[1]).toMatch(/^Undo on seed-fresh \(\d+ step\(s\)\)\? \[y\/N\] $/);
    expect(await host.readFile("/var/lib/vgpuctl/journal.json")).toBeNull();
  });

  it("--json never asks", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "vgpu.yaml"), seedYaml());
    const r = await run(
      ["apply", "--json"],
      SimHost.fromState(buildScenarioState("seed-fresh")),
      dir,
      async () => {
        throw new Error("asked");
      },
    );
    expect((r.error as Error).message).toMatch(/needs confirmation/);
  });
});

describe("vgpuctl init", () => {
  it("writes a commented file that validates, naming the GPU and a vGPU type", async () => {
    const host = SimHost.fromState(buildScenarioState("seed-fresh"));
    const yaml = buildInitYaml(parseFacts(await host.capture(GATHER_SPEC)), "sim:seed-fresh");
    const d = parseDesired(yaml);
    expect(d.hosts[0]).toMatchObject({ host: "sim:seed-fresh", unlock: "auto", iommu: "auto" });
    expect(d.hosts[0]!.gpus![0]!.address).toBe("0000:01:00.0");
    expect(d.hosts[0]!.gpus![0]!.type).toMatch(/^GRID RTX6000-\d+Q$/);
    expect(yaml).toMatch(/# GPU 0000:01:00.0 GeForce RTX 2080 Ti Rev. A \[10de:1e07\]: unlock/);
    expect(yaml).toMatch(/releases known to work on kernel 5\.15\.102-1-pve: \d+\.\d+ \(\d{3}\.\d+\.\d+\)/);
    expect(yaml).toMatch(/# {3}patch: /);
  });

  it("refuses to overwrite an existing file", async () => {
    const dir = tmp();
    writeFileSync(join(dir, "vgpu.yaml"), "keep me\n");
    const r = await run(["init"], bareHost(), dir);
    expect((r.error as Error).message).toMatch(/vgpu\.yaml already exists/);
    expect(readFileSync(join(dir, "vgpu.yaml"), "utf8")).toBe("keep me\n");
  });
});
