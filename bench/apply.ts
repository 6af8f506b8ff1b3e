/**
 * Reboots and remote round trips of a full `apply` over SSH (issue #5 "Done means"), next to the seed
 * guide's manual procedure. The host is the simulated seed-fresh behind a real sshd on 127.0.0.1
 * (test/e2e/sim-over-ssh.ts: every ssh channel runs one command on the sim through sim-shell), so the
 * round trips are exactly those a real host would see; their wall time includes starting sim-shell (node)
 * for each one, so it is not a real host's.
 *
 * Both figures are counted on the host side, not taken from apply's report: reboots are the simulated
 * host's boots during the run (its state's bootCount after minus before), round trips the commands the
 * server ran (sim-shell's count, serverExecCount). The client's own round-trip count
 * (SshHost.roundTrips) is cross-checked against the server's; a difference is reported as an error.
 *
 * The manual procedure is counted from the seed guide (/work/shared/seed/vgpu-split-passthrough-guide.txt)
 * for the same host (GRUB, consumer GPU): the commands typed at lines 51-100 (repository, packages, clone,
 * rustup, cargo, unlock files), 123-159 (GRUB, /etc/modules, blacklist, initramfs), then reboot (line 161),
 * 250-266 (chmod, patch, install), reboot (line 278), and the checks nvidia-smi / mdevctl types (283-304).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { applyHost } from "../src/apply/run.ts";
import { runChecks } from "../src/checks/index.ts";
import { gatherForPlan, loadDesired, selectEntries } from "../src/commands/plan.ts";
import { buildScenarioState } from "../src/hosts/sim/sim-host.ts";
import { serverExecCount } from "../src/hosts/sim/sim-shell.ts";
import { SshHost } from "../src/hosts/ssh/ssh-host.ts";
import { startSimOverSsh } from "../test/e2e/sim-over-ssh.ts";

const REPO = resolve(import.meta.dirname, "..");

/** The seed guide's commands for the seed host, by line (see the header). */
export const GUIDE_COMMANDS: Array<[line: number, command: string]> = [
  [51, 'echo "deb … bullseye pve-no-subscription" >> /etc/apt/sources.list'],
  [52, "rm /etc/apt/sources.list.d/pve-enterprise.list"],
  [56, "apt update"],
  [57, "apt dist-upgrade"],
  [61, "apt install -y git build-essential dkms pve-headers mdevctl"],
  [67, "git clone … vgpu-proxmox"],
  [71, "cd /opt"],
  [72, "git clone … vgpu_unlock-rs"],
  [76, "curl -sSf … | sh -s -- -y --profile minimal"],
  [80, "source $HOME/.cargo/env"],
  [84, "cd vgpu_unlock-rs/"],
  [85, "cargo build --release"],
  [93, "mkdir /etc/vgpu_unlock"],
  [94, "touch /etc/vgpu_unlock/profile_override.toml"],
  [98, "mkdir /etc/systemd/system/{nvidia-vgpud.service.d,nvidia-vgpu-mgr.service.d}"],
  [99, "echo -e … > …/nvidia-vgpud.service.d/vgpu_unlock.conf"],
  [100, "echo -e … > …/nvidia-vgpu-mgr.service.d/vgpu_unlock.conf"],
  [123, "nano /etc/default/grub"],
  [131, 'update-grub (the command after "apply your changes:")'],
  [149, 'echo -e "vfio\\nvfio_iommu_type1\\nvfio_pci\\nvfio_virqfd" >> /etc/modules'],
  [153, 'echo "blacklist nouveau" >> /etc/modprobe.d/blacklist.conf'],
  [159, "update-initramfs -u -k all"],
  [161, "reboot"],
  [250, "chmod +x NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run"],
  [255, "./NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run --apply-patch ~/vgpu-proxmox/525.85.07.patch"],
  [266, "./NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm-custom.run --dkms"],
  [278, "reboot"],
  [283, "nvidia-smi"],
  [304, "mdevctl types"],
];

