/**
 * The desired-state file `vgpu.yaml` (DESIGN.md "Desired state"): one valibot schema that validates
 * the file and generates the published `schema.json` (scripts/gen-schema.ts via @valibot/to-json-schema).
 */
import * as v from "valibot";

const SHA256 = v.pipe(
  v.string(),
  v.regex(
    /^[0-9a-fA-F]{64}$/,
    "must be a SHA-256 hex digest (64 hex characters, e.g. from `sha256sum FILE`)",
  ),
  v.toLowerCase(),
  v.description("SHA-256 of the file, as printed by `sha256sum`"),
);

/**
 * Strings from vgpu.yaml end up in argv (`sh INSTALLER`, `git clone -- URL DIR`, `rm -rf DIR` on undo)
 * and in systemd drop-ins (LD_PRELOAD=…): an absolute path can never be read as an option (it starts
 * with "/"), and no control character (a newline would add lines to a drop-in) gets through.
 */
const ABS_PATH = v.pipe(
  v.string(),
  v.regex(/^\/[^\u0000-\u001f\u007f]*$/, "must be an absolute path on the host"),
);

/** A directory vgpuctl creates and may remove again: absolute, below "/", no "." or ".." parts. */
const OWN_DIR = v.pipe(
  v.string(),
  v.regex(
    /^(?!.*\/\.\.?(?:\/|$))\/[^/\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$/,
    'must be an absolute directory path below / (e.g. /opt/vgpu_unlock-rs), without "." or ".." parts',
  ),
);

/**
 * A repository URL git can only read as a URL: https://HOST/PATH, ssh://[USER@]HOST[:PORT]/PATH or
 * USER@HOST:PATH (scp style). Never an option (`--upload-pack=…`), another transport (`ext::…`,
 * `file://`) or a host starting with "-" (`ssh://-oProxyCommand=…`).
 */
const GIT_URL = v.pipe(
  v.string(),
  v.regex(
    /^(?:https:\/\/(?:[A-Za-z0-9._~%-]+@)?[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]+)?\/[^\s\u0000-\u001f\u007f]+|ssh:\/\/(?:[A-Za-z0-9._~%-]+@)?[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]+)?\/[^\s\u0000-\u001f\u007f]+|[A-Za-z0-9_][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9.-]*:[^\s\u0000-\u001f\u007f-][^\s\u0000-\u001f\u007f]*)$/,
    "must be an https:// or ssh:// repository URL, or git@HOST:PATH (e.g. https://github.com/mbilker/vgpu_unlock-rs)",
  ),
);

/** A branch, tag or commit: never an option (no leading "-"), no "..", no spaces or shell characters. */
const GIT_REF = v.pipe(
  v.string(),
  v.regex(
    /^(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9_][A-Za-z0-9._/+-]*(?<![./])$/,
    'must be a branch, tag or commit (letters, digits, "._/+-"; not starting with "-"), e.g. v2.5.0',
  ),
);

const MODE = v.picklist(["auto", "on", "off"], "must be one of auto, on, off");

const PCI_ADDRESS = v.pipe(
  v.string(),
  v.regex(
    /^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/,
    'must be a PCI address like "0000:01:00.0"',
  ),
);

export const DriverSchema = v.pipe(
  v.strictObject({
    installer: v.pipe(
      ABS_PATH,
      v.description(
        "The NVIDIA vGPU host driver installer on the host, e.g. /root/NVIDIA-Linux-x86_64-525.85.07-vgpu-kvm.run",
      ),
    ),
    sha256: SHA256,
    version: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d+\.\d+(\.\d+)?$/, 'must be a driver version like "525.85.07"'),
        v.description("Driver version; read from the installer's file name when omitted"),
      ),
    ),
    patch: v.optional(
      v.pipe(
        v.strictObject({
          path: v.pipe(
            ABS_PATH,
            v.description(
              "vgpu-proxmox patch for exactly this driver version, e.g. /root/vgpu-proxmox/525.85.07.patch",
            ),
          ),
          sha256: SHA256,
        }),
        v.description("Binary patch for consumer GPUs (applied with the installer's --apply-patch)"),
      ),
    ),
  }),
  v.description("The vGPU host driver to install (with DKMS, proprietary kernel modules)"),
);

