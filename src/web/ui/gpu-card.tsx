import type { ComponentChildren } from "preact";
import type { Finding } from "../../checks/types.ts";
import type { InspectGpu, InspectReport } from "../../report/inspect-report.ts";
import { formatMiB, type GpuSplit, gpuSplit, typeLabel } from "../split.ts";

const SUPPORT = {
  native: { text: "native vGPU", cls: "badge-native" },
  unlock: { text: "vGPU via vgpu_unlock", cls: "badge-unlock" },
  unsupported: { text: "no vGPU (unsupported)", cls: "badge-unsupported" },
} as const;

function barDescription(gpu: InspectGpu, split: GpuSplit): string {
  const total = split.totalMiB === null ? "unknown size" : formatMiB(split.totalMiB);
  const parts = split.segments.map((s) => s.label);
  if (split.freeMiB !== null) parts.push(`free ${formatMiB(split.freeMiB)}`);
  if (parts.length === 0) parts.push("no vGPUs");
  return `VRAM split of ${gpu.name} (${total}): ${parts.join("; ")}`;
}

function SplitBar({ gpu, split, id }: { gpu: InspectGpu; split: GpuSplit; id: string }) {
  const known = split.segments.reduce((s, x) => s + (x.framebufferMiB ?? 0), 0);
  // unknown-sized vGPUs still get a visible sliver
  const sliver = Math.max(256, Math.round((split.totalMiB ?? (known || 1024)) / 24));
  return (
    <figure class="split">
      <div class="bar" role="img" aria-label={barDescription(gpu, split)} aria-describedby={`${id}-legend`}>
        {split.segments.map((s, i) => (
          <div
            key={`${s.vmid}-${s.uuid ?? i}`}
            class={`seg seg-${s.state} seg-c${i % 6}`}
            style={{ flexGrow: s.framebufferMiB ?? sliver }}
            title={s.label}
            data-vmid={s.vmid ?? ""}
            data-type={s.type ?? ""}
          >
            <span class="seg-num" aria-hidden="true">
              {i + 1}
            </span>
            <span class="seg-label">{s.label}</span>
          </div>
        ))}
        {split.freeMiB !== null && split.freeMiB > 0 && (
          <div
            class="seg seg-free"
            style={{ flexGrow: split.freeMiB }}
            title={`free ${formatMiB(split.freeMiB)}`}
          >
            <span class="seg-label">free {formatMiB(split.freeMiB)}</span>
          </div>
        )}
      </div>
      <figcaption>
        {split.totalMiB === null
          ? `VRAM size unknown; ${formatMiB(split.usedMiB)} assigned`
          : `${formatMiB(split.usedMiB)} of ${formatMiB(split.totalMiB)} assigned · ${formatMiB(split.freeMiB ?? 0)} free`}
        {split.overcommitted && (
          <strong class="warn-text"> · over-committed: VMs ask for more VRAM than the GPU has</strong>
        )}
      </figcaption>
      <ol class="legend" id={`${id}-legend`} aria-label="vGPUs on this GPU">
        {split.segments.map((s, i) => (
          <li key={`${s.vmid}-${s.uuid ?? i}`} class={`legend-item legend-${s.state}`}>
            <span class={`swatch seg-${s.state} seg-c${i % 6}`} aria-hidden="true">
              {i + 1}
            </span>
            <span class="legend-text">
              {s.label}
              {s.state === "active" ? " (running)" : ""}
            </span>
          </li>
        ))}
        {split.freeMiB !== null && (
          <li class="legend-item legend-free">
            <span class="swatch seg-free" aria-hidden="true">
              {" "}
            </span>
            <span class="legend-text">free: {formatMiB(split.freeMiB)}</span>
          </li>
        )}
      </ol>
    </figure>
  );
}

function TypeLine({ gpu, split }: { gpu: InspectGpu; split: GpuSplit }) {
  if (split.typesInUse.length === 0) {
    const max = gpu.mdevTypes.length;
    return (
      <p class="type-line">
        No vGPU in use yet; {max} type{max === 1 ? "" : "s"} offered.
      </p>
    );
  }
  if (split.typesInUse.length > 1)
    return (
      <p class="type-line warn-text">
        Types in use: {split.typesInUse.map((t) => `${t.label} (${t.type})`).join(", ")} — mixed types on one
        GPU
      </p>
    );
  const t = split.typesInUse[0]!;
  return (
    <p class="type-line">
      Type in use:{" "}
      <strong>
        {t.label} ({t.type})
      </strong>
      {split.availableInstances !== null && (
        <>
          {" "}
          · {split.availableInstances} more instance{split.availableInstances === 1 ? "" : "s"} available
          {split.maxInstances !== null && ` (max ${split.maxInstances})`}
        </>
      )}
    </p>
  );
}