export interface ApplyBenchResult {
  name: string;
  /** boots of the host during the run (host side: the simulated host's bootCount) */
  reboots: number;
  /** commands the server ran, one per ssh channel (each exec / file operation / the gather script) */
  roundTrips: number | null;
  /** the client's own count of the same (SshHost.roundTrips), for the cross-check */
  clientRoundTrips?: number;
  /** commands a person types (manual procedure) */
  commands?: number;
  wallMs: number | null;
  verified?: boolean;
  steps?: number;
  error?: string;
}

const SCENARIO = "seed-fresh";

/** Boots of the simulated host so far: its state file, or the scenario's start before the first command. */
function bootCount(simDir: string): number {
  const file = join(simDir, `${SCENARIO}.json`);
  if (!existsSync(file)) return buildScenarioState(SCENARIO).bootCount;
  return (JSON.parse(readFileSync(file, "utf8")) as { bootCount: number }).bootCount;
}

/** One full apply (and a second, no-op apply) of examples/seed-host.yaml over SSH to a fresh sim. */
export async function benchApply(): Promise<ApplyBenchResult[]> {
  const simDir = mkdtempSync(join(tmpdir(), "vgpuctl-bench-apply-"));
  const remote = await startSimOverSsh({ simDir, scenario: SCENARIO });
  const out: ApplyBenchResult[] = [];
  try {
    const env = { ...process.env, ...remote.clientEnv };
    const target = { user: remote.sshd.user, hostname: "127.0.0.1", port: remote.sshd.port };
    const desired = await loadDesired("examples/seed-host.yaml", {
      cwd: REPO,
      readText: (p) => readFile(p, "utf8"),
    });
    const [entry] = selectEntries(desired, remote.spec);
    for (const name of [
      "vgpuctl apply --reboot over ssh (seed-fresh)",
      "vgpuctl apply again (nothing to do)",
    ]) {
      const host = await SshHost.connect(target, { env, spec: remote.spec });
      const boots0 = bootCount(simDir);
      const execs0 = serverExecCount(simDir, SCENARIO);
      const measured = () => {
        const roundTrips = serverExecCount(simDir, SCENARIO) - execs0;
        const crossCheck =
          roundTrips === host.roundTrips
            ? {}
            : { error: `server counted ${roundTrips} round trips, the client ${host.roundTrips}` };
        return {
          reboots: bootCount(simDir) - boots0,
          roundTrips,
          clientRoundTrips: host.roundTrips,
          ...crossCheck,
        };
      };
      const t0 = performance.now();
      try {
        const r = await applyHost(
          entry!,
          { host, gather: gatherForPlan, doctor: (f) => runChecks(f) },
          { reboot: true },
        );
        const wallMs = Math.round(performance.now() - t0);
        out.push({ name, ...measured(), wallMs, verified: r.verified, steps: r.applied.length });
      } catch (e) {
        const m = measured();
        out.push({
          name,
          ...m,
          wallMs: null,
          error: [(e as Error).message.split("\n")[0], m.error].filter(Boolean).join("; "),
        });
      } finally {
        await host.close();
      }
    }
  } finally {
    await remote.stop();
    rmSync(simDir, { recursive: true, force: true });
  }
  out.push({
    name: "seed guide, by hand (same host)",
    reboots: GUIDE_COMMANDS.filter(([, c]) => c === "reboot").length,
    roundTrips: null,
    commands: GUIDE_COMMANDS.length,
    wallMs: null,
  });
  return out;
}

/** One printed row: host-side reboots and round trips (with the client's count when they differ). */
export function formatApplyRow(r: ApplyBenchResult, width: number): string {
  const trips =
    r.roundTrips === null
      ? `commands typed ${r.commands}`
      : `round trips ${r.roundTrips} (server-counted${r.clientRoundTrips === r.roundTrips ? ", client agrees" : `; client ${r.clientRoundTrips}`})`;
  return `${r.name.padEnd(width)} reboots ${r.reboots}${r.roundTrips === null ? "" : " (host boots)"}  ${trips}${r.wallMs !== null ? `  ${r.wallMs} ms` : ""}${r.error ? `  error: ${r.error}` : ""}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rs = await benchApply();
  for (const r of rs) console.log(formatApplyRow(r, 48));
}
