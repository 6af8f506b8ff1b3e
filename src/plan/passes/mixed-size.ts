/**
 * Mixed-size mode (vgpu.yaml `gpus[].mixedSizes: true`): on vGPU 17+ a GPU runs vGPUs of one
 * framebuffer size (equal-size mode) unless `nvidia-smi vgpu -i <gpu> -shm 1` puts it into mixed-size
 * mode, which reverts at every reboot, driver reload or GPU reset (NVIDIA vGPU user guide, research/
 * proxmox.md §3). vgpuctl sets it now when the driver is loaded without a reboot, and keeps it with a
 * drop-in that runs the same command whenever nvidia-vgpu-mgr starts — after the driver is loaded
 * and before any VM can get a vGPU. `-` in front: a GPU that refuses does not fail the manager.
 */
import type { Facts } from "../../facts/types.ts";
import { releaseForDriverVersion } from "../../knowledge/drivers.ts";
import { fileChange } from "../changes.ts";
import type { PlanContext } from "../context.ts";
import { DAEMON_RELOAD } from "../paths.ts";
import type { Change, Step } from "../types.ts";
import type { Gpu } from "./gpus.ts";
import { PassOutput } from "./output.ts";

export const MIXED_SIZE_DROPIN = "/etc/systemd/system/nvidia-vgpu-mgr.service.d/vgpuctl-mixed-size.conf";

/** The command that puts one GPU into mixed-size mode (nvidia-smi takes the PCI bus id for -i). */
export const mixedSizeArgv = (gpu: string) => ["nvidia-smi", "vgpu", "-i", gpu, "-shm", "1"];

export function mixedSizeDropin(gpus: string[]): string {
  return [
    "# written by vgpuctl: vGPU mixed-size mode for the GPUs vgpu.yaml marks `mixedSizes: true`. The",
    "# driver forgets it at every reboot and driver reload, so it is set again whenever nvidia-vgpu-mgr starts.",
    "[Service]",
    ...gpus.map((g) => `ExecStartPost=-/usr/bin/${mixedSizeArgv(g).join(" ")}`),
    "",
  ].join("\n");
}

/** A field of one GPU in `nvidia-smi -q` whose name (section path) matches `name`; null when not shown. */
export function smiField(f: Facts, address: string, name: RegExp): string | null {
  const q = f.nvidiaSmiQuery?.gpus.find((g) => g.busId === address);
  return q ? (Object.entries(q.fields).find(([k]) => name.test(k))?.[1] ?? null) : null;
}

/** What `nvidia-smi -q` says about a GPU's mixed-size support and mode (null: not shown). */
export function heterogeneous(ctx: PlanContext, address: string) {
  return {
    sizes: smiField(ctx.facts, address, /Heterogeneous Time-Slice Sizes$/i),
    mode: smiField(ctx.facts, address, /Heterogeneous Mode$/i),
  };
}

export function mixedSizePass(ctx: PlanContext, prior: readonly Step[]): PassOutput {
  const out = new PassOutput();
  const wanted = ctx.gpus.filter((g) => g.mixedSizes);
  const before = ctx.input.file(MIXED_SIZE_DROPIN);
  if (wanted.length === 0 && typeof before !== "string") return out;
  checkSupport(ctx, wanted, out);
  const dropin = out.need(ctx.input.file, MIXED_SIZE_DROPIN);
  const after = wanted.length > 0 ? mixedSizeDropin(wanted.map((g) => g.pci.address)) : null;
  const changes: Change[] = [];
  if (after !== dropin)
    changes.push(fileChange(MIXED_SIZE_DROPIN, dropin, after, 0o644), {
      kind: "command",
      argv: DAEMON_RELOAD,
    });
  // set now when the driver is (or is about to be) loaded without a reboot
  const reboot = prior.some((s) => s.reboot);
  const loadedNow = ctx.driver.installed?.loaded === true || prior.some((s) => s.id === "load-now");
  if (!reboot && loadedNow)
    for (const g of wanted) {
      if (/enabled/i.test(heterogeneous(ctx, g.pci.address).mode ?? "")) continue;
      if (activeVgpus(ctx, g.pci.address) > 0) blockBusy(g, out);
      else changes.push({ kind: "command", argv: mixedSizeArgv(g.pci.address) });
    }
  if (changes.length === 0) return out;
  out.step({
    id: "mixed-size",
    title:
      wanted.length > 0
        ? `Mixed-size mode on ${wanted.map((g) => g.pci.address).join(", ")}`
        : "Drop the mixed-size mode drop-in",
    why: "vgpu.yaml `mixedSizes: true`: vGPUs of different framebuffer sizes on one GPU need mixed-size mode, which the driver forgets at every reboot",
    changes,
    reboot,
    undo: { description: `remove ${MIXED_SIZE_DROPIN}`, commands: [], regenerate: [DAEMON_RELOAD] },
  });
  return out;
}

/** vGPUs running on a GPU now (`nvidia-smi vgpu -q`); 0 when none or not shown. */
function activeVgpus(ctx: PlanContext, address: string): number {
  return ctx.facts.vgpuQuery?.gpus.find((g) => g.busId === address)?.activeVgpus ?? 0;
}

/** The driver changes the mode only while no vGPU runs on the GPU ("In use by another client"). */
function blockBusy(g: Gpu, out: PassOutput): void {
  out.block(
    "mixed-size-busy",
    `${g.pci.address} has running vGPUs: its mode can change only while none runs`,
    [`nvidia-smi vgpu -q: active vGPUs on ${g.pci.address}`],
    ["shut down the VMs with a vGPU on this GPU, then re-run (or reboot: the drop-in sets the mode at boot)"],
  );
}

/** Mixed-size mode is vGPU 17+, and only on GPUs whose nvidia-smi says "Heterogeneous Time-Slice Sizes: Supported". */
function checkSupport(ctx: PlanContext, wanted: Gpu[], out: PassOutput): void {
  const version = ctx.driver.version ?? ctx.driver.installed?.version ?? null;
  const rel = version ? releaseForDriverVersion(version) : null;
  if (wanted.length > 0 && rel && Number.parseInt(rel.vgpuRelease, 10) < 17) {
    out.block(
      "mixed-size-unsupported",
      `Mixed-size mode needs vGPU 17 or newer; driver ${version} is vGPU ${rel.vgpuRelease}`,
      wanted.map((g) => `${g.pci.address} mixedSizes: true`),
      ["choose a vGPU 17+ driver, or drop `mixedSizes` from vgpu.yaml"],
    );
    return;
  }
  for (const g of wanted) {
    const sizes = heterogeneous(ctx, g.pci.address).sizes;
    if (sizes !== null && !/^supported$/i.test(sizes.trim()))
      out.block(
        "mixed-size-unsupported",
        `${g.pci.address} ${g.cls.name ?? g.pci.description} does not support mixed-size mode`,
        [`nvidia-smi -q: Heterogeneous Time-Slice Sizes : ${sizes}`],
        ["drop `mixedSizes` for this GPU in vgpu.yaml"],
      );
  }
}
