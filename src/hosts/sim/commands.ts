/**
 * exec() of the simulated host: argv → handler. Read-only handlers render the state; write handlers
 * (qm set/start/stop, update-grub, proxmox-boot-tool refresh, update-initramfs) change it and report
 * `changed` so the host persists. Add a command by adding an entry to HANDLERS.
 */
import { listDir, normalisePath, readVirtual } from "./fs.ts";
import { bootToolKernel } from "./kernel-pin.ts";
import { aptCachePkgnames } from "./kernels.ts";
import { programInstalled } from "./logic.ts";
import { mokutilKey, opensslReq } from "./mok.ts";
import { aptLists } from "./packages.ts";
import { pvesh } from "./pvesh.ts";
import { renderBootToolStatus, renderMokutilSbState } from "./render/boot.ts";
import { renderDmesg } from "./render/dmesg.ts";
import { renderMdevctlList, renderMdevctlListJson, renderMdevctlTypes } from "./render/mdevctl.ts";
import { renderDkmsStatus, renderLsmod } from "./render/modules.ts";
import { nvidiaSmiSetMixedSize, renderNvidiaSmi, renderNvidiaSmiVgpu } from "./render/nvidia-smi.ts";
import { renderNvidiaSmiQ, renderNvidiaSmiVgpuQ } from "./render/nvidia-smi-query.ts";
import { renderLspci } from "./render/pci.ts";
import { renderQmConfig, renderQmList } from "./render/qm.ts";
import { renderJournal, renderSystemctlIsActive } from "./render/services.ts";
import {
  renderDpkgQuery,
  renderLscpu,
  renderPveversion,
  renderUnameA,
  renderUnameR,
  unameVersion,
} from "./render/system.ts";
import { qmstartFailedTaskLog } from "./render/task-log.ts";
import { type CmdResult, fail, ok } from "./render/types.ts";
import type { SimState } from "./state.ts";
import { installTools, pathProgramExists } from "./tools.ts";
import { bootToolRefresh, hostpciAddress, startVm, stopVm, updateGrub } from "./transitions.ts";
import { renderZpoolGet } from "./zfs.ts";

export interface CmdContext {
  state: SimState;
  /** Set by handlers that changed the state. */
  changed: boolean;
  input?: string;
  /** Working directory (default "/root", root's home, where ssh and `sh -c` start). */
  cwd?: string;
  /** Asked before every program runs (fault injection): a result replaces the run. Inherited by sub-commands. */
  before?: (argv: readonly string[]) => CmdResult | null;
  /** Run a sub-command (env -C, timeout, sh -c …) on the same state; set by runCommand. */
  spawn?: (argv: readonly string[], opts?: { input?: string; cwd?: string }) => CmdResult;
}

export type Handler = (ctx: CmdContext, args: string[]) => CmdResult;

const usage = (prog: string, args: string[]) =>
  fail(`${prog}: simulated host does not implement '${[prog, ...args].join(" ")}'\n`, 2);