export const VgpuUnlockSchema = v.pipe(
  v.strictObject({
    source: v.optional(
      v.pipe(
        OWN_DIR,
        v.description("vgpu_unlock-rs source checkout to build with cargo (default /opt/vgpu_unlock-rs)"),
      ),
    ),
    git: v.optional(
      v.pipe(GIT_URL, v.description("Clone the source from this URL when the checkout is missing")),
    ),
    ref: v.optional(v.pipe(GIT_REF, v.description("Branch, tag or commit to check out after cloning"))),
    library: v.optional(
      v.pipe(ABS_PATH, v.description("A prebuilt libvgpu_unlock_rs.so to preload instead of building")),
    ),
  }),
  v.description("Where vgpu_unlock-rs comes from"),
);

export const GpuSchema = v.strictObject({
  address: v.optional(
    v.pipe(PCI_ADDRESS, v.description("PCI address; omit when the host has one NVIDIA GPU")),
  ),
  type: v.pipe(
    v.string(),
    v.minLength(1),
    v.description(
      'vGPU type id or name this GPU is set up for, e.g. "nvidia-259" or "GRID RTX6000-4Q": checked against the types the GPU offers; VMs placed on it get this type, and in equal-size mode it decides the size of every vGPU on the GPU',
    ),
  ),
  mixedSizes: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        "Mixed-size mode (vGPU 17+): vGPUs of different framebuffer sizes on this GPU (`nvidia-smi vgpu -shm 1`, kept across reboots by a systemd unit)",
      ),
    ),
  ),
});

export const VmSchema = v.pipe(
  v.strictObject({
    vmid: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(100, "must be a Proxmox VM id (100 or more)"),
      v.maxValue(999999999),
    ),
    vgpu: v.optional(
      v.pipe(
        v.literal("none", 'must be "none" (the VM has no vGPU)'),
        v.description('"none": the VM must have no vGPU — plan/apply detach the one it has'),
      ),
    ),
    type: v.optional(
      v.pipe(v.string(), v.minLength(1), v.description('vGPU type id or name, e.g. "nvidia-259"')),
    ),
    vram: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d+(\.\d+)?\s*(M|MiB|MB|G|GiB|GB)$/i, 'must be a size like "4G" or "512M"'),
        v.description(
          "VRAM the VM gets; the type is chosen (os, workload) and a per-VM override sets the size",
        ),
      ),
    ),
    displays: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4))),
    resolution: v.optional(v.pipe(v.string(), v.regex(/^\d+x\d+$/, 'must look like "1920x1080"'))),
    os: v.optional(
      v.pipe(
        v.picklist(["windows", "linux"], "must be windows or linux"),
        v.description("Guest OS; read from the VM's ostype when omitted"),
      ),
    ),
    workload: v.optional(
      v.pipe(
        v.picklist(["desktop", "cad", "gaming", "compute"], "must be desktop, cad, gaming or compute"),
        v.description("What the VM does, to choose the vGPU series (default desktop)"),
      ),
    ),
    gpu: v.optional(
      v.pipe(PCI_ADDRESS, v.description("GPU to use; omitted = chosen so that the most VMs fit")),
    ),
    pcie: v.optional(
      v.pipe(v.boolean(), v.description("pcie=1 (needs a q35 VM); default: exactly when the VM is q35")),
    ),
  }),
  v.check(
    (vm) => vm.vgpu === "none" || (vm.type === undefined) !== (vm.vram === undefined),
    "a VM needs either `type` or `vram` (not both)",
  ),
  v.check(
    (vm) => vm.vgpu !== "none" || Object.keys(vm).every((k) => k === "vmid" || k === "vgpu"),
    "`vgpu: none` removes the VM's vGPU: leave out type, vram, displays, resolution, os, workload, gpu and pcie",
  ),
);
export const HostEntrySchema = v.strictObject({
  host: v.pipe(
    v.string(),
    v.minLength(1),
    v.description("--host spec: local, ssh://root@pve1, sim:seed-fresh …"),
  ),
  driver: v.optional(DriverSchema),
  unlock: v.optional(v.pipe(MODE, v.description("vgpu_unlock: auto = only for GPUs that need it")), "auto"),
  vgpuUnlock: v.optional(VgpuUnlockSchema),
  iommu: v.optional(
    v.pipe(MODE, v.description("IOMMU kernel parameters: auto = add them when the IOMMU is not active")),
    "auto",
  ),
  repository: v.optional(
    v.pipe(
      v.nullable(v.literal("no-subscription", 'must be "no-subscription" or null')),
      v.description(
        '"no-subscription" switches apt from the enterprise to the no-subscription repository; null leaves apt sources alone',
      ),
    ),
    null,
  ),
  gpus: v.optional(v.array(GpuSchema)),
  sriov: v.optional(
    v.pipe(v.boolean(), v.description("Enable SR-IOV virtual functions (Ampere and newer native boards)")),
  ),
  vms: v.optional(
    v.pipe(
      v.array(VmSchema),
      v.check((vms) => new Set(vms.map((vm) => vm.vmid)).size === vms.length, "each VM may be listed once"),
      v.description("VMs and their vGPUs; VMs not listed are left alone"),
    ),
  ),
});

