/**
 * The programs `vgpuctl apply` / `uninstall` run on a host, simulated as state transitions:
 * apt-get, the NVIDIA .run installer (through `sh`), dkms install, nvidia-uninstall, git clone/checkout,
 * the rustup one-liner (`curl … | sh -s -- …`), cargo build, systemctl enable/disable/start/…,
 * modprobe, reboot, and the coreutils the ssh helper snippets and the gather script use
 * (cat, head, sha256sum, rm, mkdir, mv, stat, find, sort, dirname, …). `sh` is a real (small) shell
 * (shell.ts), so `sh -c '…'` and scripts behave like the host's dash.
 */

import { nodeCrypto } from "../../util/node-crypto.ts";
import type { CmdContext, Handler } from "./commands.ts";
import {
  isVirtualPath,
  listDir,
  mkdirPath,
  normalisePath,
  readVirtual,
  removePath,
  statPath,
  writePath,
} from "./fs.ts";
import {
  kernelAtLeast,
  loadedModules,
  nouveauHoldsConsole,
  programInstalled,
  secureBootActive,
  vgpuServicesInstalled,
} from "./logic.ts";
import {
  applyPatch,
  dkmsAutoinstall,
  dkmsInstall,
  installDriverRun,
  nvidiaUninstall,
  parseRunfile,
} from "./nvidia.ts";
import { aptGet, aptMark, HELPER_BLACKLIST, headersPackage } from "./packages.ts";
import { type CmdResult, fail, ok } from "./render/types.ts";
import { driverPatch } from "./scenarios/parts.ts";
import { runShell } from "./shell.ts";
import type { SimState } from "./state.ts";
import { bootToolRefresh, enableVfs, reboot as rebootTransition, SRIOV_MANAGE } from "./transitions.ts";

const ELF = "\u007fELF\u0002\u0001\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000";
const WANTS = "/etc/systemd/system/multi-user.target.wants";
const BIN_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** What `curl -sSf https://sh.rustup.rs` returns (the sim recognises it when `sh` runs it). */
export const RUSTUP_INIT =
  "#!/bin/sh\n# rustup-init.sh: the installer for rustup (simulated stand-in served by https://sh.rustup.rs)\n";
const CARGO_ENV = `#!/bin/sh
# rustup shell setup
# affix colons on either side of $PATH to simplify matching
case ":\${PATH}:" in
    *:"$HOME/.cargo/bin":*)
        ;;
    *)
        # Prepending path in case a system-installed rustc needs to be overridden
        export PATH="$HOME/.cargo/bin:$PATH"
        ;;
esac
`;
/** rustup's line in the shell profiles (src/cli/self_update/shell.rs source_string, written with writeln!). */
const RUSTUP_SOURCE = '. "$HOME/.cargo/env"';
const RC_FILES = ["/root/.profile", "/root/.bash_profile", "/root/.bash_login", "/root/.bashrc"];

const cwdOf = (ctx: CmdContext) => ctx.cwd ?? "/root";
const absIn = (ctx: CmdContext, p: string) => normalisePath(p.startsWith("/") ? p : `${cwdOf(ctx)}/${p}`);
const isDir = (s: SimState, p: string) => listDir(s, p) !== null;
const readF = (s: SimState, p: string) => readVirtual(s, p);
const operands = (args: string[]) => {
  const i = args.indexOf("--");
  return i >= 0
    ? [...args.slice(0, i).filter((a) => !a.startsWith("-")), ...args.slice(i + 1)]
    : args.filter((a) => !a.startsWith("-") || a === "-");
};

/** An absolute program path exists on the host (its file, or a standard bin dir holding a known program). */
export function pathProgramExists(s: SimState, prog: string): boolean {
  if (s.files[normalisePath(prog)] !== undefined) return true;
  const dir = prog.slice(0, prog.lastIndexOf("/")) || "/";
  if (!BIN_DIRS.includes(dir)) return false;
  const name = prog.slice(prog.lastIndexOf("/") + 1);
  return programInstalled(s, name) && !["cargo", "rustup", "rustc"].includes(name);
}

/** The simulated shell over this context's state (sub-commands inherit faults and cwd). */
export function shellIn(
  ctx: CmdContext,
  script: string,
  o: { name?: string; args?: string[]; stdin?: string } = {},
): CmdResult {
  const s = ctx.state;
  const r = runShell(script, {
    name: o.name ?? "sh",
    args: o.args ?? [],
    stdin: o.stdin ?? "",
    cwd: cwdOf(ctx),
    exec: (argv, stdin, cwd) => ctx.spawn!(argv, { input: stdin, cwd }),
    list: (p) => listDir(s, p),
    read: (p) => (isDir(s, p) ? null : readF(s, p)),
    write: (p, content, append) => {
      const parent = p.slice(0, p.lastIndexOf("/")) || "/";
      if (isVirtualPath(p) || !isDir(s, parent) || isDir(s, p)) return false;
      ctx.changed = true;
      return writePath(s, p, append ? (s.files[p] ?? "") + content : content);
    },
  });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
}

// ── sh, the .run installer, rustup ───────────────────────────────────────────

function sh(ctx: CmdContext, args: string[], prog = "sh"): CmdResult {
  let i = 0;
  let mode: "c" | "s" | "file" = "file";
  while (i < args.length && args[i]!.startsWith("-") && args[i] !== "-" && args[i] !== "--") {
    if (args[i]!.includes("c")) mode = "c";
    else if (args[i]!.includes("s")) mode = "s";
    i++;
  }
  if (args[i] === "--") i++;
  if (mode === "c") {
    const script = args[i];
    if (script === undefined) return fail(`${prog}: 0: -c requires an argument\n`, 2);
    return shellIn(ctx, script, { name: args[i + 1] ?? prog, args: args.slice(i + 2), stdin: ctx.input });
  }
  if (mode === "s" || args[i] === undefined) {
    const script = ctx.input ?? "";
    const rest = args.slice(i);
    if (script.startsWith(RUSTUP_INIT)) return rustupInit(ctx, rest);
    return shellIn(ctx, script, { name: prog, args: rest });
  }
  const file = args[i]!;
  const path = absIn(ctx, file);
  const text = isDir(ctx.state, path) ? null : readF(ctx.state, path);
  if (text === null) return fail(`${prog}: 0: cannot open ${file}: No such file\n`, 2);
  const rest = args.slice(i + 1);
  if (parseRunfile(text)) {
    ctx.changed = true;
    const p = rest.indexOf("--apply-patch");
    if (p >= 0) return applyPatch(ctx.state, cwdOf(ctx), path, text, absIn(ctx, rest[p + 1] ?? ""));
    return installDriverRun(ctx.state, path, text, rest);
  }
  if (text.startsWith(RUSTUP_INIT)) return rustupInit(ctx, rest);
  if (/^(<!doctype|<html)/i.test(text.trimStart()))
    return fail(`${file}: 1: Syntax error: newline unexpected\n`, 2);
  return shellIn(ctx, text, { name: file, args: rest, stdin: ctx.input });
}