const HANDLERS: Record<string, Handler> = {
  uname: ({ state }, args) => {
    if (args.length === 0 || args[0] === "-s") return ok("Linux\n");
    if (args[0] === "-a") return ok(renderUnameA(state));
    if (args[0] === "-r") return ok(renderUnameR(state));
    if (args[0] === "-n") return ok(`${state.hostname}\n`);
    if (args[0] === "-v") return ok(`${unameVersion(state)}\n`);
    if (args[0] === "-m") return ok("x86_64\n");
    return usage("uname", args);
  },
  hostname: ({ state }) => ok(`${state.hostname}\n`),
  pveversion: ({ state }, args) => {
    if (args[0] === "-v" || args[0] === "--verbose") return ok(renderPveversion(state));
    return ok(
      `pve-manager/${state.pve.manager}/${state.pve.managerHash} (running kernel: ${state.kernel.running})\n`,
    );
  },
  dmesg: ({ state }) => ok(renderDmesg(state)),
  lspci: ({ state }, args) => {
    const text = renderLspci(state);
    const d = args.indexOf("-d");
    if (d < 0) return ok(text);
    const vendor = (args[d + 1] ?? "").split(":")[0]!.toLowerCase();
    const re = new RegExp(`\\[${vendor.replace(/[^0-9a-f]/g, "")}:[0-9a-f]{4}\\]`);
    const blocks = text.split(/\n(?=\S)/).map((b) => (b.endsWith("\n") ? b : `${b}\n`));
    return ok(blocks.filter((b) => re.test(b.split("\n")[0]!)).join(""));
  },
  lsmod: ({ state }) => ok(renderLsmod(state)),
  lscpu: ({ state }) => ok(renderLscpu(state)),
  dkms: ({ state }, args) => (args[0] === "status" ? ok(renderDkmsStatus(state)) : usage("dkms", args)),
  mokutil: (ctx, args) => {
    if (args[0] === "--sb-state") return renderMokutilSbState(ctx.state);
    const r = mokutilKey(ctx.state, args, ctx.input);
    if (!r) return usage("mokutil", args);
    ctx.changed ||= args[0] === "--import" && r.exitCode === 0;
    return r;
  },
  "apt-cache": ({ state }, args) =>
    args[0] === "pkgnames"
      ? ok(aptCachePkgnames(state, args[1] ?? "", aptLists(state)))
      : usage("apt-cache", args),
  zpool: ({ state }, args) =>
    args[0] === "get" && args.includes("all") ? ok(renderZpoolGet(state)) : usage("zpool", args),
  openssl: (ctx, args) => {
    const r = opensslReq(ctx.state, args);
    ctx.changed ||= r.exitCode === 0;
    return r;
  },
  "nvidia-smi": (ctx, args) => {
    const { state } = ctx;
    const a = args.join(" ");
    if (a === "") return renderNvidiaSmi(state);
    if (a === "-q") return renderNvidiaSmiQ(state);
    if (a === "vgpu") return renderNvidiaSmiVgpu(state);
    if (a === "vgpu -q") return renderNvidiaSmiVgpuQ(state);
    const shm = /^vgpu -i (\S+) -shm ([01])$/.exec(a);
    if (shm) {
      ctx.changed = true;
      return nvidiaSmiSetMixedSize(state, shm[1]!, shm[2] === "1");
    }
    return usage("nvidia-smi", args);
  },
  mdevctl: ({ state }, args) => {
    const a = args.join(" ");
    if (a === "types") return ok(renderMdevctlTypes(state));
    if (a === "list") return ok(renderMdevctlList(state));
    if (a === "list --dumpjson") return ok(renderMdevctlListJson(state));
    return usage("mdevctl", args);
  },
  journalctl: ({ state }, args) => {
    const u = args.indexOf("-u");
    const unit = u >= 0 ? args[u + 1] : undefined;
    if (!unit) return usage("journalctl", args);
    return renderJournal(state, unit);
  },
  systemctl: ({ state }, args) => {
    if (args[0] === "is-active")
      return renderSystemctlIsActive(
        state,
        args.slice(1).filter((x) => !x.startsWith("-")),
      );
    if (args[0] === "daemon-reload") return ok("");
    return usage("systemctl", args);
  },
  "proxmox-boot-tool": (ctx, args) => {
    if (args[0] === "status") return renderBootToolStatus(ctx.state);
    if (args[0] === "refresh") {
      const hooks = "Running hook script 'proxmox-auto-removal'..\nRunning hook script 'zz-proxmox-boot'..\n";
      const reexec = "Re-executing '/usr/sbin/proxmox-boot-tool' in new private mount namespace..\n";
      if (!bootToolRefresh(ctx.state))
        return ok(`${hooks}${reexec}No /etc/kernel/proxmox-boot-uuids found, skipping ESP sync.\n`);
      ctx.changed = true;
      const k = ctx.state.kernel.installed
        .map((x) => `\tCopying kernel and creating boot-entry for ${x}\n`)
        .join("");
      return ok(
        `${hooks}${reexec}${ctx.state.boot.espUuids.map((u) => `Copying and configuring kernels on /dev/disk/by-uuid/${u}\n${k}`).join("")}`,
      );
    }
    if (args[0] === "kernel") {
      const r = bootToolKernel(ctx.state, args.slice(1));
      if (r) {
        ctx.changed = args[1] !== "list";
        return r;
      }
    }
    return usage("proxmox-boot-tool", args);
  },
  "update-grub": (ctx) => {
    if (ctx.state.boot.bootloader !== "grub") {
      // Still regenerates grub.cfg, which nothing boots from.
      return { stdout: "", stderr: "Generating grub configuration file ...\ndone\n", exitCode: 0 };
    }
    updateGrub(ctx.state);
    ctx.changed = true;
    const found = ctx.state.kernel.installed
      .map((k) => `Found linux image: /boot/vmlinuz-${k}\nFound initrd image: /boot/initrd.img-${k}\n`)
      .join("");
    return { stdout: "", stderr: `Generating grub configuration file ...\n${found}done\n`, exitCode: 0 };
  },
  "update-initramfs": (ctx, args) => {
    if (!args.includes("-u")) return usage("update-initramfs", args);
    const all = args.includes("all");
    const kernels = all ? ctx.state.kernel.installed : [ctx.state.kernel.running];
    ctx.state.boot.initramfsUpdated = true;
    bootToolRefresh(ctx.state);
    ctx.changed = true;
    return ok(kernels.map((k) => `update-initramfs: Generating /boot/initrd.img-${k}\n`).join(""));
  },
  "dpkg-query": ({ state }, args) => {
    if (args[0] !== "-W") return usage("dpkg-query", args);
    const names = args.slice(1).filter((a) => !a.startsWith("-"));
    if (names.length === 0) return ok(renderDpkgQuery(state));
    let out = "";
    let err = "";
    for (const n of names) {
      if (state.packages[n] !== undefined) out += `${n}\t${state.packages[n]}\n`;
      else err += `dpkg-query: no packages found matching ${n}\n`;
    }
    return { stdout: out, stderr: err, exitCode: err ? 1 : 0 };
  },
  ls: ({ state }, args) => {
    const paths = args.filter((a) => !a.startsWith("-"));
    if (paths.length !== 1) return usage("ls", args);
    const p = normalisePath(paths[0]!);
    const entries = listDir(state, p);
    if (entries) return ok(entries.map((e) => `${e}\n`).join(""));
    if (readVirtual(state, p) !== null) return ok(`${paths[0]}\n`);
    return fail(`ls: cannot access '${paths[0]}': No such file or directory\n`, 2);
  },
  cat: ({ state }, args) => {
    let out = "";
    let err = "";
    for (const a of args) {
      const c = readVirtual(state, normalisePath(a));
      if (c === null) {
        err += listDir(state, normalisePath(a))
          ? `cat: ${a}: Is a directory\n`
          : `cat: ${a}: No such file or directory\n`;
      } else out += c;
    }
    return { stdout: out, stderr: err, exitCode: err ? 1 : 0 };
  },
  qm: (ctx, args) => qm(ctx, args),
  pvesh: (ctx, args) => pvesh(ctx, args),
};
// apt-get, the NVIDIA installer, cargo, git, systemctl enable…, modprobe, coreutils (tools.ts).
installTools(HANDLERS);

