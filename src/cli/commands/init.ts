import { existsSync, realpathSync } from "node:fs";
import { link, rename, unlink, writeFile } from "node:fs/promises";
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
      await writeNewFile(path, yaml, Boolean(opts.force), opts.output);
      if (g.json) printJson(ctx, { written: path });
      else ctx.out(`wrote ${opts.output}; review it, then run \`vgpuctl plan -f ${opts.output}\`\n`);
    });
};

/**
 * Where this vgpuctl's schema.json is, relative to `dir` (for `# yaml-language-server: $schema=`):
 * next to the package's bin/ and dist/ (the script that runs is bin/vgpuctl.js or dist/vgpuctl.cjs).
 */
export function schemaRef(dir: string, script = process.argv[1]): string {
  // no script (node -e), or one that is gone (realpath: ENOENT): the plain name
  if (!script || !existsSync(script)) return "schema.json";
  const schema = resolve(dirname(realpathSync(script)), "..", "schema.json");
  if (!existsSync(schema)) return "schema.json";
  const rel = relative(dir, schema).split(sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}

/**
 * Write atomically (temp file + rename). Without --force the final step is link(2), which fails if
 * the file appeared meanwhile, so an existing vgpu.yaml is never replaced by a race.
 */
async function writeNewFile(path: string, text: string, force: boolean, shown: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  let created = false;
  try {
    await writeFile(tmp, text, { flag: "wx", mode: 0o644 });
    created = true;
    if (force) await rename(tmp, path);
    else await link(tmp, path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EEXIST")
      throw new UserError(`${shown} already exists`, "pass --force to overwrite it, or -o - to print");
    throw new UserError(
      `cannot write ${shown}: ${err.code ?? err.message}`,
      "choose another place with -o PATH, or -o - to print",
    );
  } finally {
    // only a temp file this call made is removed (a failed writeFile's error stays the one reported);
    // after rename it is gone already: only ENOENT is expected
    if (created)
      await unlink(tmp).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
  }
}