function rustupInit(ctx: CmdContext, args: string[]): CmdResult {
  const s = ctx.state;
  if (!args.includes("-y"))
    return fail(
      "rustup: Unable to run interactively. Run with -y to accept defaults, --help for additional options\n",
      1,
    );
  const profile =
    args[args.indexOf("--profile") + 1] && args.includes("--profile")
      ? args[args.indexOf("--profile") + 1]!
      : "default";
  ctx.changed = true;
  for (const b of ["cargo", "rustc", "rustup", "rustdoc"]) s.files[`/root/.cargo/bin/${b}`] = ELF;
  s.files["/root/.cargo/env"] = CARGO_ENV;
  s.files["/root/.rustup/settings.toml"] =
    `default_toolchain = "stable-x86_64-unknown-linux-gnu"\nprofile = "${profile}"\nversion = "12"\n\n[overrides]\n`;
  s.files["/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc"] = ELF;
  s.files["/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/cargo"] = ELF;
  if (!args.includes("--no-modify-path")) {
    // shell.rs: ~/.profile always (created when missing), bash rc files only when they exist
    for (const rc of RC_FILES) {
      const cur = s.files[rc];
      if (rc !== "/root/.profile" && cur === undefined) continue;
      if (cur?.includes(RUSTUP_SOURCE)) continue;
      s.files[rc] =
        `${cur ?? ""}${cur !== undefined && cur !== "" && !cur.endsWith("\n") ? "\n" : ""}${RUSTUP_SOURCE}\n`;
    }
  }
  return {
    stdout:
      '\n  stable-x86_64-unknown-linux-gnu installed - rustc 1.68.2 (9eb3afe9e 2023-03-27)\n\n\nRust is installed now. Great!\n\nTo get started you may need to restart your current shell.\nThis would reload your PATH environment variable to include\nCargo\'s bin directory ($HOME/.cargo/bin).\n\nTo configure your current shell, run:\nsource "$HOME/.cargo/env"\n',
    stderr: `info: downloading installer\ninfo: profile set to '${profile}'\ninfo: default host triple is x86_64-unknown-linux-gnu\ninfo: syncing channel updates for 'stable-x86_64-unknown-linux-gnu'\ninfo: latest update on 2023-03-28, rust version 1.68.2 (9eb3afe9e 2023-03-27)\ninfo: downloading component 'cargo'\ninfo: downloading component 'rust-std'\ninfo: downloading component 'rustc'\ninfo: installing component 'cargo'\ninfo: installing component 'rust-std'\ninfo: installing component 'rustc'\ninfo: default toolchain set to 'stable-x86_64-unknown-linux-gnu'\n`,
    exitCode: 0,
  };
}

function rustup(ctx: CmdContext, args: string[]): CmdResult {
  const s = ctx.state;
  if (s.files["/root/.cargo/bin/rustup"] === undefined) return fail("bash: rustup: command not found\n", 127);
  if (args[0] === "self" && args[1] === "uninstall") {
    if (!args.includes("-y"))
      return fail(
        "\n\nThanks for hacking in Rust!\n\nThis will uninstall all Rust toolchains and data, and remove\n$HOME/.cargo/bin from your PATH environment variable.\n\nContinue? (y/N) \n",
        1,
      );
    ctx.changed = true;
    removePath(s, "/root/.rustup");
    removePath(s, "/root/.cargo");
    const line = `${RUSTUP_SOURCE}\n`;
    for (const rc of RC_FILES) {
      const cur = s.files[rc];
      if (cur === undefined) continue;
      const at = cur.indexOf(line);
      if (at >= 0) s.files[rc] = cur.slice(0, at) + cur.slice(at + line.length);
    }
    return {
      stdout: "",
      stderr:
        "info: removing rustup home\ninfo: removing cargo home\ninfo: removing rustup binaries\ninfo: rustup is uninstalled\n",
      exitCode: 0,
    };
  }
  if (args[0] === "--version") return ok("rustup 1.25.2 (17db695f1 2023-02-01)\n");
  return fail(`error: The subcommand '${args.join(" ")}' wasn't recognized\n`, 1);
}

