import { UserError } from "../util/errors.ts";

export type HostSpec =
  | { kind: "local"; root: string | null }
  | { kind: "ssh"; user: string | null; hostname: string; port: number }
  | { kind: "bundle"; path: string }
  /** `copy`: sim:SCENARIO@N, the N-th independent copy (own state file) */
  | { kind: "sim"; scenario: string; copy?: number };

/** The scenario `--host demo` stands for. */
export const DEMO_SCENARIO = "seed-configured";

const SPEC_HELP = "use local, ssh://[user@]host[:port], bundle:PATH, sim:SCENARIO or demo";

/** Parse a --host spec (DESIGN.md "Host specs"). Pure; throws UserError naming the problem. */
export function parseHostSpec(spec: string, root?: string | null): HostSpec {
  const s = spec.trim();
  if (root && s !== "local") throw new UserError(`--root only applies to --host local (got --host ${spec})`);
  if (s === "local") return { kind: "local", root: root ?? null };
  if (s === "demo") return { kind: "sim", scenario: DEMO_SCENARIO };
  if (s.startsWith("sim:")) {
    const m = /^([a-z0-9][a-z0-9-]*)(?:@(\d+))?$/.exec(s.slice(4));
    if (!m)
      throw new UserError(
        `malformed --host ${JSON.stringify(spec)}: bad scenario name`,
        "run `vgpuctl sim list` to see the scenarios; sim:SCENARIO@N names the N-th copy (N ≥ 1)",
      );
    if (m[2] === undefined) return { kind: "sim", scenario: m[1]! };
    const copy = Number(m[2]);
    if (!(copy >= 1 && copy <= 100000))
      throw new UserError(`malformed --host ${JSON.stringify(spec)}: copy number must be 1 to 100000`);
    return { kind: "sim", scenario: m[1]!, copy };
  }
  if (s.startsWith("bundle:")) {
    const path = s.slice(7);
    if (!path)
      throw new UserError(
        `malformed --host ${JSON.stringify(spec)}: no path after bundle:`,
        "e.g. --host bundle:./pve1.tar.gz",
      );
    return { kind: "bundle", path };
  }
  if (s.startsWith("ssh://")) {
    const m = /^ssh:\/\/(?:([^@/:\s]+)@)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+)(?::(\d+))?\/?$/.exec(s);
    if (!m)
      throw new UserError(
        `malformed --host ${JSON.stringify(spec)}`,
        `expected ssh://[user@]host[:port], e.g. ssh://root@pve1:22`,
      );
    const port = m[3] ? Number(m[3]) : 22;
    if (!(port >= 1 && port <= 65535))
      throw new UserError(`malformed --host ${JSON.stringify(spec)}: port ${m[3]} is out of range 1-65535`);
    const hostname = m[2]!.startsWith("[") ? m[2]!.slice(1, -1) : m[2]!;
    return { kind: "ssh", user: m[1] ?? null, hostname, port };
  }
  throw new UserError(`malformed --host ${JSON.stringify(spec)}`, SPEC_HELP);
}
