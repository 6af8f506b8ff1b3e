/**
 * `vgpuctl plan -f vgpu.yaml`: what apply would do on each host (file diffs, packages, commands,
 * reboots), or why it cannot. Also the helpers apply/uninstall share: loading vgpu.yaml, choosing
 * host entries, and gathering facts + probes from a Host.
 */

import { basename, resolve } from "node:path";
import { BOOT_ID_PATH, JOURNAL_PATH, LOCK_PATH } from "../apply/journal.ts";
import { type Gathered, type GatherFn, planHost } from "../apply/run.ts";
import { runChecks } from "../checks/index.ts";
import { parseDesired } from "../desired/parse.ts";
import type { Desired, HostEntry } from "../desired/schema.ts";
import { type Capture, type CaptureSpec, Evidence, formatCommand } from "../facts/capture.ts";
import { parseFacts } from "../facts/index.ts";
import { type CorosyncCluster, parseCorosyncConf } from "../facts/system/corosync.ts";
import { parsePveHardwarePci } from "../facts/system/pve-hardware-pci.ts";
import { shaResult } from "../facts/system/sha256sum.ts";
import { GATHER_SPEC } from "../hosts/gather-spec.ts";
import type { Host } from "../hosts/host.ts";
import { withoutVendor } from "../knowledge/type-name.ts";
import { formatMiB } from "../knowledge/vram.ts";
import { preloadSolver } from "../place/opt/highs.ts";
import { probeRequests } from "../plan/build.ts";
import type { FileProbe, Plan } from "../plan/types.ts";
import type { PciDevice } from "../pve/client.ts";
import { UserError } from "../util/errors.ts";
import { type FleetOptions, type FleetOutcome, runFleet } from "./fleet.ts";
import { type GatheredEntry, mayMap, placeOnGathered, topLevelVms } from "./place.ts";

/** Reads a local text file (the CLI passes node:fs; tests pass their own). Rejects like fs does (e.code). */
export type ReadText = (path: string) => Promise<string>;

export interface DesiredDeps {
  cwd: string;
  openHost: (spec: string) => Promise<Host>;
  readText: ReadText;
}

