/**
 * `vgpuctl init`: a commented starting vgpu.yaml from what `inspect` finds on the host.
 * buildInitYaml is pure (facts → text) and its output always validates.
 */

import { formatCommand } from "../facts/capture.ts";
import { deriveBootloader, deriveDriver, deriveIommu, physicalGpuFunctions } from "../facts/derive.ts";
import { parseFacts } from "../facts/index.ts";
import type { Facts } from "../facts/types.ts";
import { GATHER_SPEC } from "../hosts/gather-spec.ts";
import type { Host } from "../hosts/host.ts";
import { compatibleReleases } from "../knowledge/drivers.ts";
import { classifyGpu } from "../knowledge/gpus.ts";
import { typesForGpu } from "../knowledge/vgpu-types.ts";

export interface InitOptions {
  /** `$schema=` reference for editors (path relative to the written file, or a URL); default "schema.json" */
  schema?: string;
  /** The file name the user will pass to `plan -f` (default vgpu.yaml) */
  file?: string;
}

export async function runInit(
  deps: { host: Host },
  opts: InitOptions = {},
): Promise<{ yaml: string; facts: Facts }> {
  const capture = await deps.host.capture(GATHER_SPEC);
  const facts = parseFacts(capture);
  return { yaml: buildInitYaml(facts, deps.host.spec, opts), facts };
}

const q = (s: string) => JSON.stringify(s);

export function buildInitYaml(f: Facts, spec: string, opts: InitOptions = {}): string {
  const L: string[] = [];
  const kernel = f.uname?.release ?? f.pve?.runningKernel ?? null;
  const iommu = deriveIommu(f);
  L.push(`# yaml-language-server: $schema=${opts.schema ?? "schema.json"}`);
  L.push(
    `# Desired state for vgpuctl, written by \`vgpuctl init\` from ${spec} on ${f.capturedAt.slice(0, 10)}.`,
  );
  const file = formatCommand([opts.file ?? "vgpu.yaml"]);
  L.push(`# Review it, then: vgpuctl plan -f ${file}   and   vgpuctl apply -f ${file} --reboot`);
  L.push("hosts:");
  L.push(`  - host: ${q(spec)}`);
  L.push(
    `    # Proxmox VE ${f.pve?.manager ?? "?"}, kernel ${kernel ?? "?"}, ${deriveBootloader(f) ?? "unknown bootloader"}, ${f.cpuVendor ?? "unknown"} CPU, IOMMU ${
      iommu.enabled === true ? "enabled" : iommu.enabled === false ? "not enabled" : "unknown"
    }`,
  );
  // SR-IOV virtual functions are not GPUs to set up: their physical function is
  const gpus = physicalGpuFunctions(f).map((p) => ({
    p,
    c: classifyGpu({
      deviceId: p.deviceId,
      subsystemVendorId: p.subsystemVendorId,
      subsystemDeviceId: p.subsystemDeviceId,
    }),
  }));
  for (const { p, c } of gpus)
    L.push(
      `    # GPU ${p.address} ${c.name ?? p.description} [10de:${p.deviceId}]: ${c.support} — ${c.supportReason}`,
    );
  const needsUnlock = gpus.some((g) => g.c.support === "unlock");
  const supported = gpus.filter((g) => g.c.support !== "unsupported");
  if (gpus.length > 0 && supported.length === 0)
    // refused first, as plan and `catalog gpu` do (issue 13 #8): no driver releases, nothing to fill in
    L.push(
      "    # No GPU on this host can do vGPU (see above): `vgpuctl plan` refuses it; there is no driver to name.",
    );
  else L.push(...driverLines(f, kernel, supported[0]?.c.generation ?? undefined, needsUnlock));
  L.push(
    `    unlock: auto   # ${needsUnlock ? "vgpu_unlock will be set up (consumer GPU)" : "no GPU here needs vgpu_unlock"}`,
  );
  if (needsUnlock) {
    L.push("    vgpuUnlock:");
    L.push("      source: /opt/vgpu_unlock-rs");
    L.push("      git: https://github.com/mbilker/vgpu_unlock-rs   # cloned when the checkout is missing");
  }
  L.push("    iommu: auto    # adds intel_iommu=on / iommu=pt when the IOMMU is not active");
  L.push(...repositoryLines(f));
  const withType = gpus
    .filter((g) => g.c.support !== "unsupported")
    .map((g) => {
      // the type its vGPUs already use, else one it can still create (equal-size mode: same size only)
      const onGpu = (f.mdevTypes ?? []).filter((t) => t.parent === g.p.address);
      const inUse = (f.mdevs ?? []).find((m) => m.parent === g.p.address && m.active !== false)?.type;
      const offered =
        onGpu.find((t) => t.type === inUse) ?? onGpu.find((t) => t.availableInstances !== 0) ?? onGpu[0];
      const known = typesForGpu(g.p.deviceId, g.p.subsystemDeviceId).filter((t) => t.series === "Q");
      const type = offered?.name ?? offered?.type ?? known[Math.min(known.length - 1, 3)]?.name ?? null;
      return { g, type, options: known.map((t) => t.shortName) };
    });
  if (withType.some((x) => x.type)) {
    L.push("    gpus:");
    for (const x of withType) {
      if (!x.type) continue;
      L.push(`      - address: ${q(x.g.p.address)}`);
      L.push(
        `        type: ${q(x.type)}${x.options.length ? `   # e.g. ${x.options.slice(0, 6).join(", ")}` : ""}`,
      );
    }
  }
  if (gpus.some((g) => g.c.needsSriov && g.c.support === "native"))
    L.push("    sriov: true    # Ampere and newer boards offer vGPUs on SR-IOV virtual functions");
  return `${L.join("\n")}\n`;
}

