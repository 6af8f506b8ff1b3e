import { GATHER_SPEC } from "../../hosts/gather-spec.ts";
import { standaloneGatherScript } from "../../hosts/standalone-gather.ts";
import type { GlobalOptions } from "../context.ts";
import { printJson } from "../with-host.ts";
import type { Registrar } from "./index.ts";

/** `vgpuctl gather-script`: print the POSIX sh script that makes a support bundle on a host without vgpuctl. */
export const registerGatherScript: Registrar = (program, ctx) => {
  program
    .command("gather-script")
    .description(
      "print a POSIX sh script that writes a redacted support bundle on a host without vgpuctl or Node (sh vgpuctl-gather.sh; it prints the bundle's path last)",
    )
    .action((_opts, cmd) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const script = standaloneGatherScript(GATHER_SPEC);
      if (g.json) printJson(ctx, { script });
      else ctx.out(script);
    });
};
