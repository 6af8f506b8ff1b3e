import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { runInit } from "../../commands/init.ts";
import { UserError } from "../../util/errors.ts";
import type { GlobalOptions } from "../context.ts";
import { printJson, withHost } from "../with-host.ts";
import type { Registrar } from "./index.ts";

export const registerInit: Registrar = (program, ctx) => {
  program
    .command("init")
    .description("write a commented starting vgpu.yaml from what inspect finds on --host")
    .option("-o, --output <path>", 'where to write it ("-" = standard output)', "vgpu.yaml")
    .option("--force", "overwrite an existing file")
    .action(async (opts, cmd) => {
      const g = cmd.optsWithGlobals() as unknown as GlobalOptions;
      const { yaml } = await withHost(ctx, g, (host) => runInit({ host }));
      if (opts.output === "-") {
        if (g.json) printJson(ctx, { yaml });
        else ctx.out(yaml);
        return;
      }
      const path = resolve(ctx.cwd, opts.output);
      if (existsSync(path) && !opts.force)
        throw new UserError(
          `${opts.output} already exists`,
          "pass --force to overwrite it, or -o - to print",
        );
      await writeFile(path, yaml);
      if (g.json) printJson(ctx, { written: path });
      else ctx.out(`wrote ${opts.output}; review it, then run \`vgpuctl plan -f ${opts.output}\`\n`);
    });
};