function cargo(ctx: CmdContext, args: string[]): CmdResult {
  const s = ctx.state;
  if (args[0] === "--version") return ok("cargo 1.68.2 (6feb7c9cf 2023-03-26)\n");
  if (args[0] !== "build") return fail(`error: no such subcommand: \`${args[0] ?? ""}\`\n`, 101);
  const mi = args.indexOf("--manifest-path");
  const manifest = mi >= 0 ? absIn(ctx, args[mi + 1] ?? "") : absIn(ctx, "Cargo.toml");
  if (s.files[manifest] === undefined)
    return fail(
      mi >= 0
        ? `error: manifest path \`${args[mi + 1]}\` does not exist\n`
        : `error: could not find \`Cargo.toml\` in \`${cwdOf(ctx)}\` or any parent directory\n`,
      101,
    );
  const dir = manifest.slice(0, manifest.lastIndexOf("/"));
  const name = /name\s*=\s*"([^"]+)"/.exec(s.files[manifest]!)?.[1] ?? "crate";
  const ver = /version\s*=\s*"([^"]+)"/.exec(s.files[manifest]!)?.[1] ?? "0.1.0";
  const release = args.includes("--release");
  const profileDir = `${dir}/target/${release ? "release" : "debug"}`;
  const compiling = `    Updating crates.io index\n  Downloaded ctor v0.1.26\n  Downloaded libc v0.2.140\n   Compiling proc-macro2 v1.0.54\n   Compiling libc v0.2.140\n   Compiling ctor v0.1.26\n   Compiling ${name} v${ver} (${dir})\n`;
  if (s.packages.gcc === undefined) {
    ctx.changed = true;
    s.dirs.push(`${dir}/target`);
    return fail(
      `${compiling}error: linker \`cc\` not found\n  |\n  = note: No such file or directory (os error 2)\n\nerror: could not compile \`proc-macro2\` due to previous error\n`,
      101,
    );
  }
  ctx.changed = true;
  const lib = name.replaceAll("-", "_");
  s.files[`${profileDir}/lib${lib}.so`] = ELF;
  s.files[`${profileDir}/lib${lib}.d`] = `${profileDir}/lib${lib}.so: ${dir}/src/lib.rs\n`;
  for (const d of ["build", "deps", "examples", "incremental"]) mkdirPath(s, `${profileDir}/${d}`);
  if (s.files[`${dir}/Cargo.lock`] === undefined)
    s.files[`${dir}/Cargo.lock`] =
      `# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n`;
  if (/vgpu_unlock/.test(name)) s.unlock = { repo: dir, built: true };
  return {
    stdout: "",
    stderr: `${compiling}    Finished ${release ? "release [optimized]" : "dev [unoptimized + debuginfo]"} target(s) in 41.23s\n`,
    exitCode: 0,
  };
}

// ── git, curl ─────────────────────────────────────────────────────────────────

function repoFiles(url: string): Record<string, string> | null {
  const u = url.replace(/\.git$/, "").replace(/\/+$/, "");
  if (/github\.com\/mbilker\/vgpu_unlock-rs$/.test(u))
    return {
      "Cargo.toml":
        '[package]\nname = "vgpu_unlock-rs"\nversion = "2.5.0"\nedition = "2018"\n\n[lib]\ncrate-type = ["cdylib"]\n\n[dependencies]\nctor = "0.1.21"\nlibc = "0.2.102"\nparking_lot = "0.11.2"\nserde = { version = "1.0.130", features = ["derive"] }\ntoml = "0.5.8"\n',
      "Cargo.lock":
        "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n",
      "src/lib.rs": "// SPDX-License-Identifier: MIT\n//! vgpu_unlock-rs (simulated stand-in)\n",
      "README.md": "# vgpu_unlock-rs\n\nUnlock vGPU functionality for consumer grade GPUs.\n",
    };
  if (/gitlab\.com\/polloloco\/vgpu-proxmox$/.test(u)) {
    const files: Record<string, string> = { "README.md": "# NVIDIA vGPU with the GRID driver (Proxmox)\n" };
    for (const [rel, v] of [
      ["15.1", "525.85.07"],
      ["16.8", "535.216.01"],
      ["17.5", "550.144.02"],
    ] as const)
      files[`${v}.patch`] = driverPatch(rel, v);
    return files;
  }
  return null;
}

function git(ctx: CmdContext, args: string[]): CmdResult {
  const s = ctx.state;
  let cwd = cwdOf(ctx);
  let a = args;
  while (a[0] === "-C") {
    const d = absIn({ ...ctx, cwd }, a[1] ?? "");
    if (!isDir(s, d)) return fail(`fatal: cannot change to '${a[1]}': No such file or directory\n`, 128);
    cwd = d;
    a = a.slice(2);
  }
  const [sub, ...rest] = a;
  if (sub === "--version" || sub === "version")
    return ok(`git version ${(s.packages.git ?? "1:2.30.2").replace(/^\d+:/, "").replace(/-.*$/, "")}\n`);
  if (sub === "clone") {
    const words = rest.filter((x) => !x.startsWith("-"));
    const url = words[0];
    if (!url) return fail("fatal: You must specify a repository to clone.\n", 129);
    const name = url
      .replace(/\/+$/, "")
      .replace(/\.git$/, "")
      .split("/")
      .pop()!;
    const dest = normalisePath(
      words[1] ? (words[1].startsWith("/") ? words[1] : `${cwd}/${words[1]}`) : `${cwd}/${name}`,
    );
    const shown = words[1] ?? name;
    if ((listDir(s, dest)?.length ?? 0) > 0 || s.files[dest] !== undefined)
      return fail(`fatal: destination path '${shown}' already exists and is not an empty directory.\n`, 128);
    const files = repoFiles(url);
    if (!files)
      return fail(
        `Cloning into '${shown}'...\nremote: Repository not found.\nfatal: repository '${url}/' not found\n`,
        128,
      );
    ctx.changed = true;
    for (const [p, c] of Object.entries(files)) s.files[`${dest}/${p}`] = c;
    s.files[`${dest}/.git/HEAD`] = "ref: refs/heads/main\n";
    s.files[`${dest}/.git/config`] =
      `[core]\n\trepositoryformatversion = 0\n[remote "origin"]\n\turl = ${url}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n`;
    return { stdout: "", stderr: `Cloning into '${shown}'...\n`, exitCode: 0 };
  }
  if (s.files[`${cwd}/.git/HEAD`] === undefined)
    return fail("fatal: not a git repository (or any of the parent directories): .git\n", 128);
  if (sub === "checkout") {
    const ref = rest.find((x) => !x.startsWith("-"));
    if (!ref) return ok("");
    ctx.changed = true;
    s.files[`${cwd}/.git/HEAD`] = `${ref}\n`;
    return {
      stdout: "",
      stderr: `Note: switching to '${ref}'.\n\nYou are in 'detached HEAD' state. You can look around, make experimental\nchanges and commit them, and you can discard any commits you make in this\nstate without impacting any branches by switching back to a branch.\n\nHEAD is now at ${ref.slice(0, 7)}\n`,
      exitCode: 0,
    };
  }
  if (sub === "pull" || sub === "fetch") return gitPull(ctx, cwd, sub);
  if (sub === "rev-parse") return ok(`${(s.files[`${cwd}/.git/HEAD`] ?? "").replace(/^ref: /, "")}`);
  return fail(`git: '${sub}' is not a git command. See 'git --help'.\n`, 1);
}

