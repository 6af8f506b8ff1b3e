/**
 * `vgpuctl completion bash|zsh|fish` (issue 16, "Completions"): each script, loaded into its real
 * shell, completes what a person types. bash: COMP_WORDS/COMP_CWORD as bash sets them when Tab is
 * pressed (bash(1), "Programmable Completion"), including the ':' word break that splits sim:NAME.
 * zsh: the function is called with $words/$CURRENT as the completion system sets them and a
 * compadd that prints what it is given. fish: `complete -C` asks fish for its completions.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";

const dir = mkdtempSync(join(tmpdir(), "vgpuctl-completion-"));
const scripts: Record<string, string> = {};

async function script(shell: string): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(["node", "vgpuctl", "completion", shell], {
    env: { NO_COLOR: "1", VGPUCTL_SIM_DIR: dir },
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  return { code, out, err };
}

beforeAll(async () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    const r = await script(shell);
    expect(r.code).toBe(0);
    scripts[shell] = join(dir, `vgpuctl.${shell}`);
    writeFileSync(scripts[shell]!, r.out);
  }
});

/** What bash's _vgpuctl puts in COMPREPLY for the words typed (the last one is being completed). */
function bashComplete(...words: string[]): string[] {
  return bashCompleteWith(process.env, ...words);
}

