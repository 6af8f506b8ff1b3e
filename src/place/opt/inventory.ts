/**
 * A cluster placement problem from `inspect --json` reports (one per node) and vgpu.yaml's top-level
 * `vms:` requests. Pure. A GPU offers the types its report lists (DESIGN.md `mdevTypes`, with the board's
 * real maxInstances on SR-IOV GPUs); what it already carries (running vGPUs, and vGPUs VM configs name,
 * which the VM takes at its next start) stays, except for the requested VMs' own (their `current`).
 */
import { findType, seriesOf } from "../../knowledge/vgpu-types.ts";
import type { InspectGpu, InspectReport } from "../../report/inspect-report.ts";
import { sharingRule, vgpuBudgetMiB } from "../model.ts";
import type { FixedVgpu, OptGpu, OptProblem, OptRequest, OptType } from "./problem.ts";

export function gpuTypes(g: InspectGpu): OptType[] {
  const out = new Map<string, OptType>();
  for (const t of g.mdevTypes) {
    const known = findType(t.type);
    const fb = t.framebufferMiB ?? known?.framebufferMiB ?? null;
    const max = t.maxInstances ?? known?.maxInstances ?? null;
    if (fb === null || max === null || out.has(t.type)) continue;
    const name = t.name ?? known?.name ?? null;
    out.set(t.type, {
      type: t.type,
      name,
      series: name ? seriesOf(name) : null,
      fbMiB: fb,
      maxInstances: max,
    });
  }
  return [...out.values()];
}

function usersOn(report: InspectReport, g: InspectGpu, types: OptType[]): FixedVgpu[] {
  const fb = (type: string) =>
    types.find((t) => t.type === type)?.fbMiB ?? findType(type)?.framebufferMiB ?? 0;
  const out: FixedVgpu[] = [];
  const seen = new Set<number>();
  for (const v of g.vgpus) {
    if (!v.type) continue;
    out.push({ vmid: v.vmid, type: v.type, fbMiB: fb(v.type) });
    if (v.vmid !== null) seen.add(v.vmid);
  }
  const onGpu = (a: string | null) =>
    a !== null && (a.startsWith(g.address.slice(0, -2)) || (g.vfs ?? []).some((v) => v.address === a));
  for (const vm of report.vms)
    for (const h of vm.hostpci)
      if (h.mdev && onGpu(h.address) && !seen.has(vm.vmid)) {
        out.push({ vmid: vm.vmid, type: h.mdev, fbMiB: fb(h.mdev) });
        seen.add(vm.vmid);
      }
  return out;
}

/** The GPUs of one node's report, as the optimiser sees them. */
export function reportGpus(report: InspectReport): OptGpu[] {
  return report.gpus
    .filter((g) => g.mdevTypes.length > 0)
    .map((g) => {
      const types = gpuTypes(g);
      const sriov = (g.vfs?.length ?? 0) > 0;
      return {
        id: `${report.host}/${g.address}`,
        host: report.host,
        address: g.address,
        model: g.name,
        vramMiB:
          vgpuBudgetMiB(
            g.vramMiB,
            types.map((t) => ({ framebufferMiB: t.fbMiB, maxInstances: t.maxInstances })),
          ) ?? Math.max(0, ...types.map((t) => t.fbMiB * t.maxInstances)),
        rule: sharingRule({
          driverVersion: report.driver?.version ?? null,
          mixedSizes: g.mixedSizes?.enabled === true,
          fallback: sriov ? "one-size" : "one-type",
        }),
        types,
        slots: sriov ? g.vfs!.length : null,
        fixed: usersOn(report, g, types),
      };
    });
}

/**
 * The problem: every node's GPUs; requested VMs' current vGPUs become their `current` (they stay there
 * unless rebalancing) instead of fixed load.
 */
export function inventoryProblem(reports: readonly InspectReport[], requests: OptRequest[]): OptProblem {
  const gpus = reports.flatMap(reportGpus);
  const wanted = new Set(requests.map((r) => r.vmid));
  const current = new Map<number, { gpu: string; type: string }>();
  for (const g of gpus) {
    const mine = g.fixed.filter((f) => f.vmid !== null && wanted.has(f.vmid));
    for (const f of mine) current.set(f.vmid!, { gpu: g.id, type: f.type });
    g.fixed = g.fixed.filter((f) => !mine.includes(f));
  }
  return {
    gpus,
    requests: requests.map((r) => (current.has(r.vmid) ? { ...r, current: current.get(r.vmid)! } : r)),
  };
}