function qmNoConf(s: SimState, vmid: string): CmdResult {
  return fail(`Configuration file 'nodes/${s.hostname}/qemu-server/${vmid}.conf' does not exist\n`, 2);
}

function qm(ctx: CmdContext, args: string[]): CmdResult {
  const s = ctx.state;
  const [sub, vmidText, ...rest] = args;
  if (sub === "list") return ok(renderQmList(s));
  if (!vmidText || !/^\d+$/.test(vmidText))
    return fail(`400 not enough arguments\nqm ${sub ?? "<command>"} <vmid>\n`, 255);
  const vm = s.vms.find((v) => v.vmid === Number(vmidText));
  if (!vm) return qmNoConf(s, vmidText);
  switch (sub) {
    case "config":
      return ok(renderQmConfig(vm, rest.includes("--current")));
    case "start": {
      const err = startVm(s, vm);
      ctx.changed = true; // a refused start still leaves journal history
      if (err) {
        // and its task log, as the qmstart worker writes it (render/task-log.ts)
        const log = qmstartFailedTaskLog(s, vm.vmid, err);
        s.files[log.path] = log.content;
        return fail(`${err}\n`, 255);
      }
      return ok("");
    }
    case "stop":
    case "shutdown":
      stopVm(s, vm);
      ctx.changed = true;
      return ok("");
    case "set":
      return qmSet(ctx, vm, rest);
  }
  return usage("qm", args);
}

