/** The knowledge base the checks use by default: src/knowledge and the profile-override validator. */
import { validateOverride } from "../formats/profile-override/validate.ts";
import {
  compatibleReleases,
  type DriverRelease,
  kernelInRange,
  kernelVerdict,
  releaseDropsGeneration,
  releaseForDriverVersion,
} from "../knowledge/drivers.ts";
import {
  classDeviceIdForName,
  classifyGpu,
  deviceIdForName,
  GENERATION_LABEL,
  type Generation,
} from "../knowledge/gpus.ts";
import { findType } from "../knowledge/vgpu-types.ts";
import type { Kb, KbRelease } from "./types.ts";

const toRelease = (r: DriverRelease): KbRelease => ({
  vgpuRelease: r.vgpuRelease,
  driverVersion: r.driverVersion,
  kernelRange: r.kernelRange,
});

/** compatibleReleases' answers by kernel and options (cleared when it grows past 256 of them). */
const COMPATIBLE = new Map<string, KbRelease[]>();

export const defaultKb: Kb = {
  classifyGpu(input) {
    const c = classifyGpu(input);
    return {
      deviceId: c.deviceId,
      name: c.name,
      generation: c.generation,
      generationLabel: c.generation ? GENERATION_LABEL[c.generation] : null,
      vramMiB: c.vramMiB,
      support: c.support,
      supportReason: c.supportReason,
      spoofAs: c.spoofAs ? { deviceId: c.spoofAs.deviceId, name: c.spoofAs.name } : null,
      needsSriov: c.needsSriov,
    };
  },
  releaseForDriverVersion(v) {
    const r = releaseForDriverVersion(v);
    return r ? toRelease(r) : null;
  },
  kernelInRange: (release, kernel) => kernelInRange(release, kernel),
  kernelVerdict: (release, kernel, setup) => kernelVerdict(release, kernel, setup),
  releaseDropsGeneration: (release, generation, deviceId) =>
    releaseDropsGeneration(release, generation as Generation, deviceId),
  compatibleReleases(kernel, opts) {
    // the same few questions for every host of a fleet (each one runs kernelVerdict on every release):
    // answered once per process; a copy each time, so no caller shares another's objects
    const key = [kernel, opts?.unlock ? "unlock" : "", opts?.generation || "", opts?.deviceId || ""].join(
      "\0",
    );
    let known = COMPATIBLE.get(key);
    if (!known) {
      if (COMPATIBLE.size >= 256) COMPATIBLE.clear();
      known = compatibleReleases(kernel, opts ?? {}).map(toRelease);
      COMPATIBLE.set(key, known);
    }
    return known.map((r) => ({ ...r }));
  },
  findType(idOrName) {
    const t = findType(idOrName);
    return t
      ? {
          type: t.type,
          name: t.name,
          profileMiB: t.profileMiB,
          framebufferBytes: t.framebufferBytes,
          reservationBytes: t.reservationBytes,
          maxInstances: t.maxInstances,
        }
      : null;
  },
  deviceIdForName: (name) => deviceIdForName(name),
  classDeviceIdForName: (name) => classDeviceIdForName(name),
  validateOverride: (text) => validateOverride(text),
};
