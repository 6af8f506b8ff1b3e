/**
 * VM configurations (/etc/pve/qemu-server/*.conf) against the GPUs:
 *  mixed-types               VMs put vGPUs on one GPU the driver will not run together: different types
 *                            before driver 525, different framebuffer sizes from 525 (equal-size mode)
 *                            unless mixed-size mode is on — place/model.ts sharingRule, research/proxmox.md §3.
 *  vram-overcommit           the VMs on one GPU ask for more VRAM (type size or framebuffer+reservation
 *                            overrides) than the GPU has — an error naming the VM that will fail to start
 *                            (place/vram-fit.ts, the rule vm attach and override set use too) — or more
 *                            instances than the type allows (a warning).
 *  duplicate-mdev-uuid       two VMs would use the same mdev/VM UUID (cloned `args: -uuid …` or sysfsdev
 *                            lines — anomixer/proxmox-vgpu-installer#22).
 *  vm-mdev-type-unavailable (extra) a VM asks for a type its GPU does not offer.
 *  vm-full-passthrough (extra) a VM passes a vGPU GPU through whole; starting it takes the GPU from vGPU.
 *  vm-uses-physical-function (extra) an SR-IOV GPU's physical function is assigned instead of a VF.
 *  stale-mdev (extra)        an mdev with a VM's UUID exists while that VM is stopped (next start fails).
 */
import { mdevUuidFor, vmidFromMdevUuid } from "../facts/derive.ts";
import type { Facts, HostpciEntry, VmConfig } from "../facts/types.ts";
import { effectiveVramMiB } from "../knowledge/vram.ts";
import { sharingKey, sharingRuleOf, vgpuBudgetMiB } from "../place/model.ts";
import { overcommitMessage, type VramClaim, type VramFit, vramFit } from "../place/vram-fit.ts";
import {
  finding,
  type GpuView,
  gpuForAddress,
  type HostView,
  hostpciAddress,
  hostView,
  vmConfPath,
} from "./context.ts";
import { typesFor } from "./mdev.ts";
import type { Finding, Kb } from "./types.ts";

interface Assignment {
  vm: VmConfig;
  h: HostpciEntry;
  gpu: GpuView;
  address: string;
  type: string;
  uuid: string;
  running: boolean | null;
}

function assignments(v: HostView): Assignment[] {
  const f = v.facts;
  const out: Assignment[] = [];
  for (const vm of f.vms ?? []) {
    for (const h of vm.hostpci) {
      if (!h.mdev) continue;
      const address = hostpciAddress(f, h);
      const gpu = gpuForAddress(v, address);
      if (!gpu || !address) continue;
      const running = f.qmList ? f.qmList.some((q) => q.vmid === vm.vmid && q.status === "running") : null;
      out.push({ vm, h, gpu, address, type: h.mdev, uuid: mdevUuidFor(vm.vmid, h.index), running });
    }
  }
  return out;
}

const line = (a: { vm: VmConfig; h: HostpciEntry }) =>
  `${vmConfPath(a.vm.vmid)}: hostpci${a.h.index}: ${a.h.raw}`;

export function checkVms(f: Facts, kb: Kb): Finding[] {
  const v = hostView(f, kb);
  if (!f.vms) return [];
  const as = assignments(v);
  return [
    ...mixedTypes(v, as),
    ...vramOvercommit(v, as),
    ...typeUnavailable(v, as),
    ...physicalFunction(v, as),
    ...duplicateUuids(v),
    ...fullPassthrough(v),
    ...staleMdevs(v, as),
  ];
}

function byGpu(as: Assignment[]): Map<string, Assignment[]> {
  const m = new Map<string, Assignment[]>();
  for (const a of as) m.set(a.gpu.address, [...(m.get(a.gpu.address) ?? []), a]);
  return m;
}

function typeName(v: HostView, g: GpuView, type: string): string {
  const t = typesFor(v, g).types.find((x) => x.type === type);
  if (t?.name) return `${type} (${t.name})`;
  const k = knownType(v, type);
  return k ? `${type} (${k.name})` : type;
}

