/**
 * Consistency of the knowledge base with itself: the driver rows, the GPU table, the vGPU type table and the
 * reason texts must not contradict each other. Pure: takes the data as arguments, so a test can feed it a
 * doctored row and see it reported (test/knowledge/consistency.test.ts).
 */
import { isHttpSource } from "./driver-sources.ts";
import type { DriverRelease } from "./drivers.ts";

export interface KnowledgeProblem {
  rule:
    | "release-source"
    | "host-equals-guest"
    | "shared-host-driver"
    | "patch-file"
    | "kernel-range"
    | "type-board-unknown"
    | "reason-contradicts-rows";
  /** the release, device id or type the problem is about */
  subject: string;
  message: string;
}

export interface KnowledgeInput {
  releases: readonly DriverRelease[];
  /** device ids (4 lowercase hex) the GPU table knows */
  knownDeviceIds: ReadonlySet<string>;
  /** the physical board of every vGPU type */
  types: ReadonlyArray<{ type: string; pgpu: { deviceId: string } }>;
  /** every reason text the GPU classification produces, with the device it is about */
  reasons: ReadonlyArray<{ deviceId: string; text: string }>;
  /** newest release whose patch still serves Turing cards (presented as Quadro RTX 6000), per availability */
  newestTuringPatch: { polloloco: string | null; mirror: string | null; any: string | null };
}

export function checkKnowledge(k: KnowledgeInput): KnowledgeProblem[] {
  return [
    ...sourceProblems(k.releases),
    ...versionProblems(k.releases),
    ...kernelProblems(k.releases),
    ...typeBoardProblems(k),
    ...reasonProblems(k),
  ];
}

function sourceProblems(releases: readonly DriverRelease[]): KnowledgeProblem[] {
  const out: KnowledgeProblem[] = [];
  for (const r of releases) {
    const bad = r.sources.filter((s) => !isHttpSource(s));
    if (bad.length > 0)
      out.push({
        rule: "release-source",
        subject: r.vgpuRelease,
        message: `cites non-URL sources (research notes are not sources): ${bad.join(", ")}`,
      });
    if (!r.sources.some(isHttpSource))
      out.push({ rule: "release-source", subject: r.vgpuRelease, message: "has no http(s) source" });
  }
  return out;
}

function versionProblems(releases: readonly DriverRelease[]): KnowledgeProblem[] {
  const out: KnowledgeProblem[] = [];
  const hostOf = new Map(releases.map((r) => [r.vgpuRelease, r.driverVersion]));
  for (const a of releases) {
    for (const b of releases) {
      if (a === b) continue;
      const guestClash = a.driverVersion === b.guestLinux && b.driverVersion !== a.driverVersion;
      if (guestClash)
        out.push({
          rule: "host-equals-guest",
          subject: a.vgpuRelease,
          message: `host driver ${a.driverVersion} is ${b.vgpuRelease}'s Linux guest driver (and ${b.vgpuRelease}'s host is ${b.driverVersion}): a guest number in the host column?`,
        });
    }
    for (const s of a.sharesHostDriverWith)
      if (hostOf.get(s) !== a.driverVersion)
        out.push({
          rule: "shared-host-driver",
          subject: a.vgpuRelease,
          message: `marked as sharing host driver ${a.driverVersion} with ${s}, whose host driver is ${hostOf.get(s) ?? "unknown"}`,
        });
    if (a.patch && a.patch.file !== `${a.driverVersion}.patch`)
      out.push({
        rule: "patch-file",
        subject: a.vgpuRelease,
        message: `patch ${a.patch.file} is not made for host driver ${a.driverVersion}`,
      });
  }
  return out;
}

const series = (s: string) => s.split(".").map(Number) as [number, number];

function kernelProblems(releases: readonly DriverRelease[]): KnowledgeProblem[] {
  const out: KnowledgeProblem[] = [];
  for (const r of releases) {
    const { min, max, confidence } = r.kernel;
    if (min && max) {
      const [a, b] = [series(min), series(max)];
      if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]))
        out.push({
          rule: "kernel-range",
          subject: r.vgpuRelease,
          message: `kernel range ${min} – ${max} is empty`,
        });
    }
    if (confidence !== "unknown" && r.kernel.evidence.length === 0)
      out.push({
        rule: "kernel-range",
        subject: r.vgpuRelease,
        message: `kernel claim "${confidence}" without evidence`,
      });
  }
  return out;
}

function typeBoardProblems(k: KnowledgeInput): KnowledgeProblem[] {
  const unknown = new Map<string, string[]>();
  for (const t of k.types)
    if (!k.knownDeviceIds.has(t.pgpu.deviceId))
      unknown.set(t.pgpu.deviceId, [...(unknown.get(t.pgpu.deviceId) ?? []), t.type]);
  return [...unknown].map(([id, types]) => ({
    rule: "type-board-unknown" as const,
    subject: id,
    message: `the type table names 10de:${id} as the physical GPU of ${types.slice(0, 3).join(", ")}${types.length > 3 ? ` (+${types.length - 3})` : ""}, but the GPU table does not know it`,
  }));
}

/** "up to vGPU 17.x", "up to 19.4 in a community mirror" → the claims a reason text makes about patches. */
function patchClaims(text: string): Array<{ release: string; where: "polloloco" | "mirror" | "any" }> {
  const out: Array<{ release: string; where: "polloloco" | "mirror" | "any" }> = [];
  const re = /up to (?:vGPU )?(\d+\.(?:\d+|x))( in the polloloco repository| in a community mirror)?/g;
  for (const m of text.matchAll(re)) {
    const where = m[2]?.includes("polloloco") ? "polloloco" : m[2]?.includes("mirror") ? "mirror" : "any";
    out.push({ release: m[1]!, where });
  }
  return out;
}

/** Does "17.x" / "18.2" name the same release (or, for N.x, the same branch) as `actual`? */
function sameRelease(claim: string, actual: string | null): boolean {
  if (actual === null) return false;
  return claim.endsWith(".x") ? claim.split(".")[0] === actual.split(".")[0] : claim === actual;
}

function reasonProblems(k: KnowledgeInput): KnowledgeProblem[] {
  const out: KnowledgeProblem[] = [];
  const seen = new Set<string>();
  for (const { deviceId, text } of k.reasons) {
    if (!/Turing/.test(text)) continue;
    for (const c of patchClaims(text)) {
      const actual = k.newestTuringPatch[c.where];
      const key = `${c.where}:${c.release}`;
      if (sameRelease(c.release, actual) || seen.has(key)) continue;
      seen.add(key);
      out.push({
        rule: "reason-contradicts-rows",
        subject: deviceId,
        message: `reason says patches exist "up to ${c.release}"${c.where === "any" ? "" : ` (${c.where})`}, but the driver rows' newest such patch is ${actual ?? "none"}: "${text}"`,
      });
    }
  }
  return out;
}