function bashCompleteWith(env: NodeJS.ProcessEnv, ...words: string[]): string[] {
  const r = spawnSync(
    "bash",
    [
      "--norc",
      "-c",
      `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vgpuctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
      "bash",
      scripts.bash!,
      ...words,
    ],
    { encoding: "utf8", env },
  );
  expect(r.stderr).toBe("");
  return r.stdout.split("\n").filter(Boolean);
}

describe("bash", () => {
  it("completes `vgpuctl vm at<TAB>` to attach", () => {
    expect(bashComplete("vgpuctl", "vm", "at")).toEqual(["attach"]);
  });

  it("offers the subcommands, also after global options and their values", () => {
    expect(bashComplete("vgpuctl", "")).toEqual(
      expect.arrayContaining(["inspect", "doctor", "vm", "completion"]),
    );
    expect(bashComplete("vgpuctl", "--host", "demo", "--json", "vm", "")).toEqual(
      expect.arrayContaining(["list", "attach", "detach", "mapping"]),
    );
    expect(bashComplete("vgpuctl", "vm", "mapping", "cr")).toEqual(["create"]);
  });

  it("offers a command's own options and the global ones", () => {
    const opts = bashComplete("vgpuctl", "vm", "attach", "100", "--");
    expect(opts).toEqual(expect.arrayContaining(["--type", "--dry-run", "--host", "--json"]));
    expect(bashComplete("vgpuctl", "inspect", "--js")).toEqual(["--json"]);
  });

  it("offers host specs after --host, sim:NAME for every scenario, through bash's ':' word break", () => {
    expect(bashComplete("vgpuctl", "inspect", "--host", "")).toEqual(
      expect.arrayContaining(["local", "demo", "ssh://", "bundle:", "sim:seed-fresh", "sim:a16-configured"]),
    );
    // bash splits `sim:p4` into `sim` `:` `p4` and replaces only the part after the ':'
    expect(bashComplete("vgpuctl", "doctor", "-H", "sim", ":", "p4-f")).toEqual(["p4-fresh"]);
  });

  it("offers scenario names where a command takes one (sim reset)", () => {
    expect(bashComplete("vgpuctl", "sim", "reset", "seed-")).toEqual(["seed-fresh", "seed-configured"]);
  });
});

describe("zsh", () => {
  it("loads, and completes vm subcommands, options and --host values", () => {
    const r = spawnSync(
      "zsh",
      [
        "-f",
        "-c",
        [
          'source "$1"',
          // the completion system's compadd filters by the typed prefix; this one prints its words
          'compadd() { while [[ $1 == -* && $1 != -- ]]; do [[ $1 == -S ]] && shift; shift; done; shift; print -r -- "$*"; }',
          "_files() { print FILES }",
          't() { words=("$@"); CURRENT=$#; _vgpuctl }',
          "t vgpuctl vm at",
          "t vgpuctl --host ''",
          "t vgpuctl sim reset ''",
          "t vgpuctl plan -f ''",
        ].join("\n"),
        "zsh",
        scripts.zsh!,
      ],
      { encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    const [vm, hosts, scenarios, file] = r.stdout.split("\n");
    expect(vm!.split(" ")).toEqual(expect.arrayContaining(["list", "attach", "detach", "mapping"]));
    expect(hosts!.split(" ")).toEqual(expect.arrayContaining(["local", "demo", "sim:seed-fresh"]));
    expect(scenarios!.split(" ")).toEqual(expect.arrayContaining(["seed-fresh", "rtx3080"]));
    expect(file).toBe("FILES");
  });
});

describe("fish", () => {
  it("completes `vgpuctl vm at` to attach, options and sim:NAME hosts", () => {
    const r = spawnSync(
      "fish",
      [
        "--no-config",
        "-c",
        [
          "source $argv[1]",
          "complete -C 'vgpuctl vm at'",
          "echo ---",
          "complete -C 'vgpuctl inspect --js'",
          "echo ---",
          "complete -C 'vgpuctl --host sim:p4-f'",
        ].join("\n"),
        scripts.fish!,
      ],
      { encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    const [vm, opts, hosts] = r.stdout.split("---\n").map((s) => s.split("\n").filter(Boolean));
    expect(vm).toEqual(["attach"]);
    expect(opts).toEqual(["--json"]);
    expect(hosts).toEqual(["sim:p4-fresh"]);
  });
});

it("an unknown shell is one clear error, exit 2", async () => {
  const r = await script("tcsh");
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  expect(r.err).toContain('unknown shell "tcsh"');
});

describe("VM ids and vGPU types from the last inspection", () => {
  const cache = join(dir, "cache");
  const env = { ...process.env, XDG_CACHE_HOME: cache };

  beforeAll(async () => {
    const code = await main(["node", "vgpuctl", "--host", "demo", "inspect"], {
      env: { NO_COLOR: "1", VGPUCTL_SIM_DIR: join(dir, "sim"), XDG_CACHE_HOME: cache },
      out: () => {},
      err: (s) => {
        throw new Error(`inspect wrote to stderr: ${s}`);
      },
    });
    expect(code).toBe(0);
  });

  /** COMPREPLY of bash's _vgpuctl for `words`, with the cache in XDG_CACHE_HOME=`cacheHome`. */
  const bashWith = (cacheHome: string, ...words: string[]) =>
    bashCompleteWith({ ...env, XDG_CACHE_HOME: cacheHome }, ...words);

  it("inspect saves them (demo: VMs 100 and 101, the Quadro RTX 6000's types)", () => {
    const saved = JSON.parse(readFileSync(join(cache, "vgpuctl", "last-inspect.json"), "utf8"));
    expect(saved.vmids).toEqual(["100", "101"]);
    expect(saved.types).toEqual(expect.arrayContaining(["nvidia-259", "RTX6000-4Q"]));
  });

  it("bash offers the VM ids where a <vmid> goes and the types after --type", () => {
    expect(bashWith(cache, "vgpuctl", "vm", "attach", "")).toEqual(["100", "101"]);
    expect(bashWith(cache, "vgpuctl", "vm", "detach", "10")).toEqual(["100", "101"]);
    expect(bashWith(cache, "vgpuctl", "override", "set", "--vm", "1")).toEqual(["100", "101"]);
    expect(bashWith(cache, "vgpuctl", "vm", "attach", "100", "--type", "RTX6000-4")).toEqual([
      "RTX6000-4Q",
      "RTX6000-4A",
    ]);
    expect(bashWith(cache, "vgpuctl", "vm", "attach", "100", "--type", "nvidia-26")).toHaveLength(4);
  });

  it("bash offers nothing there when nothing was inspected yet", () => {
    expect(bashWith(join(dir, "no-cache"), "vgpuctl", "vm", "attach", "")).toEqual([]);
    expect(bashWith(join(dir, "no-cache"), "vgpuctl", "vm", "attach", "1", "--type", "")).toEqual([]);
  });

  it("zsh and fish offer them too", () => {
    const z = spawnSync(
      "zsh",
      [
        "-f",
        "-c",
        [
          'source "$1"',
          'compadd() { while [[ $1 == -* && $1 != -- ]]; do [[ $1 == -S ]] && shift; shift; done; shift; print -r -- "$*"; }',
          't() { words=("$@"); CURRENT=$#; _vgpuctl }',
          "t vgpuctl vm attach ''",
          "t vgpuctl vm attach 100 --type ''",
        ].join("\n"),
        "zsh",
        scripts.zsh!,
      ],
      { encoding: "utf8", env },
    );
    expect(z.stderr).toBe("");
    const [vmids, types] = z.stdout.split("\n");
    expect(vmids).toBe("100 101");
    expect(types!.split(" ")).toEqual(expect.arrayContaining(["nvidia-259", "RTX6000-4Q"]));
    const f = spawnSync(
      "fish",
      [
        "--no-config",
        "-c",
        "source $argv[1]; complete -C 'vgpuctl vm detach '; echo ---; complete -C 'vgpuctl vm attach 100 --type RTX6000-4'",
        scripts.fish!,
      ],
      { encoding: "utf8", env },
    );
    expect(f.stderr).toBe("");
    const [fVmids, fTypes] = f.stdout.split("---\n").map((s) => s.split("\n").filter(Boolean));
    expect(fVmids).toEqual(["100", "101"]);
    expect(fTypes).toEqual(["RTX6000-4A", "RTX6000-4Q"]);
  });
});