/** Read and validate vgpu.yaml (`file` relative to `cwd`); a clear UserError when it cannot be read. */
export async function loadDesired(
  file: string,
  deps: Pick<DesiredDeps, "cwd" | "readText">,
): Promise<Desired> {
  const path = resolve(deps.cwd, file);
  let text: string;
  try {
    text = await deps.readText(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read ${file}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`,
      code === "ENOENT" ? "create one with `vgpuctl init`, or pass -f PATH" : undefined,
    );
  }
  return parseDesired(text, basename(path));
}

/**
 * The entries to act on. An explicit --host picks the entry naming it; with a single entry it
 * stands in for that entry's `host:` (so one file works against sim:, ssh:// or local).
 */
export function selectEntries(d: Desired, hostSpec: string | null): HostEntry[] {
  if (hostSpec === null) return d.hosts;
  const named = d.hosts.filter((h) => h.host === hostSpec);
  if (named.length > 0) return named;
  if (d.hosts.length === 1) return [{ ...d.hosts[0]!, host: hostSpec }];
  throw new UserError(
    `--host ${hostSpec} is not one of the hosts in the file (${d.hosts.map((h) => h.host).join(", ")})`,
  );
}

/** What a probe of the planner is asked as a captured command (see probeCommands). */
function probeArgv(path: string): { exists: string[]; sha256: string[]; head: string[] } {
  return {
    exists: ["stat", "-L", "-c", "%F", path],
    sha256: ["sha256sum", path],
    head: ["head", "-c", "512", path],
  };
}

/**
 * The gather capture of plan/apply: GATHER_SPEC plus the probes of the files vgpu.yaml names
 * (existence, sha256, first bytes) and vgpuctl's own journal, lock and the boot id, so that planning
 * a host — and an apply with nothing to do — costs ONE round trip on a remote host.
 *
 * A `local` host runs commands without its `--root` prefix, so its probes go through its file
 * primitives instead (cheap there).
 */
export function planCaptureSpec(host: Host, entry: HostEntry, opts: ClusterGather = {}): CaptureSpec {
  const commands = [...GATHER_SPEC.commands];
  if (opts.hardware) commands.push(HARDWARE_PCI_ARGV);
  if (host.kind !== "local")
    for (const r of probeRequests(entry)) {
      const a = probeArgv(r.path);
      commands.push(a.exists);
      if (r.sha256) commands.push(a.sha256);
      if (r.head) commands.push(a.head);
    }
  const paths = [...GATHER_SPEC.paths];
  for (const p of [JOURNAL_PATH, LOCK_PATH, BOOT_ID_PATH, COROSYNC_PATH])
    if (!paths.includes(p)) paths.push(p);
  return { ...GATHER_SPEC, commands, paths };
}

/** The cluster this node belongs to (pve-docs pvecm.adoc: /etc/pve/corosync.conf; absent on a lone host). */
export const COROSYNC_PATH = "/etc/pve/corosync.conf";

/**
 * The node's PCI functions as Proxmox VE's API lists them (research/proxmox.md §1g): what a cluster
 * resource mapping's entries are made of (commands/mapping.ts selectNodeDevices). `localhost` = this node
 * (pve-manager PVE/CLI/pvesh.pm check_proxyto does not proxy it).
 */
export const HARDWARE_PCI_ARGV = [
  "pvesh",
  "get",
  "/nodes/localhost/hardware/pci",
  "--pci-class-blacklist",
  "",
  "--output-format",
  "json",
];

/** What plan/apply read in the same capture when top-level vms: may go through cluster mappings. */
export interface ClusterGather {
  hardware?: boolean;
}

/** A gather for plan/apply, with what place.ts needs to attach top-level vms: through cluster mappings. */
export type ClusterGathered = Gathered & {
  /** corosync.conf's cluster, null = not a cluster node (or not captured) */
  cluster: CorosyncCluster | null;
  /** the node's PCI listing (ClusterGather.hardware), null = not asked or not readable */
  hardware: PciDevice[] | null;
};

/** Capture + parseFacts + the probes the planner needs (sha256 and first bytes of the driver files…). */
export async function gatherForPlan(
  host: Host,
  entry: HostEntry,
  opts: ClusterGather = {},
): Promise<ClusterGathered> {
  const capture = await host.capture(planCaptureSpec(host, entry, opts));
  const facts = parseFacts(capture);
  const ev = new Evidence(capture);
  const cluster = parseCorosyncConf(ev.file(COROSYNC_PATH));
  const listed = opts.hardware ? ev.command(formatCommand(HARDWARE_PCI_ARGV)) : undefined;
  const hardware = listed?.exitCode === 0 ? parsePveHardwarePci(listed.stdout) : null;
  const probes: Record<string, FileProbe> = {};
  for (const r of probeRequests(entry)) {
    const a = probeArgv(r.path);
    const exists = ev.command(formatCommand(a.exists));
    if (exists) {
      // from the capture: stat failing = absent
      if (exists.exitCode !== 0) {
        probes[r.path] = { exists: false, sha256: null, head: null };
        continue;
      }
      const head = r.head ? ev.command(formatCommand(a.head)) : undefined;
      probes[r.path] = {
        exists: true,
        ...(r.sha256
          ? shaResult(ev.command(formatCommand(a.sha256)) ?? null, noteOn(capture, formatCommand(a.sha256)))
          : { sha256: null }),
        head: head?.exitCode === 0 ? head.stdout : null,
      };
      continue;
    }
    probes[r.path] = await probeViaPrimitives(host, r);
  }
  const file = (p: string) => {
    const c = ev.file(p);
    // an unreadable state file is not "absent": leave it to a plain read
    return c === null && capture.notes.some((n) => n.includes(p)) ? undefined : c;
  };
  return { facts, file, probes, cluster, hardware };
}

/** What the capture noted about a command (stderr is not kept; a failing command may leave a note). */
function noteOn(capture: Capture, cmd: string): string {
  return capture.notes.find((n) => n.includes(cmd)) ?? "";
}

async function probeViaPrimitives(
  host: Host,
  r: { path: string; sha256: boolean; head: boolean },
): Promise<FileProbe> {
  const st = await host.stat(r.path);
  if (!st) return { exists: false, sha256: null, head: null };
  let head: string | null = null;
  const sha = r.sha256
    ? await host.exec(["sha256sum", r.path]).then(
        (out) => shaResult(out, out.stderr),
        (e: unknown) => ({ sha256: null, sha256Error: `sha256sum failed: ${(e as Error).message}` }),
      )
    : { sha256: null };
  if (r.head) {
    const out = await host.exec(["head", "-c", "512", r.path]);
    if (out.exitCode === 0) head = out.stdout;
  }
  return { exists: true, ...sha, head };
}

// the sha256sum parser lives with the other parsers (src/facts/system/sha256sum.ts)
export { shaResult };

export interface HostPlan {
  host: string;
  spec: string;
  plan: Plan;
}

export interface HostPlanError {
  host: string;
  spec: string;
  error: Error;
}

/**
 * Open and gather every entry's host once (in parallel, quietly: the pass that plans reports progress).
 * A host that gathered stays open for the caller to plan (and close: closeGathered); one that cannot be
 * opened or gathered is a failed outcome, its host closed.
 */
export async function gatherEntries(
  entries: HostEntry[],
  deps: DesiredDeps,
  opts: FleetOptions & ClusterGather,
): Promise<Array<FleetOutcome<GatheredEntry>>> {
  return runFleet(
    entries.map((e) => e.host),
    async (spec, i) => {
      const host = await deps.openHost(spec);
      try {
        return { host, gathered: await gatherForPlan(host, entries[i]!, { hardware: opts.hardware }) };
      } catch (e) {
        await host.close();
        throw e;
      }
    },
    { parallel: opts.parallel, timeoutSec: opts.timeoutSec },
  );
}

export async function closeGathered(gathered: Array<FleetOutcome<GatheredEntry>>): Promise<void> {
  await Promise.allSettled(gathered.map((o) => (o.ok ? o.value.host.close() : undefined)));
}

/**
 * A gather that answers the first time with facts already gathered (the placement read them), and reads
 * the host again after that (apply's re-plans after its steps).
 */
export function gatherOnce(first: Gathered): GatherFn {
  let pending: Gathered | null = first;
  return (host, entry) => {
    const g = pending;
    pending = null;
    return g ? Promise.resolve(g) : gatherForPlan(host, entry);
  };
}

/** Plan every selected host in parallel (fleet.ts); a host that cannot be planned does not hide the others. */
export async function runPlan(
  opts: { file: string; hostSpec: string | null } & FleetOptions,
  deps: DesiredDeps,
): Promise<Array<HostPlan | HostPlanError>> {
  const desired = await loadDesired(opts.file, deps);
  const selected = selectEntries(desired, opts.hostSpec);
  const solverNote = await preloadSolver([...selected, desired]);
  // The same doctor-derived blockers apply uses: plan shows exactly what apply would do or refuse.
  const planOne = async (entry: HostEntry, host: Host, gather: GatherFn): Promise<HostPlan> => {
    const { plan } = await planHost(entry, { host, gather, doctor: (f) => runChecks(f) });
    return { host: plan.host, spec: entry.host, plan };
  };
  let outcomes: Array<FleetOutcome<HostPlan>>;
  if (topLevelVms(desired, selected).length === 0)
    outcomes = await runFleet(
      selected.map((e) => e.host),
      async (spec, i) => {
        const host = await deps.openHost(spec);
        try {
          return await planOne(selected[i]!, host, gatherForPlan);
        } finally {
          await host.close();
        }
      },
      opts,
    );
  else {
    // top-level vms: every host is gathered once; the placement and each host's plan use those facts
    const gathered = await gatherEntries(selected, deps, { ...opts, hardware: mayMap(desired) });
    try {
      const placed = await placeOnGathered(desired, selected, gathered);
      outcomes = await runFleet(
        selected.map((e) => e.host),
        (_spec, i) => {
          const g = gathered[i]!;
          if (!g.ok) return Promise.reject(g.error);
          return planOne(placed.entries[i]!, g.value.host, gatherOnce(g.value.gathered));
        },
        opts,
      );
      const first = outcomes.find((o) => o.ok);
      if (first?.ok)
        first.value.plan.notes.push(
          ...placed.notes,
          ...placed.unplaced.map((u) => `VM ${u.vmid} (top-level vms:) not placed: ${u.reason}`),
        );
    } finally {
      await closeGathered(gathered);
    }
  }
  const firstPlanned = outcomes.find((o) => o.ok);
  if (solverNote && firstPlanned?.ok) firstPlanned.value.plan.notes.push(solverNote);
  return outcomes.map((o) => (o.ok ? o.value : { host: o.spec, spec: o.spec, error: o.error }));
}

/** DESIGN.md `vgpuctl plan --json` shape (+ blockers, notes, and `split` when vgpu.yaml lists VMs). */
export function planJson(p: Plan) {
  return {
    host: p.host,
    steps: p.steps.map((s) => ({
      id: s.id,
      title: s.title,
      why: s.why,
      changes: s.changes,
      reboot: s.reboot,
      ...(s.afterReboot ? { afterReboot: true } : {}),
      ...(s.fixes?.length ? { fixes: s.fixes } : {}),
      undo: s.undo,
    })),
    reboots: p.reboots,
    blockers: p.blockers,
    notes: p.notes,
    ...(p.split ? { split: p.split } : {}),
  };
}

/**
 * One line per GPU: "GPU 0000:01:00.0 RTX6000-4Q: VM 100 (4 GiB), VM 101 (4 GiB) — 3 GiB free,
 * 4 instances left" (vGPUs vgpu.yaml does not manage are listed as "(not in vgpu.yaml)").
 */
export function splitLines(split: NonNullable<Plan["split"]>): string[] {
  return split.map((g) => {
    const type = g.typeName ? withoutVendor(g.typeName) : (g.type ?? "no vGPU type");
    const size = (m: number | null) => (m === null ? "?" : formatMiB(m));
    const vms = [
      ...g.vms.map((v) => `VM ${v.vmid} (${size(v.vramMiB)})`),
      ...g.others.map(
        (o) =>
          `${o.vmid !== null ? `VM ${o.vmid}` : `mdev ${o.uuid}`} (${size(o.vramMiB)}, not in vgpu.yaml)`,
      ),
    ];
    const tail = [
      g.freeMiB !== null ? `${formatMiB(g.freeMiB)} free` : null,
      g.instancesLeft !== null ? `${g.instancesLeft} instance${g.instancesLeft === 1 ? "" : "s"} left` : null,
    ].filter(Boolean);
    return `GPU ${g.gpu} ${type}: ${vms.length > 0 ? vms.join(", ") : "no VMs"}${tail.length ? ` — ${tail.join(", ")}` : ""}`;
  });
}
