/**
 * schema.json (the published JSON Schema of vgpu.yaml) is generated from the valibot schema.
 * Regenerate: `npx tsx src/desired/json-schema.ts --write` (a test fails when it is stale).
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { toJsonSchema } from "@valibot/to-json-schema";
import { DesiredSchema } from "./schema.ts";

export function desiredJsonSchema(): Record<string, unknown> {
  // `check`/`toLowerCase` actions have no JSON Schema form: they are enforced by vgpuctl itself.
  const schema = toJsonSchema(DesiredSchema, { errorMode: "ignore" }) as Record<string, unknown>;
  return { ...schema, title: "vgpuctl desired state (vgpu.yaml)" };
}

export function desiredJsonSchemaText(): string {
  return `${JSON.stringify(desiredJsonSchema(), null, 2)}\n`;
}

export const SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "schema.json");

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv.includes("--write")
) {
  writeFileSync(SCHEMA_FILE, desiredJsonSchemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