/**
 * `git pull --ff-only` / `git fetch` in a checkout: the origin's files (repoFiles) replace the tracked ones — the
 * simulated remote has one revision, so a checkout cloned from it is "Already up to date."; an unknown origin
 * fails as `git clone` does.
 */
function gitPull(ctx: CmdContext, cwd: string, sub: "pull" | "fetch"): CmdResult {
  const s = ctx.state;
  const url = /url = (\S+)/.exec(s.files[`${cwd}/.git/config`] ?? "")?.[1];
  const files = url ? repoFiles(url) : null;
  if (!url || !files)
    return fail(
      `fatal: '${url ?? "origin"}' does not appear to be a git repository\nfatal: Could not read from remote repository.\n`,
      128,
    );
  if (sub === "fetch") return ok("");
  const stale = Object.entries(files).filter(([p, c]) => s.files[`${cwd}/${p}`] !== c);
  if (stale.length === 0) return ok("Already up to date.\n");
  ctx.changed = true;
  for (const [p, c] of stale) s.files[`${cwd}/${p}`] = c;
  return ok(`Updating 0000000..1111111\nFast-forward\n${stale.map(([p]) => ` ${p} | 2 +-\n`).join("")}`);
}

function curl(_ctx: CmdContext, args: string[]): CmdResult {
  const url = args.find((a) => /^https?:\/\//.test(a));
  if (!url) return fail("curl: try 'curl --help' or 'curl --manual' for more information\n", 2);
  if (/^https:\/\/sh\.rustup\.rs\/?$/.test(url)) return ok(RUSTUP_INIT);
  const host = /^https?:\/\/([^/]+)/.exec(url)![1];
  return fail(`curl: (6) Could not resolve host: ${host}\n`, 6);
}

// ── coreutils ───────────────────────────────────────────────────────────────

function cat(ctx: CmdContext, args: string[]): CmdResult {
  const files = operands(args);
  if (files.length === 0 || (files.length === 1 && files[0] === "-")) return ok(ctx.input ?? "");
  let out = "";
  let err = "";
  for (const f of files) {
    if (f === "-") {
      out += ctx.input ?? "";
      continue;
    }
    const p = absIn(ctx, f);
    if (isDir(ctx.state, p)) err += `cat: ${f}: Is a directory\n`;
    else {
      const c = readF(ctx.state, p);
      if (c === null) err += `cat: ${f}: No such file or directory\n`;
      else out += c;
    }
  }
  return { stdout: out, stderr: err, exitCode: err ? 1 : 0 };
}

function head(ctx: CmdContext, args: string[]): CmdResult {
  let bytes: number | null = null;
  let lines = 10;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-c") bytes = Number(args[++i]);
    else if (a.startsWith("-c")) bytes = Number(a.slice(2));
    else if (a === "-n") lines = Number(args[++i]);
    else if (/^-n\d+$/.test(a)) lines = Number(a.slice(2));
    else if (/^-\d+$/.test(a)) lines = Number(a.slice(1));
    else if (a === "--") {
      files.push(...args.slice(i + 1));
      break;
    } else if (!a.startsWith("-") || a === "-") files.push(a);
  }
  const take = (t: string) =>
    bytes !== null
      ? Buffer.from(t, "utf8").subarray(0, bytes).toString("utf8")
      : t
          .split(/(?<=\n)/)
          .slice(0, lines)
          .join("");
  if (files.length === 0) return ok(take(ctx.input ?? ""));
  let out = "";
  let err = "";
  for (const f of files) {
    const p = absIn(ctx, f);
    const c = isDir(ctx.state, p) ? null : readF(ctx.state, p);
    if (c === null)
      err += isDir(ctx.state, p)
        ? `head: error reading '${f}': Is a directory\n`
        : `head: cannot open '${f}' for reading: No such file or directory\n`;
    else out += (files.length > 1 ? `==> ${f} <==\n` : "") + take(c);
  }
  return { stdout: out, stderr: err, exitCode: err ? 1 : 0 };
}

function sha256sum(ctx: CmdContext, args: string[]): CmdResult {
  const files = operands(args);
  const hash = (t: string) => nodeCrypto().createHash("sha256").update(t, "utf8").digest("hex");
  if (files.length === 0) return ok(`${hash(ctx.input ?? "")}  -\n`);
  let out = "";
  let err = "";
  for (const f of files) {
    const p = absIn(ctx, f);
    if (isDir(ctx.state, p)) err += `sha256sum: ${f}: Is a directory\n`;
    else {
      const c = readF(ctx.state, p);
      if (c === null) err += `sha256sum: ${f}: No such file or directory\n`;
      else out += `${hash(c)}  ${f}\n`;
    }
  }
  return { stdout: out, stderr: err, exitCode: err ? 1 : 0 };
}

function rm(ctx: CmdContext, args: string[]): CmdResult {
  const flags = args
    .slice(0, args.includes("--") ? args.indexOf("--") : args.length)
    .filter((a) => a.startsWith("-"));
  const force = flags.some((f) => /^-[a-zA-Z]*f/.test(f) || f === "--force");
  const recursive = flags.some((f) => /^-[a-zA-Z]*[rR]/.test(f) || f === "--recursive");
  let err = "";
  for (const f of operands(args)) {
    const p = absIn(ctx, f);
    if (p === "/") {
      err +=
        "rm: it is dangerous to operate recursively on '/'\nrm: use --no-preserve-root to override this failsafe\n";
      continue;
    }
    const dir = isDir(ctx.state, p);
    const file = !dir && readF(ctx.state, p) !== null;
    if (!dir && !file) {
      if (!force) err += `rm: cannot remove '${f}': No such file or directory\n`;
      continue;
    }
    if (isVirtualPath(p)) {
      err += `rm: cannot remove '${f}': Operation not permitted\n`;
      continue;
    }
    if (dir && !recursive) {
      err += `rm: cannot remove '${f}': Is a directory\n`;
      continue;
    }
    removePath(ctx.state, p);
    ctx.changed = true;
  }
  return { stdout: "", stderr: err, exitCode: err ? 1 : 0 };
}

