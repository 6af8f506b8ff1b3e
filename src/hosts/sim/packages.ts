/**
 * apt on the simulated host: `apt-get update|install|remove|purge|autoremove` as state transitions
 * over a small package catalog (what vGPU setup installs). Behaves like apt-get 2.2 (bullseye) /
 * 2.6 (bookworm): unknown names → "E: Unable to locate package X" (exit 100); a fresh Proxmox VE
 * host without subscription gets 401 from enterprise.proxmox.com on update (exit 100) and has no
 * Proxmox package lists until a pve-no-subscription repository is configured; dependencies are
 * installed and marked auto, and `remove` leaves them ("no longer required") unless --autoremove.
 * Kernel headers ship /lib/modules/<k>/build; installing them runs the DKMS kernel hook.
 * Repositories come from one-line `.list` files and deb822 `.sources` files (Proxmox VE 9 / Debian 13:
 * pve-docs pve-package-repos.adoc @ 9.1.3 — an entry with `Enabled: no` is skipped, as apt does for any
 * false boolean: no/false/off/0/disable). Package versions for trixie are representative Debian 13 ones.
 */

import { compareNatural } from "../../util/compare.ts";
import { installKernelImage, kernelOfPackage, repoHeaderKernels } from "./kernels.ts";
import { filesIn, pveMajor } from "./logic.ts";
import { FRAMEWORK_CONF, STOCK_FRAMEWORK_CONF } from "./mok.ts";
import { type CmdResult, fail } from "./render/types.ts";
import type { SimState } from "./state.ts";

interface PkgDef {
  origin: "debian" | "pve";
  version: string;
  depends: string[];
  files: Record<string, string>;
}

const V = (s: SimState, pve7: string, pve8: string, pve9 = pve8) =>
  pveMajor(s) >= 9 ? pve9 : pveMajor(s) >= 8 ? pve8 : pve7;

/** Header package name for a kernel on this PVE major. */
export function headersPackage(s: SimState, kernel: string): string {
  return pveMajor(s) >= 8 ? `proxmox-headers-${kernel}` : `pve-headers-${kernel}`;
}

/** Kernel headers for `kernel` are installed (either package name). */
export function hasHeaders(s: SimState, kernel: string): boolean {
  return `pve-headers-${kernel}` in s.packages || `proxmox-headers-${kernel}` in s.packages;
}

function newestInstalledKernel(s: SimState): string {
  return [...s.kernel.installed].sort((a, b) => compareNatural(a, b)).pop()!;
}