function mixedTypes(v: HostView, as: Assignment[]): Finding[] {
  const out: Finding[] = [];
  for (const [addr, list] of byGpu(as)) {
    const types = [...new Set(list.map((a) => a.type))];
    const g = list[0]!.gpu;
    // the driver's rule per branch (place/model.ts sharingRule): one type < 525, one framebuffer size ≥ 525
    const rule = sharingRuleOf(v.facts, addr, g.cls?.needsSriov === true);
    const groups = [...new Set(list.map((a) => sharingKey(rule, a.type, typeSizeMiB(v, g, a.type))))];
    if (groups.length < 2) continue;
    const consumer = g.cls?.support === "unlock";
    const first = types[0]!;
    const title =
      rule === "one-size"
        ? `VMs use vGPU types of ${groups.length} framebuffer sizes on ${g.label}, which is not in mixed-size mode: the VMs of the other sizes fail to start while one runs`
        : `VMs use ${types.length} different vGPU types on ${g.label}; before vGPU 15 (driver 525) only one type can run on a GPU at a time, so the VMs of the other types fail to start while one runs`;
    out.push(
      finding(
        "mixed-types",
        "warning",
        title,
        [...list.map(line), `types: ${types.map((t) => typeName(v, g, t)).join(", ")}`],
        [
          rule === "one-size"
            ? `Use one framebuffer size for every VM on ${addr}, e.g. qm set <vmid> --hostpci<N> ${addr},mdev=${first}`
            : `Use one type for every VM on ${addr}, e.g. qm set <vmid> --hostpci<N> ${addr},mdev=${first}`,
          consumer
            ? `To give VMs different VRAM with one type, add per-VM sections to /etc/vgpu_unlock/profile_override.toml: [vm.<vmid>] framebuffer = … framebuffer_reservation = … (vgpuctl can compute them)`
            : `On vGPU 17+ with "Heterogeneous Time-Slice Sizes: Supported": nvidia-smi vgpu -i <gpu index> -shm 1 (mixed-size mode; not persistent across reboots)`,
        ],
        addr,
      ),
    );
  }
  return out;
}

/** VRAM one assignment takes, MiB, and how it was determined (overrides: knowledge/vram.ts effectiveVramMiB). */
function vramOf(v: HostView, a: Assignment): { mib: number; how: string } | null {
  const po = v.facts.profileOverride;
  const sections = po?.present ? po.sections : [];
  const offered = typesFor(v, a.gpu).types.find((x) => x.type === a.type);
  const known = knownType(v, a.type);
  const typeMiB = typeSizeMiB(v, a.gpu, a.type);
  const e = effectiveVramMiB(sections, { type: a.type, uuid: a.uuid, vmid: a.vm.vmid }, typeMiB, () =>
    known ? { ...known, profileBytes: known.profileMiB === null ? null : known.profileMiB * 1048576 } : null,
  );
  if (e.mib === null) return null;
  if (e.framebuffer && e.reservation) {
    const keys =
      e.framebuffer.from && e.reservation.from
        ? "framebuffer+framebuffer_reservation"
        : e.framebuffer.from
          ? `framebuffer (${e.framebuffer.from}) + the type's framebuffer_reservation`
          : `the type's framebuffer + framebuffer_reservation (${e.reservation.from})`;
    return { mib: e.mib, how: `override ${keys} = ${e.mib} MiB` };
  }
  const name = offered?.name ?? known?.name ?? a.type;
  return { mib: e.mib, how: `${name} = ${e.mib} MiB` };
}

/**
 * The VRAM the vGPUs of a GPU can share (place/model.ts vgpuBudgetMiB): nvidia-smi reports a little less
 * than the size the driver's profiles divide (A16: 15356 MiB, yet 2 × A16-8Q; Tesla P4: 7680 MiB, 1 × P4-8Q).
 */
function budgetMiB(v: HostView, g: GpuView): number | null {
  const { types, creatable } = typesFor(v, g);
  const sized = [
    ...types,
    ...creatable.map((t) => {
      const k = knownType(v, `nvidia-${t.id}`);
      return { framebufferMiB: k?.profileMiB ?? null, maxInstances: k?.maxInstances ?? null };
    }),
  ];
  return vgpuBudgetMiB(g.vramMiB, sized);
}

/** A type's profile size on a GPU: what the GPU's description says, else NVIDIA's table. */
function typeSizeMiB(v: HostView, g: GpuView, type: string): number | null {
  const offered = typesFor(v, g).types.find((x) => x.type === type);
  return offered?.framebufferMiB || knownType(v, type)?.profileMiB || null;
}

/** null when NVIDIA's table does not know the type */
function knownType(v: HostView, type: string) {
  return v.kb.findType(type);
}

/** The VRAM fit of the vGPUs on one GPU, with how each size was found (null when one is unknown). */
function vramFitOf(v: HostView, list: Assignment[], budget: number): { fit: VramFit; hows: string[] } | null {
  const claims: VramClaim[] = [];
  const hows: string[] = [];
  for (const a of list) {
    const s = vramOf(v, a);
    if (!s) return null;
    claims.push({ vmid: a.vm.vmid, uuid: a.uuid, mib: s.mib, how: null, running: a.running });
    hows.push(`VM ${a.vm.vmid}${a.running ? " (running)" : ""}: ${s.how}`);
  }
  return { fit: vramFit(budget, claims), hows };
}

