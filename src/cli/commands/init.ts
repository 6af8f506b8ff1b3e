import { existsSync, realpathSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, relative, resolve, sep } from "node:path";
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
      const path = resolve(ctx.cwd, opts.output === "-" ? "vgpu.yaml" : opts.output);
      if (opts.output !== "-" && existsSync(path) && !opts.force)
        throw new UserError(
          `${opts.output} already exists`,
          "pass --force to overwrite it, or -o - to print",
        );
      const { yaml } = await withHost(ctx, g, (host) =>
        runInit(
          { host },
          { schema: schemaRef(dirname(path)), file: opts.output === "-" ? "vgpu.yaml" : opts.output },
        ),
      );
      if (opts.output === "-") {
        if (g.json) printJson(ctx, { yaml });
        else ctx.out(yaml);
        return;
      }
      await writeFile(path, yaml);
      if (g.json) printJson(ctx, { written: path });
      else ctx.out(`wrote ${opts.output}; review it, then run \`vgpuctl plan -f ${opts.output}\`\n`);
    });
};

/**
 * Where this vgpuctl's schema.json is, relative to `dir` (for `# yaml-language-server: $schema=`):
 * next to the package's bin/ and dist/ (the script that runs is bin/vgpuctl.js or dist/vgpuctl.cjs).
 */
export function schemaRef(dir: string, script = process.argv[1]): string {
  try {
    if (script) {
      const schema = resolve(dirname(realpathSync(script)), "..", "schema.json");
      if (existsSync(schema)) {
        const rel = relative(dir, schema).split(sep).join("/");
        return rel.startsWith(".") ? rel : `./${rel}`;
      }
    }
  } catch {
    // no script path: fall through
  }
  return "schema.json";
}