/**
 * A cluster-wide VM request (top-level `vms:`, `vgpuctl place`): it may go to any host of the file or
 * inventory. DESIGN.md "place".
 */
export const PlaceVmSchema = v.pipe(
  v.strictObject({
    vmid: VmSchema.pipe[0].entries.vmid,
    type: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1),
        v.description('vGPU type name or id, e.g. "NVIDIA A16-4Q" or "nvidia-N"'),
      ),
    ),
    vram: VmSchema.pipe[0].entries.vram,
    series: v.optional(
      v.pipe(
        v.picklist(["Q", "B", "A", "C"], "must be Q, B, A or C"),
        v.description(
          "with `vram`: any offered type of this series with at least that framebuffer (default Q)",
        ),
      ),
    ),
    node: v.optional(v.pipe(v.string(), v.minLength(1), v.description("the node (host) the VM must run on"))),
    notWith: v.optional(
      v.pipe(
        v.array(v.pipe(v.number(), v.integer())),
        v.description("VMs this one must not share a node with (anti-affinity)"),
      ),
    ),
  }),
  v.check(
    (vm) => (vm.type === undefined) !== (vm.vram === undefined),
    "a VM needs either `type` or `vram` (not both)",
  ),
  v.check((vm) => vm.series === undefined || vm.vram !== undefined, "`series` goes with `vram`"),
);

/**
 * How plan/apply attach the top-level `vms:` they place: through a cluster PCI resource mapping
 * (`hostpciN: mapping=ID,mdev=TYPE`, the mapping created or extended through the API) or by address
 * (`hostpciN: ADDRESS,mdev=TYPE`). Default: mapping when the hosts are nodes of one cluster.
 */
export const PlacementSchema = v.strictObject({
  attach: v.optional(
    v.pipe(
      v.picklist(["mapping", "host"], "must be mapping or host"),
      v.description(
        "how top-level vms: are attached: `mapping` = hostpciN: mapping=vgpu-BOARD,mdev=TYPE through a cluster resource mapping plan/apply create or extend (one per GPU model); `host` = hostpciN: ADDRESS,mdev=TYPE. Default: mapping when the hosts are nodes of one Proxmox VE cluster, else host",
      ),
    ),
  ),
});

export const DesiredSchema = v.pipe(
  v.strictObject({
    $schema: v.optional(v.string()),
    hosts: v.optional(v.array(HostEntrySchema), []),
    vms: v.optional(
      v.pipe(
        v.array(PlaceVmSchema),
        v.check((vms) => new Set(vms.map((vm) => vm.vmid)).size === vms.length, "each VM may be listed once"),
        v.description("VMs to place on any host of the file or inventory (`vgpuctl place`)"),
      ),
    ),
    placement: v.optional(
      v.pipe(PlacementSchema, v.description("How plan/apply attach the top-level vms: they place")),
    ),
  }),
  v.check((d) => d.hosts.length > 0 || (d.vms?.length ?? 0) > 0, "name at least one host"),
);

export type Desired = v.InferOutput<typeof DesiredSchema>;
export type HostEntry = v.InferOutput<typeof HostEntrySchema>;
export type DriverSpec = v.InferOutput<typeof DriverSchema>;
export type GpuSpec = v.InferOutput<typeof GpuSchema>;
export type VmSpec = v.InferOutput<typeof VmSchema>;
export type PlaceVmSpec = v.InferOutput<typeof PlaceVmSchema>;
