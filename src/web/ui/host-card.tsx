import type { DashboardHost, DashboardHostOk } from "../api.ts";
import { Findings } from "./findings.tsx";
import { GpuCard } from "./gpu-card.tsx";

type Report = DashboardHostOk["inspect"];

function driverText(r: Report): string {
  if (!r.driver) return "not installed";
  const parts = [r.driver.version];
  if (r.driver.vgpuRelease) parts.push(`(vGPU ${r.driver.vgpuRelease})`);
  let s = parts.join(" ");
  if (r.driver.flavour) s += `, ${r.driver.flavour}`;
  if (r.driver.loaded === false) s += ", not loaded";
  return s;
}

function unlockText(r: Report): string {
  if (r.unlock.enabled) return "enabled";
  if (r.unlock.installed) return "installed, not enabled";
  if (r.unlock.installed === false) return "not installed";
  return "unknown";
}

function iommuText(r: Report): string {
  if (r.iommu.enabled === null) return "unknown";
  return r.iommu.enabled ? "enabled" : "not enabled";
}

/** "warn" marks values a person should look at; it is also spelled out in text, never colour-only. */
function StatusItem(props: { label: string; value: string; tone?: "ok" | "warn" | "unknown" | "plain" }) {
  return (
    <div class={`status-item tone-${props.tone ?? "plain"}`}>
      <dt>{props.label}</dt>
      <dd>{props.value}</dd>
    </div>
  );
}

export function HostCard({ host, index }: { host: DashboardHost; index: number }) {
  const titleId = `host-${index}-title`;
  if (!host.ok) {
    return (
      <section class="host host-failed" aria-labelledby={titleId} data-host={host.spec}>
        <h2 id={titleId}>
          {host.spec} <span class="tag">could not be read</span>
        </h2>
        <p class="error-text">
          <strong>Error:</strong> {host.error}
        </p>
        {host.hint && (
          <p>
            <strong>Fix:</strong> {host.hint}
          </p>
        )}
      </section>
    );
  }
  const r = host.inspect;
  const findings = host.doctor.findings;
  const count = (s: string) => findings.filter((f) => f.severity === s).length;
  const errors = count("error");
  const warnings = count("warning");
  return (
    <section class="host" aria-labelledby={titleId} data-host={host.spec}>
      <h2 id={titleId}>
        {r.host} {host.spec !== r.host && <span class="spec">({host.spec})</span>}
        <span class={`tag ${errors ? "tag-error" : warnings ? "tag-warning" : "tag-ok"}`}>
          {errors
            ? `${errors} error${errors > 1 ? "s" : ""}`
            : warnings
              ? `${warnings} warning${warnings > 1 ? "s" : ""}`
              : "no problems found"}
        </span>
      </h2>
      <dl class="status-line" aria-label={`${r.host} status`}>
        <StatusItem label="Proxmox VE" value={r.pve?.version ?? "unknown"} tone={r.pve ? "ok" : "unknown"} />
        <StatusItem label="Kernel" value={r.kernel.release ?? "unknown"} />
        <StatusItem label="Bootloader" value={r.bootloader ?? "unknown"} />
        <StatusItem label="NVIDIA driver" value={driverText(r)} tone={r.driver ? "ok" : "warn"} />
        <StatusItem
          label="vgpu_unlock"
          value={unlockText(r)}
          tone={r.unlock.enabled ? "ok" : r.unlock.installed === null ? "unknown" : "plain"}
        />
        <StatusItem
          label="IOMMU"
          value={iommuText(r)}
          tone={r.iommu.enabled ? "ok" : r.iommu.enabled === null ? "unknown" : "warn"}
        />
        <StatusItem
          label="Secure Boot"
          value={r.secureBoot === null ? "unknown" : r.secureBoot ? "on" : "off"}
        />
      </dl>
      <div class="gpus">
        {r.gpus.length === 0 && <p class="empty">No NVIDIA GPU found on this host.</p>}
        {r.gpus.map((g) => (
          <GpuCard
            key={g.address}
            gpu={g}
            vms={r.vms}
            driverInstalled={r.driver !== null}
            findings={findings.filter((f) => f.gpu === g.address)}
            idPrefix={`host-${index}`}
          />
        ))}
      </div>
      <Findings findings={findings} notes={host.doctor.notes} idPrefix={`host-${index}`} hostName={r.host} />
      <p class="gathered">Read at {new Date(host.gatheredAt).toLocaleString()}</p>
    </section>
  );
}