function vramOvercommit(v: HostView, as: Assignment[]): Finding[] {
  const out: Finding[] = [];
  for (const [addr, list] of byGpu(as)) {
    const g = list[0]!.gpu;
    const evidence: string[] = [];
    let severity: "warning" | "error" = "warning";
    let title = "";
    const budget = budgetMiB(v, g);
    const sized = budget ? vramFitOf(v, list, budget) : null;
    if (sized && !sized.fit.fits) {
      // the one overcommit rule (place/vram-fit.ts), as vm attach and override set apply it
      const { fit, hows } = sized;
      evidence.push(...hows);
      evidence.push(`total ${fit.totalMiB} MiB > ${fit.budgetMiB} MiB on ${g.label}`);
      title = overcommitMessage(fit, g.label);
      severity = "error";
    }
    // Instance limits per type
    for (const type of new Set(list.map((a) => a.type))) {
      const n = list.filter((a) => a.type === type).length;
      // SR-IOV VFs list no max_instance: the type table's per-GPU limit then
      const max =
        typesFor(v, g).types.find((x) => x.type === type)?.maxInstances ??
        (g.cls?.needsSriov ? (knownType(v, type)?.maxInstances ?? null) : null);
      if (max && n > max) {
        evidence.push(`${n} VMs use ${typeName(v, g, type)}, max_instance=${max}`);
        if (!title) title = `${n} VMs use ${type} on ${g.label}, which allows ${max}`;
      }
    }
    if (!title) continue;
    out.push(
      finding(
        "vram-overcommit",
        severity,
        title,
        [...list.map(line), ...evidence],
        [
          "Not all of these VMs can run at the same time: move some to another GPU, pick a smaller type, or lower the per-VM framebuffer overrides",
          ...(g.cls?.support === "unlock"
            ? [
                "Remember the spoofed board's max_instance ignores this card's real VRAM: only the total matters",
              ]
            : []),
        ],
        addr,
      ),
    );
  }
  return out;
}

function typeUnavailable(v: HostView, as: Assignment[]): Finding[] {
  if (!v.facts.mdevTypes) return [];
  const out: Finding[] = [];
  for (const a of as) {
    const { types, creatable } = typesFor(v, a.gpu);
    if (types.length === 0 && creatable.length === 0) continue; // mdev-types-empty says why
    if (
      types.some((t) => t.type === a.type) ||
      creatable.some((t) => `nvidia-${t.id}` === a.type || t.id === a.type)
    )
      continue;
    out.push(
      finding(
        "vm-mdev-type-unavailable",
        "error",
        `VM ${a.vm.vmid} asks for ${a.type}, which ${a.gpu.label} does not offer`,
        [
          line(a),
          `offered: ${types
            .slice(0, 8)
            .map((t) => `${t.type}${t.name ? ` (${t.name})` : ""}`)
            .join(", ")}${types.length > 8 ? ", …" : ""}`,
        ],
        [
          `qm set ${a.vm.vmid} --hostpci${a.h.index} ${a.h.raw.replace(/mdev=[^,]+/, `mdev=${types[0]?.type ?? "<type>"}`)}   (pick a type from mdevctl types)`,
        ],
        a.gpu.address,
      ),
    );
  }
  return out;
}

function physicalFunction(v: HostView, as: Assignment[]): Finding[] {
  const out: Finding[] = [];
  for (const a of as) {
    if (!a.gpu.cls?.needsSriov || a.address !== a.gpu.address) continue;
    const sr = v.facts.sriov?.find((s) => s.address === a.gpu.address);
    if (!sr || (sr.numVfs ?? 0) === 0) continue;
    out.push(
      finding(
        "vm-uses-physical-function",
        "error",
        `VM ${a.vm.vmid} is assigned the physical function ${a.address}; on SR-IOV GPUs vGPUs live on the virtual functions`,
        [line(a), `${a.gpu.label}: ${sr.numVfs} virtual functions enabled`],
        [
          `Assign a free virtual function (not .0), e.g. via a PCI resource mapping of the VFs with mdev=1: qm set ${a.vm.vmid} --hostpci${a.h.index} mapping=<map>,mdev=${a.type}`,
        ],
        a.gpu.address,
      ),
    );
  }
  return out;
}

