/**
 * evidence-conflict: two outputs disagree about the same fact — a GPU's device or subsystem id, the
 * driver's version, kind or flavour. The report believes the more direct source (facts/identity.ts,
 * facts/driver-evidence.ts); the finding says which and why, so a reader of a pasted thread knows the
 * outputs may come from different hosts or boots. An installed driver newer than the running one is
 * the same kind of disagreement: it runs only after a reboot.
 * Not a conflict: nvidia-smi -q showing the id vgpu_unlock presents the card as (its spoof target).
 */
import { type DriverConflict, driverSummary } from "../facts/driver-evidence.ts";
import { type FactConflict, gpuIdentities } from "../facts/identity.ts";
import type { Facts } from "../facts/types.ts";
import { finding } from "./context.ts";
import type { Finding, Kb } from "./types.ts";

const RECAPTURE = [
  "Make sure every output comes from this host and this boot: capture them together with",
  "  vgpuctl support-bundle -o bundle.tar.gz   (or, without vgpuctl: vgpuctl gather-script > g.sh; sh g.sh)",
];

function values(c: FactConflict | DriverConflict): string[] {
  return c.values.map((v) => `${v.source}: ${v.value}`);
}

/** A GPU id seen as the card's spoof target is vgpu_unlock at work, not a contradiction. */
function spoofedOnly(c: FactConflict, kb: Kb): boolean {
  if (c.field !== "deviceId") return false;
  const believed = c.values.find((v) => v.source === c.believed)?.value ?? null;
  const spoof = believed
    ? kb.classifyGpu({ deviceId: believed, subsystemVendorId: null, subsystemDeviceId: null })?.spoofAs
    : null;
  return Boolean(spoof) && c.values.every((v) => v.value === believed || v.value === spoof?.deviceId);
}

function gpuConflicts(f: Facts, kb: Kb): Finding[] {
  const out: Finding[] = [];
  for (const g of gpuIdentities(f)) {
    for (const c of g.conflicts) {
      if (spoofedOnly(c, kb)) continue;
      const what = c.field === "deviceId" ? "device id" : "subsystem id";
      out.push(
        finding(
          "evidence-conflict",
          "warning",
          `The outputs disagree about the ${what} of the GPU at ${g.address}: believed ${c.believed}`,
          [...values(c), `believed ${c.believed}: ${c.why}`],
          RECAPTURE,
          g.address,
        ),
      );
    }
  }
  return out;
}

function driverTitle(c: DriverConflict): string {
  const believed = c.values.find((v) => v.source === c.believed)?.value ?? "";
  const others = [...new Set(c.values.map((v) => v.value).filter((v) => v !== believed))].join(", ");
  if (c.field === "version" && /reboot/.test(c.why))
    return `The installed NVIDIA driver (${others}) is not the one running (${believed}, ${c.believed})`;
  return `The outputs disagree about the NVIDIA driver's ${c.field}: ${believed} (${c.believed}) vs ${others}`;
}

export function checkEvidenceConflict(f: Facts, kb: Kb): Finding[] {
  const driver = driverSummary(f).conflicts.map((c) =>
    finding(
      "evidence-conflict",
      "warning",
      driverTitle(c),
      [...values(c), `believed ${c.believed}: ${c.why}`],
      c.field === "version" && /reboot/.test(c.why)
        ? [
            "Reboot (or stop the VMs and reload the nvidia module) so the installed driver runs",
            ...RECAPTURE.slice(0, 1),
          ]
        : RECAPTURE,
    ),
  );
  return [...gpuConflicts(f, kb), ...driver];
}