/** The catalog entry for `name` on this host, or null when no repository has it. */
export function packageDef(s: SimState, name: string): PkgDef | null {
  const m = /^(pve|proxmox)-headers-(\d+\.\d+\.\d+-\d+-pve)$/.exec(name);
  if (m) {
    const k = m[2]!;
    if ((m[1] === "proxmox") !== pveMajor(s) >= 8 || !repoHeaderKernels(s).includes(k)) return null;
    const text = `# Linux kernel headers for ${k} (simulated stand-in)\n`;
    return {
      origin: "pve",
      version: k.replace(/-pve$/, ""),
      depends: [],
      files: { [`/usr/src/linux-headers-${k}/Makefile`]: text, [`/lib/modules/${k}/build/Makefile`]: text },
    };
  }
  const image = kernelOfPackage(s, name);
  if (image) return { origin: "pve", version: image.replace(/-pve$/, ""), depends: [], files: {} };
  const plain = (origin: PkgDef["origin"], version: string, depends: string[] = []): PkgDef => ({
    origin,
    version,
    depends,
    files: {},
  });
  switch (name) {
    case "pve-headers":
      return pveMajor(s) >= 8 ? null : plain("pve", "7.4-1", [headersPackage(s, newestInstalledKernel(s))]);
    case "proxmox-default-headers":
      return pveMajor(s) >= 8
        ? plain("pve", V(s, "", "1.1.0", "2.0.0"), [headersPackage(s, newestInstalledKernel(s))])
        : null;
    // In the Proxmox repositories for every PVE 8/9 host (pve-manager ≥ 8.3.4 Recommends it); the version
    // strings are the sim's own (not taken from a real package index).
    case "pve-nvidia-vgpu-helper":
      return pveMajor(s) >= 8
        ? { origin: "pve", version: V(s, "", "8.3.3", "9.0.2"), depends: [], files: VGPU_HELPER_FILES }
        : null;
    case "dkms":
      return {
        ...plain("debian", V(s, "2.8.4-3", "3.0.10-8+deb12u1", "3.2.2-1"), ["gcc", "make", "patch"]),
        files: { [FRAMEWORK_CONF]: STOCK_FRAMEWORK_CONF },
      };
    case "build-essential":
      return plain("debian", V(s, "12.9", "12.9", "12.12"), ["gcc", "g++", "make", "dpkg-dev"]);
    case "gcc":
      return plain("debian", V(s, "4:10.2.1-1", "4:12.2.0-3", "4:14.2.0-1"));
    case "g++":
      return plain("debian", V(s, "4:10.2.1-1", "4:12.2.0-3", "4:14.2.0-1"), ["gcc"]);
    case "make":
      return plain("debian", V(s, "4.3-4.1", "4.3-4.1", "4.4.1-2"));
    case "dpkg-dev":
      return plain("debian", V(s, "1.20.13", "1.21.22", "1.22.21"), ["patch", "make"]);
    case "patch":
      // Debian 13 ships GNU patch 2.8, which refuses NUL bytes in patches (nvidia.ts applyPatch)
      return plain("debian", V(s, "2.7.6-7", "2.7.6-7", "2.8-2"));
    case "git":
      return plain("debian", V(s, "1:2.30.2-1+deb11u2", "1:2.39.5-0+deb12u1", "1:2.47.3-0+deb13u1"));
    case "mdevctl":
      return plain("debian", V(s, "0.81-1", "1.2.0-3", "1.4.0-1"));
    case "curl":
      return plain("debian", V(s, "7.74.0-1.3+deb11u7", "7.88.1-10+deb12u7", "8.14.1-2+deb13u2"));
    case "cargo":
      return plain("debian", V(s, "0.47.0-3+b1", "0.66.0+ds1-1", "1.85.0+dfsg1-1"));
    case "pciutils":
      return plain("debian", V(s, "1:3.7.0-5", "1:3.9.0-4", "1:3.13.0-2"));
    case "mokutil":
      return plain("debian", V(s, "0.6.0-2~deb11u1", "0.6.0-2", "0.7.2-1"));
  }
  return null;
}

/**
 * Template unit of pve-nvidia-vgpu-helper: only ExecStart is verified (research/proxmox.md §2; the package
 * source is not mirrored here); the rest is a minimal oneshot unit.
 */
export const SRIOV_UNIT_TEXT =
  "[Unit]\nDescription=Enable NVIDIA SR-IOV for %i\n\n[Service]\nType=oneshot\nExecStart=/usr/lib/nvidia/sriov-manage -e %i\n\n[Install]\nWantedBy=multi-user.target\n";

/** Where the simulated `pve-nvidia-vgpu-helper setup` blacklists nouveau (file name is the sim's own). */
export const HELPER_BLACKLIST = "/etc/modprobe.d/pve-nvidia-vgpu-helper.conf";

const VGPU_HELPER_FILES: Record<string, string> = {
  "/usr/bin/pve-nvidia-vgpu-helper": "#!/usr/bin/perl\n",
  "/lib/systemd/system/pve-nvidia-sriov@.service": SRIOV_UNIT_TEXT,
};

// ── repositories ──────────────────────────────────────────────────────────────

interface Source {
  line: string;
  url: string;
  suite: string;
  components: string[];
}

/** One-line entries of a `.list` file (comments stripped). */
function listEntries(text: string): Source[] {
  const out: Source[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (m) out.push({ line, url: m[1]!.replace(/\/+$/, ""), suite: m[2]!, components: m[3]!.split(/\s+/) });
  }
  return out;
}

/** apt's false booleans (apt-pkg StringToBool). */
const FALSE_WORDS = ["no", "false", "without", "off", "disable", "0"];

