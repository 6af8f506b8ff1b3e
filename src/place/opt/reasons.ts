/** Why a request was left out of a placement, in words a person can act on. Pure. */
import { formatSize } from "../../report/units.ts";
import { accepts, allowedOn, type OptPlacement, type OptProblem, type OptRequest } from "./problem.ts";

function asked(r: OptRequest): string {
  if (r.type !== undefined) return r.type;
  if (r.anyOf !== undefined) return `one of ${r.anyOf.join(", ")}`;
  return `a ${r.series ?? "any"}-series type of at least ${formatSize(r.minMiB ?? 0)}`;
}

export function unplacedReason(p: OptProblem, r: OptRequest, placed: readonly OptPlacement[]): string {
  const where = r.gpu ? `GPU ${r.gpu}` : r.host ? `node ${r.host}` : "any GPU";
  const reachable = p.gpus.filter((g) => allowedOn(r, g));
  if (reachable.length === 0)
    return r.gpu || r.host ? `${where} is not in the inventory` : "the inventory has no NVIDIA GPU";
  const offering = reachable.filter((g) => g.types.some((t) => accepts(r, t)));
  if (offering.length === 0) return `no GPU (${where}) offers ${asked(r)}`;
  const avoid = [
    ...(r.notWith ?? []),
    ...p.requests.filter((o) => o.notWith?.includes(r.vmid)).map((o) => o.vmid),
  ];
  if (avoid.length > 0) {
    const hostOf = new Map(placed.map((x) => [x.vmid, p.gpus.find((g) => g.id === x.gpu)?.host]));
    const blocked = offering.every((g) => avoid.some((v) => hostOf.get(v) === g.host));
    if (blocked)
      return `every node offering ${asked(r)} already runs a VM it must not share a node with (notWith: VM ${avoid.join(", ")})`;
  }
  const rule = offering.some((g) => g.rule === "mixed-sizes")
    ? "their VRAM and instance limits are used up"
    : "each is full or already carries another framebuffer size (equal-size mode) or type";
  return `no room: the ${offering.length} GPU${offering.length === 1 ? "" : "s"} offering ${asked(r)} (${where}) cannot take it — ${rule}; the placement keeps the most VMs placed`;
}