function OfferedTypes({ gpu }: { gpu: InspectGpu }) {
  return (
    <details class="types">
      <summary>vGPU types offered ({gpu.mdevTypes.length})</summary>
      <table>
        <thead>
          <tr>
            <th scope="col">type</th>
            <th scope="col">name</th>
            <th scope="col">framebuffer</th>
            <th scope="col">available / max</th>
          </tr>
        </thead>
        <tbody>
          {gpu.mdevTypes.map((t) => (
            <tr key={t.type}>
              <td>
                <code>{t.type}</code>
              </td>
              <td>{typeLabel(t.name, t.type)}</td>
              <td>{t.framebufferMiB === null ? "?" : formatMiB(t.framebufferMiB)}</td>
              <td>
                {t.availableInstances ?? "?"} / {t.maxInstances ?? "?"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** "16 virtual functions, 2 in use" — vGPUs go on the VFs of an SR-IOV GPU. */
function vfSummary(vfs: NonNullable<InspectGpu["vfs"]>): string {
  const used = vfs.filter((v) => v.currentType !== null || v.vmid !== null).length;
  return `${vfs.length} virtual functions, ${used} in use`;
}

export function GpuCard(props: {
  gpu: InspectGpu;
  vms: InspectReport["vms"];
  driverInstalled: boolean;
  findings: Finding[];
  idPrefix: string;
}) {
  const { gpu } = props;
  const id = `${props.idPrefix}-gpu-${gpu.address.replace(/[^0-9a-f]/gi, "")}`;
  const split = gpuSplit(gpu, props.vms);
  const support = SUPPORT[gpu.support];
  const gpuErrors = props.findings.filter((f) => f.severity === "error").length;
  let body: ComponentChildren;
  if (gpu.support === "unsupported") {
    body = <p class="empty">This GPU cannot be split into vGPUs. {gpu.supportReason}</p>;
  } else if (!props.driverInstalled && gpu.mdevTypes.length === 0 && split.segments.length === 0) {
    body = (
      <p class="empty">
        <strong>Driver not installed:</strong> no NVIDIA vGPU host driver, so no vGPU types are offered yet.
      </p>
    );
  } else if (gpu.mdevTypes.length === 0 && split.segments.length === 0) {
    body = (
      <p class="empty">
        <strong>No vGPU types offered</strong> by the driver for this GPU
        {gpuErrors ? " — see the findings below" : ""}.
      </p>
    );
  } else {
    body = (
      <>
        <SplitBar gpu={gpu} split={split} id={id} />
        <TypeLine gpu={gpu} split={split} />
        {gpu.mdevTypes.length > 0 && <OfferedTypes gpu={gpu} />}
      </>
    );
  }
  return (
    <article class="gpu" aria-labelledby={`${id}-title`} data-gpu={gpu.address}>
      <h3 id={`${id}-title`}>
        {gpu.name} <span class="addr">{gpu.address}</span>
      </h3>
      <p class="gpu-meta">
        <span class={`badge ${support.cls}`}>
          <span class="badge-icon" aria-hidden="true">
            {gpu.support === "native" ? "✔" : gpu.support === "unlock" ? "◐" : "✖"}
          </span>{" "}
          {support.text}
        </span>{" "}
        <span class="ids">
          [{gpu.vendorId}:{gpu.deviceId}]
          {gpu.vramMiB !== null ? ` · ${formatMiB(gpu.vramMiB)}` : " · VRAM unknown"}
          {gpu.generation ? ` · ${gpu.generation}` : ""}
          {gpu.driverInUse ? ` · driver in use: ${gpu.driverInUse}` : " · no driver bound"}
          {gpu.vfs && gpu.vfs.length > 0 ? ` · SR-IOV: ${vfSummary(gpu.vfs)}` : ""}
        </span>
      </p>
      {gpu.support !== "unsupported" && <p class="reason">{gpu.supportReason}</p>}
      {body}
    </article>
  );
}