/** Entries of a deb822 `.sources` file: one per URI × suite of each enabled stanza with Types: deb. */
function deb822Entries(text: string): Source[] {
  const out: Source[] = [];
  const stanzas = text
    .split(/\n[ \t]*\n/)
    .map((st) => st.split("\n").filter((l) => !/^\s*#/.test(l)))
    .filter((st) => st.some((l) => l.trim() !== ""));
  for (const lines of stanzas) {
    const f: Record<string, string> = {};
    let key = "";
    for (const l of lines) {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(l);
      if (m) {
        key = m[1]!.toLowerCase();
        f[key] = m[2]!.trim();
      } else if (key && /^\s/.test(l)) f[key] = `${f[key]} ${l.trim()}`.trim();
    }
    if (FALSE_WORDS.includes((f.enabled ?? "yes").toLowerCase())) continue;
    if (!(f.types ?? "").split(/\s+/).includes("deb")) continue;
    const comps = (f.components ?? "").split(/\s+/).filter(Boolean);
    for (const uri of (f.uris ?? "").split(/\s+/).filter(Boolean))
      for (const suite of (f.suites ?? "").split(/\s+/).filter(Boolean))
        out.push({
          line: `deb ${uri} ${suite} ${comps.join(" ")}`,
          url: uri.replace(/\/+$/, ""),
          suite,
          components: comps,
        });
  }
  return out;
}

/** Enabled repositories in apt's order: sources.list, then sources.list.d/*.list|*.sources by name. */
function aptSources(s: SimState): Source[] {
  const out = listEntries(s.files["/etc/apt/sources.list"] ?? "");
  for (const f of filesIn(s, "/etc/apt/sources.list.d")) {
    if (f.path.endsWith(".list")) out.push(...listEntries(f.content));
    else if (f.path.endsWith(".sources")) out.push(...deb822Entries(f.content));
  }
  return out;
}

const isEnterprise = (src: Source) => /enterprise\.proxmox\.com/.test(src.url);
const isPve = (src: Source) => /proxmox\.com/.test(src.url);

/** Origins whose lists are present now. */
export function aptLists(s: SimState): string[] {
  if (s.apt) return s.apt.lists;
  const lists = ["debian"];
  if (aptSources(s).some((x) => isPve(x) && !isEnterprise(x))) lists.push("pve");
  return lists;
}

function aptState(s: SimState): { lists: string[]; auto: string[] } {
  s.apt ??= { lists: aptLists(s), auto: [] };
  return s.apt;
}

function readingLists(): string {
  return "Reading package lists...\nBuilding dependency tree...\nReading state information...\n";
}

/** `apt-get update` */
export function aptUpdate(s: SimState): CmdResult {
  const lists = new Set<string>();
  let out = "";
  let err = "";
  let n = 0;
  for (const src of aptSources(s)) {
    n++;
    const where = `${src.url} ${src.suite} InRelease`;
    if (isEnterprise(src)) {
      // No subscription key: the enterprise repository answers 401 (research/proxmox.md; computingforgeeks).
      out += `Err:${n} ${where}\n  401  Unauthorized [IP: 170.130.165.90 443]\n`;
      err += `E: Failed to fetch ${src.url}/dists/${src.suite}/InRelease  401  Unauthorized [IP: 170.130.165.90 443]\nE: The repository '${src.url} ${src.suite} InRelease' is not signed.\nN: Updating from such a repository can't be done securely, and is therefore disabled by default.\nN: See apt-secure(8) manpage for repository creation and user configuration details.\n`;
      continue;
    }
    out += `Hit:${n} ${where}\n`;
    lists.add(isPve(src) ? "pve" : "debian");
  }
  out += "Reading package lists...\n";
  aptState(s).lists = [...lists];
  return { stdout: out, stderr: err, exitCode: err ? 100 : 0 };
}

function locatable(s: SimState, name: string): PkgDef | null {
  const def = packageDef(s, name);
  if (!def || !aptLists(s).includes(def.origin)) return null;
  return def;
}

/** Hook run after kernel headers are installed (/etc/kernel/header_postinst.d/dkms). */
export type HeadersHook = (s: SimState, kernel: string) => string;

/** `apt-get install [-y] PKG…` */
export function aptInstall(s: SimState, names: string[], yes: boolean, onHeaders: HeadersHook): CmdResult {
  let out = readingLists();
  const missing = names.filter((n) => !(n in s.packages) && !locatable(s, n));
  if (missing.length > 0)
    return fail(missing.map((n) => `E: Unable to locate package ${n}\n`).join(""), 100, out);
  const newPkgs: string[] = [];
  const extra: string[] = [];
  const visit = (n: string, requested: boolean) => {
    if (n in s.packages || newPkgs.includes(n)) return;
    const def = locatable(s, n);
    if (!def) return;
    newPkgs.push(n);
    if (!requested) extra.push(n);
    for (const d of def.depends) visit(d, false);
  };
  for (const n of names) {
    if (n in s.packages) {
      out += `${n} is already the newest version (${s.packages[n]}).\n`;
      // explicitly asked for: no longer auto
      const st = aptState(s);
      st.auto = st.auto.filter((a) => a !== n);
    } else visit(n, true);
  }
  if (extra.length > 0) out += `The following additional packages will be installed:\n  ${extra.join(" ")}\n`;
  if (newPkgs.length > 0) out += `The following NEW packages will be installed:\n  ${newPkgs.join(" ")}\n`;
  out += `0 upgraded, ${newPkgs.length} newly installed, 0 to remove and 0 not upgraded.\n`;
  if (newPkgs.length === 0) return { stdout: out, stderr: "", exitCode: 0 };
  if (!yes && extra.length > 0)
    return { stdout: `${out}Do you want to continue? [Y/n] Abort.\n`, stderr: "", exitCode: 1 };
  const st = aptState(s);
  // dependencies first; a kernel image before its headers, whose hook builds DKMS modules for it
  const order = [...newPkgs]
    .reverse()
    .sort((a, b) => Number(!kernelOfPackage(s, a)) - Number(!kernelOfPackage(s, b)));
  for (const n of order) {
    const def = locatable(s, n)!;
    out += `Selecting previously unselected package ${n}.\nUnpacking ${n} (${def.version}) ...\n`;
  }
  for (const n of order) {
    const def = locatable(s, n)!;
    s.packages[n] = def.version;
    Object.assign(s.files, def.files);
    if (extra.includes(n) && !st.auto.includes(n)) st.auto.push(n);
    out += `Setting up ${n} (${def.version}) ...\n`;
    const image = kernelOfPackage(s, n);
    if (image) installKernelImage(s, image);
    const k = /^(?:pve|proxmox)-headers-(\d+\.\d+\.\d+-\d+-pve)$/.exec(n)?.[1];
    if (k) out += onHeaders(s, k);
  }
  return { stdout: out, stderr: "", exitCode: 0 };
}

/** Installed packages that depend on `name` (directly). */
function reverseDepends(s: SimState, name: string): string[] {
  return Object.keys(s.packages).filter((p) => packageDef(s, p)?.depends.includes(name));
}

/** Auto-installed packages nothing installed depends on any more. */
function unneeded(s: SimState): string[] {
  const st = aptState(s);
  const needed = new Set<string>();
  const keep = (p: string) => {
    for (const d of packageDef(s, p)?.depends ?? []) {
      if (needed.has(d)) continue;
      needed.add(d);
      keep(d);
    }
  };
  for (const p of Object.keys(s.packages)) if (!st.auto.includes(p)) keep(p);
  return st.auto.filter((a) => a in s.packages && !needed.has(a));
}

function removeNow(s: SimState, names: string[]): string {
  let out = "";
  const st = aptState(s);
  for (const n of names) {
    out += `Removing ${n} (${s.packages[n]}) ...\n`;
    for (const f of Object.keys(packageDef(s, n)?.files ?? {})) delete s.files[f];
    delete s.packages[n];
    st.auto = st.auto.filter((a) => a !== n);
  }
  return out;
}

/** `apt-get remove|purge [-y] [--autoremove] PKG…` and `apt-get autoremove` */
export function aptRemove(
  s: SimState,
  names: string[],
  opts: { yes: boolean; autoremove: boolean },
): CmdResult {
  let out = readingLists();
  const unknown = names.filter((n) => !(n in s.packages) && !packageDef(s, n));
  if (unknown.length > 0)
    return fail(unknown.map((n) => `E: Unable to locate package ${n}\n`).join(""), 100, out);
  const remove: string[] = [];
  const visit = (n: string) => {
    if (!(n in s.packages) || remove.includes(n)) return;
    remove.push(n);
    for (const r of reverseDepends(s, n)) visit(r);
  };
  for (const n of names) {
    if (!(n in s.packages)) out += `Package '${n}' is not installed, so not removed\n`;
    else visit(n);
  }
  // what would be left unneeded after this removal
  const saved = { ...s.packages };
  for (const n of remove) delete s.packages[n];
  const orphans = unneeded(s).filter((p) => !remove.includes(p));
  Object.assign(s.packages, saved);
  const all = opts.autoremove ? [...remove, ...orphans] : remove;
  if (!opts.autoremove && orphans.length > 0)
    out += `The following packages were automatically installed and are no longer required:\n  ${orphans.join(" ")}\nUse 'apt autoremove' to remove them.\n`;
  if (all.length > 0) out += `The following packages will be REMOVED:\n  ${all.join(" ")}\n`;
  out += `0 upgraded, 0 newly installed, ${all.length} to remove and 0 not upgraded.\n`;
  if (all.length === 0) return { stdout: out, stderr: "", exitCode: 0 };
  if (!opts.yes && all.length > names.length)
    return { stdout: `${out}Do you want to continue? [Y/n] Abort.\n`, stderr: "", exitCode: 1 };
  out += removeNow(s, all);
  return { stdout: out, stderr: "", exitCode: 0 };
}

/**
 * `apt-get autoremove`; with -s (simulate) nothing changes and each package that would go is printed as
 * `Remv NAME [VERSION]` (apt apt-pkg/algorithms.cc pkgSimulate: "Remv " + the package + its installed
 * version in brackets), after the same summary.
 */
export function aptAutoremove(s: SimState, yes: boolean, simulate = false): CmdResult {
  const orphans = unneeded(s);
  let out = readingLists();
  if (orphans.length > 0) out += `The following packages will be REMOVED:\n  ${orphans.join(" ")}\n`;
  out += `0 upgraded, 0 newly installed, ${orphans.length} to remove and 0 not upgraded.\n`;
  if (simulate)
    return {
      stdout: out + orphans.map((p) => `Remv ${p} [${s.packages[p]}]\n`).join(""),
      stderr: "",
      exitCode: 0,
    };
  if (orphans.length > 0 && !yes)
    return { stdout: `${out}Do you want to continue? [Y/n] Abort.\n`, stderr: "", exitCode: 1 };
  out += removeNow(s, orphans);
  return { stdout: out, stderr: "", exitCode: 0 };
}

/**
 * `apt-mark auto|manual|showauto PKG…`, with apt's own messages (apt cmdline/apt-mark.cc DoAuto, ShowAuto):
 * "X set to automatically installed.", "X was already set to …", "X can not be marked as it is not
 * installed."; a name no repository knows is "E: Unable to locate package X" (exit 100).
 */
export function aptMark(s: SimState, args: string[]): CmdResult {
  const [sub, ...names] = args.filter((a) => !a.startsWith("-"));
  const st = aptState(s);
  if (sub === "showauto" || sub === "showmanual") {
    const auto = sub === "showauto";
    const list = Object.keys(s.packages)
      .filter((p) => (names.length === 0 || names.includes(p)) && st.auto.includes(p) === auto)
      .sort();
    return { stdout: list.map((p) => `${p}\n`).join(""), stderr: "", exitCode: 0 };
  }
  if (sub !== "auto" && sub !== "manual") return fail(`E: Invalid operation ${sub ?? ""}\n`, 100);
  const unknown = names.filter((n) => !(n in s.packages) && !packageDef(s, n));
  if (unknown.length > 0) return fail(unknown.map((n) => `E: Unable to locate package ${n}\n`).join(""), 100);
  if (names.length === 0) return fail("E: No packages found\n", 100);
  const auto = sub === "auto";
  const word = auto ? "automatically" : "manually";
  let out = "";
  for (const n of names) {
    if (!(n in s.packages)) out += `${n} can not be marked as it is not installed.\n`;
    else if (st.auto.includes(n) === auto) out += `${n} was already set to ${word} installed.\n`;
    else {
      st.auto = auto ? [...st.auto, n] : st.auto.filter((a) => a !== n);
      out += `${n} set to ${word} installed.\n`;
    }
  }
  return { stdout: out, stderr: "", exitCode: 0 };
}

/** apt-get(8): "-s, --simulate, --just-print, --dry-run, --recon, --no-act: No action; perform a simulation" */
const SIMULATE_FLAGS = ["-s", "--simulate", "--just-print", "--dry-run", "--recon", "--no-act"];

/** `apt-get …` argv (after the program name). */
export function aptGet(s: SimState, args: string[], onHeaders: HeadersHook): CmdResult {
  const flags = args.filter((a) => a.startsWith("-"));
  const words = args.filter((a) => !a.startsWith("-"));
  const yes = flags.some((f) => f === "-y" || f === "--yes" || f === "--assume-yes" || /^-[a-z]*y/.test(f));
  const [sub, ...names] = words;
  const simulate = flags.some((f) => SIMULATE_FLAGS.includes(f));
  if (simulate && sub !== "autoremove")
    return fail(`E: the simulated apt-get supports -s only for autoremove\n`, 100);
  switch (sub) {
    case "update":
      return aptUpdate(s);
    case "install":
      return aptInstall(s, names, yes, onHeaders);
    case "remove":
    case "purge":
      return aptRemove(s, names, { yes, autoremove: flags.includes("--autoremove") });
    case "autoremove":
      return aptAutoremove(s, yes, simulate);
  }
  return fail(`E: Invalid operation ${sub ?? ""}\n`, 100);
}