function mkdir(ctx: CmdContext, args: string[]): CmdResult {
  const parents = args.some((a) => /^-[a-zA-Z]*p/.test(a) || a === "--parents");
  let err = "";
  for (const f of operands(args)) {
    const p = absIn(ctx, f);
    if (readF(ctx.state, p) !== null && !isDir(ctx.state, p)) {
      err += `mkdir: cannot create directory '${f}': File exists\n`;
      continue;
    }
    if (isDir(ctx.state, p)) {
      if (!parents) err += `mkdir: cannot create directory '${f}': File exists\n`;
      continue;
    }
    const parent = p.slice(0, p.lastIndexOf("/")) || "/";
    if (!parents && !isDir(ctx.state, parent)) {
      err += `mkdir: cannot create directory '${f}': No such file or directory\n`;
      continue;
    }
    if (isVirtualPath(p)) {
      err += `mkdir: cannot create directory '${f}': Operation not permitted\n`;
      continue;
    }
    mkdirPath(ctx.state, p);
    ctx.changed = true;
  }
  return { stdout: "", stderr: err, exitCode: err ? 1 : 0 };
}

/**
 * GNU mv: a directory is renamed (rename(2)); onto an existing directory it moves *into* it, unless
 * -T (--no-target-directory) makes that directory the target itself, which rename(2) replaces only
 * when it is empty (ENOTEMPTY otherwise: "mv: cannot move 'a' to 'b': Directory not empty").
 */
function mv(ctx: CmdContext, args: string[]): CmdResult {
  const ops = operands(args);
  if (ops.length !== 2) return fail("mv: missing destination file operand\n", 1);
  const noTarget = args.some((a) => a === "--no-target-directory" || /^-[a-zA-Z]*T/.test(a));
  const [from, to] = ops.map((x) => absIn(ctx, x)) as [string, string];
  const s = ctx.state;
  const into = !noTarget && isDir(s, to) ? `${to}/${from.slice(from.lastIndexOf("/") + 1)}` : to;
  if (isDir(s, from)) return moveDir(ctx, from, into, ops as [string, string]);
  const c = s.files[from];
  if (c === undefined) return fail(`mv: cannot stat '${ops[0]}': No such file or directory\n`, 1);
  if (!writePath(s, into, c))
    return fail(`mv: cannot move '${ops[0]}' to '${ops[1]}': Operation not permitted\n`, 1);
  delete s.files[from];
  ctx.changed = true;
  return ok("");
}

function moveDir(ctx: CmdContext, from: string, to: string, shown: [string, string]): CmdResult {
  const s = ctx.state;
  if (s.files[to] !== undefined)
    return fail(`mv: cannot overwrite non-directory '${shown[1]}' with directory '${shown[0]}'\n`, 1);
  if ((listDir(s, to)?.length ?? 0) > 0)
    return fail(`mv: cannot move '${shown[0]}' to '${shown[1]}': Directory not empty\n`, 1);
  removePath(s, to); // an empty directory is replaced
  const prefix = `${from}/`;
  for (const p of Object.keys(s.files))
    if (p.startsWith(prefix)) {
      s.files[`${to}/${p.slice(prefix.length)}`] = s.files[p]!;
      delete s.files[p];
    }
  s.dirs = s.dirs.map((d) => (d === from || d.startsWith(prefix) ? to + d.slice(from.length) : d));
  ctx.changed = true;
  return ok("");
}

function cp(ctx: CmdContext, args: string[]): CmdResult {
  const ops = operands(args);
  if (ops.length !== 2) return fail("cp: missing destination file operand\n", 1);
  const [from, to] = ops.map((x) => absIn(ctx, x)) as [string, string];
  const c = isDir(ctx.state, from) ? null : readF(ctx.state, from);
  if (c === null) return fail(`cp: cannot stat '${ops[0]}': No such file or directory\n`, 1);
  const dest = isDir(ctx.state, to) ? `${to}/${from.slice(from.lastIndexOf("/") + 1)}` : to;
  writePath(ctx.state, dest, c);
  ctx.changed = true;
  return ok("");
}

function stat(ctx: CmdContext, args: string[]): CmdResult {
  let fmt: string | null = null;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-c" || a === "--format") fmt = args[++i] ?? "";
    else if (a.startsWith("--format=")) fmt = a.slice(9);
    else if (a === "--") {
      files.push(...args.slice(i + 1));
      break;
    } else if (!a.startsWith("-")) files.push(a);
  }
  let out = "";
  let err = "";
  for (const f of files) {
    const st = statPath(ctx.state, absIn(ctx, f));
    if (!st) {
      err += `stat: cannot statx '${f}': No such file or directory\n`;
      continue;
    }
    const raw = (st.type === "dir" ? 0o040000 : 0o100000) | st.mode;
    const text = (fmt ?? "%n %s %f").replace(/%([fsnaF%])/g, (_, c: string) =>
      c === "f"
        ? raw.toString(16)
        : c === "s"
          ? String(st.size)
          : c === "n"
            ? f
            : c === "a"
              ? st.mode.toString(8)
              : c === "F"
                ? st.type === "dir"
                  ? "directory"
                  : "regular file"
                : "%",
    );
    out += `${text}\n`;
  }
  return { stdout: out, stderr: err, exitCode: err ? 1 : 0 };
}

function find(ctx: CmdContext, args: string[]): CmdResult {
  const roots: string[] = [];
  let maxDepth = Number.POSITIVE_INFINITY;
  let type: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-maxdepth") maxDepth = Number(args[++i]);
    else if (a === "-type") type = args[++i] ?? null;
    else if (a === "-L" || a === "-P" || a === "-H") continue;
    else if (!a.startsWith("-")) roots.push(a);
  }
  let out = "";
  let err = "";
  const s = ctx.state;
  const walk = (shown: string, p: string, depth: number) => {
    const dir = isDir(s, p);
    if ((type === null || (type === "d") === dir) && (dir || type !== "d")) out += `${shown}\n`;
    if (!dir || depth >= maxDepth) return;
    for (const n of listDir(s, p) ?? [])
      walk(`${shown.replace(/\/$/, "")}/${n}`, `${p === "/" ? "" : p}/${n}`, depth + 1);
  };
  for (const r of roots.length ? roots : ["."]) {
    const p = absIn(ctx, r);
    if (statPath(s, p) === null) err += `find: '${r}': No such file or directory\n`;
    else walk(r, p, 0);
  }
  return { stdout: out, stderr: err, exitCode: err ? 1 : 0 };
}