function qmSet(ctx: CmdContext, vm: SimState["vms"][number], rest: string[]): CmdResult {
  const sets: Array<[string, string]> = [];
  const deletes: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const opt = rest[i]!;
    if (!opt.startsWith("-")) return fail(`400 too many arguments\n`, 255);
    const key = opt.replace(/^--?/, "");
    const value = rest[i + 1];
    if (value === undefined) return fail(`400 Parameter verification failed.\n${key}: missing value\n`, 255);
    i++;
    if (key === "delete") deletes.push(...value.split(/[,;\s]+/).filter(Boolean));
    else if (key === "digest" || key === "skiplock") continue;
    else sets.push([key, value]);
  }
  for (const [k, v] of sets) {
    if (/^hostpci\d+$/.test(k)) {
      const idx = Number(k.slice(7));
      if (idx > 15)
        return fail(`400 Parameter verification failed.\n${k}: property is not defined in schema\n`, 255);
      const hasMapping = /(?:^|,)mapping=/.test(v);
      const addr = hostpciAddress(v);
      if (!hasMapping && !addr)
        return fail(
          `400 Parameter verification failed.\n${k}: Either 'host' or 'mapping' must be set.\n`,
          255,
        );
      if (addr && !/^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(addr)) {
        return fail(
          `400 Parameter verification failed.\n${k}: invalid format - value does not match the regex pattern\n`,
          255,
        );
      }
    }
  }
  const target = vm.running ? vm.pending : vm.config;
  for (const [k, v] of sets) {
    const hotpluggable = !/^hostpci\d+$/.test(k) && k !== "machine" && k !== "ostype";
    if (vm.running && hotpluggable) vm.config[k] = v;
    else target[k] = v;
  }
  for (const k of deletes) {
    if (vm.running) vm.pendingDelete.push(k);
    else delete vm.config[k];
  }
  ctx.changed = true;
  const desc = [
    ...sets.map(([k, v]) => `-${k} ${v}`),
    ...(deletes.length ? [`-delete ${deletes.join(",")}`] : []),
  ].join(" ");
  return ok(`update VM ${vm.vmid}: ${desc}\n`);
}

/** Run argv on the simulated host like a shell would (127 for programs that are not installed). */
export function runCommand(ctx: CmdContext, argv: readonly string[]): CmdResult {
  const [prog, ...args] = argv;
  if (!prog) return fail("", 0);
  const name = prog.includes("/") ? prog.slice(prog.lastIndexOf("/") + 1) : prog;
  ctx.spawn ??= (sub, o = {}) => {
    const child: CmdContext = {
      state: ctx.state,
      changed: false,
      input: o.input,
      cwd: o.cwd ?? ctx.cwd,
      before: ctx.before,
    };
    const r = runCommand(child, sub);
    if (child.changed) ctx.changed = true;
    return r;
  };
  const injected = ctx.before?.(argv);
  if (injected) return injected;
  if (prog.includes("/") && !pathProgramExists(ctx.state, prog))
    return fail(`bash: ${prog}: No such file or directory\n`, 127);
  if (!programInstalled(ctx.state, name)) return fail(`bash: ${prog}: command not found\n`, 127);
  const h = HANDLERS[name];
  if (!h) return fail(`bash: ${prog}: command not found\n`, 127);
  return h(ctx, args);
}

export function simulatedPrograms(): string[] {
  return Object.keys(HANDLERS).sort();
}
