/**
 * A simulated Proxmox VE host behind a real OpenSSH server on 127.0.0.1 (used by apply-ssh.test.ts and
 * bench/apply.ts). How: test/helpers/sshd.ts starts sshd as the current user; we rewrite its
 * authorized_keys so the client key is bound to a forced command,
 *   command="VGPUCTL_SIM_DIR=… VGPUCTL_SIM_SCENARIO=… exec node sim-shell.cjs" ssh-ed25519 AAAA…
 * where sim-shell.cjs is src/hosts/sim/sim-shell-main.ts bundled with esbuild. sshd hands every session
 * channel's command line to it in $SSH_ORIGINAL_COMMAND; it runs it with `sh -c` semantics against the
 * sim state in VGPUCTL_SIM_DIR (the simulated dash and programs), so SshHost's helper snippets, the
 * one-round-trip gather script (`sh -s`), apply's commands and `systemctl reboot` (the connection drops,
 * then sshd answers again) all travel through real SSH.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { startSshd, type TestSshd } from "../helpers/sshd.ts";

const REPO = resolve(import.meta.dirname, "../..");

export interface SimOverSsh {
  sshd: TestSshd;
  /** --host spec for the CLI */
  spec: string;
  /** Environment for the vgpuctl client (HOME, known_hosts, identity, reboot timeout). */
  clientEnv: Record<string, string>;
  /** Restart the remote side with other settings (sim dir, scenario, VGPUCTL_SIM_FAULT). */
  configure(remote: { simDir: string; scenario: string; fault?: string }): void;
  stop(): Promise<void>;
}

/** Bundle the sim-shell entry into `dir` (plain node, no TypeScript loader on the remote side). */
export async function bundleSimShell(dir: string): Promise<string> {
  const outfile = join(dir, "sim-shell.cjs");
  await build({
    entryPoints: [join(REPO, "src/hosts/sim/sim-shell-main.ts")],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

export async function startSimOverSsh(remote: {
  simDir: string;
  scenario: string;
  fault?: string;
}): Promise<SimOverSsh> {
  const sshd = await startSshd();
  const bundle = await bundleSimShell(sshd.dir);
  const keysPath = join(sshd.dir, "authorized_keys");
  const pub = readFileSync(keysPath, "utf8").trim().split("\n")[0]!;
  const configure = (r: { simDir: string; scenario: string; fault?: string }) => {
    const env = [
      `VGPUCTL_SIM_DIR=${r.simDir}`,
      `VGPUCTL_SIM_SCENARIO=${r.scenario}`,
      ...(r.fault ? [`VGPUCTL_SIM_FAULT=${r.fault}`] : []),
    ].join(" ");
    writeFileSync(keysPath, `command="${env} exec ${process.execPath} ${bundle}" ${pub}\n`, { mode: 0o600 });
  };
  configure(remote);
  return {
    sshd,
    spec: `ssh://${sshd.user}@127.0.0.1:${sshd.port}`,
    clientEnv: {
      HOME: sshd.dir,
      USER: sshd.user,
      VGPUCTL_KNOWN_HOSTS: sshd.knownHostsPath,
      VGPUCTL_SSH_IDENTITY: sshd.identityPath,
      VGPUCTL_REBOOT_TIMEOUT_S: "60",
    },
    configure,
    stop: () => sshd.stop(),
  };
}
