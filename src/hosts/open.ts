import { createRequire } from "node:module";
import { join } from "node:path";
import { FaultHost, hasClientFaults, parseClientFaults, triggerFor } from "./fault-host.ts";
import type { Host } from "./host.ts";
import { parseHostSpec } from "./host-spec.ts";

export function simStateDir(env: NodeJS.ProcessEnv): string {
  return env.VGPUCTL_SIM_DIR || join(homedir(), ".local", "state", "vgpuctl", "sim");
}

/**
 * node:os's homedir, with node:os loaded only when VGPUCTL_SIM_DIR does not say where the state is
 * (loading it costs ~3 M instructions of a start; as src/util/node-crypto.ts does for node:crypto).
 */
function homedir(): string {
  return (createRequire(process.execPath)("node:os") as typeof import("node:os")).homedir();
}

/**
 * Open the Host a --host spec names. Throws UserError with a fix for anything malformed or unreachable.
 * Each kind is loaded when used, so a simulated or local host never loads SSH (ssh2) or tar code.
 */
export async function openHost(spec: string, opts: { root?: string; env: NodeJS.ProcessEnv }): Promise<Host> {
  const parsed = parseHostSpec(spec, opts.root);
  switch (parsed.kind) {
    case "local":
      return new (await import("./local-host.ts")).LocalHost({ root: parsed.root, spec });
    case "bundle":
      return (await import("./bundle/bundle-host.ts")).BundleHost.open(parsed.path, spec);
    case "sim": {
      const { SimHost } = await import("./sim/sim-host.ts");
      const sim = await SimHost.open(parsed.scenario, {
        stateDir: simStateDir(opts.env),
        spec,
        ...(parsed.copy !== undefined ? { copy: parsed.copy } : {}),
        env: opts.env,
      });
      return withClientFaults(sim, [opts.env.VGPUCTL_SIM_FAULT ?? "", ...sim.storedFaults]);
    }
    case "ssh":
      return (await import("./ssh/ssh-host.ts")).SshHost.connect(parsed, { env: opts.env, spec });
  }
}

/**
 * The client faults among a simulated host's fault specs (crash-after:N, crash-before:PROG, …): the
 * host wrapped in a FaultHost that kills this process (kill -9) where they say. Without any: the host.
 */
function withClientFaults(host: Host, specs: readonly string[]): Host {
  const { faults } = parseClientFaults(specs);
  return hasClientFaults(faults) ? new FaultHost(host, triggerFor(faults), { die: "kill" }) : host;
}
