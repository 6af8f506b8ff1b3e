// `npm run build:deb` (after `npm run build:exe`): dist/vgpuctl_<version>_amd64.deb for Proxmox VE hosts
// (Debian 12/13): the single executable as /usr/bin/vgpuctl, bash/zsh/fish completions and a man page
// made from the command's own --help texts. Packed with dpkg-deb (deb(5), deb-control(5)).
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const exe = `dist/vgpuctl-${process.platform}-${process.arch}`;
const { version, description, license } = JSON.parse(readFileSync("package.json", "utf8"));
const arch = { x64: "amd64", arm64: "arm64" }[process.arch];
const root = `dist/deb/vgpuctl_${version}_${arch}`;
const run = (args) => execFileSync(exe, args, { encoding: "utf8", env: { NO_COLOR: "1", COLUMNS: "100" } });

/** Every command path with subcommands of its own, read from the "Commands:" part of its --help. */
function commandPaths(path = []) {
  const help = run([...path, "--help"]);
  const commands = help.split(/^Commands:\n/m)[1] ?? "";
  const names = [...commands.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]).filter((n) => n !== "help");
  return [path, ...names.flatMap((n) => commandPaths([...path, n]))];
}

const roffText = (s) => s.replace(/\\/g, "\\e").replace(/^([.'])/gm, "\\&$1");

function manPage() {
  const sections = commandPaths().map((path) => {
    const title = ["vgpuctl", ...path].join(" ");
    return `.SS ${title}\n.nf\n${roffText(run([...path, "--help"]).trimEnd())}\n.fi`;
  });
  const date = new Date().toISOString().slice(0, 10);
  return `.TH VGPUCTL 1 "${date}" "vgpuctl ${version}" "User Commands"
.SH NAME
vgpuctl \\- ${roffText(description)}
.SH SYNOPSIS
.B vgpuctl
[\\fIoptions\\fR] \\fIcommand\\fR [\\fIarguments\\fR]
.SH DESCRIPTION
Every command takes \\fB\\-\\-json\\fR and \\fB\\-\\-help\\fR. Exit status: 0 fine, 1 problems found,
2 the tool could not run. The sections below are the commands' own \\fB\\-\\-help\\fR texts.
.SH COMMANDS
${sections.join("\n")}
`;
}

function file(path, content, mode = 0o644) {
  mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

rmSync("dist/deb", { recursive: true, force: true });
file(`${root}/usr/bin/vgpuctl`, readFileSync(exe), 0o755);
file(`${root}/usr/share/bash-completion/completions/vgpuctl`, run(["completion", "bash"]));
file(`${root}/usr/share/zsh/vendor-completions/_vgpuctl`, run(["completion", "zsh"]));
file(`${root}/usr/share/fish/vendor_completions.d/vgpuctl.fish`, run(["completion", "fish"]));
file(`${root}/usr/share/man/man1/vgpuctl.1.gz`, gzipSync(manPage(), { level: 9 }));
file(
  `${root}/DEBIAN/control`,
  `Package: vgpuctl
Version: ${version}
Architecture: ${arch}
Maintainer: vgpuctl developers <vgpuctl@localhost>
Depends: libc6 (>= 2.28), libstdc++6
Section: admin
Priority: optional
Description: ${description}
 One executable (no Node.js needed) that inspects a Proxmox VE host, diagnoses
 every known vGPU problem, plans/applies/undoes the setup and attaches vGPUs.
 License: ${license}.
`,
);
const deb = `dist/vgpuctl_${version}_${arch}.deb`;
execFileSync("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", root, deb], { stdio: "inherit" });
rmSync("dist/deb", { recursive: true, force: true });
