import { homedir } from "node:os";
import { join } from "node:path";
import { BundleHost } from "./bundle/bundle-host.ts";
import type { Host } from "./host.ts";
import { parseHostSpec } from "./host-spec.ts";
import { LocalHost } from "./local-host.ts";
import { SimHost } from "./sim/sim-host.ts";
import { SshHost } from "./ssh/ssh-host.ts";

export function simStateDir(env: NodeJS.ProcessEnv): string {
  return env.VGPUCTL_SIM_DIR || join(homedir(), ".local", "state", "vgpuctl", "sim");
}

/** Open the Host a --host spec names. Throws UserError with a fix for anything malformed or unreachable. */
export async function openHost(spec: string, opts: { root?: string; env: NodeJS.ProcessEnv }): Promise<Host> {
  const parsed = parseHostSpec(spec, opts.root);
  switch (parsed.kind) {
    case "local":
      return new LocalHost({ root: parsed.root, spec });
    case "bundle":
      return BundleHost.open(parsed.path, spec);
    case "sim":
      return SimHost.open(parsed.scenario, { stateDir: simStateDir(opts.env), spec, env: opts.env });
    case "ssh":
      return SshHost.connect(parsed, { env: opts.env, spec });
  }
}