/**
 * `repository:` for the host: apt knowing only the enterprise repository (401 without a subscription,
 * doctor: apt-enterprise-only) gets "no-subscription" with the reason, never a silent null.
 */
function repositoryLines(f: Facts): string[] {
  const repos = f.aptRepos;
  if (!repos || repos.enterprise.length === 0 || repos.noSubscription)
    return [
      '    repository: null   # or "no-subscription" to switch apt away from the enterprise repository',
    ];
  return [
    `    # apt uses only the enterprise repository (${repos.enterprise.join(", ")}), which refuses apt`,
    "    # (401 Unauthorized) without a subscription: apply switches to pve-no-subscription (uninstall restores).",
    "    # With a subscription, set null.",
    '    repository: "no-subscription"',
  ];
}

/** The `driver:` section: the installed driver, or a commented template with releases for this kernel. */
function driverLines(f: Facts, kernel: string | null, generation: string | undefined, needsUnlock: boolean) {
  const L: string[] = [];
  const driver = deriveDriver(f);
  if (driver) {
    L.push(`    # NVIDIA driver ${driver.version} is already installed; name it here only to replace it.`);
    L.push("    # driver:");
    L.push("    #   installer: /root/NVIDIA-Linux-x86_64-<version>-vgpu-kvm.run");
    L.push("    #   sha256: <sha256sum of the installer>");
    return L;
  }
  const rel = kernel ? compatibleReleases(kernel, { unlock: needsUnlock, generation }) : [];
  const pick = rel[0];
  L.push("    # Copy the host driver (.run from the NVIDIA Licensing Portal, Host_Drivers/) to the host,");
  L.push("    # fill in its sha256 (`sha256sum FILE`) and uncomment:");
  if (rel.length > 0)
    L.push(
      `    # releases known to work on kernel ${kernel}: ${rel
        .slice(0, 5)
        .map((r) => `${r.vgpuRelease} (${r.driverVersion})`)
        .join(", ")}`,
    );
  const v = pick?.driverVersion ?? "<version>";
  L.push("    # driver:");
  L.push(`    #   installer: /root/NVIDIA-Linux-x86_64-${v}-vgpu-kvm.run`);
  L.push("    #   sha256: <sha256sum of the installer>");
  if (needsUnlock) {
    L.push("    #   patch:   # consumer GPUs: polloloco's vgpu-proxmox patch for exactly this version");
    L.push(`    #     path: /root/vgpu-proxmox/${v}.patch`);
    L.push("    #     sha256: <sha256sum of the patch>");
  }
  return L;
}