function sort(ctx: CmdContext, args: string[]): CmdResult {
  const files = operands(args);
  const text = files.length
    ? files.map((f) => readF(ctx.state, absIn(ctx, f)) ?? "").join("")
    : (ctx.input ?? "");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (args.includes("-r")) lines.reverse();
  const uniq = args.includes("-u") ? lines.filter((l, i) => i === 0 || l !== lines[i - 1]) : lines;
  return ok(uniq.map((l) => `${l}\n`).join(""));
}

function touch(ctx: CmdContext, args: string[]): CmdResult {
  let err = "";
  for (const f of operands(args)) {
    const p = absIn(ctx, f);
    if (readF(ctx.state, p) !== null || isDir(ctx.state, p)) continue;
    const parent = p.slice(0, p.lastIndexOf("/")) || "/";
    if (!isDir(ctx.state, parent)) err += `touch: cannot touch '${f}': No such file or directory\n`;
    else {
      writePath(ctx.state, p, "");
      ctx.changed = true;
    }
  }
  return { stdout: "", stderr: err, exitCode: err ? 1 : 0 };
}

function envCmd(ctx: CmdContext, args: string[]): CmdResult {
  let cwd = cwdOf(ctx);
  let i = 0;
  while (i < args.length) {
    const a = args[i]!;
    if (a === "-C" || a === "--chdir") {
      const d = absIn({ ...ctx, cwd }, args[i + 1] ?? "");
      if (!isDir(ctx.state, d))
        return fail(`env: cannot change directory to '${args[i + 1]}': No such file or directory\n`, 125);
      cwd = d;
      i += 2;
    } else if (a.startsWith("--chdir=")) {
      cwd = absIn({ ...ctx, cwd }, a.slice(8));
      i++;
    } else if (a === "-i" || a === "-" || /^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) i++;
    else break;
  }
  if (i >= args.length)
    return ok("HOME=/root\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  const r = ctx.spawn!(args.slice(i), { input: ctx.input, cwd });
  if (r.exitCode === 127 && /command not found|No such file/.test(r.stderr))
    return fail(`env: '${args[i]}': No such file or directory\n`, 127);
  return r;
}

// ── systemctl, modprobe ───────────────────────────────────────────────────────

const PVE_UNITS = [
  "pveproxy.service",
  "pvedaemon.service",
  "pve-cluster.service",
  "pvestatd.service",
  "ssh.service",
  "dkms.service",
];

function unitName(u: string): string {
  return /\.(service|target|socket|timer|mount)$/.test(u) ? u : `${u}.service`;
}

function unitFile(s: SimState, unit: string): string | null {
  const t = /^([^@]+@)[^.]+(\.service)$/.exec(unit);
  const file = t ? `${t[1]}${t[2]}` : unit;
  if (s.files[`/lib/systemd/system/${file}`] !== undefined) return `/lib/systemd/system/${file}`;
  if ((unit === "nvidia-vgpud.service" || unit === "nvidia-vgpu-mgr.service") && vgpuServicesInstalled(s))
    return `/lib/systemd/system/${unit}`;
  if (PVE_UNITS.includes(unit)) return `/lib/systemd/system/${unit}`;
  return null;
}

function wrapSystemctl(base: Handler): Handler {
  return (ctx, args) => {
    const s = ctx.state;
    const sub = args[0];
    const units = args
      .slice(1)
      .filter((a) => !a.startsWith("-"))
      .map(unitName);
    const newSyntax = Number.parseInt(s.pve.manager, 10) >= 8;
    if ((sub === "enable" || sub === "disable") && args.includes("--now")) {
      const first = wrapSystemctl(base)(
        ctx,
        args.filter((a) => a !== "--now"),
      );
      if (first.exitCode !== 0) return first;
      const second = wrapSystemctl(base)(ctx, [
        sub === "enable" ? "start" : "stop",
        ...args.slice(1).filter((a) => a !== "--now"),
      ]);
      return {
        stdout: first.stdout + second.stdout,
        stderr: first.stderr + second.stderr,
        exitCode: second.exitCode,
      };
    }
    switch (sub) {
      case "enable": {
        let err = "";
        for (const u of units) {
          const f = unitFile(s, u);
          if (!f) return fail(`Failed to enable unit: Unit file ${u} does not exist.\n`, 1);
          const link = `${WANTS}/${u}`;
          if (s.files[link] !== undefined) continue;
          s.files[link] = "";
          ctx.changed = true;
          err += `Created symlink ${link} → ${f}.\n`;
        }
        return { stdout: "", stderr: err, exitCode: 0 };
      }
      case "disable": {
        let err = "";
        for (const u of units) {
          if (!unitFile(s, u)) return fail(`Failed to disable unit: Unit file ${u} does not exist.\n`, 1);
          const link = `${WANTS}/${u}`;
          if (s.files[link] === undefined) continue;
          delete s.files[link];
          ctx.changed = true;
          err += newSyntax ? `Removed "${link}".\n` : `Removed ${link}.\n`;
        }
        return { stdout: "", stderr: err, exitCode: 0 };
      }
      case "is-enabled": {
        let out = "";
        let code = 0;
        for (const u of units) {
          if (!unitFile(s, u))
            return fail(`Failed to get unit file state for ${u}: No such file or directory\n`, 1);
          const on = s.files[`${WANTS}/${u}`] !== undefined;
          out += on ? "enabled\n" : "disabled\n";
          if (!on) code = 1;
        }
        return { stdout: out, stderr: "", exitCode: code };
      }
      case "start":
      case "restart":
      case "reload-or-restart":
      case "try-restart": {
        for (const u of units) {
          if (!unitFile(s, u)) return fail(`Failed to ${sub} ${u}: Unit ${u} not found.\n`, 5);
          const failed = (u === "nvidia-vgpud.service" || u === "nvidia-vgpu-mgr.service") && !s.driverLoaded;
          if (failed || !startSriovUnit(ctx, u))
            return fail(
              `Job for ${u} failed because the control process exited with error code.\nSee "systemctl status ${u}" and "journalctl -xe" for details.\n`,
              1,
            );
        }
        return ok("");
      }
      case "stop":
        for (const u of units)
          if (!unitFile(s, u)) return fail(`Failed to stop ${u}: Unit ${u} not loaded.\n`, 5);
        return ok("");
      case "reboot":
        ctx.changed = true;
        rebootTransition(s);
        return ok("");
    }
    return base(ctx, args);
  };
}

/**
 * Starting pve-nvidia-sriov@<instance>.service runs its ExecStart, `/usr/lib/nvidia/sriov-manage -e
 * <instance>`: true when that enabled VFs (or the unit is another one), false when the oneshot fails.
 */
function startSriovUnit(ctx: CmdContext, unit: string): boolean {
  const inst = /^pve-nvidia-sriov@(.+)\.service$/.exec(unit)?.[1];
  if (!inst) return true;
  if (ctx.state.files[SRIOV_MANAGE] === undefined) return false;
  ctx.changed = true;
  return enableVfs(ctx.state, inst).length > 0;
}

/** `/usr/lib/nvidia/sriov-manage -e|-d <ssss:bb:dd.f|ALL>` (NVIDIA's script; output lines are the sim's own). */
function sriovManage(ctx: CmdContext, args: string[]): CmdResult {
  const [op, target] = args;
  if ((op !== "-e" && op !== "-d") || !target)
    return fail(
      "Usage: /usr/lib/nvidia/sriov-manage -e <ssss:bb:dd.f|ALL>\n       /usr/lib/nvidia/sriov-manage -d <ssss:bb:dd.f|ALL>\n",
      1,
    );
  const s = ctx.state;
  ctx.changed = true;
  if (op === "-d") {
    let out = "";
    for (const g of s.gpus)
      if (g.sriov && (target === "ALL" || target === g.address) && g.sriov.numVfs > 0) {
        g.sriov.numVfs = 0;
        out += `Disabling VFs on ${g.address}\n`;
      }
    return ok(out);
  }
  const done = enableVfs(s, target);
  if (done.length === 0)
    return fail(`Cannot enable VFs on ${target}: no SR-IOV GPU bound to the nvidia driver\n`, 1);
  return ok(done.map((a) => `Enabling VFs on ${a}\n`).join(""));
}

/** `patch --version` (GNU patch prints its upstream version on the first line). */
function patchCmd(ctx: CmdContext, args: string[]): CmdResult {
  if (args[0] !== "--version") return fail("patch: **** Only garbage was found in the patch input.\n", 2);
  const v = (ctx.state.packages.patch ?? "").replace(/-[^-]*$/, "");
  return ok(
    `GNU patch ${v}\nCopyright (C) 2003, 2009-2012 Free Software Foundation, Inc.\nCopyright (C) 1988 Larry Wall\n\nLicense GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.\nThis is free software: you are free to change and redistribute it.\nThere is NO WARRANTY, to the extent permitted by law.\n\nWritten by Larry Wall and Paul Eggert\n`,
  );
}

/**
 * `pve-nvidia-vgpu-helper setup` (Proxmox's helper, wiki quote in research/proxmox.md §2: "will set up some
 * basics, like blacklisting the nouveau driver, installing header packages, DKMS and so on"). It asks for
 * confirmation on stdin and has no known non-interactive flag: installers pipe the answer in
 * (`echo y|pve-nvidia-vgpu-helper setup`, bruhiamandy/proxmox-vgpu-installer). The sim's output lines and the
 * blacklist file name are its own (the package source is not mirrored here); the apt run is the sim's apt.
 */
function vgpuHelper(ctx: CmdContext, args: string[]): CmdResult {
  const s = ctx.state;
  if (args[0] !== "setup")
    return fail(
      "USAGE: pve-nvidia-vgpu-helper <command> [ARGS] [OPTIONS]\n       pve-nvidia-vgpu-helper setup\n",
      255,
    );
  const answer = (ctx.input ?? "").split("\n")[0]!.trim();
  const prompt = "This will blacklist nouveau, install the kernel headers and DKMS. Continue? [Y/n] ";
  if (!/^y/i.test(answer)) return fail(`${prompt}\nAborting.\n`, 1);
  ctx.changed = true;
  const k = s.kernel.running;
  const apt = aptGet(
    s,
    ["install", "-y", "proxmox-default-headers", headersPackage(s, k), "dkms"],
    dkmsAutoinstall,
  );
  if (apt.exitCode !== 0)
    return { stdout: `${prompt}\n${apt.stdout}`, stderr: apt.stderr, exitCode: apt.exitCode };
  s.files[HELPER_BLACKLIST] = "blacklist nouveau\n";
  s.boot.initramfsUpdated = true;
  bootToolRefresh(s);
  return ok(
    `${prompt}\n${apt.stdout}blacklisting nouveau in ${HELPER_BLACKLIST}\nupdate-initramfs: Generating /boot/initrd.img-${k}\nsetup done, please reboot to activate the changes\n`,
  );
}

function modprobe(ctx: CmdContext, args: string[]): CmdResult {
  const s = ctx.state;
  const remove = args.some((a) => a === "-r" || a === "--remove");
  const names = args.filter((a) => !a.startsWith("-") && !a.includes("=")).map((m) => m.replaceAll("-", "_"));
  const k = s.kernel.running;
  const notFound = (m: string) =>
    fail(`modprobe: FATAL: Module ${m} not found in directory /lib/modules/${k}\n`, 1);
  const list = remove ? names : names.slice(0, 1);
  for (const m of list) {
    const nvidia = m === "nvidia" || m === "nvidia_vgpu_vfio";
    if (remove) {
      if (nvidia) {
        if (!s.driverLoaded) continue;
        if (
          s.mdevs.length > 0 ||
          (s.vfVgpus ?? []).length > 0 ||
          s.vms.some((v) => v.running && Object.values(v.config).some((c) => c.includes("mdev=")))
        )
          return fail(`modprobe: FATAL: Module ${m} is in use.\n`, 1);
        unloadNvidia(s);
      } else if (m === "nouveau") {
        // fbcon on nouveau's framebuffer holds a reference (kmod: "Module nouveau is in use.")
        if (nouveauHoldsConsole(s)) return fail(`modprobe: FATAL: Module ${m} is in use.\n`, 1);
        for (const g of s.gpus) if (g.driver === "nouveau") g.driver = null;
      } else s.modules = s.modules.filter((x) => x !== m);
      ctx.changed = true;
      continue;
    }
    if (loadedModules(s).includes(m)) continue;
    if (nvidia) {
      if (!s.driver?.dkmsKernels.includes(k)) return notFound(m);
      if (secureBootActive(s) && !s.driver.signed)
        return fail(`modprobe: ERROR: could not insert '${m}': Key was rejected by service\n`, 1);
      if (s.gpus.every((g) => g.driver === "nouveau" || g.driver === "vfio-pci"))
        return fail(`modprobe: ERROR: could not insert '${m}': No such device\n`, 1);
      s.driverLoaded = true;
      for (const g of s.gpus) if (g.driver === null) g.driver = "nvidia";
    } else if (m === "nouveau") {
      for (const g of s.gpus) if (g.driver === null) g.driver = "nouveau";
    } else {
      if (m === "vfio_virqfd" && kernelAtLeast(k, 6, 2)) return notFound(m);
      s.modules.push(m);
    }
    ctx.changed = true;
  }
  return ok("");
}

/** The nvidia module goes: VFs vanish, mixed-size mode reverts (research/proxmox.md §3). */
function unloadNvidia(s: SimState): void {
  s.driverLoaded = false;
  for (const g of s.gpus) {
    if (g.driver === "nvidia") g.driver = null;
    if (g.sriov) g.sriov.numVfs = 0;
  }
  delete s.mixedSizeGpus;
  delete s.vfVgpus;
}

function dkmsWrap(base: Handler): Handler {
  return (ctx, args) => {
    if (args[0] === "install" || args[0] === "build") {
      const r = dkmsInstall(ctx.state, args);
      if (r.exitCode === 0) ctx.changed = true;
      return r;
    }
    if (args[0] === "autoinstall") {
      const out = dkmsAutoinstall(ctx.state, args[args.indexOf("-k") + 1] ?? ctx.state.kernel.running);
      ctx.changed = true;
      return ok(out);
    }
    return base(ctx, args);
  };
}

/** Add or wrap the handlers of the programs above in commands.ts's table. */
export function installTools(h: Record<string, Handler>): void {
  const simple: Record<string, Handler> = {
    "apt-get": (ctx, args) => {
      const r = aptGet(ctx.state, args, dkmsAutoinstall);
      ctx.changed = true;
      return r;
    },
    "apt-mark": (ctx, args) => {
      const r = aptMark(ctx.state, args);
      ctx.changed = true;
      return r;
    },
    sh: (ctx, args) => sh(ctx, args, "sh"),
    dash: (ctx, args) => sh(ctx, args, "dash"),
    bash: (ctx, args) => sh(ctx, args, "bash"),
    curl,
    git,
    cargo,
    rustup,
    "nvidia-uninstall": (ctx) => {
      const r = nvidiaUninstall(ctx.state);
      if (r.exitCode === 0) ctx.changed = true;
      return r;
    },
    modprobe,
    "sriov-manage": sriovManage,
    "pve-nvidia-vgpu-helper": vgpuHelper,
    patch: patchCmd,
    reboot: (ctx) => {
      ctx.changed = true;
      rebootTransition(ctx.state);
      return ok("");
    },
    cat,
    head,
    sha256sum,
    rm,
    mkdir,
    mv,
    cp,
    stat,
    find,
    sort,
    touch,
    env: envCmd,
    timeout: (ctx, args) => {
      const i = args.findIndex((a, idx) => (idx > 0 || !a.startsWith("-") ? /^\d/.test(a) : false));
      const rest = args.slice(Math.max(i, 0) + 1);
      return rest.length ? ctx.spawn!(rest, { input: ctx.input }) : fail("timeout: missing operand\n", 125);
    },
    dirname: (_c, args) => {
      const p = operands(args)[0] ?? "";
      const d = p.replace(/\/+$/, "").replace(/\/[^/]*$/, "");
      return ok(`${p.startsWith("/") && d === "" ? "/" : d === p.replace(/\/+$/, "") ? "." : d}\n`);
    },
    basename: (_c, args) => {
      const [p = "", suffix] = operands(args);
      let b = p.replace(/\/+$/, "").split("/").pop() ?? "";
      if (suffix && b.endsWith(suffix) && b !== suffix) b = b.slice(0, -suffix.length);
      return ok(`${b}\n`);
    },
    chmod: (ctx, args) => {
      const ops = operands(args).filter((a) => !/^[0-7]{3,4}$|^[ugoa]*[-+=][rwxXst]+$/.test(a));
      for (const f of ops)
        if (statPath(ctx.state, absIn(ctx, f)) === null)
          return fail(`chmod: cannot access '${f}': No such file or directory\n`, 1);
      return ok("");
    },
    sync: () => ok(""),
    sleep: () => ok(""),
    true: () => ok(""),
    false: () => fail("", 1),
    echo: (_c, args) => ok(`${args.join(" ")}\n`),
    id: (_c, args) => ok(args.includes("-u") ? "0\n" : "uid=0(root) gid=0(root) groups=0(root)\n"),
    command: (ctx, args) => {
      if (args[0] !== "-v") return ctx.spawn!(args, { input: ctx.input });
      const name = args[1] ?? "";
      const known = name in h && programInstalled(ctx.state, name) && name !== "command";
      if (!known) return fail("", 1);
      const path = [
        "apt-get",
        "dkms",
        "update-grub",
        "update-initramfs",
        "proxmox-boot-tool",
        "modprobe",
        "reboot",
        "qm",
      ].includes(name)
        ? `/usr/sbin/${name}`
        : `/usr/bin/${name}`;
      return ok(`${path}\n`);
    },
  };
  for (const [name, handler] of Object.entries(simple)) h[name] = handler;
  h.systemctl = wrapSystemctl(h.systemctl!);
  h.dkms = dkmsWrap(h.dkms!);
}