function duplicateUuids(v: HostView): Finding[] {
  const f = v.facts;
  const uses = new Map<string, Array<{ vmid: number; how: string }>>();
  const add = (uuid: string, vmid: number, how: string) =>
    uses.set(uuid.toLowerCase(), [...(uses.get(uuid.toLowerCase()) ?? []), { vmid, how }]);
  for (const vm of f.vms ?? []) {
    const args = vm.args ?? "";
    for (const m of args.matchAll(/sysfsdev=\/sys\/bus\/mdev\/devices\/([0-9a-fA-F-]{36})/g))
      add(m[1]!, vm.vmid, `${vmConfPath(vm.vmid)}: args: … sysfsdev=/sys/bus/mdev/devices/${m[1]} …`);
    for (const m of args.matchAll(/-uuid\s+([0-9a-fA-F-]{36})/g))
      add(m[1]!, vm.vmid, `${vmConfPath(vm.vmid)}: args: … -uuid ${m[1]} …`);
    // PVE's own mdev UUIDs are unique per (index, vmid); an explicit one equal to another VM's counts too.
    if (vm.hostpci.some((h) => h.mdev))
      for (const h of vm.hostpci)
        if (h.mdev)
          add(
            mdevUuidFor(vm.vmid, h.index),
            vm.vmid,
            `${vmConfPath(vm.vmid)}: hostpci${h.index}: ${h.raw} (mdev ${mdevUuidFor(vm.vmid, h.index)})`,
          );
  }
  const out: Finding[] = [];
  for (const [uuid, list] of uses) {
    const vms = [...new Set(list.map((x) => x.vmid))];
    if (vms.length < 2) continue;
    const owner = vmidFromMdevUuid(uuid)?.vmid;
    const copies = list.filter((x) => x.vmid !== owner);
    out.push(
      finding(
        "duplicate-mdev-uuid",
        "error",
        `VMs ${vms.join(" and ")} would use the same mdev/VM UUID ${uuid}: only one can start`,
        list.map((x) => x.how),
        [
          ...[...new Set(copies.map((x) => x.vmid))].map(
            (vmid) =>
              `Edit ${vmConfPath(vmid)}: remove the copied UUID from args: (Proxmox derives a unique mdev UUID from the VM id; cloned VMs keep the original's)`,
          ),
        ],
      ),
    );
  }
  // Same SMBIOS UUID on several vGPU VMs (clones): vGPU manager and licensing key on the VM UUID.
  const smbios = new Map<string, number[]>();
  for (const vm of f.vms ?? [])
    if (vm.smbiosUuid && vm.hostpci.some((h) => h.mdev))
      smbios.set(vm.smbiosUuid, [...(smbios.get(vm.smbiosUuid) ?? []), vm.vmid]);
  for (const [u, vms] of smbios) {
    if (vms.length < 2) continue;
    out.push(
      finding(
        "duplicate-smbios-uuid",
        "warning",
        `vGPU VMs ${vms.join(" and ")} share the SMBIOS UUID ${u} (cloned without a new UUID)`,
        vms.map((id) => `${vmConfPath(id)}: smbios1: uuid=${u}`),
        vms.slice(1).map((id) => `qm set ${id} --smbios1 uuid=$(cat /proc/sys/kernel/random/uuid)`),
      ),
    );
  }
  return out;
}

function fullPassthrough(v: HostView): Finding[] {
  const f = v.facts;
  const out: Finding[] = [];
  for (const vm of f.vms ?? []) {
    for (const h of vm.hostpci) {
      if (h.mdev) continue;
      const g = gpuForAddress(v, hostpciAddress(f, h));
      if (!g || g.fn.driverInUse === "vfio-pci" || !g.cls || g.cls.support === "unsupported") continue;
      if (g.cls.needsSriov && hostpciAddress(f, h) !== g.address) continue; // a VF passed through is fine
      out.push(
        finding(
          "vm-full-passthrough",
          "warning",
          `VM ${vm.vmid} passes ${g.label} through whole: starting it takes the GPU away from every vGPU VM`,
          [`${vmConfPath(vm.vmid)}: hostpci${h.index}: ${h.raw}`],
          [
            `For a vGPU instead: qm set ${vm.vmid} --hostpci${h.index} ${g.address},mdev=<type>   (see mdevctl types)`,
            `Or remove it: qm set ${vm.vmid} --delete hostpci${h.index}`,
          ],
          g.address,
        ),
      );
    }
  }
  return out;
}

function staleMdevs(v: HostView, as: Assignment[]): Finding[] {
  const f = v.facts;
  if (!f.mdevs || !f.qmList) return [];
  const out: Finding[] = [];
  for (const m of f.mdevs) {
    const id = vmidFromMdevUuid(m.uuid);
    if (!id || m.active === false) continue;
    const q = f.qmList.find((x) => x.vmid === id.vmid);
    if (!q || q.status === "running") continue;
    const a = as.find((x) => x.uuid === m.uuid);
    out.push(
      finding(
        "stale-mdev",
        "warning",
        `mdev ${m.uuid} of VM ${id.vmid} still exists although the VM is ${q.status}: its next start may fail`,
        [
          `mdevctl list: ${m.uuid} ${m.parent} ${m.type}`,
          `qm list: ${id.vmid} ${q.name} ${q.status}`,
          ...(a ? [line(a)] : []),
        ],
        [`mdevctl stop -u ${m.uuid}   (or: echo 1 > /sys/bus/mdev/devices/${m.uuid}/remove)`],
        m.parent,
      ),
    );
  }
  return out;
}
