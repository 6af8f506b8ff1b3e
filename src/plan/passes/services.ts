/** nvidia-vgpu-mgr: the driver is in place and loaded, but its manager was stopped / disabled. */
import { releaseForDriverVersion } from "../../knowledge/drivers.ts";
import type { PlanContext } from "../context.ts";
import { PassOutput } from "./output.ts";

export function servicesPass(ctx: PlanContext): PassOutput {
  const out = new PassOutput();
  const { installed, needed } = ctx.driver;
  if (
    installed &&
    !needed &&
    installed.loaded === true &&
    releaseForDriverVersion(installed.version) !== null &&
    ctx.facts.services?.["nvidia-vgpu-mgr.service"] === "inactive"
  )
    out.step({
      id: "services",
      title: "Enable and start nvidia-vgpu-mgr.service",
      why: "nvidia-vgpu-mgr is inactive: no VM can start with a vGPU until it runs (and it must start at every boot)",
      changes: [{ kind: "command", argv: ["systemctl", "enable", "--now", "nvidia-vgpu-mgr.service"] }],
      reboot: false,
      undo: {
        description: "disable nvidia-vgpu-mgr.service again",
        commands: [["systemctl", "disable", "--now", "nvidia-vgpu-mgr.service"]],
        regenerate: [],
      },
    });
  return out;
}
